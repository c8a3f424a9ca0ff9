"""The pacing arithmetic under controlled time, and the async pacer's queue discipline."""

from __future__ import annotations

import asyncio
import random
from bisect import bisect_right

import pytest

from dfs_async import Limits, ValidationError
from dfs_async._governance._pacer import GCRA, Pacer


def max_in_window(times: list[float], period: float) -> int:
    """Most calls in any closed window [t, t + period] (the strictest reading)."""
    return max(bisect_right(times, t + period) - i for i, t in enumerate(times))


def run_sustained(limits: Limits, seconds: float) -> list[float]:
    """Callers always ready: every call goes at the earliest time the schedule allows."""
    gcra = GCRA(limits.interval, limits.burst)
    now, times = 0.0, []
    while now < seconds:
        now = gcra.earliest(now)
        assert gcra.take(now)
        times.append(now)
    return times


@pytest.mark.parametrize(
    ("rate_limit", "period", "burst"),
    [(2000, 60.0, 1), (2000, 60.0, 30), (300, 6.0, 1), (300, 6.0, 5), (10, 1.0, 1), (10, 1.0, 3)],
)
def test_sustained_demand_stays_under_the_limit_and_near_it(
    rate_limit: int, period: float, burst: int
) -> None:
    limits = Limits(rate_limit=rate_limit, rate_period=period, burst=burst)
    times = run_sustained(limits, 10 * period)
    assert max_in_window(times, period) <= rate_limit
    sustained = len(times) / (times[-1] - times[0]) * period / rate_limit
    # Small limits need more headroom for the burst itself (10/s with burst 3 runs at 60 %).
    assert sustained >= min(0.95, 1 - limits.effective_headroom)


def test_a_cold_start_does_not_burst() -> None:
    # aiolimiter.AsyncLimiter(300, 6) would admit 300 calls at t=0; GCRA admits `burst`,
    # plus the one late-wake credit.
    limits = Limits(rate_limit=300, rate_period=6.0, burst=3)
    gcra = GCRA(limits.interval, limits.burst)
    admitted_at_zero = 0
    while gcra.take(0.0):
        admitted_at_zero += 1
    assert admitted_at_zero == 4


def test_a_late_wake_keeps_its_place_in_the_schedule() -> None:
    # Woken 5 ms late every time at a 20 ms interval: the textbook GCRA would slip to 25 ms
    # per call (80 % of the rate); ours keeps the 20 ms schedule.
    gcra = GCRA(0.02)
    now, times = 0.0, []
    for _ in range(500):
        now = gcra.earliest(now) + 0.005
        assert gcra.take(now)
        times.append(now)
    assert (times[-1] - times[0]) / (len(times) - 1) == pytest.approx(0.02, rel=0.01)
    assert max_in_window(times, 1.0) <= 51


def test_random_demand_never_exceeds_the_window() -> None:
    rng = random.Random(7)
    limits = Limits(rate_limit=300, rate_period=6.0, burst=5)
    gcra = GCRA(limits.interval, limits.burst)
    now, times = 0.0, []
    for _ in range(5000):
        # Idle spells followed by crowds: the pattern that breaks naive buckets.
        now += rng.choice([0.0, 0.0, 0.001, 0.5, 3.0])
        go = gcra.earliest(now)
        assert gcra.take(go)
        times.append(go)
        now = go
    assert max_in_window(times, 6.0) <= 300


def test_pause_holds_everything_until_it_ends() -> None:
    gcra = GCRA(0.1)
    assert gcra.take(0.0)
    gcra.pause_until(5.0)
    assert not gcra.take(1.0)
    assert gcra.earliest(1.0) == 5.0
    assert gcra.take(5.0)


def test_give_back_returns_the_slot_in_the_schedule() -> None:
    gcra = GCRA(1.0)
    assert gcra.take(0.0)
    assert gcra.take(0.0)  # the late-wake credit
    assert not gcra.take(0.5)
    gcra.give_back()
    assert gcra.take(0.5)
    assert not gcra.take(0.5)


def test_limits_refuse_a_burst_that_could_overfill_a_window() -> None:
    with pytest.raises(ValidationError) as info:
        Limits(rate_limit=300, rate_period=6.0, burst=50, headroom=0.02)
    assert info.value.field == "burst"
    with pytest.raises(ValidationError):
        Limits(rate_limit=100, rate_period=1.0, headroom=0.0)
    assert Limits(rate_limit=10, rate_period=1.0).effective_headroom == 0.2


@pytest.mark.anyio
async def test_pacer_serves_waiters_in_order_at_the_paced_rate() -> None:
    pacer = Pacer(GCRA(0.02))
    order: list[int] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def call(i: int) -> None:
        await pacer.acquire()
        order.append(i)

    async with asyncio.TaskGroup() as tg:
        for i in range(20):
            tg.create_task(call(i))
    elapsed = loop.time() - start
    assert order == list(range(20))
    assert elapsed >= 19 * 0.02 * 0.9  # paced, not all at once


@pytest.mark.anyio
async def test_a_cancelled_waiter_takes_no_token() -> None:
    gcra = GCRA(0.05)
    pacer = Pacer(gcra)
    await pacer.acquire()
    await pacer.acquire()  # the schedule now runs 0.05 s ahead
    waiter = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0)
    assert pacer.waiting == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert pacer.waiting == 0
    # The next caller gets the slot the cancelled one would have had, not the one after it.
    loop = asyncio.get_running_loop()
    before = loop.time()
    await pacer.acquire()
    assert loop.time() - before < 0.09
    pacer.close()
