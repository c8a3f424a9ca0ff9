"""What the emulator saw during one run, reduced to the governance figures.

Everything here is measured at the server (the emulator's monotonic clock): arrivals, the
calls it served, what it refused (40202 rate, 40209 concurrency) and how long each was held.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from dfs_async import PLATFORMS
from dfs_async.testing import CallRecord, ServerRecord

SERVED = 20000


@dataclass(frozen=True)
class Governance:
    """One run's figures at the server."""

    served_per_s: float
    """Calls answered 20000 per second, from the first arrival to the last answer."""
    rate_ratio: float | None
    """Served calls per second over the run, divided by the limit's rate."""
    window_ratios: list[float]
    """Served calls in each whole ``period`` window from the first arrival, / rate_limit."""
    window_max: int
    """The most arrivals (refused ones too) in any window of ``period`` seconds."""
    max_in_flight: int
    """The most Live calls of one platform at the server at once, refused ones included."""
    occupancy: list[float]
    """Per platform: the share of its slots busy from the first arrival to the last answer."""
    refused_rate: int
    refused_slots: int


def live_calls(record: ServerRecord) -> list[CallRecord]:
    """The Live calls the server answered."""
    return [c for c in record.calls if c.platform is not None and c.path.endswith("/live")]


def governance(
    record: ServerRecord, *, rate_limit: int, period: float, slots: int | None
) -> Governance:
    """The governance figures of ``record`` for a limit of ``rate_limit``/``period``."""
    calls = live_calls(record)
    served = sorted(c.arrived for c in calls if c.status_code == SERVED)
    rate = rate_limit / period
    ratio = None
    windows: list[float] = []
    if len(served) > 1 and served[-1] > served[0]:
        ratio = (len(served) - 1) / (served[-1] - served[0]) / rate
        start = served[0]
        while start + period <= served[-1]:
            end = start + period
            windows.append(sum(1 for t in served if start <= t < end) / rate_limit)
            start = end
    occupancy: list[float] = []
    served_per_s = 0.0
    if calls:
        begin = min(c.arrived for c in calls)
        finish = max(c.finished for c in calls)
        if finish > begin:
            served_per_s = len(served) / (finish - begin)
            if slots is not None:
                occupancy = [record.occupancy(p, begin, finish, slots) for p in PLATFORMS]
    return Governance(
        served_per_s=served_per_s,
        rate_ratio=ratio,
        window_ratios=windows,
        window_max=record.max_calls_in_window(period),
        max_in_flight=max_overlap(calls),
        occupancy=occupancy,
        refused_rate=record.codes.get(40202, 0),
        refused_slots=record.codes.get(40209, 0),
    )


def max_overlap(calls: list[CallRecord]) -> int:
    """The most calls of one platform between arrival and answer at once."""
    best = 0
    for platform in PLATFORMS:
        events = sorted(
            (t, step)
            for c in calls
            if c.platform == platform
            for t, step in ((c.arrived, 1), (c.finished, -1))
        )  # at equal times the -1 (an answer) sorts first: a slot freed, then taken
        level = 0
        for _, step in events:
            level += step
            best = max(best, level)
    return best


def handling(calls: list[CallRecord]) -> float:
    """Median seconds the server spent on a call beyond its service time."""
    return statistics.median(c.finished - c.arrived - c.service_time for c in calls)
