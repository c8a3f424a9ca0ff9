"""Frozen configuration: the account's limits and the retry policy, every default in one place."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ._errors import ValidationError
from ._platforms import PLATFORMS, Platform

# The documented limits. The Live page (2000 calls a minute, 30 concurrent Live tasks per
# platform, up to 120 s per task):
#   https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/live/
# The tasks_ready page (20 calls a minute):
#   https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/tasks_ready/
# DataForSEO announced 10,000 calls a minute as the default from 2026-10-19 (check the
# account's own limit): https://dataforseo.com/update/api-rate-limit-10000-requests-per-minute
DEFAULT_RATE_LIMIT = 2000
"""Calls per minute per account (the documented 2000; see above about 10,000)."""
DEFAULT_RATE_PERIOD = 60.0
DEFAULT_LIVE_CONCURRENCY = 30
"""Concurrent Live tasks per platform per account."""
DEFAULT_TIMEOUT = 120.0
DEFAULT_LIVE_EXECUTION_LIMIT = 120.0
"""How long DataForSEO may keep running a Live task."""
DEFAULT_TASKS_READY_LIMIT = 20
DEFAULT_TASKS_READY_PERIOD = 60.0
"""tasks_ready allows 20 calls a minute, apart from the account's rate."""


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The account's limits, as the client enforces them.

    Parameters
    ----------
    rate_limit, rate_period:
        At most ``rate_limit`` calls in any ``rate_period`` seconds, every endpoint counted.
    burst:
        Calls that may leave back to back after an idle spell; DataForSEO asks for a steady flow.
    headroom:
        Fraction of the rate left unused so that network jitter cannot bunch calls at the
        server into a window that holds more than ``rate_limit``. Default: 2 %, or more for
        small limits, where the burst itself needs room (``(burst + 1) / rate_limit``).
    live_concurrency:
        Live calls in flight per platform: one number for all, or a mapping per platform.
    live_execution_limit:
        How long the server may keep running a call the client gave up on; its slot stays
        taken that long after the send.
    tasks_ready_limit, tasks_ready_period:
        At most ``tasks_ready_limit`` tasks_ready calls in any ``tasks_ready_period`` seconds
        (all platforms together), on top of the account's rate.
    """

    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_period: float = DEFAULT_RATE_PERIOD
    burst: int = 1
    headroom: float | None = None
    live_concurrency: int | Mapping[Platform, int] = DEFAULT_LIVE_CONCURRENCY
    live_execution_limit: float = DEFAULT_LIVE_EXECUTION_LIMIT
    tasks_ready_limit: int = DEFAULT_TASKS_READY_LIMIT
    tasks_ready_period: float = DEFAULT_TASKS_READY_PERIOD

    def __post_init__(self) -> None:
        check_positive("rate_limit", self.rate_limit)
        check_positive("rate_period", self.rate_period)
        if not 1 <= self.burst <= self.rate_limit:
            raise ValidationError("burst", f"must be between 1 and rate_limit, got {self.burst}")
        if self.headroom is None:
            default = max(0.02, (self.burst + 1) / self.rate_limit)
            object.__setattr__(self, "headroom", default)
        headroom = self.effective_headroom
        if not 0 <= headroom < 1:
            raise ValidationError("headroom", f"must be in [0, 1), got {headroom}")
        # A window of rate_period holds at most floor(rate_limit·(1-headroom)) paced calls
        # plus the burst plus one late-wake credit (see _governance/_pacer.py); that must fit
        # in rate_limit.
        if math.floor(self.rate_limit * (1.0 - headroom)) + self.burst + 1 > self.rate_limit:
            raise ValidationError(
                "burst",
                f"burst {self.burst} with headroom {headroom:g} could put more than "
                f"{self.rate_limit} calls in one window; lower burst or raise headroom",
            )
        check_positive("live_execution_limit", self.live_execution_limit)
        check_positive("tasks_ready_limit", self.tasks_ready_limit)
        check_positive("tasks_ready_period", self.tasks_ready_period)
        if isinstance(self.live_concurrency, Mapping):
            unknown = set(self.live_concurrency) - set(PLATFORMS)
            if unknown:
                raise ValidationError("live_concurrency", f"unknown platforms {sorted(unknown)}")
            for value in self.live_concurrency.values():
                check_positive("live_concurrency", value)
            # Freeze a caller's dict so the config stays immutable.
            object.__setattr__(
                self, "live_concurrency", MappingProxyType(dict(self.live_concurrency))
            )
        else:
            check_positive("live_concurrency", self.live_concurrency)

    def concurrency_for(self, platform: Platform) -> int:
        """Live calls allowed in flight on ``platform``."""
        if isinstance(self.live_concurrency, Mapping):
            return self.live_concurrency.get(platform, DEFAULT_LIVE_CONCURRENCY)
        return self.live_concurrency

    @property
    def effective_headroom(self) -> float:
        """The headroom in force (the default resolved)."""
        assert self.headroom is not None  # resolved in __post_init__
        return self.headroom

    @property
    def interval(self) -> float:
        """Seconds between two sends at the paced rate."""
        return self.rate_period / (self.rate_limit * (1.0 - self.effective_headroom))


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how fast to resend a call that failed in a transient way.

    Parameters
    ----------
    max_retries:
        Resends after the first attempt; 0 disables retrying.
    backoff_base, backoff_max:
        Exponential backoff with full jitter: attempt ``n`` waits uniform(0, min(max, base·2ⁿ)).
    retry_unknown_outcome:
        Also resend calls whose outcome is unknown (deadline passed after the send, a body cut
        off after HTTP 200). DataForSEO may have run and charged those, so this is opt-in.
    """

    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_unknown_outcome: bool = False
    retry_codes: frozenset[int] = field(default_factory=frozenset)
    """Extra DataForSEO status codes to treat as retryable, beyond the built-in table."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValidationError("max_retries", f"must be >= 0, got {self.max_retries}")
        check_positive("backoff_base", self.backoff_base)
        check_positive("backoff_max", self.backoff_max)


def check_positive(name: str, value: float, unit: str = "") -> None:
    """The one check for a positive, finite number (seconds, counts): a `ValidationError` naming
    ``name`` otherwise (NaN and infinity included: a deadline of inf never fires)."""
    if (
        type(value) is bool
        or not isinstance(value, int | float)
        or not (value > 0 and math.isfinite(value))
    ):
        what = f"number of {unit}" if unit else "number"
        raise ValidationError(name, f"must be a positive {what}, got {value!r}")


def check_seconds(name: str, value: float | None) -> None:
    """`check_positive` for a duration in seconds; None (no bound) passes."""
    if value is not None:
        check_positive(name, value, "seconds")
