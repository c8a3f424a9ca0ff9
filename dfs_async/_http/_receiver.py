"""`CallbackReceiver`: a small aiohttp.web server for the Standard method's postbacks/pingbacks.

When a task posted with ``postback_url`` finishes, DataForSEO POSTs its task_get answer,
gzip-compressed, to that URL; with ``pingback_url`` it sends a GET naming the task
(https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/).
The receiver answers 200 only once the delivery was handled: if handling fails it answers 500,
and DataForSEO then lists the task in tasks_ready, so nothing is lost. URLs carry a random
token, so that only whoever was given the URL can deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal

from aiohttp import web

from .._errors import DFSError
from .._wire._decode import LIVE_DECODER, decode_envelope
from .._wire._models import LiveResponse

_GZIP_MAGIC: Final = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One postback (with the result) or pingback (the task is ready to collect)."""

    kind: Literal["postback", "pingback"]
    task_id: str
    tag: str | None
    response: LiveResponse | None = None
    """The decoded task_get answer (postbacks only, when it decoded as a success)."""
    error: DFSError | None = None
    """What the postback's body held instead of a result (a failed task, a broken body)."""


Handler = Callable[[Delivery], Awaitable[None]]


class CallbackReceiver:
    """Receives postbacks and pingbacks; use ``async with``, then post with its URLs.

    Parameters
    ----------
    handler:
        Awaited for each delivery; the sender gets 200 once it returns, 500 if it raises.
        Without one, deliveries are queued for `get`.
    host, port:
        Where to listen (loopback and a free port by default).
    public_url:
        The base URL DataForSEO can reach (e.g. ``https://hooks.example.com``) when the
        receiver sits behind a proxy; defaults to the bound address.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
    ) -> None:
        self.handler = handler
        """Awaited for each delivery; may be set after construction (a sweep installs its own)."""
        self._host = host
        self._port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._token = secrets.token_urlsafe(16)
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._base: str | None = None
        self.received = 0
        """Deliveries handled and answered 200."""
        self.rejected = 0
        """Deliveries answered 500 (the handler raised) or 404 (wrong token)."""

    @property
    def base_url(self) -> str:
        """Where the receiver is reached, token included."""
        if self._base is None:
            raise RuntimeError("the receiver is not running; use `async with CallbackReceiver()`")
        return f"{self._public_url or self._base}/{self._token}"

    @property
    def postback_url(self) -> str:
        """The ``postback_url`` to post tasks with (``$id`` and ``$tag`` left for the API)."""
        return f"{self.base_url}/postback?id=$id&tag=$tag"

    @property
    def pingback_url(self) -> str:
        """The ``pingback_url`` to post tasks with."""
        return f"{self.base_url}/pingback?id=$id&tag=$tag"

    async def start(self) -> None:
        """Bind and serve."""
        app = web.Application()
        app.router.add_post("/{token}/postback", self._postback)
        app.router.add_get("/{token}/pingback", self._pingback)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self._base, _ = await serve_runner(runner, self._host, self._port)
        self._runner = runner

    async def close(self) -> None:
        """Stop serving; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> CallbackReceiver:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def get(self) -> Delivery:
        """The next delivery (only without a handler)."""
        return await self._queue.get()

    async def _postback(self, request: web.Request) -> web.Response:
        body = await request.read()
        if body[:2] == _GZIP_MAGIC:  # a proxy may pass it on still compressed
            with contextlib.suppress(OSError, EOFError):  # left as is: decoding reports it
                body = gzip.decompress(body)
        response: LiveResponse | None = None
        error: DFSError | None = None
        try:
            response = decode_envelope(200, body, LIVE_DECODER)
        except DFSError as exc:
            error = exc
        task_id = request.query.get("id", "")
        if not task_id and response is not None and response.tasks:
            task_id = response.tasks[0].id
        delivery = Delivery("postback", task_id, request.query.get("tag") or None, response, error)
        return await self._deliver(request, delivery)

    async def _pingback(self, request: web.Request) -> web.Response:
        delivery = Delivery(
            "pingback", request.query.get("id", ""), request.query.get("tag") or None
        )
        return await self._deliver(request, delivery)

    async def _deliver(self, request: web.Request, delivery: Delivery) -> web.Response:
        if not secrets.compare_digest(request.match_info["token"], self._token):
            self.rejected += 1
            return web.Response(status=404)
        if self.handler is None:
            self._queue.put_nowait(delivery)
        else:
            try:
                await self.handler(delivery)
            except Exception:
                self.rejected += 1
                return web.Response(status=500)  # DataForSEO lists the task in tasks_ready
        self.received += 1
        return web.Response(text="ok")

    def __repr__(self) -> str:
        where = self._base or "not running"
        return f"<CallbackReceiver {where}, received={self.received}>"


async def serve_runner(
    runner: web.AppRunner, host: str, port: int, *, backlog: int = 128
) -> tuple[str, int]:
    """Set ``runner`` up and serve it on ``host:port`` (0: a free port): its base URL and port.

    Shared by the receiver and the emulator; a failure to bind cleans the runner up.
    """
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=backlog).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound, number = runner.addresses[0][:2]
    url = f"http://[{bound}]:{number}" if ":" in bound else f"http://{bound}:{number}"
    return url, int(number)
