"""Priority: interactive ``live()`` calls beside bulk sweeps, in one process and through Redis.

One emulator process enforces the account's limits (300 calls / 6 s, 6 Live calls in flight
per platform, service time 0.2–0.4 s) and records every call. Bulk sweeps keep the 6 claude
slots busy: 0, 1, 3 or 6 concurrent ``gather_prompts`` in the measuring process (one client,
`LocalGovernor`), or 0, 1 or 3 sweep processes (``_shared_child.py``, each its own client)
sharing the account with the measuring process through one ``redis-server`` (the fourth
process); and rows where the sweeps go to all four platforms, so that the account's rate
binds rather than the slots. Once the sweeps have run alone for a while, interactive calls
start at a steady pace, each its own task (as web requests arrive). Every figure comes from
the emulator's record: an interactive call's wait is its arrival minus its start, its end to
end its answer minus its start (one host, one monotonic clock); the sweeps' throughput is
their arrivals per second alone (before the first interactive call) and beside them.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Final

from dfs_async import AsyncClient, Limits, RedisGovernor, Target, gather_prompts
from dfs_async.testing import CallRecord, EmulatorProcess, RedisServer, ServerRecord

from ._report import Table, percentile
from ._runner import start_worker, wait_answered, warm_up
from ._server import live_calls
from ._shared_child import WorkerSpec
from ._spec import TARGETS

RATE_LIMIT = 300
RATE_PERIOD = 6.0
SLOTS = 6
LATENCY = (0.2, 0.4)
SERVICE = 0.3
"""The mean service time: the bar is a median end to end of at most 1.5 × this."""
PLATFORM: Final = "claude"
MODEL: Final = "claude-sonnet-4-0"
ASKS, EVERY = 16, 0.4
"""Interactive calls per row, one starting every EVERY seconds."""
ALONE = 6.0
"""Seconds the sweeps run alone before the first interactive call (their baseline rate)."""
STEADY = 5.0
"""Seconds before the first interactive call over which the sweeps' rate alone is taken: the
first second's refills come bunched (the first six calls all started at once). Five seconds
hold ~100 slot-bound calls: over two (~40) the baseline swung by ±15 % with the draws of
service times, more than the drops it is compared with."""
BULK_RATE = SLOTS / SERVICE
"""The sweeps' calls per second with the slots full (20: slot-bound, the rate allows 50)."""
INTERACTIVE, BULK = 0, -1
"""A plain ``live()``'s priority and a sweep's default (higher goes first)."""
LOCAL_SWEEPS = (0, 1, 3, 6)
REDIS_PROCESSES = (0, 1, 3)


@dataclass(frozen=True)
class Row:
    """One setup: where the sweeps run, how many, and the interactive calls' priority."""

    where: str
    """"local": sweeps in the measuring process; "redis": in other processes, via Redis."""
    sweeps: int
    priority: int = INTERACTIVE
    everywhere: bool = False
    """The sweeps go to all four platforms: rate-bound (80 calls/s of slots, 50 of rate)."""

    @property
    def targets(self) -> list[Target]:
        """The sweeps' targets."""
        if self.everywhere:
            return [Target(p, m) for p, m in TARGETS]
        return [Target(PLATFORM, MODEL)]

    @property
    def bulk_rate(self) -> float:
        """The sweeps' calls per second alone: the slots' or the account's rate."""
        return min(RATE_LIMIT / RATE_PERIOD, BULK_RATE * len(self.targets))


