"""The emulator's frozen configuration, its fault kinds, and what a fault chooser sees."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Final, TypeAlias

from .._platforms import PLATFORMS, Platform
from .._wire._requests import LiveRequest


class Fault(enum.StrEnum):
    """A failure the emulator can inject into one call instead of (or after) doing the work."""

    SERVER_ERROR = "server_error"
    """Envelope 50000 "Internal Error.", HTTP 200, not charged."""
    TASK_ERROR = "task_error"
    """Envelope 20000 with the task at 50000, not charged."""
    RATE_LIMIT = "rate_limit"
    """Envelope 40202, as if the account's per-minute limit were hit."""
    CONCURRENCY = "concurrency"
    """Envelope 40209, as if the platform's Live slots were all taken."""
    TIMEOUT_50401 = "timeout_50401"
    """Task-level 50401 after the service time, not charged."""
    HTTP_500_HTML = "http_500_html"
    """HTTP 500 with a proxy's HTML page, not charged."""
    HTTP_502_HTML = "http_502_html"
    """HTTP 502 with a proxy's HTML page, not charged."""
    HTTP_503_HTML = "http_503_html"
    """HTTP 503 with a proxy's HTML page, not charged."""
    RESET = "reset"
    """The connection is dropped without a byte of response, once the request was read whole.

    A Live call is held its service time (in flight) and then dropped, its task not charged; a
    task_post's tasks are created and charged first. The client cannot tell which: to it the
    outcome is unknown, so it resends neither by default.
    """
    TRUNCATED = "truncated"
    """HTTP 200 whose JSON body is cut in half; the work was done, so it is charged."""
    CUT_OFF = "cut_off"
    """HTTP 200 announcing the whole body's length, closed halfway through it; charged."""
    EMPTY_BODY = "empty_body"
    """HTTP 200 with an empty body; the work was done, so it is charged."""
    HANG = "hang"
    """The call is held ``hang_seconds`` (in flight all along), then answered 50401."""
    CHARGED_ERROR = "charged_error"
    """Task-level 50000 after the service time, charged what the answer would have cost (the
    work was done and billed, the answer failed): a client must not pay for it again."""


