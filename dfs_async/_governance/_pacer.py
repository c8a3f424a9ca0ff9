"""The account's pacing: `aiolimiter.AsyncLimiter` as a smooth bucket, served in arrival order.

The account limit is "N calls in any window of P seconds", measured at the server.
``AsyncLimiter(N, P)``, the usual configuration, holds N units: it admits N calls at once and
then N/P per second, so a cold start can put nearly 2N calls in the first window. Here the
bucket is small and refilled smoothly instead: capacity ``C = burst + 1`` units, refilled over
``C·T`` seconds, i.e. one unit per ``T = Limits.interval = P / (N·(1-h))``. A call may go when
the bucket's level is at most ``C - 1`` and adds one unit; the level drains at ``1/T`` per
second down to zero.

**The window bound.** Over any window of length P the calls admitted are at most the free room
at its start (at most C) plus what drains during it (P/T): ``P/T + burst + 1``. `Limits` keeps
``floor(N·(1-h)) + burst + 1 <= N``, and the rest of the headroom ``h`` absorbs network jitter.
Sustained demand runs at ``(1-h)·N/P``.

**Why one unit more than the burst: the late-wake credit.** Under sustained demand the level
sits between ``burst`` and ``burst + 1``. A waiter the event loop wakes δ late finds the level
δ/T lower, adds its unit, and the next waiter's turn comes δ sooner: the schedule keeps its
place instead of slipping by δ per call (a millisecond per call at 50 calls/s would cost 5 % of
the rate). Only a spell long enough to drain the bucket empty loses time, which is idle time.
This is exactly the GCRA the client used before (a call may go at ``t >= tat - tau`` and sets
``tat = max(tat, t - T) + T``, ``tau = (burst-1)·T``): with ``level = (tat - t)/T + 1`` the two
admit the same calls at the same times (benchmarks/gcra_governor.py keeps it as the reference).

**What `AsyncLimiter` lacks, and the thin parts added here.**

- *Its clock.* It reads ``loop.time()``; uvloop's advances once a millisecond, so at a rate
  above ``C`` calls per millisecond (benchmarks lift the limit to 10⁹/s) it admitted only C per
  tick and spun in between. `_Bucket` reads ``time.monotonic()``, the clock ``loop.time()``
  reads on the default loop and the one uvloop's millisecond ticks follow: its timers still fire
  within a tick of their time, and a late tick is what the credit absorbs.
- *Arrival order.* When room frees, AsyncLimiter wakes its first waiter, but a newcomer that
  runs before that waiter resumes takes the room, and the robbed waiter queues again at the
  back. Here one call at a time waits in the bucket, behind an `asyncio.Lock` (first come,
  first served); the others wait their turn at the lock.
- *The pause after a 40202.* `pause` makes every call wait until the server's window has
  emptied; a call that was already waiting in the bucket when the pause began spends its unit
  on nothing (conservative) and takes a fresh one after the pause.
- *Taking a unit without waiting.* When nobody is in line, nothing is paused and the bucket
  has room, `_Bucket.take_now` adds the unit directly, so the common call costs what the GCRA
  cost (benchmarks' governor suite); ``AsyncLimiter.acquire`` is a coroutine that reads the
  clock twice even when it need not wait.
- *Giving back a token granted to a call cancelled before it was sent.* AsyncLimiter adds a
  call's unit only when the call resumes; one cancelled after being woken never adds it, and
  the lock passes the turn to the next call in line. Nothing is taken, so nothing is given back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiolimiter import AsyncLimiter


class _Bucket(AsyncLimiter):
    """`AsyncLimiter` on a clock of our choosing; it reads ``loop.time()`` itself."""

    __slots__ = ("_clock",)

    def __init__(self, capacity: int, period: float, clock: Callable[[], float]) -> None:
        super().__init__(capacity, period)
        self._clock = clock

    def _leak(self) -> None:
        # AsyncLimiter._leak, reading self._clock where it reads loop.time(). Its timers are
        # set with loop.call_at on these readings, so the clock must run on the loop's base.
        now = self._clock()
        if self._level:
            elapsed = now - self._last_check
            self._level = max(self._level - elapsed * self._rate_per_sec, 0.0)
        self._last_check = now

    def take_now(self) -> bool:
        """Take one unit if there is room, without waiting (AsyncLimiter has no such call)."""
        if self.has_capacity():
            self._level += 1
            return True
        return False


class Pacer:
    """Admits calls at one per ``interval``, ``burst`` back to back, in arrival order.

    ``clock`` must run on the event loop's time base: ``time.monotonic`` (the default), or
    ``loop.time`` where a test controls it.
    """

    def __init__(
        self, interval: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        capacity = burst + 1
        self.interval = interval
        self._bucket = _Bucket(capacity, capacity * interval, clock)
        self._clock = clock
        self._line = asyncio.Lock()
        self._paused_until = float("-inf")
        self._queued = 0

    @property
    def waiting(self) -> int:
        """Calls queued for a rate token."""
        return self._queued

    async def acquire(self) -> None:
        """Wait for this call's turn; a cancelled wait takes nothing."""
        if not self._queued and self._paused_until <= self._clock() and self._bucket.take_now():
            return  # nobody in line, no pause, room in the bucket

        self._queued += 1
        try:
            async with self._line:
                while True:
                    wait = self._paused_until - self._clock()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    await self._bucket.acquire()
                    if self._paused_until <= self._clock():
                        return
                    # Paused while this call waited in the bucket: its unit is spent on
                    # nothing; wait the pause out and take a fresh one.
        finally:
            self._queued -= 1

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (the server said its window is full)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def close(self) -> None:
        """Nothing to drop: every timer the pacer sets belongs to a call waiting in it."""
