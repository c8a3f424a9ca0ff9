"""``dfs-async sweep`` and its ``--out`` file: damaged lines, foreign files, two sweeps at once,
a full disk. What the server saw is the measure of what was paid."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

from dfs_async import read_results
from dfs_async._cli._main import main
from dfs_async._records import _sink
from dfs_async.testing import Emulator, EmulatorConfig, EmulatorProcess

from ._record import paid

TARGET_ARGS = ["--platform", "chat_gpt", "--model", "gpt-4.1-mini"]


def write_prompts(path: Path, n: int) -> Path:
    path.write_text("".join(f"which tool is best, case {i}?\n" for i in range(n)), "utf-8")
    return path


async def sweep(emu: Emulator, prompts: Path, out: Path, *extra: str) -> int:
    """``main`` on a thread (it runs its own loop) against ``emu``."""
    argv = ["sweep", str(prompts), *TARGET_ARGS, "--base-url", emu.base_url, "--out", str(out)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAFORSEO_LOGIN", emu.login)
        mp.setenv("DATAFORSEO_PASSWORD", emu.password)
        return await anyio.to_thread.run_sync(main, [*argv, *extra])


@pytest.mark.anyio
async def test_a_damaged_middle_line_costs_one_resend_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 30)
    out = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        assert await sweep(emu, prompts, out) == 0
        lines = out.read_bytes().splitlines(keepends=True)
        lines[9] = lines[9][:40] + b"\n"  # damaged long ago; the records after it are fine
        out.write_bytes(b"".join(lines))
        capsys.readouterr()
        before = len(paid(emu.record))
        assert await sweep(emu, prompts, out) == 0
        resent = len(paid(emu.record)) - before
    captured = capsys.readouterr()
    assert resent == 1
    assert "29 answered items skipped" in captured.err
    assert "1 unreadable line skipped (first: line 10)" in captured.err
    assert "unreadable  1 line skipped (first: line 10)" in captured.out
    assert len(read_results(out)) == 30
    assert out.read_bytes().startswith(b"".join(lines))  # the damaged line is still there


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content",
    [b"my notes\n", b"a,b\n1,2\n", bytes(range(256)), b'{"hello": "world"}\n'],
)
async def test_out_that_is_not_a_results_file_is_refused_before_any_call(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 3)
    out = tmp_path / "notes.txt"
    out.write_bytes(content)
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        assert await sweep(emu, prompts, out) == 2
        assert emu.record.calls == []
    assert out.read_bytes() == content
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not a results file" in err


@pytest.mark.anyio
async def test_out_equal_to_the_prompts_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 3)
    content = prompts.read_bytes()
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        assert await sweep(emu, prompts, tmp_path / "." / "p.txt") == 2
        assert emu.record.calls == []
    assert prompts.read_bytes() == content
    assert "--out" in capsys.readouterr().err


HOLD = """
import sys
from dfs_async import JsonlSink
with JsonlSink(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_out_held_by_another_process_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 3)
    out = tmp_path / "r.jsonl"

    async def refused() -> None:
        async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
            assert await sweep(emu, prompts, out) == 2
            assert emu.record.calls == []

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"locked\n"
        anyio.run(refused)
    finally:
        holder.communicate(b"", timeout=10)
    err = capsys.readouterr().err
    assert "in use by" in err
    if sys.platform == "linux":
        assert f"process {holder.pid}" in err


def test_two_sweeps_on_one_file_at_once_pay_once(tmp_path: Path) -> None:
    n = 60
    prompts = write_prompts(tmp_path / "p.txt", n)
    out = tmp_path / "r.jsonl"
    with EmulatorProcess(latency=(0.02, 0.05), seed=3) as emu:
        env = {**os.environ, "DATAFORSEO_LOGIN": emu.login, "DATAFORSEO_PASSWORD": emu.password}
        command = [sys.executable, "-m", "dfs_async", "sweep", str(prompts), *TARGET_ARGS]
        command += ["--base-url", emu.base_url, "--concurrency", "3", "--quiet"]
        command += ["--rate-limit", "6000", "--out", str(out)]
        procs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        codes = [p.wait(timeout=60) for p in procs]
        errs = [p.communicate()[1].decode() for p in procs]
        charges = emu.record().charges_by_key()
    # One ran; the other either found the file in use or, if it came second, had nothing left.
    assert sorted(codes) in ([0, 2], [0, 0]), errs
    if 2 in codes:
        assert "in use by process" in errs[codes.index(2)]
    assert len(charges) == n
    assert set(charges.values()) == {1}  # no item paid twice
    records = read_results(out, strict=True)
    assert Counter(r.ok for r in records) == {True: n}


@pytest.mark.anyio
async def test_a_full_disk_stops_with_one_line_and_loses_nothing_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 40)
    out = tmp_path / "r.jsonl"
    real = _sink._write_all
    written = 0

    def fills_up(fd: int, data: bytes) -> None:
        nonlocal written
        if written == 5:
            real(fd, data[:17])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written += 1
        real(fd, data)

    monkeypatch.setattr(_sink, "_write_all", fills_up)
    async with Emulator(EmulatorConfig(latency=(0.0, 0.01))) as emu:
        assert await sweep(emu, prompts, out, "--concurrency", "2") == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("dfs-async")]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"dfs-async: error: {out}: cannot write: No space left on device; ")
    assert "could not be recorded" in errors[0]
    assert captured.out.startswith("sweep interrupted")
    assert len(read_results(out, strict=True)) == 5  # every recorded line whole


FILE_SIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from dfs_async._cli._main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_a_real_write_failure_in_a_real_process_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # The kernel refuses the write that would grow the file past the limit, as a full disk
    # would: the record that does not fit is dropped whole, the ones before it stay.
    prompts = write_prompts(tmp_path / "p.txt", 40)
    out = tmp_path / "r.jsonl"
    argv = ["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--quiet", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
    done = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, "20000", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"dfs-async: error: {out}: cannot write: File too large")
    recorded = read_results(out, strict=True)
    assert 1 <= len(recorded) < 40
    assert out.read_bytes().endswith(b"\n")
    assert out.stat().st_size <= 20000


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_a_disk_full_from_the_start_counts_every_paid_answer_it_lost(tmp_path: Path) -> None:
    # Not one record fits: every answer the server charged is lost, and the error and the
    # summary must say how many and what they cost (the server's record is the measure).
    prompts = write_prompts(tmp_path / "p.txt", 100)
    out = tmp_path / "r.jsonl"
    with EmulatorProcess(latency=(0.05, 0.1), seed=4) as emu:
        argv = ["sweep", str(prompts), *TARGET_ARGS, "--quiet", "--out", str(out)]
        argv += ["--base-url", emu.base_url, "--concurrency", "5"]
        env = {**os.environ, "DATAFORSEO_LOGIN": emu.login, "DATAFORSEO_PASSWORD": emu.password}
        done = subprocess.run(
            [sys.executable, "-c", FILE_SIZE_LIMIT, "0", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        charged = [c for c in emu.record().calls if c.charged > 0]
    assert done.returncode == 2, done.stderr
    assert out.read_bytes() == b""
    assert 1 <= len(charged) < 100  # stopped admitting at the first failed write
    n, cost = len(charged), sum(c.charged for c in charged)
    lost = f"{n} paid answer{'' if n == 1 else 's'} (${cost:.4f})"
    assert f"; {lost} could not be recorded" in done.stderr
    row = next(line for line in done.stdout.splitlines() if "not recorded" in line)
    assert f"{n} paid answers (${cost:.4f}) lost" in row
