"""`AsyncClient`: lifecycle, the three endpoints, and the governed send path with retries."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import msgspec

from .._config import (
    DEFAULT_LIVE_CONCURRENCY,
    DEFAULT_LIVE_EXECUTION_LIMIT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_PERIOD,
    DEFAULT_TASKS_READY_LIMIT,
    DEFAULT_TASKS_READY_PERIOD,
    DEFAULT_TIMEOUT,
    Limits,
    RetryPolicy,
)
from .._errors import (
    APIError,
    CredentialsError,
    DecodeError,
    DFSError,
    QueueTimeoutError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from .._governance import Governor, LocalGovernor, RedisGovernor
from .._platforms import (
    DEFAULT_BASE_URL,
    USER_DATA_PATH,
    Platform,
    check_platform,
    live_path,
    models_path,
)
from .._wire._decode import (
    LIVE_DECODER,
    MODELS_DECODER,
    USER_DATA_DECODER,
    EnvelopeT,
    decode_envelope,
)
from .._wire._models import LiveResponse, ModelInfo, UserData
from .._wire._requests import LiveRequest, encode_body
from .._wire._tasks import ReadyTask, TaskPostResponse
from .._wire._validation import prepare_request
from ._metrics import CallMetrics, metered
from ._observe import CURRENT_CALL
from ._retry import backoff, error_key, rate_limit_pause, should_retry
from ._standard import StandardCalls
from ._stats import ClientStats, StatsRecorder
from ._transport import AiohttpTransport, Transport, basic_auth, check_base_url

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

logger: Final = logging.getLogger("dfs_async")

LOGIN_ENV: Final = "DATAFORSEO_LOGIN"
PASSWORD_ENV: Final = "DATAFORSEO_PASSWORD"
BASE_URL_ENV: Final = "DATAFORSEO_BASE_URL"
"""Where to send calls when ``base_url`` is not given (the emulator's URL, say)."""
REDIS_URL_ENV: Final = "DFS_REDIS_URL"


class AsyncClient:
    """A governed connection to DataForSEO's LLM Responses API; use ``async with``.

    Parameters
    ----------
    login, password:
        API credentials; default to the ``DATAFORSEO_LOGIN`` / ``DATAFORSEO_PASSWORD``
        environment variables.
    base_url:
        ``https://api.dataforseo.com`` (the default, unless ``DATAFORSEO_BASE_URL`` is set), or
        a loopback ``http://`` URL such as the emulator's.
    timeout:
        Seconds a call may take from the moment it is sent (queueing is not counted).
    rate_limit, rate_period, burst:
        At most ``rate_limit`` calls in any ``rate_period`` seconds, evenly spaced.
    live_concurrency:
        Live calls in flight per platform (an int, or a mapping per platform).
    live_execution_limit:
        How long an abandoned Live call keeps its slot after it was sent.
    tasks_ready_limit, tasks_ready_period:
        The Standard method's tasks_ready pace (20 calls a minute by default).
    max_retries, retry:
        Resends of transient failures; ``retry`` gives the full `RetryPolicy`.
    queue_timeout:
        Seconds a call may wait for a slot and a rate token before `QueueTimeoutError`;
        None waits as long as it takes.
    redis_url:
        Share the account's limits with every other client of the same login on this Redis
        (processes, hosts): a `RedisGovernor`. Defaults to the ``DFS_REDIS_URL`` environment
        variable; ``""`` keeps the in-process governor. Needs ``dfs_async[redis]``.
    governor, transport:
        Replacements for the governor and the aiohttp transport.
    meter_provider:
        Where the OpenTelemetry metrics go (``dfs_async[metrics]``); by default the global
        provider. Without ``opentelemetry-api`` nothing is recorded.
    """

    def __init__(
        self,
        login: str | None = None,
        password: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_period: float = DEFAULT_RATE_PERIOD,
        burst: int = 1,
        live_concurrency: int | Mapping[Platform, int] = DEFAULT_LIVE_CONCURRENCY,
        live_execution_limit: float = DEFAULT_LIVE_EXECUTION_LIMIT,
        tasks_ready_limit: int = DEFAULT_TASKS_READY_LIMIT,
        tasks_ready_period: float = DEFAULT_TASKS_READY_PERIOD,
        max_retries: int = 5,
        retry: RetryPolicy | None = None,
        queue_timeout: float | None = None,
        redis_url: str | None = None,
        governor: Governor | None = None,
        transport: Transport | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        self.base_url = check_base_url(base_url)
        self.limits = Limits(
            rate_limit=rate_limit,
            rate_period=rate_period,
            burst=burst,
            live_concurrency=live_concurrency,
            live_execution_limit=live_execution_limit,
            tasks_ready_limit=tasks_ready_limit,
            tasks_ready_period=tasks_ready_period,
        )
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        for name, value in (("timeout", timeout), ("queue_timeout", queue_timeout)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ValidationError(name, f"must be a positive number of seconds, got {value!r}")
        self.timeout = timeout
        self.queue_timeout = queue_timeout
        if transport is None:
            login = login if login is not None else os.environ.get(LOGIN_ENV)
            password = password if password is not None else os.environ.get(PASSWORD_ENV)
            if not login or not password:
                raise CredentialsError(
                    f"no DataForSEO credentials: pass login= and password=, or set {LOGIN_ENV} "
                    f"and {PASSWORD_ENV} (https://app.dataforseo.com/api-access)"
                )
            transport = AiohttpTransport(self.base_url, basic_auth(login, password))
        self._transport = transport
        if redis_url is None and governor is None:
            redis_url = os.environ.get(REDIS_URL_ENV)
        if redis_url and governor is None:
            if not login:
                raise CredentialsError(
                    "redis_url= shares limits per account: pass the account's login= too"
                )
            governor = RedisGovernor(redis_url, account=login, limits=self.limits)
        self._governor_arg = governor
        self._governor: Governor | None = None
        self._stats = StatsRecorder()
        self._metrics = CallMetrics(meter_provider)
        self._rng = random.Random()
        self._models: dict[Platform, dict[str, ModelInfo]] = {}
        self._standard = StandardCalls(self)
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._governor else "not entered"
        return f"<AsyncClient {self.base_url} {state} {self._governor!r}>"

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("this AsyncClient is closed; create a new one")
        if self._governor is None:
            # Loop-bound state is made here, inside the running loop, never in __init__.
            self._governor = self._governor_arg or LocalGovernor(self.limits)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close connections and timers; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._governor is not None:
            await self._governor.aclose()
        await self._transport.aclose()

    @property
    def governor(self) -> Governor:
        """The governor admitting this client's calls."""
        if self._governor is None:
            raise RuntimeError("use the client inside 'async with AsyncClient(...)'")
        return self._governor

    @property
    def stats(self) -> ClientStats:
        """A snapshot of calls sent, in flight, waiting, retried, failed, and cost so far."""
        return self._stats.snapshot(self.governor.state())

    def prepare(
        self, platform: str, request: LiveRequest | None = None, /, **fields: Any
    ) -> tuple[Platform, LiveRequest]:
        """Build and validate a Live request without sending it; raises `ValidationError`.

        Like `prepare_request`, with the models this client has listed."""
        return prepare_request(platform, request, models=self._models, **fields)

    async def live(
        self,
        platform: str,
        request: LiveRequest | None = None,
        /,
        *,
        timeout: float | None = None,
        **fields: Any,
    ) -> LiveResponse:
        """Send one Live task and return the whole envelope.

        Fields are the API's (``user_prompt``, ``model_name``, ``web_search``, ...), or a
        prepared `LiveRequest`. Invalid fields raise `ValidationError` before anything is sent;
        a failed task raises its `APIError`.
        """
        checked, request = self.prepare(platform, request, **fields)
        return await self.send_live(checked, request, timeout=timeout)

    async def send_live(
        self, platform: Platform, request: LiveRequest, *, timeout: float | None = None
    ) -> LiveResponse:
        """Send a request already checked by `prepare`."""
        return await self.send_live_body(platform, encode_body(request), timeout=timeout)

    async def send_live_body(
        self, platform: Platform, body: bytes, *, timeout: float | None = None
    ) -> LiveResponse:
        """Send a body already encoded from a prepared request (sweeps encode once, for the
        key and the send)."""
        return await self._send("POST", live_path(platform), body, platform, LIVE_DECODER, timeout)

    async def task_post(
        self,
        platform: str,
        requests: Sequence[LiveRequest | Mapping[str, Any]],
        /,
        *,
        postback_url: str | None = None,
        pingback_url: str | None = None,
        timeout: float | None = None,
    ) -> TaskPostResponse:
        """Post up to 100 Standard tasks in one call; each `PostedTask` gives its id or error.

        Requests are validated like Live ones before anything is sent (more than 100, or
        Perplexity, raise `ValidationError`); a task without a ``tag`` is tagged with its
        request key so that tasks_ready can identify it. The call is resent only when the
        server surely created nothing; otherwise its error is raised.
        """
        return await self._standard.post(
            platform,
            requests,
            postback_url=postback_url,
            pingback_url=pingback_url,
            timeout=timeout,
        )

    async def tasks_ready(self, platform: str) -> list[ReadyTask]:
        """Finished Standard tasks not collected yet (up to 1000), paced at 20 calls a minute."""
        return await self._standard.ready(platform)

    async def task_get(
        self, platform: str, task_id: str, /, *, wait: float = 0.0, timeout: float | None = None
    ) -> LiveResponse:
        """A Standard task's result, decoded like a Live answer.

        An unfinished task raises `TaskPendingError` (40601/40602), at once or, with ``wait``
        seconds, after polling with backoff; an unknown or expired id raises `NotFoundError`
        (40401/40403).
        """
        return await self._standard.get(platform, task_id, wait=wait, timeout=timeout)

    async def models(self, platform: str) -> list[ModelInfo]:
        """The models ``platform`` offers; also remembered to check later requests."""
        checked = check_platform(platform)
        envelope = await self._send("GET", models_path(checked), None, None, MODELS_DECODER, None)
        models = list(envelope.tasks[0].result or ())
        self._models[checked] = {m.model_name: m for m in models}
        return models

    async def user_data(self) -> UserData:
        """The account's limits, usage and balance."""
        envelope = await self._send("GET", USER_DATA_PATH, None, None, USER_DATA_DECODER, None)
        results = envelope.tasks[0].result
        if not results:
            raise DecodeError(
                "user_data answered without a result",
                http_status=200,
                body=msgspec.json.encode(envelope),
            )
        return results[0]

    async def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        platform: Platform | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float | None,
    ) -> EnvelopeT:
        """One call with retries; every attempt goes through the governor."""
        governor = self.governor
        watch = CURRENT_CALL.get()
        attempt = 0
        while True:
            try:
                return await self._attempt(method, path, body, platform, decoder, timeout)
            except DFSError as exc:
                final = attempt >= self.retry.max_retries or not should_retry(exc, self.retry)
                if final or (watch is not None and watch.stopping):  # a stopping sweep: no resend
                    self._stats.errors[error_key(exc)] += 1
                    raise
                if isinstance(exc, RateLimitError):
                    # The account's window is full, perhaps because of another process: hold
                    # every call of this client until the window has likely rolled over.
                    delay = rate_limit_pause(self.limits.rate_period, self.retry, self._rng)
                    governor.pause(delay)
                else:
                    delay = backoff(attempt, self.retry, self._rng)
                self._stats.retries[error_key(exc)] += 1
                logger.debug(
                    "retry %d/%d of %s %s in %.2f s after %s",
                    attempt + 1,
                    self.retry.max_retries,
                    method,
                    path,
                    delay,
                    exc,
                )
                attempt += 1
                await asyncio.sleep(delay)

    @metered  # metrics: each attempt's outcome (status, cost, upstream latency, in flight -1)
    async def _attempt(
        self,
        method: str,
        path: str,
        body: bytes | None,
        platform: Platform | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float | None,
        *,
        check_task: bool = True,
    ) -> EnvelopeT:
        governor = self.governor
        if self.queue_timeout is None:
            await governor.acquire(platform)
        else:
            try:
                async with asyncio.timeout(self.queue_timeout):
                    await governor.acquire(platform)
            except TimeoutError:
                raise QueueTimeoutError(
                    f"waited over {self.queue_timeout:g} s for a slot and a rate token; "
                    "nothing was sent"
                ) from None
        stats = self._stats
        stats.calls_sent += 1
        if platform is not None:
            stats.in_flight[platform] += 1
        sent_at = asyncio.get_running_loop().time()
        self._metrics.sent(platform)  # metrics: queue wait ends, in flight +1
        # Until an answer comes back, the server may be running the call: a deadline, a
        # cancellation or a connection lost after the send leaves its slot held (see
        # Governor.release). A body cut off after its status line is an answer: the server
        # has finished.
        abandoned = True
        watch = CURRENT_CALL.get()
        if watch is not None:
            watch.sending = True  # a sweep stopping gracefully waits for this answer
        try:
            http_status, payload = await self._transport.request(
                method, path, body, timeout if timeout is not None else self.timeout
            )
            abandoned = False
            stats.answered += 1
        except DecodeError:  # a body cut off: the server did answer
            abandoned = False
            stats.answered += 1
            raise
        except TransportError as exc:
            # Lost after the request was written whole with no answer: like a deadline, the
            # server may still be running (and counting) the call, so its slot stays held.
            # Before that the server never saw it; an unreadable answer means it finished.
            abandoned = exc.sent and not exc.answered
            if not exc.sent:
                stats.unreached += 1
                stats.last_unreached = str(exc)
            raise
        finally:
            if watch is not None:
                watch.sending = False
            if platform is not None:
                stats.in_flight[platform] -= 1
            governor.release(platform, abandoned_at=sent_at if abandoned else None)
        try:
            envelope = decode_envelope(http_status, payload, decoder, check_task=check_task)
        except APIError as exc:
            stats.cost += exc.cost
            raise
        stats.cost += envelope.cost
        return envelope
