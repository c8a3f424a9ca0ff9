"""`AsyncClient`: lifecycle, the endpoints, retries around a governed attempt (`_exchange`)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import urlsplit

import msgspec

from .._config import (
    DEFAULT_JITTER,
    DEFAULT_LIVE_CONCURRENCY,
    DEFAULT_LIVE_EXECUTION_LIMIT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_PERIOD,
    DEFAULT_TASKS_READY_LIMIT,
    DEFAULT_TASKS_READY_PERIOD,
    DEFAULT_TIMEOUT,
    LOOPBACK_JITTER,
    Limits,
    RetryPolicy,
    check_positive,
    check_priority,
    check_seconds,
)
from .._errors import (
    CredentialsError,
    DecodeError,
    GovernorUnavailableError,
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
)
from .._wire._models import LiveResponse, ModelInfo, UserData
from .._wire._requests import LiveRequest, encode_body
from .._wire._tasks import ReadyTask, TaskPostResponse
from .._wire._validation import prepare_request
from ._exchange import Exchanges
from ._metrics import CallMetrics
from ._retry import Retrier, should_reread
from ._standard import Attempt, StandardCalls
from ._stats import ClientStats, StatsRecorder
from ._transport import (
    DEFAULT_MAX_BODY_SIZE,
    AiohttpTransport,
    Transport,
    basic_auth,
    check_base_url,
    is_loopback_host,
)

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

logger: Final = logging.getLogger("dfs_async")

LOGIN_ENV: Final = "DATAFORSEO_LOGIN"
PASSWORD_ENV: Final = "DATAFORSEO_PASSWORD"
BASE_URL_ENV: Final = "DATAFORSEO_BASE_URL"
"""Where to send calls when ``base_url`` is not given (the emulator's URL, say)."""
REDIS_URL_ENV: Final = "DFS_REDIS_URL"
DEFAULT_REDIS_WAIT: Final = 30.0
"""Seconds a call waits for an unreachable Redis before `GovernorUnavailableError`."""
WARM_UP_TIMEOUT: Final = 1.0
"""Seconds `AsyncClient.__aenter__` gives a shared governor to connect before going on."""
INTERACTIVE: Final = 0
"""The priority of a plain `AsyncClient.live` call: someone is waiting for it."""
BULK: Final = -1
"""The priority of a sweep's calls by default: interactive calls go ahead of them."""
DEFAULT_DRAIN_TIMEOUT: Final = 30.0
"""Seconds `AsyncClient.aclose` waits for answers of calls whose callers stopped waiting."""


def _aiohttp_transport(
    base_url: str, login: str | None, password: str | None, max_body_size: int
) -> Transport:
    """The real transport, with credentials from the arguments or the environment."""
    password = password if password is not None else os.environ.get(PASSWORD_ENV)
    if not login or not password:
        raise CredentialsError(
            f"no DataForSEO credentials: pass login= and password=, or set {LOGIN_ENV} "
            f"and {PASSWORD_ENV} (https://app.dataforseo.com/api-access)"
        )
    return AiohttpTransport(base_url, basic_auth(login, password), max_body_size=max_body_size)


def _default_jitter(base_url: str) -> float:
    """The arrival jitter to allow for on the way to ``base_url``: loopback bunches far less."""
    host = urlsplit(base_url).hostname or ""
    return LOOPBACK_JITTER if is_loopback_host(host) else DEFAULT_JITTER


def _shared_governor(
    redis_url: str | None, login: str | None, limits: Limits, redis_wait: float
) -> Governor | None:
    """A `RedisGovernor` when a Redis URL is given or in the environment, else None."""
    if redis_url is None:
        redis_url = os.environ.get(REDIS_URL_ENV)
    if not redis_url:
        return None
    if not login:
        raise CredentialsError(
            "redis_url= shares limits per account: pass the account's login= too"
        )
    return RedisGovernor(redis_url, account=login, limits=limits, redis_wait=redis_wait)


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
    jitter:
        Seconds by which the path to the server may bunch arrivals (`Limits.jitter`); the
        pacer keeps that much of each window back. None: 0.1 s to a remote host, 20 ms to a
        loopback one such as the emulator (both measured: see `Limits`).
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
        None waits as long as it takes. `live` takes its own per call.
    max_body_size:
        Largest answer body accepted, in bytes after decompression (64 MB by default, far
        above any real answer); a larger one raises `ResponseTooLargeError` unread.
    drain_timeout:
        Seconds `aclose` waits for the answers of calls already sent whose callers stopped
        waiting (cancelled): those are paid for, so they are read to count their cost and
        free their slots.
    redis_url:
        Share the account's limits with every other client of the same login on this Redis
        (processes, hosts): a `RedisGovernor`. Defaults to the ``DFS_REDIS_URL`` environment
        variable; ``""`` keeps the in-process governor. Needs ``dfs_async[redis]``.
    redis_wait:
        Seconds a call waits for an unreachable Redis before it ends with
        `GovernorUnavailableError`, unsent (a web backend may want a few).
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
        jitter: float | None = None,
        live_concurrency: int | Mapping[Platform, int] = DEFAULT_LIVE_CONCURRENCY,
        live_execution_limit: float = DEFAULT_LIVE_EXECUTION_LIMIT,
        tasks_ready_limit: int = DEFAULT_TASKS_READY_LIMIT,
        tasks_ready_period: float = DEFAULT_TASKS_READY_PERIOD,
        max_retries: int = 5,
        retry: RetryPolicy | None = None,
        queue_timeout: float | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
        redis_url: str | None = None,
        redis_wait: float = DEFAULT_REDIS_WAIT,
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
            jitter=jitter if jitter is not None else _default_jitter(self.base_url),
            live_concurrency=live_concurrency,
            live_execution_limit=live_execution_limit,
            tasks_ready_limit=tasks_ready_limit,
            tasks_ready_period=tasks_ready_period,
        )
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        check_seconds("timeout", timeout)
        check_seconds("queue_timeout", queue_timeout)
        check_seconds("drain_timeout", drain_timeout)
        check_positive("max_body_size", max_body_size, "bytes")
        self.timeout = timeout
        self.queue_timeout = queue_timeout
        self.max_body_size = max_body_size
        self.drain_timeout = drain_timeout
        if transport is None:
            login = login if login is not None else os.environ.get(LOGIN_ENV)
            transport = _aiohttp_transport(self.base_url, login, password, max_body_size)
        self._transport = transport
        if governor is None:
            governor = _shared_governor(redis_url, login, self.limits, redis_wait)
        self._governor_arg = governor
        self._governor: Governor | None = None
        self._stats = StatsRecorder()
        self._metrics = CallMetrics(meter_provider)
        self._retrier = Retrier(
            self.retry,
            rate_period=self.limits.rate_period,
            stats=self._stats,
            pause_account=lambda seconds: self.governor.pause(seconds),
        )
        self._models: dict[Platform, dict[str, ModelInfo]] = {}
        self._standard = StandardCalls(_Seam(self))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exchanges = Exchanges(
            transport, self._stats, self._metrics, max_body_size=max_body_size
        )
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._governor else "not entered"
        return f"<AsyncClient {self.base_url} {state} {self._governor!r}>"

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("this AsyncClient is closed; create a new one")
        if self._governor is None:
            # Loop-bound state is made here, inside the running loop, never in __init__.
            self._loop = asyncio.get_running_loop()
            self._governor = self._governor_arg or LocalGovernor(self.limits)
            await self._warm_up(self._governor)
        return self

    async def check_health(self) -> None:
        """Raise `GovernorUnavailableError` unless this client can admit calls now (a shared
        governor's Redis answers and takes writes): for a web backend's readiness probe."""
        await self.governor.check_health()

    async def _warm_up(self, governor: Governor) -> None:
        """Pay a shared governor's connection on entry, not at the first call (bounded: a
        Redis that is down makes calls wait for it, not the entry)."""
        try:
            async with asyncio.timeout(WARM_UP_TIMEOUT):
                await governor.check_health()
        except (GovernorUnavailableError, TimeoutError) as exc:
            logger.warning("governor not ready on entry (%s); calls will wait for it", exc)

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
        await self._exchanges.drain(self.drain_timeout)
        if self._governor is not None:
            await self._governor.aclose()
        await self._transport.aclose()

    @property
    def governor(self) -> Governor:
        """The governor admitting this client's calls."""
        if self._governor is None:
            raise RuntimeError("use the client inside 'async with AsyncClient(...)'")
        return self._governor

    def _check_loop(self) -> Governor:
        """The governor, once sure the caller runs in the loop the client was entered in."""
        governor = self.governor
        if asyncio.get_running_loop() is not self._loop:
            # The governor's queues and timers belong to one loop: a call from another would
            # wait on them forever (and block the owner's calls too).
            raise RuntimeError(
                "this AsyncClient was opened in another event loop (another thread?); "
                "create one client per event loop"
            )
        return governor

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
        queue_timeout: float | None = None,
        priority: int = INTERACTIVE,
        **fields: Any,
    ) -> LiveResponse:
        """Send one Live task and return the whole envelope.

        Fields are the API's (``user_prompt``, ``model_name``, ``web_search``, ...), or a
        prepared `LiveRequest`. Invalid fields raise `ValidationError` before anything is sent;
        a failed task raises its `APIError`. ``queue_timeout`` bounds this call's wait for a
        slot and a rate token (default: the client's). ``priority``: calls of a higher one
        take slots and tokens first (a plain call is `INTERACTIVE`, a sweep's `BULK`, below).
        """
        checked, request = self.prepare(platform, request, **fields)
        return await self.send_live(
            checked, request, timeout=timeout, queue_timeout=queue_timeout, priority=priority
        )

    async def send_live(
        self,
        platform: Platform,
        request: LiveRequest,
        *,
        timeout: float | None = None,
        queue_timeout: float | None = None,
        priority: int = INTERACTIVE,
    ) -> LiveResponse:
        """Send a request already checked by `prepare`."""
        return await self.send_live_body(
            platform,
            encode_body(request),
            timeout=timeout,
            queue_timeout=queue_timeout,
            priority=priority,
        )

    async def send_live_body(
        self,
        platform: Platform,
        body: bytes,
        *,
        timeout: float | None = None,
        queue_timeout: float | None = None,
        priority: int = INTERACTIVE,
    ) -> LiveResponse:
        """Send a body already encoded from a prepared request (sweeps encode once, for the
        key and the send)."""
        check_seconds("timeout", timeout)
        check_seconds("queue_timeout", queue_timeout)
        check_priority(priority)
        path = live_path(platform)

        async def once() -> LiveResponse:
            return await self._attempt(
                "POST",
                path,
                body,
                platform,
                LIVE_DECODER,
                timeout,
                queue_timeout=queue_timeout,
                priority=priority,
            )

        self._check_loop()
        return await self._retrier.run(once, f"POST {path}")

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

    async def send_task_post_body(
        self, platform: Platform, body: bytes, *, timeout: float | None = None
    ) -> TaskPostResponse:
        """Post tasks already prepared and encoded (a Standard sweep encodes them once)."""
        return await self._standard.post_body(platform, body, timeout=timeout)

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
        envelope = await self._get(models_path(checked), MODELS_DECODER)
        models = list(envelope.tasks[0].result or ())
        self._models[checked] = {m.model_name: m for m in models}
        return models

    async def user_data(self) -> UserData:
        """The account's limits, usage and balance."""
        envelope = await self._get(USER_DATA_PATH, USER_DATA_DECODER)
        results = envelope.tasks[0].result
        if not results:
            raise DecodeError(
                "user_data answered without a result",
                http_status=200,
                body=msgspec.json.encode(envelope),
            )
        return results[0]

    async def _get(self, path: str, decoder: msgspec.json.Decoder[EnvelopeT]) -> EnvelopeT:
        """A GET that reads (Models, user_data), with retries."""

        async def once() -> EnvelopeT:
            return await self._attempt("GET", path, None, None, decoder, None)

        self._check_loop()
        policy = self.retry
        return await self._retrier.run(
            once, f"GET {path}", resend=lambda error: should_reread(error, policy)
        )

    def _attempt(
        self,
        method: str,
        path: str,
        body: bytes | None,
        platform: Platform | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float | None,
        *,
        check_task: bool = True,
        queue_timeout: float | None = None,
        priority: int = INTERACTIVE,
    ) -> Coroutine[Any, Any, EnvelopeT]:
        """One governed attempt (`Exchanges.attempt`), in the loop the client was entered in:
        its coroutine itself, so the send path runs in no extra frame."""
        return self._exchanges.attempt(
            self._check_loop(),
            method,
            path,
            body,
            platform,
            decoder,
            timeout if timeout is not None else self.timeout,
            check_task=check_task,
            queue_timeout=queue_timeout if queue_timeout is not None else self.queue_timeout,
            priority=priority,
        )


class _Seam:
    """What the Standard calls may use of their client (`CallSeam`), and nothing more."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @property
    def limits(self) -> Limits:
        """The client's limits."""
        return self._client.limits

    @property
    def retrier(self) -> Retrier:
        """The client's retry loop."""
        return self._client._retrier

    @property
    def attempt(self) -> Attempt:
        """One governed attempt without a Live slot."""
        return self._attempt

    async def _attempt(
        self,
        method: str,
        path: str,
        body: bytes | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float | None,
        *,
        check_task: bool,
    ) -> EnvelopeT:
        return await self._client._attempt(
            method, path, body, None, decoder, timeout, check_task=check_task
        )

    def prepare(
        self, platform: str, request: LiveRequest | None = None, /, **fields: Any
    ) -> tuple[Platform, LiveRequest]:
        """The client's request check."""
        return self._client.prepare(platform, request, **fields)

    def known_model(self, platform: Platform, model_name: str) -> ModelInfo | None:
        """The model as the client's last Models call listed it."""
        return self._client._models.get(platform, {}).get(model_name)
