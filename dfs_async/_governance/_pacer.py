"""Smooth rate pacing: a GCRA schedule behind a FIFO queue of waiters.

The account limit is "N calls in any window of P seconds", measured at the server. A plain
token bucket of capacity N (``aiolimiter.AsyncLimiter(N, P)``) admits N calls at once and then
N/P per second, so a cold start can put nearly 2N calls in the first window. GCRA (the generic
cell rate algorithm) instead keeps a *theoretical arrival time* ``tat``: a call may go at
``t >= tat - tau`` and pushes ``tat`` to ``max(tat, t - T) + T``, with ``T = P / (N·(1-h))``
and ``tau = (burst-1)·T``.

The ``t - T`` (rather than the textbook ``t``) lets a call that the event loop woke a little
late keep its place in the schedule instead of pushing every later call back: on a busy loop
a millisecond lost per call would cost 5 % of the rate at 50 calls/s. The price is one call of
extra burst, so every call's theoretical time lies within ``[t - T, t + tau]`` and any window
of length P holds at most ``P/T + burst + 1`` calls; `Limits` keeps that within N, and the rest
of the headroom ``h`` absorbs network jitter. Sustained demand runs at ``(1-h)·N/P``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


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
