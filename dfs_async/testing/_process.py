"""The emulator in a child process, so a benchmark measures the client's CPU alone."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Final, TypedDict, Unpack

from .._platforms import Platform
from ._config import EmulatorConfig, Fault, LatencyRange
from ._record import ServerRecord

_LISTENING: Final = re.compile(r"listening on (http://\S+)")
_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parents[2])


class ConfigOverrides(TypedDict, total=False):
    """`EmulatorConfig` fields that can cross a process boundary (all but ``faults``)."""

    login: str
    password: str
    latency: LatencyRange
    latency_by_platform: Mapping[Platform, LatencyRange]
    rate_limit: int | None
    rate_period: float
    live_concurrency: int | Mapping[Platform, int] | None
    fault_rate: float
    fault_kinds: tuple[Fault, ...]
    fault_first_attempt_only: bool
    hang_seconds: float
    seed: int
    balance: float
    standard_delay: LatencyRange
    task_post_limit: int
    tasks_ready_limit: int | None
    tasks_ready_period: float
    results_ttl: float
    task_post_latency: float
    callback_timeout: float


class EmulatorProcess:
    """`python -m dfs_async.testing` in a subprocess, as a sync or async context manager.

    Parameters
    ----------
    config:
        A base config (without a ``faults`` callable); keyword overrides are applied on top,
        e.g. ``EmulatorProcess(latency=(0.0, 0.0), rate_limit=2000)``.
    startup_timeout:
        Seconds to wait for the child's "listening" line.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        /,
        *,
        startup_timeout: float = 30.0,
        **overrides: Unpack[ConfigOverrides],
    ) -> None:
        base = config if config is not None else EmulatorConfig()
        self.config = dataclasses.replace(base, **overrides)
        self._config_json = self.config.to_json()  # fails now if it cannot cross
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the child, once started."""
        if self._base_url is None:
            raise RuntimeError("the emulator process is not running; use `with EmulatorProcess()`")
        return self._base_url

    @property
    def login(self) -> str:
        """The login the emulator accepts."""
        return self.config.login

    @property
    def password(self) -> str:
        """The password the emulator accepts."""
        return self.config.password

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the child and wait until it listens."""
        if self._proc is not None:
            raise RuntimeError("the emulator process is already running")
        command = [sys.executable, "-m", "dfs_async.testing", "--host", "127.0.0.1", "--port", "0"]
        env = dict(os.environ)
        # The child must import this very dfs_async, installed or not.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [*command, "--config-json", self._config_json],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._proc.stdout is not None
        line = _read_line(self._proc.stdout, self.startup_timeout)
        match = _LISTENING.search(line)
        if match is None:
            code = self._proc.poll()
            self.stop()
            raise RuntimeError(
                f"the emulator process did not start (exit code {code}, said {line.strip()!r})"
            )
        self._base_url = match[1]

    def stop(self) -> None:
        """Terminate the child and wait for it; safe to call twice."""
        proc, self._proc = self._proc, None
        self._base_url = None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def record_dict(self, *, calls: bool = True) -> dict[str, object]:
        """The child's ``ServerRecord.to_dict()``; blocking, so call it between runs."""
        url = f"{self.base_url}/_emulator/record?calls={int(calls)}"
        with urllib.request.urlopen(url, timeout=60) as response:
            data = json.loads(response.read())
        if not isinstance(data, dict):
            raise RuntimeError(f"unexpected record from the emulator: {type(data).__name__}")
        return data

    def record(self) -> ServerRecord:
        """The child's record, rebuilt here so its methods (windows, charges) work."""
        return ServerRecord.from_dict(self.record_dict())

    def reset(self) -> None:
        """Reset the child's record (and with it the rate window and attempt counts)."""
        request = urllib.request.Request(f"{self.base_url}/_emulator/reset", method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmulatorProcess:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        return f"EmulatorProcess({self._base_url or 'not running'}, pid={self.pid})"


def _read_line(stream: IO[str], timeout: float) -> str:
    """The stream's next line, or "" once ``timeout`` seconds have passed."""
    # A thread, because a pipe read cannot time out portably; after a timeout the caller stops
    # the process, the pipe closes, and the thread ends.
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""
