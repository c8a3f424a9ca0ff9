"""`LocalGovernor`: the in-process governor, a `Pacer` for the account and a `SlotPool` per
platform."""

from __future__ import annotations

from collections.abc import Callable

from .._config import Limits
from .._platforms import PLATFORMS, Platform
from ._pacer import Pacer
from ._protocol import GovernorState, PlatformState
from ._slots import SlotPool


class LocalGovernor:
    """In-process governor: a `Pacer` for the account and a `SlotPool` per platform.

    ``clock`` is the pacer's; it must read the event loop's time (see `Pacer`).
    """

    def __init__(self, limits: Limits, *, clock: Callable[[], float] | None = None) -> None:
        self.limits = limits
        self._pacer = Pacer(limits.interval, limits.capacity, clock)
        self._slots = {p: SlotPool(limits.concurrency_for(p)) for p in PLATFORMS}

    async def acquire(self, platform: Platform | None, *, priority: int = 0) -> None:
        """Slot first, then token, each in its ``priority`` lane (higher first, the lower lane
        served at least once every `PATIENCE` + 1 turns); a cancelled wait leaves both
        untouched."""
        if platform is None:
            await self._pacer.acquire(priority)
            return
        pool = self._slots[platform]
        await pool.acquire(priority)
        try:
            await self._pacer.acquire(priority)
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

    async def check_health(self) -> None:
        """Nothing to check: an in-process governor is ready while its process runs."""

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
