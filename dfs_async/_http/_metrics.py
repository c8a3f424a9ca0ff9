"""OpenTelemetry metrics of the send path, when ``opentelemetry-api`` is installed.

Instruments (meter ``dfs_async``, the package version):

=========================== ============== ======= ==========================================
name                        kind           unit    attributes
=========================== ============== ======= ==========================================
``dfs_async.calls``         counter        {call}  ``platform`` (Live calls), ``status``
``dfs_async.queue_wait``    histogram      s       ``platform``
``dfs_async.upstream_latency`` histogram   s       ``platform``
``dfs_async.in_flight``     up-down        {call}  ``platform``
``dfs_async.cost``          counter        USD     ``platform``
=========================== ============== ======= ==========================================

Every HTTP attempt counts (retries included), so ``dfs_async.calls`` matches what DataForSEO
saw; ``status`` is DataForSEO's status code (``"20000"``) or the error's class name
(``"DeadlineExceededError"``, ``"QueueTimeoutError"`` for an attempt that was never sent). Without
``opentelemetry-api`` every method here does nothing, and the client gains no dependency.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from .._errors import APIError, DFSError
from .._platforms import Platform
from .._version import __version__
from ._retry import error_key

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

try:
    from opentelemetry import metrics as _otel
except ImportError:  # pragma: no cover - depends on the environment
    _otel = None  # type: ignore[assignment]

METER_NAME: Final = "dfs_async"


class CallTiming:
    """One attempt's clock: when it started to queue, and when it was sent."""

    __slots__ = ("queued_at", "sent_at")

    def __init__(self, queued_at: float) -> None:
        self.queued_at = queued_at
        self.sent_at: float | None = None


class CallMetrics:
    """The instruments the client records into; every method is a no-op without OpenTelemetry.

    The client asks `start` for an attempt's clock and hands it back to the other methods:
    None (no OpenTelemetry) costs the send path one test per call and nothing else.
    """

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        self.enabled = _otel is not None
        self._attributes: dict[Platform | None, dict[str, str]] = {}
        self._with_status: dict[tuple[Platform | None, str], dict[str, str]] = {}
        if _otel is None:
            return
        meter = _otel.get_meter(METER_NAME, __version__, meter_provider=meter_provider)
        self._calls = meter.create_counter(
            "dfs_async.calls", unit="{call}", description="HTTP attempts by outcome"
        )
        self._queue_wait = meter.create_histogram(
            "dfs_async.queue_wait",
            unit="s",
            description="From an attempt's start to its send: waiting for a slot and a rate token",
        )
        self._latency = meter.create_histogram(
            "dfs_async.upstream_latency",
            unit="s",
            description="From the send to DataForSEO's answer (answered attempts only)",
        )
        self._in_flight = meter.create_up_down_counter(
            "dfs_async.in_flight", unit="{call}", description="Attempts sent and not yet answered"
        )
        self._cost = meter.create_counter(
            "dfs_async.cost", unit="USD", description="Charges DataForSEO reported in its answers"
        )

    def start(self) -> CallTiming | None:
        """An attempt begins to queue: its clock, or None when nothing is recorded."""
        if not self.enabled:
            return None
        return CallTiming(asyncio.get_running_loop().time())

    def sent(self, platform: Platform | None, timing: CallTiming | None) -> None:
        """The attempt's request goes out now: its queue wait ends, it is in flight."""
        if timing is None:
            return
        timing.sent_at = now = asyncio.get_running_loop().time()
        attributes = self._attributes_of(platform)
        self._queue_wait.record(now - timing.queued_at, attributes)
        self._in_flight.add(1, attributes)

    def follow(
        self, platform: Platform | None, timing: CallTiming | None, exchange: asyncio.Future[Any]
    ) -> None:
        """Count the attempt's outcome when its exchange ends, not when its caller stops
        waiting: a call on the wire is read to its end (and charged) all the same."""
        if timing is None:
            return

        def done(task: asyncio.Future[Any]) -> None:
            outcome = (
                asyncio.CancelledError() if task.cancelled() else task.exception() or task.result()
            )
            self.finished(platform, timing, outcome)

        exchange.add_done_callback(done)

    def finished(
        self, platform: Platform | None, timing: CallTiming | None, outcome: object
    ) -> None:
        """Count one attempt's outcome: an envelope, an exception, or a cancellation."""
        if timing is None:
            return
        attributes = self._attributes_of(platform)
        if timing.sent_at is None:
            if isinstance(outcome, DFSError):  # refused before the send (a queue timeout)
                self._calls.add(1, self._status_of(platform, error_key(outcome)))
            return
        self._in_flight.add(-1, attributes)
        cost = 0.0
        if isinstance(outcome, BaseException):
            status = error_key(outcome)
            if isinstance(outcome, APIError):
                cost = outcome.cost
        else:
            status = str(getattr(outcome, "status_code", None) or 0)
            cost = getattr(outcome, "cost", None) or 0.0
        if isinstance(outcome, APIError) or not isinstance(outcome, BaseException):
            # DataForSEO answered (an error status is an answer); a lost call has no latency.
            elapsed = asyncio.get_running_loop().time() - timing.sent_at
            self._latency.record(elapsed, attributes)
        self._calls.add(1, self._status_of(platform, status))
        if cost:
            self._cost.add(cost, attributes)

    def _attributes_of(self, platform: Platform | None) -> dict[str, str]:
        """The attributes of ``platform``'s measurements, made once (never mutated)."""
        try:
            return self._attributes[platform]
        except KeyError:
            made: dict[str, str] = {"platform": platform} if platform is not None else {}
            return self._attributes.setdefault(platform, made)

    def _status_of(self, platform: Platform | None, status: str) -> dict[str, str]:
        """``platform``'s attributes with ``status``, made once per pair."""
        try:
            return self._with_status[platform, status]
        except KeyError:
            made = {**self._attributes_of(platform), "status": status}
            return self._with_status.setdefault((platform, status), made)
