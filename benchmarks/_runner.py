"""The parent's side: start the emulator, run a peer in a child process, read its result."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import msgspec

from dfs_async.testing import EmulatorProcess

from ._spec import TARGETS, Mode, RunResult, RunSpec

REPO: Final = Path(__file__).resolve().parents[1]


def spec_for(
    emulator: EmulatorProcess, peer: str, mode: Mode, calls: int, slots: int, **options: object
) -> RunSpec:
    """A spec aimed at ``emulator``; ``options`` are the other `RunSpec` fields."""
    return msgspec.convert(
        {
            "peer": peer,
            "mode": mode,
            "base_url": emulator.base_url,
            "login": emulator.login,
            "password": emulator.password,
            "calls": calls,
            "slots": slots,
            **options,
        },
        RunSpec,
    )


def child_env() -> dict[str, str]:
    """The environment of a child interpreter that imports ``benchmarks`` from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start_worker(spec: msgspec.Struct) -> subprocess.Popen[str]:
    """Start a ``benchmarks._shared_child`` worker on ``spec`` (a ``WorkerSpec``).

    It prints ``answered N`` as it goes and its summary as the last line of stdout.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks._shared_child", msgspec.json.encode(spec).decode()],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_answered(proc: subprocess.Popen[str], count: int) -> None:
    """Block until the worker ``proc`` reports ``count`` results."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("answered ") and int(line.split()[1]) >= count:
            return
    raise RuntimeError("a worker process ended before answering enough")


def run_child(spec: RunSpec, *, timeout: float = 600.0) -> RunResult:
    """Run ``spec`` in a fresh interpreter; a crash becomes an ``unavailable`` result."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks._child"],
            input=msgspec.json.encode(spec),
            capture_output=True,
            cwd=REPO,
            env=child_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return RunResult(unavailable=f"did not finish within {timeout:g} s")
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return RunResult(unavailable=f"failed (exit {done.returncode}): {tail[0][:160]}")
    return msgspec.json.decode(lines[-1], type=RunResult)


def warm_up(emulator: EmulatorProcess, *, per_platform: int = 8, rounds: int = 2) -> None:
    """Send a few Live calls to every platform, then reset the record.

    The emulator's first answers are slow (its code paths and caches are cold): without this,
    whichever peer runs first would pay for it.
    """
    token = base64.b64encode(f"{emulator.login}:{emulator.password}".encode()).decode()

    def call(n: int) -> None:
        platform, model = TARGETS[n % len(TARGETS)]
        task = [{"user_prompt": f"warm-up {n}", "model_name": model}]
        request = urllib.request.Request(
            f"{emulator.base_url}/v3/ai_optimization/{platform}/llm_responses/live",
            data=json.dumps(task).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    calls = per_platform * len(TARGETS)
    with ThreadPoolExecutor(max_workers=calls) as pool:
        for r in range(rounds):
            list(pool.map(call, range(r * calls, (r + 1) * calls)))
    emulator.reset()
