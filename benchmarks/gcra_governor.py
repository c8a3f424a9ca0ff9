"""The governor dfs_async shipped before its pacer moved onto `aiolimiter.AsyncLimiter`: a
hand-written GCRA pacer, and the FIFO slot pool the package still uses.

Kept here, outside the package, as the reference the package's `LocalGovernor` is measured
against in the same run (governed rate, window maximum, slot occupancy, CPU per call). The
code is as it was; only the names say "GCRA", and `aclose` follows the `Governor` protocol.

The GCRA keeps a *theoretical arrival time* ``tat``: a call may go at ``t >= tat - tau`` and
pushes ``tat`` to ``max(tat, t - T) + T``, with ``T`` the paced interval and
``tau = (burst-1)·T``; the ``t - T`` is the late-wake credit.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from dfs_async import GovernorState, Limits, PlatformState
from dfs_async._types import PLATFORMS, Platform


class GCRA:
    """The pacing arithmetic alone, on plain numbers, so tests can drive time."""

    __slots__ = ("_paused_until", "_tat", "interval", "tau")

    def __init__(self, interval: float, burst: int = 1) -> None:
        self.interval = interval
        self.tau = (burst - 1) * interval
        self._tat = float("-inf")
        self._paused_until = float("-inf")

    def earliest(self, now: float) -> float:
        """The first time at or after ``now`` when a call may go."""
        return max(now, self._tat - self.tau, self._paused_until)

    def take(self, now: float) -> bool:
        """Let one call go at ``now`` if the schedule allows it."""
        if now < self._tat - self.tau or now < self._paused_until:
            return False
        self._tat = max(self._tat, now - self.interval) + self.interval
        return True

    def give_back(self) -> None:
        """Undo one `take` whose call was never sent (its waiter was cancelled)."""
        self._tat -= self.interval

    def pause_until(self, until: float) -> None:
        """Let nothing go before ``until`` (the server said its window is full)."""
        self._paused_until = max(self._paused_until, until)


class Pacer:
    """Hands out send permissions in arrival order, spaced by a `GCRA` schedule."""

    def __init__(self, gcra: GCRA, clock: Callable[[], float] = time.monotonic) -> None:
        self._gcra = gcra
        self._clock = clock
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        """Calls queued for a rate token."""
        return sum(1 for f in self._waiters if not f.done())

    def _now(self) -> float:
        # Not loop.time(): uvloop's only advances once a millisecond, which would cap the
        # pacer at one or two calls per tick whatever the configured rate.
        return self._clock()

    async def acquire(self) -> None:
        """Wait for this call's turn; cancelling the wait returns the token."""
        if not self._waiters and self._gcra.take(self._now()):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._arm()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                # Granted, then cancelled before it could send: the call never happened.
                self._gcra.give_back()
                self._arm()
            raise

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now."""
        self._gcra.pause_until(self._now() + seconds)

    def _arm(self) -> None:
        """Make sure a timer will wake the head of the queue at its time."""
        if self._timer is not None or not self._waiters:
            return
        loop = asyncio.get_running_loop()
        delay = self._gcra.earliest(self._now()) - self._now()
        self._timer = loop.call_later(max(delay, 0.0), self._wake)

    def _wake(self) -> None:
        self._timer = None
        waiters = self._waiters
        now = self._now()
        while waiters:
            head = waiters[0]
            if head.done():  # cancelled while queued: it holds nothing
                waiters.popleft()
                continue
            if not self._gcra.take(now):
                break
            waiters.popleft()
            head.set_result(None)
        self._arm()

    def close(self) -> None:
        """Cancel the wake-up timer (the client is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class SlotPool:
    """``limit`` slots handed out in arrival order.

    A slot whose call the client abandoned (deadline, cancellation) may still be running at
    DataForSEO and counting against the account, so `release_at` frees it only once the
    server must have finished.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use = 0
        self._held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def in_use(self) -> int:
        """Slots taken, including those held for abandoned calls."""
        return self._in_use

    @property
    def held(self) -> int:
        """Slots kept for abandoned calls that may still run on the server."""
        return self._held

    @property
    def waiting(self) -> int:
        """Calls queued for a slot."""
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        """Take a slot, waiting in line if all are in use; cancelling the wait takes nothing."""
        if self._in_use < self.limit and not self._waiters:
            self._in_use += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot in the same tick it was cancelled
            raise

    def release(self) -> None:
        """Free a slot, handing it straight to the next caller in line."""
        while self._waiters:
            head = self._waiters.popleft()
            if not head.done():
                head.set_result(None)  # the slot passes on; in_use is unchanged
                return
        self._in_use -= 1

    def release_at(self, when: float) -> None:
        """Free a slot at loop time ``when`` (now if it has passed)."""
        loop = asyncio.get_running_loop()
        if when <= loop.time():
            self.release()
            return
        self._held += 1

        def fire() -> None:
            self._timers.discard(timer)
            self._held -= 1
            self.release()

        timer = loop.call_at(when, fire)
        self._timers.add(timer)

    def close(self) -> None:
        """Drop pending delayed releases (the client is closing)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()


class GCRAGovernor:
    """The reference governor: a GCRA `Pacer` for the account and a `SlotPool` per platform."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._pacer = Pacer(GCRA(limits.interval, limits.burst), clock)
        self._slots = {p: SlotPool(limits.concurrency_for(p)) for p in PLATFORMS}

    async def acquire(self, platform: Platform | None) -> None:
        """Slot first, then token; a cancelled wait leaves both untouched."""
        if platform is None:
            await self._pacer.acquire()
            return
        pool = self._slots[platform]
        await pool.acquire()
        try:
            await self._pacer.acquire()
        except BaseException:
            pool.release()
            raise

    def release(self, platform: Platform | None, *, abandoned_at: float | None = None) -> None:
        """Free the slot now, or ``live_execution_limit`` after an abandoned send."""
        if platform is None:
            return
        pool = self._slots[platform]
        if abandoned_at is None:
            pool.release()
        else:
            pool.release_at(abandoned_at + self.limits.live_execution_limit)

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds``."""
        self._pacer.pause(seconds)

    def state(self) -> GovernorState:
        """A snapshot of the queue and the slots."""
        return GovernorState(
            rate_limit=self.limits.rate_limit,
            rate_period=self.limits.rate_period,
            waiting_for_token=self._pacer.waiting,
            platforms={
                p: PlatformState(pool.limit, pool.in_use, pool.held, pool.waiting)
                for p, pool in self._slots.items()
            },
        )

    def close(self) -> None:
        """Cancel pending timers."""
        self._pacer.close()
        for pool in self._slots.values():
            pool.close()

    async def aclose(self) -> None:
        """`close`, as the `Governor` protocol's async form."""
        self.close()

    def __repr__(self) -> str:
        return repr(self.state())
