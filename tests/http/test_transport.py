"""The aiohttp transport against a bare local server: headers, gzip, errors, no hidden cap."""

from __future__ import annotations

import asyncio
import base64
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

import dfs_async
from dfs_async import AiohttpTransport, AsyncClient, RetryPolicy

from .._fakes import OK_BODY, local_server

pytestmark = pytest.mark.anyio

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with local_server(app) as (url, _):
        yield url


@pytest.fixture
async def gzip_server() -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        token = base64.b64encode(b"user@example.com:pa55").decode()
        if request.headers.get("Authorization") != f"Basic {token}":
            return web.Response(status=401, body=b'{"status_code": 40100}')
        return web.Response(body=gzip.compress(OK_BODY), headers={"Content-Encoding": "gzip"})

    async for url in serve(handler):
        yield url


async def test_basic_auth_and_gzip_bodies(gzip_server: str) -> None:
    async with AsyncClient("user@example.com", "pa55", base_url=gzip_server) as client:
        resp = await client.live("chat_gpt", user_prompt="q", model_name="gpt-4.1-mini")
    assert resp.result is not None
    async with AsyncClient("user@example.com", "wrong", base_url=gzip_server) as client:
        with pytest.raises(dfs_async.AuthError):
            await client.live("chat_gpt", user_prompt="q", model_name="gpt-4.1-mini")


async def test_more_connections_than_aiohttps_default_of_100() -> None:
    in_flight = peak = 0
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if peak >= 120:
            release.set()
        await asyncio.wait_for(release.wait(), 5)
        in_flight -= 1
        return web.Response(body=OK_BODY)

    async for url in serve(handler):
        async with AsyncClient(
            "u", "p", base_url=url, live_concurrency=30, rate_limit=100_000, burst=200
        ) as client:
            calls = [
                client.live(platform, user_prompt=f"q{i}", model_name="m")
                for platform in dfs_async.PLATFORMS
                for i in range(30)
            ]
            await asyncio.gather(*calls)
    assert peak >= 120  # 4 platforms x 30 slots, all open at once


async def test_connection_refused_is_a_transport_error_marked_unsent() -> None:
    transport = AiohttpTransport("http://127.0.0.1:9", "Basic eDp5")
    with pytest.raises(dfs_async.TransportError) as info:
        await transport.request("GET", "/v3/appendix/user_data", None, 5)
    assert info.value.sent is False
    await transport.aclose()
    await transport.aclose()


async def test_a_dropped_connection_is_a_transport_error() -> None:
    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.1)
        return web.Response(body=b"")

    async for url in serve(handler):
        transport = AiohttpTransport(url, "Basic eDp5")
        with pytest.raises(dfs_async.TransportError):
            await transport.request("POST", "/v3/x", b"[]", 5)
        await transport.aclose()


async def test_the_deadline_covers_a_slow_body() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(OK_BODY[:10])
        await asyncio.sleep(0.6)
        return response

    async for url in serve(handler):
        transport = AiohttpTransport(url, "Basic eDp5")
        with pytest.raises(dfs_async.DeadlineExceededError):
            await transport.request("POST", "/v3/x", b"[]", 0.2)
        await transport.aclose()


async def test_html_from_a_proxy_keeps_status_and_body() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=502, body=html, content_type="text/html")

    async for url in serve(handler):
        async with AsyncClient("u", "p", base_url=url, max_retries=0) as client:
            with pytest.raises(dfs_async.ServerError) as info:
                await client.user_data()
    assert info.value.http_status == 502
    assert info.value.body == html
    assert info.value.retryable is True


class RawServer:
    """A bare asyncio server that reads each whole request, then misbehaves as told.

    ``answer`` is written back once the request is read (None: close without a byte), so a
    test sees exactly how many complete requests the server received.
    """

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            self.requests.append(head + body)
            if self.answer is not None:
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


CUT_AFTER_THE_REQUEST = [
    pytest.param(None, id="closed after reading the request"),
    pytest.param(b"HELLO garbage\r\n\r\n", id="garbage status line"),
]


@pytest.mark.parametrize("answer", CUT_AFTER_THE_REQUEST)
async def test_a_connection_lost_after_the_request_was_written_is_not_resent(
    answer: bytes | None,
) -> None:
    async with RawServer(answer) as server:
        retry = RetryPolicy(max_retries=2, backoff_base=0.001)
        async with AsyncClient("u", "p", base_url=server.url, retry=retry) as client:
            with pytest.raises(dfs_async.TransportError) as info:
                await client.live("claude", user_prompt="q", model_name="claude-sonnet-4-0")
            assert client.stats.retries == {}
            # No answer: the server may still run the call, so its slot stays held (like a
            # deadline); an unreadable answer ends the exchange and frees it at once.
            held = client.stats.governor.platforms["claude"].held
            assert held == (0 if answer else 1)
    assert len(server.requests) == 1  # the server got it whole once and may have charged it
    assert b'"user_prompt":"q"' in server.requests[0]
    assert info.value.sent is True
    assert info.value.answered is (answer is not None)
    assert "may run and charge" in str(info.value)


@pytest.mark.parametrize("answer", CUT_AFTER_THE_REQUEST)
async def test_resending_an_unknown_outcome_is_opt_in(answer: bytes | None) -> None:
    async with RawServer(answer) as server:
        retry = RetryPolicy(max_retries=2, backoff_base=0.001, retry_unknown_outcome=True)
        async with AsyncClient("u", "p", base_url=server.url, retry=retry) as client:
            with pytest.raises(dfs_async.TransportError):
                await client.live("claude", user_prompt="q", model_name="claude-sonnet-4-0")
    assert len(server.requests) == 3


