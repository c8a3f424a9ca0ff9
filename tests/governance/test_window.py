"""`WindowLimiter`: no window of ``period`` holds more than ``limit`` calls, counted from ends."""

from __future__ import annotations

import asyncio
import time

import pytest

from dfs_async._governance._window import WindowLimiter

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_arithmetic_counts_running_calls_and_recent_ends() -> None:
    clock = FakeClock()
    limiter = WindowLimiter(2, 10.0, margin=0.0, clock=clock)
    assert limiter.delay(clock.now) == 0.0
    async with limiter.slot():
        async with limiter.slot():
            assert limiter.delay(clock.now) is None  # only an end can make room
        clock.now += 1.0
        # one running, one ended at 100.0: room again at 110.0
        assert limiter.delay(clock.now) == pytest.approx(9.0)
    clock.now = 109.9
    assert limiter.delay(clock.now) == pytest.approx(0.1)
    clock.now = 110.0
    assert limiter.delay(clock.now) == 0.0  # the first end left the window
    limiter.pause(3.0)
    assert limiter.delay(clock.now) == pytest.approx(3.0)


async def test_concurrent_callers_never_put_more_than_limit_in_a_window() -> None:
    limiter = WindowLimiter(3, 0.2)
    starts: list[float] = []

    async def call() -> None:
        async with limiter.slot():
            starts.append(time.monotonic())
            await asyncio.sleep(0.01)

    began = time.monotonic()
    await asyncio.gather(*(call() for _ in range(8)))
    assert len(starts) == 8
    for i in range(len(starts) - 3):
        assert starts[i + 3] - starts[i] >= 0.2  # the 4th call after any call waits a period
    assert time.monotonic() - began < 2.0


def test_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="limit"):
        WindowLimiter(0, 1.0)


async def test_the_default_margin_keeps_a_slot_past_the_period() -> None:
    # A call that ended exactly one period ago may have arrived later than it was counted;
    # the margin (1 % of the period) keeps its place a little longer.
    clock = FakeClock()
    limiter = WindowLimiter(1, 10.0, clock=clock)
    async with limiter.slot():
        pass
    clock.now = 110.0
    assert limiter.delay(clock.now) == pytest.approx(0.1)
    clock.now = 110.1
    assert limiter.delay(clock.now) == 0.0
