"""The aiohttp transport against a bare local server: headers, gzip, errors, no hidden cap."""

from __future__ import annotations

import asyncio
import base64
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

import dfs_async
from dfs_async import AiohttpTransport, AsyncClient

from ._fakes import OK_BODY

pytestmark = pytest.mark.anyio

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


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
