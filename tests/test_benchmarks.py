"""Each benchmark suite runs in ``--quick`` mode and prints its tables.

Not a timed test: tiny sizes, one run each, only to check that the benchmarks still run
against the emulator and print a table with every peer's row.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TITLES = {
    "governance": (
        "governed: 300 calls / 6 s",
        "rate only",
        "slots only",
    ),
    "cpu": ("client CPU per request",),
    "governor": ("governor alone, limits lifted", "governor alone, paced"),
    "decode": ("decode one Live answer",),
    "memory": ("peak RSS of a streaming sweep", "peak RSS of resuming"),
    "overhead": ("added latency per call",),
    "priority": ("priority: interactive live() beside bulk sweeps",),
    "shared": ("shared governance: N processes", "client CPU per call with Redis"),
    "standard": ("Live vs Standard",),
    "visibility": ("visibility report: scoring recorded answers",),
}

ROW = {
    "decode": "| msgspec → dfs_async",
    "governor": "| LocalGovernor (aiolimiter) |",
    "priority": "| 1 process, 0 concurrent sweeps |",
    "shared": "| dfs_async",
    "standard": "| standard |",
}
"""How the package's row starts where it is not called dfs_async."""


def run_benchmarks(*args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("suite", sorted(TITLES))
def test_suite_quick_mode_prints_its_tables(suite: str) -> None:
    out = run_benchmarks(suite, "--quick")
    assert "- machine:" in out
    for title in TITLES[suite]:
        assert f"### {title}" in out, f"no table {title!r} in:\n{out[-3000:]}"
    row = ROW.get(suite, "| dfs_async |")
    assert out.count(row) >= len(TITLES[suite])
    assert "**not run: failed" not in out, out
    others = {t for ts in TITLES.values() for t in ts} - set(TITLES[suite])
    assert not any(f"### {t}" in out for t in others)


def test_unknown_suite_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "nonsense"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
