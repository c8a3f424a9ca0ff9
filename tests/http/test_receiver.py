"""`CallbackReceiver` with the emulator delivering on loopback: postbacks carry the result,
pingbacks name the task, and a delivery the handler could not take is not lost."""

from __future__ import annotations

import asyncio
import gzip

import aiohttp
import pytest

from dfs_async import AsyncClient, CallbackReceiver, Delivery
from dfs_async.testing import Emulator, EmulatorConfig

pytestmark = pytest.mark.anyio

MODEL = "gemini-2.5-flash"


def tasks(n: int) -> list[dict[str, str]]:
    return [{"user_prompt": f"best running shoes {i}", "model_name": MODEL} for i in range(n)]


async def test_postbacks_and_pingbacks_arrive_with_id_and_tag() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.02, 0.05))
    async with (
        Emulator(config) as emu,
        AsyncClient(emu.login, emu.password, base_url=emu.base_url) as client,
        CallbackReceiver() as receiver,
    ):
        posted = await client.task_post("gemini", tasks(3), postback_url=receiver.postback_url)
        pinged = await client.task_post("gemini", tasks(2), pingback_url=receiver.pingback_url)
        got = [await asyncio.wait_for(receiver.get(), 5.0) for _ in range(5)]
        by_kind: dict[str, list[Delivery]] = {"postback": [], "pingback": []}
        for delivery in got:
            by_kind[delivery.kind].append(delivery)
        assert {(d.task_id, d.tag) for d in by_kind["postback"]} == {
            (t.id, t.tag) for t in posted.tasks
        }
        assert {(d.task_id, d.tag) for d in by_kind["pingback"]} == {
            (t.id, t.tag) for t in pinged.tasks
        }
        for delivery in by_kind["postback"]:
            assert delivery.error is None and delivery.response is not None
            # The postback carries exactly what task_get answers.
            fetched = await client.task_get("gemini", delivery.task_id)
            assert delivery.response.result == fetched.result
        assert all(d.response is None for d in by_kind["pingback"])
        assert await client.tasks_ready("gemini") == []  # delivered tasks are not listed
    assert receiver.received == 5
    assert sum(emu.record.standard.delivered.values()) == 5


async def test_a_delivery_the_handler_refuses_goes_to_tasks_ready() -> None:
    async def refuse(delivery: Delivery) -> None:
        raise OSError("disk full")

    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.0, 0.0))
    async with (
        Emulator(config) as emu,
        AsyncClient(emu.login, emu.password, base_url=emu.base_url) as client,
        CallbackReceiver(refuse) as receiver,
    ):
        posted = await client.task_post("gemini", tasks(2), postback_url=receiver.postback_url)
        for _ in range(100):
            if sum(emu.record.standard.failed_deliveries.values()) == 2:
                break
            await asyncio.sleep(0.02)
        listed = await client.tasks_ready("gemini")
    assert {r.id for r in listed} == {t.id for t in posted.tasks}
    assert receiver.rejected == 2 and receiver.received == 0


async def test_wrong_token_and_raw_gzip_bodies() -> None:
    async with CallbackReceiver() as receiver, aiohttp.ClientSession() as http:
        wrong = receiver.postback_url.replace(receiver.base_url, receiver.base_url + "x")
        async with http.post(wrong, data=b"{}") as resp:
            assert resp.status == 404
        # A gzip body whose Content-Encoding header a proxy dropped is still read.
        body = gzip.compress(
            b'{"status_code": 20000, "tasks": [{"id": "t1", "status_code": 40602}]}'
        )
        url = receiver.base_url + "/postback?id=t1&tag=k"
        async with http.post(url, data=body) as resp:
            assert resp.status == 200
        delivery = await receiver.get()
    assert (delivery.task_id, delivery.tag, delivery.response) == ("t1", "k", None)
    assert delivery.error is not None and "40602" in str(delivery.error)
    assert receiver.rejected == 1
