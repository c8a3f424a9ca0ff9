"""A FastAPI backend that answers each request with one Live call, served by uvicorn.

    GET /ask?q=...&platform=chat_gpt[&model=...][&deadline=S][&wait=S]  one answer, cited
    GET /ready                                                    200 when calls can be made
    GET /metrics                                                  this worker's dfs_async metrics

One `AsyncClient` per worker process, made in the lifespan (entered at startup, closed at
shutdown), so every request of a worker shares one connection pool and one governor; with
``DFS_REDIS_URL`` set, every worker (and every sweep on the same account) shares the account's
limits through that Redis. Settings come from the environment: ``DATAFORSEO_LOGIN``,
``DATAFORSEO_PASSWORD`` (and ``DATAFORSEO_BASE_URL`` for the emulator), ``DFS_REDIS_URL``,
``DFS_QUEUE_TIMEOUT`` (seconds a request may wait for a slot, default 10), and the account's
limits ``DFS_RATE_LIMIT``, ``DFS_RATE_PERIOD``, ``DFS_LIVE_CONCURRENCY``,
``DFS_LIVE_EXECUTION_LIMIT`` when they differ from DataForSEO's defaults, and ``DFS_JITTER``
(seconds of arrival bunching the pacer allows for) on a loaded host.

    dfs-async emulate          # in another shell; prints the variables to export
    uvicorn examples.fastapi_backend:app --workers 2
    curl 'http://127.0.0.1:8000/ask?q=best+crm+for+agencies&platform=perplexity'

SIGTERM (or Ctrl-C) is uvicorn's graceful shutdown: it stops accepting, lets the requests in
progress finish (bounded by ``--timeout-graceful-shutdown``), then runs the lifespan's exit,
which closes the client.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import dfs_async

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

T = TypeVar("T")

DEFAULT_MODELS: Final[dict[str, str]] = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-sonnet-4-0",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}
NO_WEB_SEARCH_FIELD: Final = frozenset({"perplexity"})
"""Perplexity always searches the web and rejects the ``web_search`` field."""
DEFAULT_QUEUE_TIMEOUT: Final = 10.0
MAX_DEADLINE: Final = 120.0
"""A request may shorten the call's deadline (from the send), never lengthen it past the API's."""
HEALTH_TIMEOUT: Final = 1.0
"""Seconds the readiness probe gives the governor (a shared one asks its Redis)."""
INTERACTIVE: Final = 0
"""A user waiting: the default priority of `AsyncClient.live`, above a sweep's (-1)."""


def client_options() -> dict[str, Any]:
    """`AsyncClient` keywords from the environment (credentials and Redis it reads itself)."""
    options: dict[str, Any] = {
        "queue_timeout": float(os.environ.get("DFS_QUEUE_TIMEOUT") or DEFAULT_QUEUE_TIMEOUT)
    }
    for name, kind in (
        ("rate_limit", int),
        ("rate_period", float),
        ("jitter", float),
        ("live_concurrency", int),
        ("live_execution_limit", float),
    ):
        value = os.environ.get(f"DFS_{name.upper()}")
        if value:
            options[name] = kind(value)
    return options


def describe(error: dfs_async.DFSError, queue_timeout: float | None) -> JSONResponse:
    """The HTTP answer for ``error``: the caller's mistake, "try again", or "outcome unknown".

    Messages are written here, never copied from upstream: a proxy's HTML page or a cut-off
    body must not reach the caller.
    """
    if isinstance(error, dfs_async.ValidationError):
        return JSONResponse({"error": str(error), "field": error.field}, status_code=400)
    # Never sent (error.sent is False): nothing was charged, the same request may go again.
    if isinstance(error, dfs_async.GovernorUnavailableError):
        return busy("the account's shared limits are unavailable; nothing was sent", 5)
    if isinstance(error, dfs_async.QueueTimeoutError):
        return busy("the account's limits are busy; nothing was sent", queue_timeout)
    if isinstance(error, dfs_async.NotSentError):
        return busy("DataForSEO could not be reached; nothing was sent", 5)
    if isinstance(error, dfs_async.RateLimitError | dfs_async.ConcurrencyLimitError):
        return busy("DataForSEO refused the call for the account's limits; not charged", 10)
    # Sent, and no answer came back: DataForSEO may have run (and charged) it.
    if isinstance(error, dfs_async.OutcomeUnknownError):
        return JSONResponse({"error": "no answer from DataForSEO in time"}, status_code=504)
    if isinstance(error, dfs_async.InvalidRequestError | dfs_async.NotFoundError):
        return JSONResponse(
            {
                "error": "DataForSEO refused the request; fix it before sending it again",
                "status_code": error.status_code,
                "detail": error.status_message[:200],  # names the field; kept short
            },
            status_code=400,
        )
    if isinstance(error, dfs_async.AuthError | dfs_async.BillingError):
        return busy("the backend's DataForSEO account cannot be used right now", 60)
    if isinstance(error, dfs_async.APIError):
        body = {"error": "DataForSEO failed to answer", "status_code": error.status_code}
        return JSONResponse(body, status_code=502)
    # DecodeError: what came back is not passed on.
    return JSONResponse({"error": "DataForSEO sent an unreadable answer"}, status_code=502)


def busy(message: str, retry_after: float | None) -> JSONResponse:
    """503 with a ``Retry-After`` hint (whole seconds)."""
    seconds = max(1, math.ceil(retry_after or 1))
    return JSONResponse({"error": message}, status_code=503, headers={"Retry-After": str(seconds)})


class CallerLeft(Exception):
    """The HTTP client hung up before its answer was ready."""


