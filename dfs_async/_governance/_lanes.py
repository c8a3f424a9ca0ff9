"""Priority lanes for the calls queued in one place (a platform's slots, the pacer's turn).

Higher priority first, first come first served within a lane. No starvation: each time a
waiting lane is passed over for a higher one it counts a skip, and a lane with `PATIENCE`
skips is served next, whatever waits above it. So while both wait, the lower lane gets at
least one of every ``PATIENCE + 1`` turns, and a lone lane is plain FIFO.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

PATIENCE: Final = 4
"""Turns a waiting lane may be passed over before it is served."""


class Lanes:
    """Futures waiting for a turn, one FIFO per priority."""

    def __init__(self) -> None:
        self._lanes: dict[int, deque[asyncio.Future[None]]] = {}
        self._skipped: dict[int, int] = {}

    def __len__(self) -> int:
        """Waiters still waiting (cancelled ones not counted)."""
        return sum(1 for lane in self._lanes.values() for f in lane if not f.done())

    def __bool__(self) -> bool:
        """Whether any lane holds a future, cancelled ones included (as a deque would)."""
        return any(self._lanes.values())

    def push(self, priority: int) -> asyncio.Future[None]:
        """A future that `pop` resolves when this waiter's turn comes."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lanes.setdefault(priority, deque()).append(future)
        return future

    def pop(self) -> asyncio.Future[None] | None:
        """The next waiter to serve (taken out of its lane), or None if nobody waits."""
        for lane in self._lanes.values():
            while lane and lane[0].done():  # cancelled while waiting
                lane.popleft()
        waiting = sorted((p for p, lane in self._lanes.items() if lane), reverse=True)
        if not waiting:
            self._lanes.clear()
            self._skipped.clear()
            return None
        starved = [p for p in waiting if self._skipped.get(p, 0) >= PATIENCE]
        chosen = max(starved, key=lambda p: self._skipped[p]) if starved else waiting[0]
        for p in waiting:
            if p < chosen:
                self._skipped[p] = self._skipped.get(p, 0) + 1
        self._skipped[chosen] = 0
        return self._lanes[chosen].popleft()
