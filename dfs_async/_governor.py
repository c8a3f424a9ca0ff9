"""The governor: every call takes a platform slot (Live only), then a rate token, then goes.

Order matters: a token taken while waiting for a slot would turn into a burst later, so the
slot comes first. `Governor` is the seam for a shared backend (several processes on one
account); `LocalGovernor` is the in-process default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ._config import Limits
from ._pacer import GCRA, Pacer
from ._slots import SlotPool
from ._types import PLATFORMS, Platform


@dataclass(frozen=True)
class PlatformState:
    """One platform's slots at a moment."""

    limit: int
    in_use: int
    held: int
    waiting: int


@dataclass(frozen=True)
class GovernorState:
    """What the governor is doing at a moment."""

    rate_limit: int
    rate_period: float
    waiting_for_token: int
    platforms: dict[Platform, PlatformState]

    def __repr__(self) -> str:
        slots = ", ".join(
            f"{p}={s.in_use}/{s.limit}" + (f"(+{s.waiting} waiting)" if s.waiting else "")
            for p, s in self.platforms.items()
        )
        return (
            f"<GovernorState {self.rate_limit}/{self.rate_period:g}s, "
            f"{self.waiting_for_token} waiting for a token; slots {slots}>"
        )


class Governor(Protocol):
    """Admission control for one account; implementations may share state across processes."""

    async def acquire(self, platform: Platform | None) -> None:
        """Wait for a slot of ``platform`` (None: not a Live call, no slot) and a rate token."""

    def release(self, platform: Platform | None, *, abandoned_at: float | None = None) -> None:
        """Give back the slot; ``abandoned_at`` (loop time of the send) keeps it while the
        server may still be running the call."""

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds``: the server reported the account's window full."""

    def state(self) -> GovernorState:
        """A snapshot for stats and logs."""

    def close(self) -> None:
        """Drop timers; called once when the client closes."""


class LocalGovernor:
    """In-process governor: a `Pacer` for the account and a `SlotPool` per platform."""

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

    def __repr__(self) -> str:
        return repr(self.state())
