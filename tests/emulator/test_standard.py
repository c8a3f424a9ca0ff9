"""The emulator's Standard endpoints, spoken to directly: body errors, charges at posting,
refunds, callbacks on loopback only, and the record crossing a process boundary."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from dfs_async import LiveResponse, TaskPostResponse, TasksReadyResponse
from dfs_async._http._standard import task_post_path, tasks_ready_path
from dfs_async._wire._models import StatusEnvelope
from dfs_async.testing import Emulator, EmulatorConfig, EmulatorProcess, ServerRecord

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": "Basic " + base64.b64encode(b"emulator:emulator").decode()}
MODEL = "gpt-4.1-mini"


def body(n: int, **fields: Any) -> bytes:
    return msgspec.json.encode(
        [{"user_prompt": f"best laptop {i}", "model_name": MODEL, **fields} for i in range(n)]
    )


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.05, 0.05))
    async with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
        yield session


async def post(http: aiohttp.ClientSession, data: bytes) -> TaskPostResponse:
    async with http.post(task_post_path("chat_gpt"), data=data) as resp:
        return msgspec.json.decode(await resp.read(), type=TaskPostResponse)


async def ready(http: aiohttp.ClientSession) -> TasksReadyResponse:
    async with http.get(tasks_ready_path("chat_gpt")) as resp:
        return msgspec.json.decode(await resp.read(), type=TasksReadyResponse)


@pytest.mark.parametrize(
    ("data", "code"), [(b"", 40502), (b"[]", 40502), (b"{nope", 40503), (b'{"a": 1}', 40503)]
)
async def test_broken_bodies_are_refused_whole(
    http: aiohttp.ClientSession, emu: Emulator, data: bytes, code: int
) -> None:
    async with http.post(task_post_path("chat_gpt"), data=data) as resp:
        status = msgspec.json.decode(await resp.read(), type=StatusEnvelope)
    assert status.status_code == code
    assert emu.record.standard.posts == [] and emu.record.total_cost == 0


async def test_invalid_tasks_are_refused_alone_and_not_charged(
    http: aiohttp.ClientSession, emu: Emulator
) -> None:
    data = msgspec.json.encode(
        [
            {"user_prompt": "ok", "model_name": MODEL},
            {"user_prompt": "bad", "model_name": MODEL, "temperature": 9},
            {"user_prompt": "bad", "model_name": "no-such-model"},
            {"user_prompt": "bad", "model_name": MODEL, "colour": "red"},
        ]
    )
    answer = await post(http, data)
    assert [t.status_code for t in answer.tasks] == [20100, 40501, 40501, 40506]
    assert answer.tasks_error == 3
    assert answer.cost == pytest.approx(0.0102)
    assert emu.balance == pytest.approx(100.0 - 0.0102)


async def test_perplexity_has_no_task_post(http: aiohttp.ClientSession) -> None:
    path = task_post_path("chat_gpt").replace("chat_gpt", "perplexity")
    async with http.post(path, data=body(1)) as resp:
        assert resp.status == 404


async def test_charged_at_posting_then_refunded_above_the_real_cost(
    http: aiohttp.ClientSession, emu: Emulator
) -> None:
    answer = await post(http, body(5))
    assert emu.balance == pytest.approx(100.0 - 5 * 0.0102)  # before anything finished
    await asyncio.sleep(0.1)
    listed = (await ready(http)).ready
    assert len(listed) == 5
    spent = []
    for item in listed:
        assert item.endpoint is not None
        async with http.get(item.endpoint) as resp:
            result = msgspec.json.decode(await resp.read(), type=LiveResponse).result
        assert result is not None
        spent.append(result.money_spent)
    # What stays charged is DataForSEO's base price plus the LLM's real cost.
    assert emu.balance == pytest.approx(100.0 - 5 * 0.0002 - sum(spent))
    assert (await ready(http)).ready == []
    assert sorted(emu.record.standard.collected) == sorted(t.id for t in answer.tasks)
    assert emu.record.standard.uncollected() == []


async def test_callbacks_go_to_loopback_only_and_failures_land_in_tasks_ready(
    http: aiohttp.ClientSession, emu: Emulator
) -> None:
    # A closed loopback port refuses; an address elsewhere is never contacted.
    await post(http, body(1, postback_url="http://127.0.0.1:9/hook?id=$id"))
    await post(http, body(1, pingback_url="http://192.0.2.1/ping?id=$id&tag=$tag", tag="x y"))
    await asyncio.sleep(0.3)
    listed = (await ready(http)).ready
    assert len(listed) == 2
    assert sum(emu.record.standard.failed_deliveries.values()) == 2
    assert emu.record.standard.delivered == {}


async def test_callback_tasks_are_not_listed_while_delivery_is_pending(
    http: aiohttp.ClientSession,
) -> None:
    await post(http, body(1, postback_url="http://127.0.0.1:9/hook"))
    assert (await ready(http)).ready == []  # not finished, and not failed yet


async def test_record_and_config_cross_a_process_boundary() -> None:
    config = EmulatorConfig(standard_delay=(0.0, 0.0), tasks_ready_limit=7, task_post_limit=3)
    assert EmulatorConfig.from_json(config.to_json()) == config
    async with EmulatorProcess(config, latency=(0.0, 0.0)) as emu:
        async with aiohttp.ClientSession(base_url=emu.base_url, headers=AUTH) as session:
            answer = await post(session, body(4))
            await ready(session)
        record = emu.record()
    assert [t.status_code for t in answer.tasks] == [20100] * 3 + [40006]
    assert isinstance(record, ServerRecord)
    assert [p.id for p in record.standard.posts] == [t.id for t in answer.tasks[:3]]
    assert record.standard.post_sizes == [4]
    assert len(record.standard.ready_calls) == 1
    assert record.charges_by_key().most_common(1)[0][1] == 1


def test_standard_delay_flags_reach_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    from dfs_async._cli._main import main
    from dfs_async.testing.__main__ import main as testing_main

    # An inverted range is refused by EmulatorConfig: proof the flag reached it.
    assert main(["emulate", "--standard-delay", "5", "1"]) == 2
    assert testing_main(["--standard-delay", "5", "1"]) == 2
    assert capsys.readouterr().err.count("standard_delay") == 2
