"""The account's rate at real scale, and at short windows, measured at the server.

Run apart from the quick suites (``python -m benchmarks rate``; ``all`` leaves it out), since
the real scale alone takes over three minutes:

- real scale: the emulator enforces the documented 2,000 calls / 60 s (and 30 Live slots per
  platform, service 0.1–0.3 s, so the sweep is rate-bound) over four platforms, for a sweep
  of 7,000 calls (3.5 minutes at the limit); every arrival is counted in its record;
- short windows: 500 calls / 3 s (the standard suite's scale, where a 2 % headroom once let
  501 arrivals into one window), ten runs of 2,000 calls each.

dfs_async runs with its defaults (to the loopback emulator: ``jitter`` 20 ms); the figures are
the emulator's.
"""

from __future__ import annotations

from dataclasses import dataclass

from dfs_async.testing import EmulatorProcess

from ._report import Spread, Table
from ._runner import run_child, spec_for, warm_up
from ._server import governance

SLOTS = 30
LATENCY = (0.1, 0.3)


@dataclass(frozen=True)
class Scale:
    """One account limit and how long to run against it."""

    title: str
    rate_limit: int
    period: float
    calls: int
    runs: int
    quick_calls: int


SCALES = (
    Scale("real scale: 2,000 calls / 60 s, 30 slots per platform", 2000, 60.0, 7000, 1, 200),
    Scale("short windows: 500 calls / 3 s, 30 slots per platform", 500, 3.0, 2000, 10, 200),
)

COLUMNS = (
    "run",
    "calls",
    "answered",
    "span",
    "÷ limit (whole windows)",
    "max in any window (≤ limit)",
    "40202",
)


def run(quick: bool = False) -> list[Table]:
    """One table per scale."""
    return [_scale(scale, quick) for scale in SCALES]


def _scale(scale: Scale, quick: bool) -> Table:
    table = Table(scale.title, COLUMNS)
    calls = scale.quick_calls if quick else scale.calls
    runs = 1 if quick else scale.runs
    ratios: list[float] = []
    worst = 0
    refused = 0
    with EmulatorProcess(
        latency=LATENCY,
        rate_limit=scale.rate_limit,
        rate_period=scale.period,
        live_concurrency=SLOTS,
    ) as emulator:
        warm_up(emulator)
        for n in range(1, runs + 1):
            emulator.reset()
            spec = spec_for(
                emulator,
                "dfs_async",
                "sweep",
                calls,
                SLOTS,
                rate_limit=scale.rate_limit,
                rate_period=scale.period,
            )
            result = run_child(spec, timeout=calls / scale.rate_limit * scale.period * 2 + 120)
            if result.unavailable:
                table.unavailable(f"run {n}", result.unavailable)
                continue
            record = emulator.record()
            g = governance(record, rate_limit=scale.rate_limit, period=scale.period, slots=None)
            arrivals = record.arrivals
            span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
            ratio = "–"
            if g.rate_ratio is not None:
                ratios.append(g.rate_ratio)
                ratio = f"{g.rate_ratio:.2%}"
                if g.window_ratios:
                    w = Spread.of(g.window_ratios)
                    ratio += f" ({w.lo:.2%}–{w.hi:.2%})"
            worst = max(worst, g.window_max)
            refused += g.refused_rate
            table.add(
                f"{n}",
                f"{calls:,}",
                f"{result.ok:,}",
                f"{span:.1f} s",
                ratio,
                g.window_max,
                g.refused_rate,
            )
    table.notes.append(
        "Measured at the emulator, on its clock; every arrival counts. '÷ limit': calls per "
        "second from the first arrival to the last, over the limit's rate; in brackets the "
        f"range over the run's whole {scale.period:g} s windows. 'max in any window': the most "
        f"arrivals in any {scale.period:g} s, refused ones too."
    )
    if ratios:
        table.notes.append(
            f"Over {len(ratios)} run(s): ÷ limit {min(ratios):.2%}–{max(ratios):.2%}, "
            f"at most {worst} arrivals in any {scale.period:g} s (limit {scale.rate_limit}), "
            f"{refused} × 40202."
        )
    return table
