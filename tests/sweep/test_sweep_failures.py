"""Sweeps never hang and never die of one bad answer: garbage from a real server is that item's
error; an unexpected exception anywhere ends the sweep at once, with what was recorded kept."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest
from aiohttp import web

import dfs_async
from dfs_async import AsyncClient, JsonlSink, gather_prompts, iter_prompts, read_results

from .._fakes import EchoTransport, local_server

pytestmark = pytest.mark.anyio

GARBAGE = [
    (200, b'"\xff"'),  # invalid UTF-8
    (200, b"[" * 499 + b"]" * 499),  # deep enough to exhaust a recursive walk
    (200, b'{"status_code": 20000, "tasks": [{"status_code": 20000, "result": [null, ['),
    (500, b'{"status_code": 50000, "status_message": "\xff"}'),
    (200, b"\x1f\x8b not really gzip"),
]


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """A server on 127.0.0.1 whose every third Live answer is garbage."""
    count = itertools.count()

    async def live(request: web.Request) -> web.Response:
        await request.read()
        n = next(count)
        if n % 3 == 2:
            status, body = GARBAGE[(n // 3) % len(GARBAGE)]
            return web.Response(status=status, body=body)
        task = {"status_code": 20000, "cost": 0.001, "result": [{"model_name": "m", "items": []}]}
        return web.json_response({"status_code": 20000, "cost": 0.001, "tasks": [task]})

    app = web.Application()
    app.router.add_post("/v3/ai_optimization/chat_gpt/llm_responses/live", live)
    async with local_server(app) as (url, _):
        yield url


async def test_garbage_answers_are_item_errors_and_every_result_is_recorded(
    garbage_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    prompts = [f"prompt {i}" for i in range(90)]
    async with AsyncClient(
        "login",
        "password",
        base_url=garbage_server,
        max_retries=0,
        live_concurrency=4,
        live_execution_limit=1.0,  # a gateway's page holds its slot this long (outcome unknown)
        rate_limit=100_000,
        rate_period=1.0,
    ) as c:
        results = await gather_prompts(
            c, prompts, platform="chat_gpt", model_name="gpt-4.1-mini", sink=out
        )
    assert len(results) == 90
    outcomes = Counter(type(r.error).__name__ if r.error else "ok" for r in results)
    assert outcomes["ok"] == 60
    assert outcomes["DecodeError"] + outcomes["GatewayError"] == 30
    # The 500s, the only garbage with a status to go by: a page that is not DataForSEO's JSON
    # is a gateway's, with an unknown outcome.
    assert outcomes["GatewayError"] == 6
    bad = [r.error for r in results if isinstance(r.error, dfs_async.DecodeError)]
    assert all(e.body for e in bad)  # the raw body is kept
    assert len(read_results(out, strict=True)) == 90


class Explodes(EchoTransport):
    """Raises a non-DFSError (a bug, not an API failure) from the ``after``-th call on."""

    def __init__(self, after: int) -> None:
        super().__init__(latency=0.001)
        self.after = after

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        if len(self.bodies) >= self.after:
            self.bodies.append(body or b"")
            raise KeyError("a bug somewhere below the client")
        return await super().request(method, path, body, timeout)


def fast_client(transport: EchoTransport) -> AsyncClient:
    return AsyncClient(
        transport=transport, rate_limit=100_000, rate_period=1.0, burst=1000, live_concurrency=2
    )


async def test_a_sweep_whose_workers_all_fail_ends_at_once_with_the_error() -> None:
    t = Explodes(after=0)
    loop = asyncio.get_running_loop()
    async with fast_client(t) as c:
        started = loop.time()
        # The guard only turns a regression (a hang) into a failure; the sweep ends by itself.
        async with asyncio.timeout(30):
            with pytest.raises(KeyError, match="a bug somewhere"):
                await gather_prompts(
                    c, (f"p{i}" for i in range(2000)), platform="claude", model_name="m"
                )
        assert loop.time() - started < 1.0
        assert len(t.bodies) <= 4 + 2  # the first workers' calls, not 2000


async def test_an_unexpected_error_keeps_what_was_recorded(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    t = Explodes(after=10)
    yielded = []

    async def sweep(c: AsyncClient) -> None:
        prompts = [f"p{i}" for i in range(500)]
        stream = iter_prompts(c, prompts, platform="claude", model_name="m", sink=out)
        async with aclosing(stream):
            async for r in stream:
                yielded.append(r)

    async with fast_client(t) as c, asyncio.timeout(30):
        with pytest.raises(KeyError):
            await sweep(c)
    recorded = read_results(out, strict=True)
    assert 1 <= len(yielded) <= len(recorded) == 10
    with JsonlSink(out) as sink:  # closed by the failed sweep: free for the re-run
        assert len(sink.done) == 10


async def test_a_failing_sink_ends_the_sweep(tmp_path: Path) -> None:
    class Broken(JsonlSink):
        def write(self, result: dfs_async.PromptResult) -> None:
            raise OSError("the disk went away")

    t = EchoTransport()
    async with fast_client(t) as c:
        with Broken(tmp_path / "r.jsonl") as sink:
            async with asyncio.timeout(30):
                with pytest.raises(OSError, match="the disk went away"):
                    await gather_prompts(
                        c,
                        [f"p{i}" for i in range(3000)],
                        platform="claude",
                        model_name="m",
                        sink=sink,
                    )
    assert len(t.bodies) < 50


async def test_an_unopened_sink_is_refused_before_any_call(tmp_path: Path) -> None:
    t = EchoTransport()
    async with fast_client(t) as c:
        with pytest.raises(RuntimeError, match="not open"):
            await gather_prompts(
                c, ["p"], platform="claude", model_name="m", sink=JsonlSink(tmp_path / "r")
            )
    assert t.bodies == []
