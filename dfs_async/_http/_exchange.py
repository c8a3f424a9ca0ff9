"""One governed attempt of the client: admission, the exchange in a task of its own, the read
and the decode, with the stats and metrics each step counts.

The exchange runs apart from its caller so that a caller who stops waiting never cuts a call
that is on the wire: the answer is still read (bounded by the call's deadline), frees the slot
and counts its cost; `Exchanges.drain` waits for such answers when the client closes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import msgspec

from .._errors import (
    APIError,
    DecodeError,
    GatewayError,
    QueueTimeoutError,
    ResponseTooLargeError,
    TransportError,
)
from .._governance import Governor
from .._platforms import Platform
from .._wire._decode import EnvelopeT, decode_envelope
from ._metrics import CallMetrics, CallTiming
from ._observe import CURRENT_CALL
from ._stats import StatsRecorder
from ._transport import CURRENT_UPLOAD, Transport, Upload

logger: Final = logging.getLogger("dfs_async")


class Exchanges:
    """The client's governed attempts, and the exchanges still being read."""

    def __init__(
        self,
        transport: Transport,
        stats: StatsRecorder,
        metrics: CallMetrics,
        *,
        max_body_size: int,
    ) -> None:
        self._transport = transport
        self._stats = stats
        self._metrics = metrics
        self._max_body_size = max_body_size
        self._reads: set[asyncio.Task[Any]] = set()
        """Exchanges on the wire, read to their end even when their caller stopped waiting."""

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` for answers of calls whose callers stopped waiting."""
        if not self._reads:
            return
        _, late = await asyncio.wait(set(self._reads), timeout=timeout)
        if late:
            logger.warning(
                "closing with %d call(s) still unanswered after %g s; DataForSEO may charge them",
                len(late),
                timeout,
            )
            for task in late:
                task.cancel()
            await asyncio.wait(late)

    async def attempt(
        self,
        governor: Governor,
        method: str,
        path: str,
        body: bytes | None,
        platform: Platform | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float,
        *,
        check_task: bool,
        queue_timeout: float | None,
        priority: int,
    ) -> EnvelopeT:
        """One governed attempt: wait for a slot and a token, then send and read.

        Once admitted, the exchange runs in its own task: a caller that stops waiting
        (cancelled) leaves it to finish in the background, bounded by its deadline, since the
        call is on the wire and paid for; its answer frees the slot and counts its cost.
        """
        metrics = self._metrics
        timing = metrics.start()  # None without OpenTelemetry: the metrics calls return at once
        try:
            await self._admit(governor, platform, queue_timeout, priority)
        except BaseException as exc:
            metrics.finished(platform, timing, exc)  # never sent (a queue timeout)
            raise
        begun: list[bool] = []  # the exchange appends once it runs
        upload = Upload()
        exchange = asyncio.ensure_future(
            self._exchange(
                governor,
                method,
                path,
                body,
                platform,
                decoder,
                timeout,
                check_task,
                begun,
                upload,
                timing,
            )
        )
        self._reads.add(exchange)
        exchange.add_done_callback(self._read_done)
        metrics.follow(platform, timing, exchange)  # its outcome, when it ends
        try:
            return await asyncio.shield(exchange)
        except asyncio.CancelledError:
            if not begun:  # cancelled before the exchange ever ran: nothing goes out now
                exchange.cancel()
                governor.release(platform)
            elif not upload.started():  # not a byte on its way yet: stop it
                exchange.cancel()
            elif (watch := CURRENT_CALL.get()) is not None:
                watch.left += 1  # on the wire, read on without its caller: maybe billed
            raise
        finally:
            # Cleared here, in the same step that hands the answer on, not when the exchange
            # ends: a sweep stopping in between would take the call for one not yet sent.
            watch = CURRENT_CALL.get()
            if watch is not None:
                watch.sending = False

    def _read_done(self, exchange: asyncio.Task[Any]) -> None:
        self._reads.discard(exchange)
        if not exchange.cancelled():
            exchange.exception()  # retrieved: a caller that left does not want it logged

    async def _admit(
        self,
        governor: Governor,
        platform: Platform | None,
        queue_timeout: float | None,
        priority: int,
    ) -> None:
        """Wait for a slot (Live calls) and a rate token in ``priority``'s lane, within the
        queue timeout."""
        bound = queue_timeout
        if bound is None:
            await governor.acquire(platform, priority=priority)
            return
        try:
            async with asyncio.timeout(bound):
                await governor.acquire(platform, priority=priority)
        except TimeoutError:
            raise QueueTimeoutError(
                f"waited over {bound:g} s for a slot and a rate token; nothing was sent"
            ) from None

    async def _exchange(
        self,
        governor: Governor,
        method: str,
        path: str,
        body: bytes | None,
        platform: Platform | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float,
        check_task: bool,
        begun: list[bool],
        upload: Upload,
        timing: CallTiming | None,
    ) -> EnvelopeT:
        """Send, read and decode one admitted call; its slot is given back on every path."""
        watch = CURRENT_CALL.get()
        if watch is not None and watch.stopping:
            # The sweep stopped after this call was scheduled and before it began: its worker,
            # not sending yet, is being cancelled, and the cancellation reaches it only after
            # this step. Sent now, the call would be paid for with no one left to record it.
            # Not begun: the caller gives the slot back.
            raise asyncio.CancelledError
        begun.append(True)
        # Set in this task's own context (a copy of the caller's, made with the task): the
        # transport reports through it whether the request started to leave.
        CURRENT_UPLOAD.set(upload)
        stats = self._stats
        stats.calls_sent += 1
        if platform is not None:
            stats.in_flight[platform] += 1
        sent_at = asyncio.get_running_loop().time()
        self._metrics.sent(platform, timing)  # metrics: queue wait ends, in flight +1
        # Until an answer comes back, the server may be running the call: a deadline, a
        # connection lost after the send or a gateway's page leaves its slot held (see
        # Governor.release). A body cut off after its status line is an answer: the server
        # has finished.
        abandoned = True
        if watch is not None:
            watch.sending = True  # a sweep stopping gracefully waits for this answer
        try:
            http_status, payload = await self._read(method, path, body, timeout)
            envelope = self._decode(http_status, payload, decoder, check_task)
            abandoned = False
            return envelope
        except GatewayError:
            raise  # the gateway gave up, not DataForSEO: the call may still run there
        except (APIError, DecodeError, ResponseTooLargeError):
            abandoned = False  # answered: the server has finished
            raise
        except TransportError as exc:
            # Lost after the request was written whole with no answer: like a deadline, the
            # server may still be running (and counting) the call, so its slot stays held.
            # Before that the server never saw it; an unreadable answer means it finished.
            abandoned = exc.sent and not exc.answered
            raise
        except asyncio.CancelledError:
            abandoned = upload.started()  # never started: nothing ran
            raise
        finally:
            if platform is not None:
                stats.in_flight[platform] -= 1
            governor.release(platform, abandoned_at=sent_at if abandoned else None)

    async def _read(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        """The transport's exchange, counted in the stats."""
        stats = self._stats
        try:
            answer = await self._transport.request(method, path, body, timeout)
        except (DecodeError, ResponseTooLargeError):  # an answer, cut off or too large
            stats.answered += 1
            raise
        except TransportError as exc:
            if not exc.sent:
                stats.unreached += 1
                stats.last_unreached = str(exc)
            raise
        stats.answered += 1
        if len(answer[1]) > self._max_body_size:  # a transport that does not cap it itself
            raise ResponseTooLargeError(
                f"{method} {path}: answer of {len(answer[1])} bytes is over max_body_size "
                f"{self._max_body_size}",
                limit=self._max_body_size,
            )
        return answer

    def _decode(
        self,
        http_status: int,
        payload: bytes,
        decoder: msgspec.json.Decoder[EnvelopeT],
        check_task: bool,
    ) -> EnvelopeT:
        """Decode an answer and count its cost (an error's too)."""
        try:
            envelope = decode_envelope(http_status, payload, decoder, check_task=check_task)
        except APIError as exc:
            self._stats.cost += exc.cost
            raise
        self._stats.cost += envelope.cost
        return envelope
