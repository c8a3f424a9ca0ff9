"""`CallbackReceiver`: a small aiohttp.web server for the Standard method's postbacks/pingbacks.

When a task posted with ``postback_url`` finishes, DataForSEO POSTs its task_get answer,
gzip-compressed, to that URL; with ``pingback_url`` it sends a GET naming the task
(https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/).
The receiver answers 200 only once the delivery was handled: if handling fails it answers 500,
and DataForSEO then lists the task in tasks_ready, so nothing is lost. URLs carry a random
token, so that only whoever was given the URL can deliver.

Anyone who can reach the port can POST to it, so the cheap checks come first: the token
(constant-time) before anything is read, the ``accept`` hook on the task id and tag before the
body is read, then a body capped in bytes both as sent and once decompressed; a postback whose
answer names another task than its URL is refused.
"""

from __future__ import annotations

import asyncio
import secrets
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Literal, Self

from aiohttp import web

from .._errors import DFSError
from .._wire._decode import LIVE_DECODER, decode_envelope
from .._wire._models import LiveResponse
from ._transport import DEFAULT_MAX_BODY_SIZE

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
Accept = Callable[[str, "str | None"], bool]
"""``accept(task_id, tag)``: whether a delivery for this task is expected (posted by us)."""


class _TooLarge(Exception):
    """A request body over the receiver's cap."""


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
    accept:
        ``accept(task_id, tag) -> bool``, asked before a delivery's body is read: False
        answers 404 and delivers nothing (a sweep accepts only the tasks it posted, each with
        its own tag). None accepts every task.
    max_body_size:
        Largest postback body, in bytes as sent and once decompressed (64 MB by default).
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        accept: Accept | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self.handler = handler
        """Awaited for each delivery; may be set after construction (a sweep installs its own)."""
        self.accept = accept
        """Which task ids and tags are expected; may be set after construction, like handler."""
        self.max_body_size = max_body_size
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
        """Deliveries answered 500 (the handler raised), 404 (wrong token, task not accepted),
        413 (body too large) or 400 (an answer for another task)."""

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
        app = web.Application(client_max_size=self.max_body_size)
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

    async def __aenter__(self) -> Self:
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

    def _refuse(self, request: web.Request, task_id: str, tag: str | None) -> web.Response | None:
        """404 for a wrong token or a task not accepted: checked before the body is read."""
        token_ok = secrets.compare_digest(request.match_info["token"], self._token)
        if token_ok and (not task_id or self.accept is None or self.accept(task_id, tag)):
            return None
        self.rejected += 1
        return web.Response(status=404)

    async def _postback(self, request: web.Request) -> web.Response:
        task_id, tag = request.query.get("id", ""), request.query.get("tag") or None
        refused = self._refuse(request, task_id, tag)
        if refused is not None:
            return refused
        try:
            body = _gunzip(await request.read(), self.max_body_size)
        except (_TooLarge, web.HTTPRequestEntityTooLarge):
            self.rejected += 1
            return web.Response(status=413)
        response: LiveResponse | None = None
        error: DFSError | None = None
        try:
            response = decode_envelope(200, body, LIVE_DECODER)
        except DFSError as exc:
            error = exc
        answered = response.tasks[0].id if response is not None and response.tasks else ""
        if not task_id:
            task_id = answered
            refused = self._refuse(request, task_id, tag)
            if refused is not None:
                return refused
        elif answered and answered != task_id:
            self.rejected += 1  # an answer for another task: never recorded as this one's
            return web.Response(status=400)
        return await self._deliver(Delivery("postback", task_id, tag, response, error))

    async def _pingback(self, request: web.Request) -> web.Response:
        task_id, tag = request.query.get("id", ""), request.query.get("tag") or None
        refused = self._refuse(request, task_id, tag)
        if refused is not None:
            return refused
        return await self._deliver(Delivery("pingback", task_id, tag))

    async def _deliver(self, delivery: Delivery) -> web.Response:
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


def _gunzip(body: bytes, limit: int) -> bytes:
    """``body`` inflated if it is still gzip (a proxy may pass it on compressed), up to
    ``limit`` bytes; a body that does not inflate is left as is for decoding to report."""
    if body[:2] != _GZIP_MAGIC:
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)  # never more than the cap in memory
    except zlib.error:
        return body
    if len(out) > limit:
        raise _TooLarge
    return out


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
