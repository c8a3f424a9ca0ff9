"""The governor dfs_async shipped before its pacer moved onto `aiolimiter.AsyncLimiter`: a
hand-written GCRA pacer, beside the FIFO slot pool the package still uses (imported, not copied).

Kept here, outside the package, as the reference the package's `LocalGovernor` is measured
against in the same run (governed rate, window maximum, slot occupancy, CPU per call). The
pacer's code is as it was; only the names say "GCRA".

The GCRA keeps a *theoretical arrival time* ``tat``: a call may go at ``t >= tat - tau`` and
pushes ``tat`` to ``max(tat, t - T) + T``, with ``T`` the paced interval and
``tau = (burst-1)·T``; the ``t - T`` is the late-wake credit.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from dfs_async import Limits, LocalGovernor


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

    async def acquire(self, priority: int = 0) -> None:  # one lane: priority is ignored
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


class GCRAGovernor(LocalGovernor):
    """The reference governor: `LocalGovernor` with the GCRA `Pacer` in place of the package's."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__(limits, clock=clock)
        # Same interface (acquire, pause, waiting, close); only the pacing algorithm differs.
        # A bucket of `capacity` units is the GCRA of burst `capacity - 1` (see _pacer.py).
        gcra = GCRA(limits.interval, limits.capacity - 1)
        self._pacer = Pacer(gcra, clock or time.monotonic)  # type: ignore[assignment]
