"""`SweepControl.stop_on_signals`: SIGTERM and SIGHUP (what Docker, Kubernetes and systemd send)
stop a script's sweep like a first Ctrl-C, and a re-run pays for nothing twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dfs_async import read_results
from dfs_async.testing import EmulatorProcess

from .._sweep_process import credentials

PROMPTS = 60

SCRIPT = """
import asyncio, sys
import dfs_async

async def main() -> int:
    prompts = [f"which standing desk, case {i}?" for i in range(int(sys.argv[2]))]
    control = dfs_async.SweepControl()
    async with dfs_async.AsyncClient(base_url=sys.argv[1], live_concurrency=4) as client:
        with control.stop_on_signals():
            async for result in dfs_async.iter_prompts(
                client, prompts, platform="gemini", model_name="gemini-2.5-flash",
                sink=sys.argv[3], control=control,
            ):
                print("result", result.ok, flush=True)
    print("in flight at the end", control.in_flight, "abandoned", control.abandoned, flush=True)
    return 128 + control.signal if control.signal else 0

sys.exit(asyncio.run(main()))
"""


def run_script(
    tmp_path: Path, emu: EmulatorProcess, out: Path, *, signals: list[signal.Signals]
) -> tuple[int, list[str]]:
    """Run the script; send ``signals`` once 12 results were printed; exit status, output."""
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT, encoding="utf-8")
    cmd = [sys.executable, str(script), emu.base_url, str(PROMPTS), str(out)]
    proc = subprocess.Popen(
        cmd, env=credentials(emu), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        if signals:
            while sum(line.startswith("result") for line in lines) < 12:
                line = proc.stdout.readline()
                assert line, "".join(lines)
                lines.append(line)
            for sig in signals:
                proc.send_signal(sig)
                time.sleep(0.05)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, [*lines, *rest.splitlines(keepends=True)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_waits_for_calls_on_the_wire_and_a_rerun_pays_none_twice(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(0.1, 0.3), seed=5) as emu:
        code, output = run_script(tmp_path, emu, out, signals=[sig])
        assert code == 128 + sig, "".join(output)
        assert "Traceback" not in "".join(output)
        assert output[-1].strip() == "in flight at the end 0 abandoned 0"
        # Every call the server charged is recorded: nothing was left on the wire unrecorded.
        charged = [c for c in emu.record().calls if c.charged > 0]
        assert len(charged) == sum(r.ok for r in read_results(out)) < PROMPTS

        code, output = run_script(tmp_path, emu, out, signals=[])
        assert code == 0, "".join(output)
        record = emu.record()
    assert Counter(record.charges_by_key().values()) == {1: PROMPTS}  # no key charged twice
    assert len(read_results(out)) == PROMPTS


def test_a_second_signal_abandons_the_calls_in_flight(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(1.0, 1.5), seed=5) as emu:
        code, output = run_script(tmp_path, emu, out, signals=[signal.SIGTERM, signal.SIGTERM])
    # The second signal cancels the task that entered the block: asyncio.run re-raises it.
    assert code != 0 and code != 128 + signal.SIGTERM
    assert "CancelledError" in "".join(output)
