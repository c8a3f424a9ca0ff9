"""Per-platform Live concurrency: a counting semaphore in priority lanes that can free a slot
later."""

from __future__ import annotations

import asyncio

from ._lanes import Lanes


class SlotPool:
    """``limit`` slots handed out in arrival order within priority lanes (see `Lanes`).

    A slot whose call the client abandoned (deadline, cancellation) may still be running at
    DataForSEO and counting against the account, so `release_at` frees it only once the
    server must have finished.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use = 0
        self._held = 0
        self._waiters = Lanes()
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
        return len(self._waiters)

    async def acquire(self, priority: int = 0) -> None:
        """Take a slot, waiting in its lane if all are in use; cancelling the wait takes nothing."""
        if self._in_use < self.limit and not self._waiters:
            self._in_use += 1
            return
        fut = self._waiters.push(priority)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a slot in the same tick it was cancelled
            raise

    def release(self) -> None:
        """Free a slot, handing it straight to the next caller in line."""
        head = self._waiters.pop()
        if head is not None:
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
