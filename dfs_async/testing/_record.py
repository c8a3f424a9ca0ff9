"""What the server saw: one record per call, in-flight counts, and the figures tests check.

Recording is O(1) per call (appends and counter bumps); windows and occupancy are computed on
demand. Times are ``time.monotonic()`` in the emulator's process.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping

import msgspec

from .._platforms import PLATFORMS, Platform
from ._standard_record import StandardRecord, most_in_window


class CallRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One HTTP request that reached the emulator's handler, as the server saw it."""

    path: str
    platform: Platform | None = None
    arrived: float
    finished: float
    status_code: int
    """The internal code answered: the task's if only it failed, else the envelope's; 0 if none.

    0 means the body carried no code: a reset, an HTML page, an empty or a truncated body.
    """
    http_status: int
    """0 when the connection was dropped without an answer."""
    fault: str | None = None
    """The injected `Fault`'s value, if any."""
    charged: float = 0.0
    key: str = ""
    """sha256 of the task body as sorted-key JSON; the same request body gives the same key."""
    tag: str | None = None
    service_time: float = 0.0
    """Seconds the call was held as if the LLM were working (latency or hang)."""
    attempt: int = 1
    """How many times this key had arrived, this call included."""
    admitted: bool = False
    """Whether the call took a Live slot (counted in flight)."""
    method: str = "POST"


class ServerRecord:
    """Everything the emulator saw since it started or was last reset."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []
        """One record per finished call, in finishing order."""
        self.arrivals: list[float] = []
        """Arrival time of every call, in order, whatever its outcome."""
        self.codes: Counter[int] = Counter()
        """How many calls were answered with each internal status code."""
        self.total_cost = 0.0
        self.in_flight: dict[Platform, int] = dict.fromkeys(PLATFORMS, 0)
        """Live calls of each platform holding a slot right now."""
        self.max_in_flight: dict[Platform, int] = dict.fromkeys(PLATFORMS, 0)
        """The most Live calls of each platform that held a slot at once."""
        self.generation = 0
        """Bumped by `reset`, so calls that arrived before it are not recorded."""
        self.standard = StandardRecord()
        """The Standard method: tasks posted, collected, delivered; tasks_ready calls."""
        self._open: dict[int, tuple[Platform, float]] = {}
        self._next = 0

    def reset(self) -> None:
        """Forget every call and start a new run; in-flight calls stay counted, unrecorded."""
        # The emulator sees the new generation on the next call and restarts its rate window
        # and attempt counts, so a benchmark's runs after a reset meet the same faults.
        self.generation += 1
        self.calls = []
        self.arrivals = []
        self.codes = Counter()
        self.total_cost = 0.0
        self.max_in_flight = dict(self.in_flight)
        self.standard = StandardRecord()

    # -- written by the emulator; O(1) each ----------------------------------------------

    def _arrive(self, now: float) -> None:
        self.arrivals.append(now)

    def _admit(self, platform: Platform, now: float) -> int:
        count = self.in_flight[platform] + 1
        self.in_flight[platform] = count
        if count > self.max_in_flight[platform]:
            self.max_in_flight[platform] = count
        self._next += 1
        self._open[self._next] = (platform, now)
        return self._next

    def _release(self, token: int) -> None:
        platform, _ = self._open.pop(token)
        self.in_flight[platform] -= 1

    def _add(self, call: CallRecord, generation: int) -> None:
        if generation != self.generation:
            return  # arrived before a reset
        self.calls.append(call)
        self.codes[call.status_code] += 1
        self.total_cost += call.charged

    # -- read by tests -------------------------------------------------------------------

    def max_calls_in_window(self, period: float) -> int:
        """The most arrivals in any window of ``period`` seconds (half-open), rejected included."""
        return most_in_window(self.arrivals, period)

    def charges_by_key(self) -> Counter[str]:
        """How many charged answers each request key got; above 1 means it was paid twice.

        A Standard task is charged when posted, so each created task counts under its key.
        """
        charges = Counter(
            call.key for call in self.calls if call.charged > 0 and not _is_post(call)
        )
        charges.update(post.key for post in self.standard.posts)
        return charges

    def occupancy(self, platform: Platform, start: float, end: float, limit: int) -> float:
        """Share of ``limit`` slots of ``platform`` busy over [start, end], from 0.0 to 1.0."""
        # The time-integral of the in-flight count over the window, divided by limit x length.
        if end <= start or limit <= 0:
            raise ValueError("occupancy needs end > start and limit > 0")
        busy = 0.0
        for call in self.calls:
            if call.admitted and call.platform == platform:
                busy += max(0.0, min(call.finished, end) - max(call.arrived, start))
        now = time.monotonic()
        for open_platform, since in self._open.values():
            if open_platform == platform:
                busy += max(0.0, min(now, end) - max(since, start))
        return busy / (limit * (end - start))

    def to_dict(self, *, calls: bool = True) -> dict[str, object]:
        """A JSON-able summary; ``calls=False`` leaves out the per-call lists."""
        data: dict[str, object] = {
            "calls_count": len(self.calls),
            "codes": {str(code): n for code, n in sorted(self.codes.items())},
            "total_cost": self.total_cost,
            "max_in_flight": dict(self.max_in_flight),
            "in_flight": dict(self.in_flight),
            "charged_twice": sum(1 for n in self.charges_by_key().values() if n > 1),
            "standard": self.standard.to_dict(),
        }
        if calls:
            data["calls"] = msgspec.to_builtins(self.calls)
            data["arrivals"] = list(self.arrivals)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ServerRecord:
        """Rebuild a record from `to_dict` output (with calls), e.g. from another process."""
        record = cls()
        record.calls = msgspec.convert(data.get("calls", []), list[CallRecord])
        record.arrivals = msgspec.convert(data.get("arrivals", []), list[float])
        codes = msgspec.convert(data.get("codes", {}), dict[str, int])
        record.codes = Counter({int(code): n for code, n in codes.items()})
        record.total_cost = msgspec.convert(data.get("total_cost", 0.0), float)
        record.max_in_flight.update(
            msgspec.convert(data.get("max_in_flight", {}), dict[Platform, int])
        )
        record.in_flight.update(msgspec.convert(data.get("in_flight", {}), dict[Platform, int]))
        standard = data.get("standard")
        if isinstance(standard, Mapping):
            record.standard = StandardRecord.from_dict(standard)
        return record

    def __repr__(self) -> str:
        return (
            f"ServerRecord(calls={len(self.calls)}, total_cost={self.total_cost:.6f}, "
            f"max_in_flight={self.max_in_flight}, codes={dict(self.codes)})"
        )


def _is_post(call: CallRecord) -> bool:
    # A task_post call's charge is the sum over its tasks, each counted under its own key.
    return call.path.endswith("/task_post")
