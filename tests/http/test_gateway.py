"""A gateway in front of DataForSEO that gives up and answers its own 5xx page.

The gateway here forwards each call to the emulator and answers HTML 504 once the request was
read, while the emulator keeps running (and charging) the call: the client cannot tell that
page from a call that never arrived, so it must not send it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import dfs_async
from dfs_async import RetryPolicy, gather_prompts, read_results
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import local_server

pytestmark = pytest.mark.anyio

PAGE = b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
ASK: dict[str, Any] = {"platform": "chat_gpt", "model_name": "gpt-4.1-mini"}


class Gateway:
    """Forwards every call to ``upstream`` and answers 504 at once, without waiting for it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.forwarded: set[asyncio.Task[None]] = set()
        self.pages = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {"Authorization": request.headers["Authorization"]}
        task = asyncio.create_task(self._forward(request.method, request.path, body, headers))
        self.forwarded.add(task)
        self.pages += 1
        return web.Response(status=504, body=PAGE, content_type="text/html")

    async def _forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        async with (
            aiohttp.ClientSession(self.upstream) as session,
            session.request(method, path, data=body, headers=headers) as answer,
        ):
            await answer.read()

    async def settle(self) -> None:
        """Wait until every forwarded call has been answered upstream."""
        await asyncio.gather(*self.forwarded)


def client_via(url: str, emu: Emulator, **options: object) -> dfs_async.AsyncClient:
    """A client of ``emu``'s account that reaches it through the gateway at ``url``."""
    return dfs_async.AsyncClient(emu.login, emu.password, base_url=url, **options)  # type: ignore[arg-type]


@pytest.fixture
async def gateway_and_emulator() -> AsyncIterator[tuple[str, Gateway, Emulator]]:
    async with Emulator(EmulatorConfig(latency=(0.05, 0.1), seed=3)) as emu:
        gateway = Gateway(emu.base_url)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", gateway.handle)
        async with local_server(app) as (url, _):
            yield url, gateway, emu
        await gateway.settle()


async def test_a_gateway_504_is_not_resent_and_a_rerun_pays_nothing(
    gateway_and_emulator: tuple[str, Gateway, Emulator], tmp_path: Path
) -> None:
    url, gateway, emu = gateway_and_emulator
    out = tmp_path / "r.jsonl"
    prompts = [f"gateway prompt {i}" for i in range(8)]
    retry = RetryPolicy(max_retries=5, backoff_base=0.001, backoff_max=0.01)
    for _ in range(2):
        async with client_via(url, emu, retry=retry) as client:
            results = await gather_prompts(client, prompts, sink=out, **ASK)
        await gateway.settle()
    assert gateway.pages == len(prompts)  # one send per item over both runs
    charges = emu.record.charges_by_key()
    assert len(charges) == len(prompts) and set(charges.values()) == {1}
    assert results == []  # the re-run found every item settled and sent nothing
    recorded = read_results(out)
    assert len(recorded) == len(prompts)
    for record in recorded:
        assert isinstance(record.error, dfs_async.ErrorRecord) and record.error.settled
        assert record.cost_estimate is not None and record.cost_estimate > 0  # possibly charged


async def test_a_gateway_504_counts_against_max_cost_at_its_estimate(
    gateway_and_emulator: tuple[str, Gateway, Emulator],
) -> None:
    url, gateway, emu = gateway_and_emulator
    # Unknown outcomes count at the estimate ($0.10 a chat_gpt call before any answer was seen),
    # so three fit; before, each 504 was sent six times and counted at $0.
    max_cost = 0.35
    async with client_via(url, emu) as client:
        results = await gather_prompts(
            client, [f"budget prompt {i}" for i in range(40)], max_cost=max_cost, **ASK
        )
    await gateway.settle()
    assert emu.record.total_cost <= max_cost
    refused = [r for r in results if isinstance(r.error, dfs_async.BudgetExceededError)]
    unknown = [r for r in results if isinstance(r.error, dfs_async.GatewayError)]
    assert refused and len(unknown) == len(emu.record.calls) == 3
    assert sum(r.cost_estimate or 0.0 for r in unknown) <= max_cost
