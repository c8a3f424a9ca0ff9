"""``dfs-async emulate`` prints the lines that point a shell at it, and they work as printed."""

from __future__ import annotations

import os
import subprocess
import sys

from dfs_async._http._client import BASE_URL_ENV, LOGIN_ENV, PASSWORD_ENV


def test_the_printed_exports_point_the_cli_at_the_emulator() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
    emulate = [sys.executable, "-m", "dfs_async", "emulate", "--port", "0"]
    proc = subprocess.Popen(emulate, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert set(exports) == {LOGIN_ENV, PASSWORD_ENV, BASE_URL_ENV}
        done = subprocess.run(
            [sys.executable, "-m", "dfs_async", "models", "claude"],
            env={**env, **exports},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # closes its stdout too
    assert done.returncode == 0, done.stderr
    assert "claude-sonnet-4-0" in done.stdout