def run(quick: bool = False) -> list[Table]:
    """The priority table: interactive latency and the sweeps' throughput, per setup."""
    table = Table(
        "priority: interactive live() beside bulk sweeps, 300 calls / 6 s, 6 slots, "
        "service 0.2–0.4 s",
        (
            "setup",
            "interactive calls",
            "wait p50 / p90",
            "end to end p50 / p90",
            "p50 ÷ service (≤ 1.5)",
            "sweeps calls/s alone → beside",
            "sweeps' drop / interactive share",
            "in slot time",
            "max in flight (≤ 6)",
            "40202 / 40209",
        ),
    )
    asks = 4 if quick else ASKS
    rows = [Row("local", n) for n in ((0, 1) if quick else LOCAL_SWEEPS)]
    if not quick:
        rows += [Row("local", 3, priority=BULK), Row("local", 1, everywhere=True)]
    rows += [Row("redis", n) for n in ((1,) if quick else REDIS_PROCESSES)]
    if not quick:
        rows += [Row("redis", 3, priority=BULK), Row("redis", 1, everywhere=True)]
        rows.append(Row("redis", 1, priority=BULK, everywhere=True))
    with EmulatorProcess(
        latency=LATENCY, rate_limit=RATE_LIMIT, rate_period=RATE_PERIOD, live_concurrency=SLOTS
    ) as emulator:
        warm_up(emulator)
        with RedisServer() as redis:
            _first_use(emulator, redis)
            for row in rows:
                emulator.reset()
                if row.where == "local":
                    started = asyncio.run(_local(emulator, row, asks))
                else:
                    started = _through_redis(emulator, redis, row, asks)
                _add(table, row, started, emulator.record())
    table.notes += [
        f"Each row: {asks} interactive calls to {PLATFORM}, one starting every {EVERY:g} s "
        "(each its own task), beside bulk sweeps of the same platform that keep its 6 slots "
        f"busy ({BULK_RATE:.0f} calls/s, slot-bound: the rate allows 50). 'local': one "
        "process, one AsyncClient (LocalGovernor), N concurrent gather_prompts. 'Redis': the "
        "interactive calls in one process, N sweep processes, all on one account through one "
        "Redis (RedisGovernor, tick 1 s). 'rate-bound': the sweeps go to all four platforms, "
        "so the account's rate binds (50 calls/s), not the slots; the interactive calls "
        "still go to claude.",
        "'wait': arrival at the emulator minus the call's start; 'end to end': the emulator's "
        "answer minus the start; 'p50 ÷ service': the median end to end over the mean "
        f"service time ({SERVICE:g} s), the bar of issue 18 being 1.5 (one service time plus "
        "at most about one slot turnover).",
        f"'sweeps calls/s': the sweeps' arrivals per second alone (the {STEADY:g} s before the "
        "first interactive call, slots full) and beside the interactive calls (from the first "
        "one's start to the last one's answer); the drop of the second from the first beside "
        "the interactive calls' share of all calls in that span (the bar: no more than it). "
        "'in slot time': the same in slot-seconds per second on the interactive calls' "
        "platform, for the slot-bound rows: each call holds a slot for the service time it "
        "draws, so over a few seconds a count of calls also measures those draws.",
        "'priority BULK' rows: the interactive calls sent at the sweeps' priority, i.e. "
        "without lanes (arrival order locally, turns between processes through Redis).",
    ]
    return [table]


def _first_use(emulator: EmulatorProcess, redis: RedisServer) -> None:
    """The account's first use of this Redis (its short freeze), paid before any row."""

    async def once() -> None:
        async with _client(emulator, redis) as client:
            await client.live(PLATFORM, user_prompt="first use", model_name=MODEL)

    asyncio.run(once())


def _client(emulator: EmulatorProcess, redis: RedisServer | None) -> AsyncClient:
    limits = Limits(
        rate_limit=RATE_LIMIT,
        rate_period=RATE_PERIOD,
        live_concurrency=SLOTS,
        live_execution_limit=2.0,
    )
    governor = None
    if redis is not None:
        governor = RedisGovernor(redis.url, account=emulator.login, limits=limits)
    return AsyncClient(
        emulator.login,
        emulator.password,
        base_url=emulator.base_url,
        rate_limit=RATE_LIMIT,
        rate_period=RATE_PERIOD,
        live_concurrency=SLOTS,
        live_execution_limit=2.0,
        governor=governor,
    )


async def _asks(client: AsyncClient, count: int, priority: int) -> list[tuple[str, float]]:
    """``count`` interactive calls at the pace; each one's tag and start (monotonic)."""
    started: list[tuple[str, float]] = []

    async def ask(i: int) -> None:
        started.append((f"ask{i}", time.monotonic()))
        await client.live(
            PLATFORM,
            user_prompt=f"a user asks {i}",
            model_name=MODEL,
            priority=priority,
            tag=f"ask{i}",
        )

    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(ask(i)))
        await asyncio.sleep(EVERY)
    await asyncio.gather(*tasks)
    return started


def _bulk_prompts(row: Row, asks: int) -> int:
    """Prompts per sweep (each to every target): enough to outlast the interactive calls by a
    few seconds."""
    span = ALONE + asks * EVERY + 3.0
    return max(8, round(row.bulk_rate * span / row.sweeps / len(row.targets)))


async def _local(emulator: EmulatorProcess, row: Row, asks: int) -> list[tuple[str, float]]:
    async with _client(emulator, None) as client:
        per_sweep = _bulk_prompts(row, asks) if row.sweeps else 0
        sweeps = [
            asyncio.create_task(
                gather_prompts(
                    client,
                    [f"bulk {s}-{i}" for i in range(per_sweep)],
                    targets=row.targets,
                    tag="bulk",
                )
            )
            for s in range(row.sweeps)
        ]
        if sweeps:
            await asyncio.sleep(ALONE)  # the sweeps' baseline, before the first ask
        started = await _asks(client, asks, row.priority)
        await asyncio.gather(*sweeps)
    return started