async def unless_disconnected(request: Request, call: Awaitable[T]) -> T:
    """Await ``call``, cancelling it as soon as the HTTP client hangs up (`CallerLeft`).

    Starlette does not cancel a handler whose client left; without this, a caller who gave up
    would still hold a slot while queued (and keep spending the account's calls).
    """
    task = asyncio.ensure_future(call)
    left = False

    async def watch() -> None:
        nonlocal left
        # For a GET the body is already read, so the next message is the disconnect.
        while not task.done():
            if (await request.receive())["type"] == "http.disconnect":
                left = True
                task.cancel()
                return

    watcher = asyncio.create_task(watch())
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if left and current is not None and not current.cancelling():
            raise CallerLeft from None  # only the call was cancelled, not this handler
        raise
    finally:
        watcher.cancel()


def metrics_reader() -> tuple[MeterProvider | None, InMemoryMetricReader | None]:
    """A meter provider when ``opentelemetry-sdk`` is installed, read by ``/metrics``.

    A deployment would hand the provider an OTLP or Prometheus reader instead; the client
    records into whatever provider it is given (or the global one) through ``dfs_async[metrics]``.
    """
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    except ImportError:
        return None, None
    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader


class Backend:
    """The worker's client and the routes that use it."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.client: dfs_async.AsyncClient | None = None
        self.reader: InMemoryMetricReader | None = None

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """Open the client at startup and close it at shutdown (uvicorn's SIGTERM path)."""
        options = {**client_options(), **self.options}
        provider, self.reader = metrics_reader()
        options.setdefault("meter_provider", provider)
        async with AsyncExitStack() as stack:
            if provider is not None:
                stack.callback(provider.shutdown)
            self.client = await stack.enter_async_context(dfs_async.AsyncClient(**options))
            try:
                yield
            finally:
                self.client = None  # /ready says "not ready" while the client closes

    async def ask(
        self,
        request: Request,
        q: str,
        platform: str = "chat_gpt",
        model: str | None = None,
        deadline: float | None = None,
        wait: float | None = None,
    ) -> JSONResponse:
        """One prompt, answered with its text and citations; ``wait`` bounds the queueing."""
        client = self.client
        if client is None:
            return busy("starting or shutting down", 1)
        # None leaves the field out of the request, as perplexity requires.
        web_search = None if platform in NO_WEB_SEARCH_FIELD else True
        timeout = min(deadline, MAX_DEADLINE) if deadline and deadline > 0 else None
        # A caller who will give up after `wait` seconds should not be queued longer: past
        # it the call is never sent (503, nothing charged) instead of paid for nobody.
        queue_timeout = min(wait, client.queue_timeout or wait) if wait and wait > 0 else None
        call = client.live(
            platform,
            user_prompt=q,
            model_name=model or DEFAULT_MODELS.get(platform),
            web_search=web_search,
            timeout=timeout,
            queue_timeout=queue_timeout,
            priority=INTERACTIVE,  # a user is waiting: ahead of any sweep sharing the account
        )
        try:
            resp = await unless_disconnected(request, call)
        except CallerLeft:
            # Nobody reads this; 499 is what proxies log for "client closed request".
            return JSONResponse({"error": "the caller hung up"}, status_code=499)
        except dfs_async.DFSError as exc:
            return describe(exc, queue_timeout or client.queue_timeout)
        live = resp.result
        return JSONResponse(
            {
                "prompt": q,
                "platform": platform,
                "model": live.model_name if live else None,
                "text": live.text if live else "",
                "citations": [{"title": a.title, "url": a.source_url} for a in live.annotations()]
                if live
                else [],
                "cost": resp.cost,
            }
        )

    async def ready(self) -> JSONResponse:
        """200 when this worker can make calls: its client is open and its governor usable."""
        client = self.client
        if client is None:
            return JSONResponse({"ready": False, "reason": "no open client"}, status_code=503)
        problems = []
        try:
            await asyncio.wait_for(client.check_health(), HEALTH_TIMEOUT)
        except (dfs_async.GovernorUnavailableError, TimeoutError) as exc:
            problems.append(f"the account's governor is not usable: {exc}")
        stats = client.stats
        body = {
            "ready": not problems,
            "problems": problems,
            "governor": repr(stats.governor),
            "in_flight": stats.in_flight,
            "waiting": stats.waiting,
            "cost": stats.cost,
            "unreached": stats.unreached,
        }
        return JSONResponse(body, status_code=503 if problems else 200)

    async def metrics(self) -> JSONResponse:
        """This worker's dfs_async instruments by attributes (JSON, for a quick look)."""
        if self.reader is None:
            return JSONResponse({"error": "install dfs_async[metrics] and opentelemetry-sdk"})
        data = self.reader.get_metrics_data()
        totals: dict[str, dict[str, float]] = {}
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points = totals.setdefault(metric.name, {})
                    for point in metric.data.data_points:
                        attributes = sorted((point.attributes or {}).items())
                        key = ",".join("=".join((k, str(v))) for k, v in attributes)
                        # Counters have a value; histograms a count of recorded values.
                        value = point.count if hasattr(point, "count") else point.value
                        points[key] = float(value)
        return JSONResponse({"pid": os.getpid(), "metrics": totals})


def make_app(**options: Any) -> FastAPI:
    """The application; ``options`` go to `AsyncClient` over the environment's settings."""
    backend = Backend(**options)
    app = FastAPI(lifespan=backend.lifespan)
    route: Callable[..., Any]
    for path, route in (
        ("/ask", backend.ask),
        ("/ready", backend.ready),
        ("/metrics", backend.metrics),
    ):
        app.add_api_route(path, route, methods=["GET"])
    app.state.backend = backend
    return app


app = make_app()
"""What ``uvicorn examples.fastapi_backend:app`` serves."""