async def test_a_refused_connection_is_resent_since_nothing_reached_the_server() -> None:
    async with RawServer(None) as server:
        url = server.url  # the port is free again once the server has closed
    retry = RetryPolicy(max_retries=2, backoff_base=0.001)
    async with AsyncClient("u", "p", base_url=url, retry=retry) as client:
        with pytest.raises(dfs_async.TransportError) as info:
            await client.live("claude", user_prompt="q", model_name="claude-sonnet-4-0")
        assert client.stats.retries == {"ConnectError": 2}
    assert info.value.sent is False and isinstance(info.value, dfs_async.NotSentError)


CUT_200_BODIES = [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + OK_BODY[:100], id="short"),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzip at!",
        id="bad gzip",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n",
        id="broken chunking",
    ),
]


@pytest.mark.parametrize("answer", CUT_200_BODIES)
async def test_a_200_whose_body_breaks_frees_its_slot_and_is_not_resent(answer: bytes) -> None:
    async with RawServer(answer) as server:
        limits = {"live_concurrency": 1, "live_execution_limit": 60.0, "max_retries": 2}
        async with AsyncClient("u", "p", base_url=server.url, **limits) as client:  # type: ignore[arg-type]
            # A body cut after the status line is a DecodeError; chunking broken in the same
            # packet as the headers fails the parse of the answer itself: a TransportError.
            with pytest.raises((dfs_async.DecodeError, dfs_async.TransportError)) as info:
                await client.live("gemini", user_prompt="q", model_name="gemini-2.5-flash")
            # The server answered: its slot is free now, not in 60 s; the charge is unknown.
            assert client.stats.governor.platforms["gemini"].held == 0
            assert client.stats.governor.platforms["gemini"].in_use == 0
    error = info.value
    if isinstance(error, dfs_async.DecodeError):
        assert error.http_status == 200
    else:
        assert isinstance(error, dfs_async.TransportError) and error.sent
    assert len(server.requests) == 1


async def test_a_gzip_bomb_is_refused_at_the_cap_and_frees_its_slot() -> None:
    # 16 MB of zeros gzip to ~16 KB: over a 1 MB cap, the client stops reading at the cap.
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    limits = {"live_concurrency": 1, "live_execution_limit": 60.0, "max_retries": 3}
    async for url in serve(handler):
        async with AsyncClient("u", "p", base_url=url, max_body_size=1 << 20, **limits) as c:  # type: ignore[arg-type]
            with pytest.raises(dfs_async.ResponseTooLargeError) as info:
                await c.live("gemini", user_prompt="q", model_name="gemini-2.5-flash")
            state = c.stats.governor.platforms["gemini"]
            assert (state.in_use, state.held) == (0, 0)  # answered: the slot is free at once
            assert c.stats.retries == {}  # DataForSEO answered: the charge is unknown
    assert info.value.limit == 1 << 20 and info.value.sent
    assert "max_body_size" in str(info.value)
    assert isinstance(info.value, dfs_async.OutcomeUnknownError)


def reachable(error: BaseException) -> list[str]:
    """The reprs and strs of everything an error leads to: causes, contexts, args, fields."""
    seen: list[str] = []
    stack: list[object] = [error]
    visited: set[int] = set()
    while stack:
        obj = stack.pop()
        if id(obj) in visited:
            continue
        visited.add(id(obj))
        seen += [repr(obj), str(obj)]
        if isinstance(obj, BaseException):
            stack += [obj.__cause__, obj.__context__, *obj.args, *vars(obj).values()]
            for attr in ("request_info", "history", "headers"):
                if hasattr(obj, attr):
                    stack.append(getattr(obj, attr))
    return seen


REDIRECT_LOOP = b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"
BROKEN_FRAMING = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n{}"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(REDIRECT_LOOP, id="redirect loop"),
        pytest.param(BROKEN_FRAMING, id="malformed framing"),
        pytest.param(b"HELLO garbage\r\n\r\n", id="garbage status line"),
    ],
)
async def test_no_error_leads_to_the_credentials(answer: bytes) -> None:
    password = "s3cret-pa55word"
    token = base64.b64encode(f"login@example.com:{password}".encode()).decode()

    class Looping(RawServer):
        async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:  # keep-alive: a redirect loop comes back on the same connection
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                self.requests.append(head)
                writer.write(answer)
                await writer.drain()
            writer.close()

    async with Looping(answer) as server:
        client = AsyncClient("login@example.com", password, base_url=server.url, max_retries=0)
        async with client:
            with pytest.raises(dfs_async.DFSError) as info:
                await client.user_data()
            texts = [
                *reachable(info.value),
                repr(client),
                repr(client._transport),
                repr(client.stats),
            ]
    assert server.requests and token.encode() in server.requests[0]  # it was sent, and only there
    for text in texts:
        assert password not in text and token not in text, text


# aiohttp warns that a body this large blocks the loop while copied; it must outsize any socket
# buffer so that the upload is still running when the server hangs up.
@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_a_connection_lost_while_the_request_is_still_uploading_counts_as_sent() -> None:
    # Part of the request may have reached the server: not provably unsent, so not resent.
    head_read = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head_read.set()
        writer.transport.abort()  # the body, still being written, is cut off

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = AiohttpTransport(f"http://127.0.0.1:{port}", "Basic eDp5")
    try:
        with pytest.raises(dfs_async.TransportError) as info:
            await transport.request("POST", "/upload", b"x" * (64 * 1024 * 1024), 10.0)
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    assert head_read.is_set()
    assert info.value.sent is True and isinstance(info.value, dfs_async.ConnectionLostError)
