"""``dfs-async sweep`` run as a real process, for the tests that kill it and run it again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from dfs_async import ResultRecord
from dfs_async.testing import EmulatorProcess


def sweep_command(prompts: Path, out: Path, base_url: str, *options: str) -> list[str]:
    """The command line of a sweep of ``prompts`` into ``out`` against ``base_url``."""
    return [
        sys.executable, "-m", "dfs_async", "sweep", str(prompts), *options,
        "--base-url", base_url, "--out", str(out),
    ]  # fmt: skip


def credentials(emu: EmulatorProcess) -> dict[str, str]:
    """This process's environment with the emulator's credentials."""
    return {**os.environ, "DATAFORSEO_LOGIN": emu.login, "DATAFORSEO_PASSWORD": emu.password}


def whole_records(path: Path) -> list[ResultRecord]:
    """Every whole line of a results file; a line torn by a kill is left out, as the sink does."""
    if not path.exists():
        return []
    decoder = msgspec.json.Decoder(ResultRecord)
    return [decoder.decode(line) for line in path.read_bytes().split(b"\n")[:-1]]


def kill_when(
    command: list[str], env: dict[str, str], ready: Callable[[], bool], *, waiting_for: str
) -> None:
    """Start ``command`` and SIGKILL it as soon as ``ready()``; fail if it ends first, or if
    ``waiting_for`` has not happened within 60 s."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, f"waited in vain for {waiting_for}"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
