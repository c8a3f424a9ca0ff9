"""A sweep killed with SIGKILL and run again: every prompt answered exactly once, and no
prompt whose answer was recorded is sent again. Client and server are separate processes,
so the server's record survives the kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import msgspec

from dfs_async import ResultRecord
from dfs_async.testing import EmulatorProcess, task_key

TARGETS = ["--platform", "chat_gpt", "--model", "gpt-4.1-mini"]
TARGETS += ["--platform", "perplexity", "--model", "sonar"]
PROMPTS = 150


def complete_records(path: Path) -> list[ResultRecord]:
    """Every whole line; a line torn by the kill is left out, as the sink does."""
    decoder = msgspec.json.Decoder(ResultRecord)
    records = []
    for line in path.read_bytes().split(b"\n")[:-1]:
        records.append(decoder.decode(line))
    return records


def sweep_command(prompts: Path, out: Path, base_url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dfs_async",
        "sweep",
        str(prompts),
        *TARGETS,
        "--base-url",
        base_url,
        "--concurrency",
        "4",
        "--rate-limit",
        "6000",
        "--quiet",
        "--out",
        str(out),
    ]


def test_sigkill_then_rerun_answers_everything_once(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"which tool is best, case {i}?\n" for i in range(PROMPTS)))
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(0.02, 0.08), seed=5) as emu:
        env = {**os.environ, "DATAFORSEO_LOGIN": emu.login, "DATAFORSEO_PASSWORD": emu.password}
        command = sweep_command(prompts, out, emu.base_url)
        first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not (out.exists() and out.read_bytes().count(b"\n") >= 40):
                assert first.poll() is None, "the sweep ended before it could be killed"
                assert time.monotonic() < deadline, "no results arrived"
                time.sleep(0.01)
            first.send_signal(signal.SIGKILL)
        finally:
            first.wait(timeout=10)
        recorded = {(r.platform, r.prompt) for r in complete_records(out) if r.ok}
        assert 40 <= len(recorded) < 2 * PROMPTS

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        seen_by_server: Counter[tuple[str | None, str]] = Counter(
            (c.platform, c.key) for c in emu.record().calls if c.platform is not None
        )

    answered = Counter((r.platform, r.prompt) for r in complete_records(out) if r.ok)
    assert len(answered) == 2 * PROMPTS
    assert set(answered.values()) == {1}  # every prompt on every target answered exactly once
    for platform, prompt in recorded:
        model = "gpt-4.1-mini" if platform == "chat_gpt" else "sonar"
        key = task_key({"user_prompt": prompt, "model_name": model})
        assert seen_by_server[(platform, key)] == 1, (platform, prompt)
