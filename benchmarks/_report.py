"""Figures and tables: medians with their spread, percentiles, Markdown tables, the machine."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = (
    "dfs_async",
    "aiohttp",
    "msgspec",
    "aiolimiter",
    "anyio",
    "aiometer",
    "dataforseo-client",
    "pydantic",
    "urllib3",
    "uvloop",
)


@dataclass(frozen=True)
class Spread:
    """The median of several runs and their range."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of ``values`` (at least one)."""
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, spec: str = ".0f", scale: float = 1.0) -> str:
        """``median (lo–hi)``, or just the value for a single run."""
        m, lo, hi = (format(v * scale, spec) for v in (self.median, self.lo, self.hi))
        return m if self.n == 1 or lo == hi else f"{m} ({lo}–{hi})"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation; ``values`` need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of nothing")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Table:
    """A titled Markdown table with notes under it."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row; cells are shown with ``str``."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([str(c) for c in cells])

    def unavailable(self, name: str, reason: str) -> None:
        """A row for a peer that could not run, saying why."""
        self.add(name, f"**not run: {reason}**", *[""] * (len(self.columns) - 2))

    def markdown(self) -> str:
        """The table as Markdown, notes as a list below it."""
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> int:
    """CPUs this process may run on, as ``nproc`` counts them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> str:
    """The 1/5/15-minute load averages, or "n/a"."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def version(package: str) -> str:
    """An installed distribution's version, or "not installed"."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(command: str) -> str:
    """Where and when the tables were made, as Markdown."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    packages = ", ".join(f"{p} {version(p)}" for p in PACKAGES)
    return "\n".join(
        [
            f"- command: `{command}`",
            f"- date: {now}",
            f"- machine: {nproc()} CPUs (nproc), {cpu_model()}, "
            f"{platform.system()} {platform.release()}",
            f"- Python {platform.python_version()} ({sys.implementation.name})",
            f"- packages: {packages}",
            f"- load average at start (1/5/15 min): {load_average()}",
        ]
    )
