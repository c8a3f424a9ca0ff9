"""Per-platform slots on `anyio.CapacityLimiter`: an alternative to the package's `SlotPool`,
measured in the governor suite and not shipped.

It does what `dfs_async._governance._slots.SlotPool` does, with the same interface; in the
governor suite it costs about twice as much CPU per call (a sweep's spare workers make
nearly every acquire wait in anyio's queue: an Event, a checkpoint and a WouldBlock per call),
so the package keeps its hand-written pool and anyio stays a test dependency.

The limiter hands slots out first come, first served: a released slot passes straight to the
first waiter (it counts as borrowed from that moment, so a newcomer cannot take it first), and a
waiter cancelled after being handed a slot passes it on. Its ``total_tokens`` can change while
calls run, so a limit learned from the account can take effect without a new client.

What this module adds: a slot is not tied to a task. Each call borrows on behalf of a token of
its own, so a slot can be freed from a timer (`release_at`) after its call has long returned.
"""

from __future__ import annotations

import asyncio
from collections import deque

import anyio


class AnyioSlotPool:
    """``limit`` slots handed out in arrival order.

    A slot whose call the client abandoned (deadline, cancellation) may still be running at
    DataForSEO and counting against the account, so `release_at` frees it only once the
    server must have finished.
    """

    def __init__(self, limit: int) -> None:
        self._limiter = anyio.CapacityLimiter(limit)
        self._borrowers: deque[object] = deque()
        self._held = 0
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def limit(self) -> int:
        """Slots in all; setting it lets waiters in at once, or lets in-use slots drain."""
        return int(self._limiter.total_tokens)

    @limit.setter
    def limit(self, value: int) -> None:
        self._limiter.total_tokens = value

    @property
    def in_use(self) -> int:
        """Slots taken, including those held for abandoned calls."""
        return self._limiter.borrowed_tokens

    @property
    def held(self) -> int:
        """Slots kept for abandoned calls that may still run on the server."""
        return self._held

    @property
    def waiting(self) -> int:
        """Calls queued for a slot."""
        return self._limiter.statistics().tasks_waiting

    async def acquire(self, priority: int = 0) -> None:  # one lane: priority is ignored
        """Take a slot, waiting in line if all are in use; cancelling the wait takes nothing."""
        borrower = object()
        limiter = self._limiter
        if limiter.available_tokens > 0:
            # A free slot means nobody is in line (a freed slot goes straight to the first
            # waiter). Taken without the cancel-shielded checkpoint, a pass of the event loop,
            # that acquire_on_behalf_of adds to every call.
            limiter.acquire_on_behalf_of_nowait(borrower)
        else:
            await limiter.acquire_on_behalf_of(borrower)
        self._borrowers.append(borrower)

    def release(self) -> None:
        """Free a slot, handing it straight to the next caller in line."""
        self._limiter.release_on_behalf_of(self._borrowers.popleft())

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