def _through_redis(
    emulator: EmulatorProcess, redis: RedisServer, row: Row, asks: int
) -> list[tuple[str, float]]:
    per_sweep = _bulk_prompts(row, asks) if row.sweeps else 0
    procs = []
    for _ in range(row.sweeps):
        spec = WorkerSpec(
            name="bulk",
            base_url=emulator.base_url,
            login=emulator.login,
            password=emulator.password,
            redis_url=redis.url,
            prompts=per_sweep,
            platforms=[t.platform for t in row.targets],
            tick=1.0,
            lease_margin=5.0,
            command_timeout=2.0,
        )
        procs.append(start_worker(spec))
    try:
        if procs:
            wait_answered(procs[0], round(row.bulk_rate * ALONE / len(procs)))

        async def measure() -> list[tuple[str, float]]:
            async with _client(emulator, redis) as client:
                return await _asks(client, asks, row.priority)

        started = asyncio.run(measure())
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"a sweep process failed: {err.strip()[-300:]}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return started


def _label(row: Row) -> str:
    if row.where == "local":
        what = f"1 process, {row.sweeps} concurrent sweep{'s' if row.sweeps != 1 else ''}"
    else:
        what = f"Redis, {row.sweeps} sweep process{'es' if row.sweeps != 1 else ''} + 1"
    if row.everywhere:
        what += ", rate-bound (4 platforms)"
    return what + (", priority BULK" if row.priority == BULK else "")


def _add(table: Table, row: Row, started: list[tuple[str, float]], record: ServerRecord) -> None:
    calls = {c.tag: c for c in live_calls(record)}
    asks = [(calls[tag], t0) for tag, t0 in started if tag in calls]
    waits = [c.arrived - t0 for c, t0 in asks]
    e2e = [c.finished - t0 for c, t0 in asks]
    bulk = sorted((c for c in live_calls(record) if c.tag == "bulk"), key=lambda c: c.arrived)
    throughput = drop = slot_drop = "–"
    if bulk and asks:
        first = min(t0 for _, t0 in asks)
        last = max(c.finished for c, _ in asks)
        # Alone: the last seconds before the first ask, past the start's bunched refills.
        alone = _rate(bulk, max(bulk[min(SLOTS, len(bulk) - 1)].arrived, first - STEADY), first)
        beside = _rate(bulk, first, last)
        during = sum(first <= c.arrived < last for c in bulk)
        share = len(asks) / (len(asks) + during)
        ended_early = "" if bulk[-1].arrived > last else " (sweeps ended first)"
        throughput = f"{alone:.1f} → {beside:.1f}{ended_early}"
        drop = f"{1 - beside / alone:.0%} / {share:.0%}" if alone else "–"
        if not row.everywhere:
            start = max(bulk[min(SLOTS, len(bulk) - 1)].arrived, first - STEADY)
            slot_drop = _slot_time(bulk, [c for c, _ in asks], (start, first, last))
    median = statistics.median(e2e) if e2e else float("nan")
    refused = (record.codes[40202], record.codes[40209])
    table.add(
        _label(row),
        f"{len(asks)} of {len(started)}",
        _pair(waits),
        _pair(e2e),
        f"{median / SERVICE:.2f}" + ("" if median <= 1.5 * SERVICE else " MISSED"),
        throughput,
        drop,
        slot_drop,
        record.max_in_flight[PLATFORM],
        f"{refused[0]} / {refused[1]}",
    )


def _busy(calls: list[CallRecord], start: float, end: float) -> float:
    """Slot-seconds ``calls`` held the server in [start, end)."""
    return sum(max(0.0, min(c.finished, end) - max(c.arrived, start)) for c in calls)


def _slot_time(
    bulk: list[CallRecord], asks: list[CallRecord], spans: tuple[float, float, float]
) -> str:
    """The sweeps' drop in slot-seconds per second, beside the interactive calls' share of the
    slot-seconds, when the slots bind: the service time each call draws (0.2–0.4 s) weighs
    what it takes, which a count of calls over a few seconds leaves out."""
    start, first, last = spans
    alone = _busy(bulk, start, first) / (first - start) if first > start else 0.0
    beside = _busy(bulk, first, last) / (last - first)
    taken = _busy(asks, first, last) / (last - first)
    if not alone or not (beside + taken):
        return "–"
    return f"{1 - beside / alone:.0%} / {taken / (beside + taken):.0%}"


def _rate(calls: list[CallRecord], start: float, end: float) -> float:
    """Arrivals per second of ``calls`` in [start, end)."""
    if end <= start:
        return 0.0
    return sum(start <= c.arrived < end for c in calls) / (end - start)


def _pair(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{percentile(values, 50) * 1e3:.0f} / {percentile(values, 90) * 1e3:.0f} ms"
