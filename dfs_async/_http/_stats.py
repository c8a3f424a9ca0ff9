"""Live counters of what the client has done, and their frozen snapshot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .._governance import GovernorState
from .._platforms import PLATFORMS, Platform


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of the client's activity since it opened."""

    calls_sent: int
    """HTTP requests that left the client (retries included)."""
    in_flight: dict[Platform, int]
    """Live calls sent and not yet answered, per platform."""
    waiting: int
    """Calls queued for a slot or a rate token."""
    retries: dict[str, int]
    """Resends by the reason (status code or error class)."""
    errors: dict[str, int]
    """Calls that ended in an error, by status code or error class."""
    cost: float
    """USD charged so far, from the answers' ``cost``."""
    governor: GovernorState
    answered: int = 0
    """Requests the server answered with any HTTP status (retries included)."""
    unreached: int = 0
    """Requests that never reached the server (DNS, connection refused, TLS)."""
    last_unreached: str | None = None
    """Why the latest of those failed."""


@dataclass
class StatsRecorder:
    """The mutable counters behind `ClientStats`; touched once per call on the send path."""

    calls_sent: int = 0
    cost: float = 0.0
    in_flight: dict[Platform, int] = field(default_factory=lambda: dict.fromkeys(PLATFORMS, 0))
    retries: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    unreached: int = 0
    last_unreached: str | None = None

    def snapshot(self, governor: GovernorState) -> ClientStats:
        """Freeze the counters together with the governor's state."""
        waiting = governor.waiting_for_token + sum(p.waiting for p in governor.platforms.values())
        return ClientStats(
            calls_sent=self.calls_sent,
            in_flight=dict(self.in_flight),
            waiting=waiting,
            retries=dict(self.retries),
            errors=dict(self.errors),
            cost=self.cost,
            governor=governor,
            answered=self.answered,
            unreached=self.unreached,
            last_unreached=self.last_unreached,
        )
