"""The `Governor` seam: every call takes a platform slot (Live only), then a rate token, then goes.

Order matters: a token taken while waiting for a slot would turn into a burst later, so the
slot comes first. `Governor` is the seam for a shared backend (several processes on one
account); `LocalGovernor` is the in-process default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .._types import Platform


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
