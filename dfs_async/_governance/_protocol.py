"""The `Governor` seam: every call takes a platform slot (Live only), then a rate token, then goes.

Order matters: a token taken while waiting for a slot would turn into a burst later, so the
slot comes first. `Governor` is the seam for a shared backend: `LocalGovernor` is the
in-process default, `RedisGovernor` shares one account's limits across processes and hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .._platforms import Platform


@dataclass(frozen=True)
class PlatformState:
    """One platform's slots at a moment, as this process sees them."""

    limit: int
    in_use: int
    """Slots this process holds (held ones included)."""
    held: int
    """Of those, slots kept for abandoned calls that may still run on the server."""
    waiting: int
    """This process's calls queued for a slot."""
    shared_in_use: int | None = None
    """Slots held by every process on the account (last seen); None for a local governor."""
    shared_waiting: int | None = None
    """Calls of every process queued for a slot (last seen); None for a local governor."""


@dataclass(frozen=True)
class GovernorState:
    """What the governor is doing at a moment."""

    rate_limit: int
    rate_period: float
    waiting_for_token: int
    platforms: dict[Platform, PlatformState]
    shared: str | None = None
    """Where the account's state is shared (e.g. ``redis://host:6379/0``); None if local."""

    def __repr__(self) -> str:
        slots = ", ".join(_slots_repr(p, s) for p, s in self.platforms.items())
        where = f" shared via {self.shared}" if self.shared else ""
        return (
            f"<GovernorState {self.rate_limit}/{self.rate_period:g}s{where}, "
            f"{self.waiting_for_token} waiting for a token; slots {slots}>"
        )


def _slots_repr(platform: Platform, s: PlatformState) -> str:
    text = f"{platform}={s.in_use}/{s.limit}" + (f"(+{s.waiting} waiting)" if s.waiting else "")
    if s.shared_in_use is not None:
        text += f" [all processes {s.shared_in_use}/{s.limit}, +{s.shared_waiting or 0} waiting]"
    return text


class Governor(Protocol):
    """Admission control for one account; implementations may share state across processes."""

    async def acquire(self, platform: Platform | None, *, priority: int = 0) -> None:
        """Wait for a slot of ``platform`` (None: not a Live call, no slot) and a rate token;
        calls of a higher ``priority`` go first, a lower one is never starved."""

    def release(self, platform: Platform | None, *, abandoned_at: float | None = None) -> None:
        """Give back the slot; ``abandoned_at`` (loop time of the send) keeps it while the
        server may still be running the call."""

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds``: the server reported the account's window full."""

    def state(self) -> GovernorState:
        """A snapshot for stats and logs."""

    async def check_health(self) -> None:
        """Raise `GovernorUnavailableError` unless calls can be admitted now (readiness)."""

    async def aclose(self) -> None:
        """Drop timers and connections; called when the client closes, safe to call twice."""
