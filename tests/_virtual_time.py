"""An asyncio loop on virtual time: whenever it would sleep, its clock jumps to the next timer.

Pacing tests run minutes of schedule in milliseconds, to the microsecond: every timer fires at
its time, or ``lag`` seconds late to model a busy loop that wakes everything late. Each pass of
the loop also takes a nanosecond, as on a real clock, which never stands still: a limiter that
finds itself a rounding error short of a token gets it on the next pass instead of spinning.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
TICK = 1e-9
"""Seconds each pass of the loop takes."""


class _Selector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        self._loop.now += TICK
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("virtual time: nothing is scheduled and nothing can happen")
        self._loop.now += timeout + self._loop.lag
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``time()`` is ``now``, which moves only when the loop has nothing ready to run."""

    def __init__(self, lag: float = 0.0) -> None:
        self.now = 0.0
        self.lag = lag
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[], Coroutine[Any, Any, T]], *, lag: float = 0.0) -> T:
    """Run ``main()`` on a fresh `VirtualTimeLoop` starting at time 0."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(lag)) as runner:
        return runner.run(main())
