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
DEFAULT_JITTER = 0.1
"""Seconds of arrival jitter the pacer leaves room for across a network (see `Limits`)."""
LOOPBACK_JITTER = 0.02
"""The same for a server on this machine, such as the emulator (measured: see `Limits`)."""
CLOCK_STEP = 0.001
"""Seconds between two readings of uvloop's clock (it advances once a millisecond)."""
LATE_WAKE_INTERVAL = 1.0
"""Below this interval the pacer keeps its late-wake credit (see `Limits.capacity`)."""
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
    jitter:
        Seconds by which the network and the server may bunch arrivals (the spread of the
        delay from the pacer's grant to the server's clock, between two calls). The pacer
        spaces calls so that any ``rate_period`` window at the server holds at most
        ``rate_limit`` even when calls sent ``jitter`` seconds apart arrive together; a stall
        of the client's own process needs none (see ``_governance/_pacer.py``). It costs
        ``jitter / rate_period`` of the rate. Default 0.1 s (0.17 % at 2000 calls a minute)
        for a server across a network: set the spread of the latency you measure there (p99
        minus the fastest; often 0.1–0.3 s across a WAN). `AsyncClient` takes
        ``LOOPBACK_JITTER`` (20 ms) for a loopback host such as the emulator, measured
        there (benchmarks/README.md, "The pacer"): at a load of 1.5 on two cores the delay
        spread 0.4–8 ms, 12 ms for the first calls while connections open, and 15 ms let one
        501st call into a 500 / 3 s window in ten runs. A host loaded to several times its
        cores stalls the server's process longer: set 0.1 s there, 0.3 s at ten times.
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
    jitter: float = DEFAULT_JITTER
    live_concurrency: int | Mapping[Platform, int] = DEFAULT_LIVE_CONCURRENCY
    live_execution_limit: float = DEFAULT_LIVE_EXECUTION_LIMIT
    tasks_ready_limit: int = DEFAULT_TASKS_READY_LIMIT
    tasks_ready_period: float = DEFAULT_TASKS_READY_PERIOD

    def __post_init__(self) -> None:
        check_positive("rate_limit", self.rate_limit)
        check_positive("rate_period", self.rate_period)
        if not 1 <= self.burst < self.rate_limit:
            raise ValidationError(
                "burst", f"must be between 1 and rate_limit - 1, got {self.burst}"
            )
        if not (self.jitter >= 0 and math.isfinite(self.jitter)):
            raise ValidationError("jitter", f"must be >= 0 seconds, got {self.jitter!r}")
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
    def late_wake_credit(self) -> int:
        """1 if the pacer's bucket holds one unit beyond the burst (see `capacity`), else 0."""
        room = self.rate_limit - self.burst - 1
        return int(room >= 1 and self._span / room < LATE_WAKE_INTERVAL)

    @property
    def interval(self) -> float:
        """Seconds between two sends at the paced rate.

        The window bound (proof in ``_governance/_pacer.py``): a server window of
        ``rate_period`` holds calls sent within ``rate_period + jitter``, at most
        ``(rate_period + jitter) / interval + capacity`` of them; with ``capacity <= burst +
        credit + CLOCK_STEP / interval`` that is at most ``rate_limit`` for this interval.
        """
        return self._span / (self.rate_limit - self.burst - self.late_wake_credit)

    @property
    def capacity(self) -> int:
        """Calls the pacer's bucket holds: the burst, the late-wake credit, and the calls of one
        tick of uvloop's millisecond clock (none below 1,000 calls a second).

        The credit lets a call woken late keep its place in the schedule; it costs one call
        per window, so it is kept only while the interval is short (under
        ``LATE_WAKE_INTERVAL``), where late wakes would otherwise cost rate. Small limits
        (``rate_limit=2``) run without it.
        """
        return self.burst + self.late_wake_credit + math.floor(CLOCK_STEP / self.interval)

    @property
    def _span(self) -> float:
        """Seconds of sends one server window can hold (the window, jitter and a clock step)."""
        return self.rate_period + self.jitter + CLOCK_STEP


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


def check_priority(priority: int) -> None:
    """A call's priority is a whole number (higher goes first); a `ValidationError` otherwise."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValidationError("priority", f"must be a whole number, got {priority!r}")
