"""A strict sliding-window limiter: at most ``limit`` calls reach the server in any ``period``.

Used for tasks_ready, whose documented limit (20 calls a minute,
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/tasks_ready/) is low and
separate from the account's rate. A call may queue for the account's rate after it was let
through here, so its arrival time at the server is unknown until it ends; the rule therefore
counts from *ends*: a call starts only when fewer than ``limit`` calls are running or ended
within the last ``period`` (plus a small margin). Since a call arrives before it ends, the
server never sees ``limit + 1`` arrivals in one period, however long each call queued.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from .._config import check_positive, check_seconds


class WindowLimiter:
    """Lets calls run so that no ``period`` window holds more than ``limit`` of them."""

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        margin: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_positive("limit", limit)
        check_seconds("period", period)
        self.limit = limit
        self.period = period
        self._span = period * (1.0 + margin)
        self._clock = clock
        self._ends: deque[float] = deque()
        self._running = 0
        self._paused_until = float("-inf")
        self._lock: asyncio.Lock | None = None
        self._changed: asyncio.Event | None = None

    @property
    def running(self) -> int:
        """Calls let through and not ended yet."""
        return self._running

    def delay(self, now: float) -> float | None:
        """Seconds until one more call may start: 0 now, None when only an end can free room."""
        ends = self._ends
        while ends and ends[0] <= now - self._span:
            ends.popleft()
        wait = max(0.0, self._paused_until - now)
        if self._running + len(ends) >= self.limit:
            if not ends:
                return None
            wait = max(wait, ends[0] + self._span - now)
        return wait

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one call; its end is what later calls count from."""
        await self._enter()
        try:
            yield
        finally:
            self._ends.append(self._clock())
            self._running -= 1
            if self._changed is not None:
                self._changed.set()

    async def _enter(self) -> None:
        if self._lock is None:  # made inside the running loop, on first use
            self._lock = asyncio.Lock()
            self._changed = asyncio.Event()
        assert self._changed is not None
        async with self._lock:  # one waiter at a time keeps arrival order
            while (wait := self.delay(self._clock())) != 0.0:
                self._changed.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
            self._running += 1

    def pause(self, seconds: float) -> None:
        """Start nothing for ``seconds`` from now (the server said the window is full)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"<WindowLimiter {self.limit}/{self.period:g}s, {self._running} running>"