# Random faults a retrying client can survive without paying twice: nothing here is charged.
# HANG is left out because its 120 s hold would dominate any run that draws it; RESET and the
# HTML pages because a connection dropped after the request was written, or a proxy's 5xx page,
# is an unknown outcome (the server may have run the task), which a client must not resend by
# default.
DEFAULT_FAULT_KINDS: Final[tuple[Fault, ...]] = (
    Fault.SERVER_ERROR,
    Fault.TASK_ERROR,
    Fault.TIMEOUT_50401,
)


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What a fault chooser knows about a call when it decides."""

    platform: Platform | None
    path: str
    request: LiveRequest | None
    """The decoded Live task; None for other endpoints and for tasks that failed to decode."""
    key: str
    """sha256 of the task body as sorted-key JSON (see `task_key`)."""
    attempt: int = 1
    """How many times this key arrived before, plus one."""


FaultChooser: TypeAlias = Callable[[CallInfo], Fault | None]
LatencyRange: TypeAlias = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How the emulated DataForSEO account behaves: credentials, timing, limits and faults.

    Parameters
    ----------
    login, password:
        The Basic-auth credentials the emulator accepts.
    latency, latency_by_platform:
        Uniform ``(lo, hi)`` seconds of service time for each admitted Live call, overridable
        per platform. The real API takes about 5 s.
    rate_limit, rate_period:
        When set, a call arriving while ``rate_limit`` calls already arrived in the last
        ``rate_period`` seconds (sliding, every endpoint) is answered 40202.
    live_concurrency:
        A Live call arriving while this many Live calls of its platform are in flight is
        answered 40209; one number for all platforms or a mapping per platform.
    faults:
        Called for every call that passes the body checks; returns the fault to inject.
    fault_rate, fault_kinds, fault_first_attempt_only:
        Random Live faults, drawn from ``seed`` and the call's key and attempt.
    hang_seconds:
        How long a `Fault.HANG` holds the call before answering 50401.
    seed:
        All randomness (latency, faults, answers) derives from it.
    vary_repeats:
        When true, a Live task sent again with the same body (a sweep's ``samples``) gets
        another answer, as the real engines give: other brands, other citations. Still
        deterministic: a function of the body, ``seed`` and how many times it came before.
    balance:
        The account's money before any charge.
    standard_delay:
        Uniform ``(lo, hi)`` seconds from task_post until a Standard task is finished (the
        real API takes minutes, up to 72 hours).
    task_post_limit:
        Tasks one task_post call may hold; the rest are refused with 40006.
    tasks_ready_limit, tasks_ready_period:
        A tasks_ready call arriving while this many already arrived in the last period (all
        platforms together) is answered 40202; None for no limit.
    results_ttl:
        Seconds after posting until task_get answers 40403 Results Expired (30 days).
    task_post_latency:
        Seconds a task_post takes to answer once its tasks are created (a client that dies
        meanwhile never learns their ids).
    callback_timeout:
        Seconds a postback or pingback receiver has to answer before delivery counts as failed.
    """

    login: str = "emulator"
    password: str = "emulator"
    latency: LatencyRange = (3.0, 7.0)
    latency_by_platform: Mapping[Platform, LatencyRange] = field(default_factory=dict)
    rate_limit: int | None = None
    rate_period: float = 60.0
    live_concurrency: int | Mapping[Platform, int] | None = None
    faults: FaultChooser | None = None
    fault_rate: float = 0.0
    fault_kinds: tuple[Fault, ...] = DEFAULT_FAULT_KINDS
    fault_first_attempt_only: bool = True
    hang_seconds: float = 120.0
    seed: int = 0
    vary_repeats: bool = False
    balance: float = 100.0
    standard_delay: LatencyRange = (30.0, 120.0)
    task_post_limit: int = 100
    tasks_ready_limit: int | None = 20
    tasks_ready_period: float = 60.0
    results_ttl: float = 30 * 86400.0
    task_post_latency: float = 0.0
    callback_timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_latency("latency", self.latency)
        for platform, latency in self.latency_by_platform.items():
            _check_platform("latency_by_platform", platform)
            _check_latency(f"latency_by_platform[{platform!r}]", latency)
        if self.rate_limit is not None and self.rate_limit < 1:
            raise ValueError(f"rate_limit must be at least 1 (or None), got {self.rate_limit}")
        if not (math.isfinite(self.rate_period) and self.rate_period > 0):
            raise ValueError(f"rate_period must be a positive number, got {self.rate_period}")
        limits = self.live_concurrency
        for platform, limit in limits.items() if isinstance(limits, Mapping) else ():
            _check_platform("live_concurrency", platform)
            _check_slots(limit)
        if isinstance(limits, int):
            _check_slots(limits)
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        # Accept plain strings ("reset") so configs read from JSON or a CLI work unchanged.
        object.__setattr__(self, "fault_kinds", tuple(Fault(k) for k in self.fault_kinds))
        if self.fault_rate and not self.fault_kinds:
            raise ValueError("fault_rate is set but fault_kinds is empty")
        if not self.hang_seconds >= 0:
            raise ValueError(f"hang_seconds must be >= 0, got {self.hang_seconds}")
        _check_latency("standard_delay", self.standard_delay)
        if self.task_post_limit < 1:
            raise ValueError(f"task_post_limit must be at least 1, got {self.task_post_limit}")
        if self.tasks_ready_limit is not None and self.tasks_ready_limit < 1:
            raise ValueError(
                f"tasks_ready_limit must be at least 1 (or None), got {self.tasks_ready_limit}"
            )
        if not (math.isfinite(self.task_post_latency) and self.task_post_latency >= 0):
            raise ValueError(f"task_post_latency must be >= 0, got {self.task_post_latency}")
        for name in ("tasks_ready_period", "results_ttl", "callback_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")

    def latency_of(self, platform: Platform) -> LatencyRange:
        """The service-time range of ``platform``'s Live calls."""
        return self.latency_by_platform.get(platform, self.latency)

    def concurrency_of(self, platform: Platform) -> int | None:
        """How many Live calls of ``platform`` may be in flight, or None for no limit."""
        limits = self.live_concurrency
        if isinstance(limits, Mapping):
            return limits.get(platform)
        return limits

    def to_json(self) -> str:
        """This config as JSON, to hand to an emulator in another process."""
        if self.faults is not None:
            raise ValueError("a faults callable cannot cross a process boundary; use fault_rate")
        data = asdict(self)
        del data["faults"]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> EmulatorConfig:
        """The config `to_json` wrote."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the emulator config must be a JSON object")
        for name in ("latency", "standard_delay"):
            if name in data:
                data[name] = _pair(data[name])
        if "latency_by_platform" in data:
            data["latency_by_platform"] = {
                p: _pair(v) for p, v in data["latency_by_platform"].items()
            }
        if "fault_kinds" in data:
            data["fault_kinds"] = tuple(data["fault_kinds"])
        return cls(**data)


def _pair(value: object) -> LatencyRange:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"expected a (lo, hi) pair, got {value!r}")
    return (float(value[0]), float(value[1]))


def _check_latency(name: str, latency: LatencyRange) -> None:
    lo, hi = latency
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
        raise ValueError(f"{name} must be (lo, hi) with 0 <= lo <= hi, got {latency!r}")


def _check_platform(name: str, platform: str) -> None:
    if platform not in PLATFORMS:
        raise ValueError(f"{name}: unknown platform {platform!r}; use one of {PLATFORMS}")


def _check_slots(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"live_concurrency must be at least 1, got {limit}")
