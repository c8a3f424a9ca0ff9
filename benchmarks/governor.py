"""The governor alone: CPU per call and rate kept, `LocalGovernor` against the GCRA reference.

The cpu suite measures the whole client, where the governor is a few percent of a call and the
machine's noise is ±20 % per run; this suite isolates the governor so a difference of a few
microseconds shows. Each run drives one governor the way a sweep does: per platform, the slot
limit plus two spare workers, each looping acquire → one pass of the event loop (the "call")
→ release, until the run's calls are done. CPU is ``time.process_time()`` over the run.

Scenarios: limits lifted (16 slots per platform, rate 10⁹/s: the cpu suite's setting, where
every call takes the free path) and paced (6 slots per platform, 2,000 calls/s, so every call
waits for its turn in the pacer). The package's governor runs as shipped (its `AsyncLimiter`
on ``loop.time()`` through the public API; on uvloop that clock steps once a millisecond, and
the bucket's capacity holds a millisecond of calls so the lifted rate does not spin), and once
with its slots on ``anyio.CapacityLimiter`` (benchmarks/anyio_slots.py), the alternative to
its hand-written slot pool.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from dfs_async import PLATFORMS, Governor, Limits, LocalGovernor, Platform

from ._report import Spread, Table
from .gcra_governor import GCRAGovernor

SPARE = 2
"""Workers per platform beyond its slots, as the fan-out runs them."""


@dataclass(frozen=True)
class Scenario:
    """Limits and the size of one run."""

    title: str
    rate: int
    slots: int
    calls: int
    rounds: int


SCENARIOS = (
    Scenario("limits lifted: rate 10⁹/s, 16 slots per platform", 1_000_000_000, 16, 40_000, 7),
    Scenario("paced: 2,000 calls/s, 6 slots per platform", 2_000, 6, 3_000, 5),
)


def _anyio_slots(limits: Limits) -> Governor:
    # The package's governor with anyio.CapacityLimiter slots (benchmarks/anyio_slots.py).
    from .anyio_slots import AnyioSlotPool

    governor = LocalGovernor(limits)
    pools = {p: AnyioSlotPool(limits.concurrency_for(p)) for p in PLATFORMS}
    governor._slots = pools  # type: ignore[assignment]
    return governor


GOVERNORS: dict[str, Callable[[Limits], Governor]] = {
    "LocalGovernor (aiolimiter)": LocalGovernor,
    "GCRA reference": GCRAGovernor,
    "LocalGovernor, slots on anyio.CapacityLimiter": _anyio_slots,
}
SHARE: dict[str, float] = {}
"""Share of a run's calls a governor makes, where a full run would take too long (none now)."""
REFERENCE = "GCRA reference"
SHARE_NOTE = "the same for every governor"
PACKAGE = "LocalGovernor (aiolimiter)"


async def _drive(make: Callable[[Limits], Governor], scenario: Scenario) -> tuple[float, float]:
    """Run ``scenario.calls`` calls through a fresh governor; (CPU s, wall s)."""
    limits = Limits(rate_limit=scenario.rate, rate_period=1.0, live_concurrency=scenario.slots)
    governor = make(limits)
    left = scenario.calls

    async def worker(platform: Platform) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await governor.acquire(platform)
            await asyncio.sleep(0)
            governor.release(platform)

    cpu, wall = time.process_time(), time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for platform in PLATFORMS:
            for _ in range(scenario.slots + SPARE):
                tg.create_task(worker(platform))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await governor.aclose()
    return cpu, wall


def _run_once(
    make: Callable[[Limits], Governor], scenario: Scenario, uvloop: bool
) -> tuple[float, float]:
    factory = None
    if uvloop:
        import uvloop as uv

        factory = uv.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_drive(make, scenario))


def run(quick: bool = False) -> list[Table]:
    """One table per scenario."""
    loops = [False] + ([True] if importlib.util.find_spec("uvloop") is not None else [])
    tables = []
    for scenario in SCENARIOS:
        calls = 400 if quick else scenario.calls
        rounds = 1 if quick else scenario.rounds
        sized = replace(scenario, calls=calls, rounds=rounds)
        table = Table(
            f"governor alone, {scenario.title}",
            ("governor", "loop", "CPU µs / call", "× GCRA reference (same round)", "calls / s"),
        )
        for uvloop in loops:
            cpu: dict[str, list[float]] = {name: [] for name in GOVERNORS}
            rate: dict[str, list[float]] = {name: [] for name in GOVERNORS}
            for r in range(rounds):
                # Every other round in reverse, so no governor always runs first.
                order = list(GOVERNORS.items())
                for name, make in order if r % 2 == 0 else order[::-1]:
                    n = max(400, round(calls * SHARE.get(name, 1.0)))
                    spent, wall = _run_once(make, replace(sized, calls=n), uvloop)
                    cpu[name].append(spent / n * 1e6)
                    rate[name].append(n / wall)
            for name in GOVERNORS:
                ratios = [a / b for a, b in zip(cpu[name], cpu[REFERENCE], strict=True)]
                table.add(
                    name,
                    "uvloop" if uvloop else "asyncio",
                    Spread.of(cpu[name]).fmt(".1f"),
                    Spread.of(ratios).fmt(".3f"),
                    Spread.of(rate[name]).fmt(".0f"),
                )
        table.notes += [
            f"{calls:,} calls per run ({SHARE_NOTE}), {rounds} interleaved rounds; median "
            "(min–max). Each call: "
            "acquire, one pass of the event loop, release; per platform the slots plus "
            f"{SPARE} spare workers, as a sweep runs them. CPU is the process's over the run.",
        ]
        tables.append(table)
    return tables
