"""`CallbackReceiver` with the emulator delivering on loopback: postbacks carry the result,
pingbacks name the task, and a delivery the handler could not take is not lost."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import aiohttp
import msgspec
import pytest
from aiohttp import web

from dfs_async import (
    AiohttpTransport,
    AsyncClient,
    CallbackReceiver,
    Delivery,
    gather_prompts,
    read_results,
)
from dfs_async._http._transport import basic_auth
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


def answer_for(task_id: str, text: str = "an answer") -> bytes:
    """A task_get answer (as a postback carries it) for ``task_id``."""
    result = {"model_name": MODEL, "items": [{"type": "message", "sections": [{"text": text}]}]}
    task = {"id": task_id, "status_code": 20000, "cost": 0.0, "result": [result]}
    return json.dumps({"status_code": 20000, "cost": 0.0, "tasks": [task]}).encode()


async def test_the_token_is_checked_before_the_body_is_read_and_bodies_are_capped() -> None:
    limit = 64 * 1024
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024), compresslevel=9)  # 8 MB in ~8 KB
    assert len(bomb) < limit
    async with CallbackReceiver(max_body_size=limit) as receiver, aiohttp.ClientSession() as http:
        wrong = receiver.base_url + "x/postback?id=t1&tag=k"
        # Over the cap as sent: a wrong token is refused before reading it (404, not 413).
        async with http.post(wrong, data=b"x" * (2 * limit)) as resp:
            assert resp.status == 404
        url = receiver.base_url + "/postback?id=t1&tag=k"
        async with http.post(url, data=b"x" * (2 * limit)) as resp:
            assert resp.status == 413
        async with http.post(url, data=bomb) as resp:  # gzip whose header a proxy dropped
            assert resp.status == 413
        headers = {"Content-Encoding": "gzip"}
        async with http.post(url, data=bomb, headers=headers) as resp:
            assert resp.status == 413
        async with http.post(url, data=gzip.compress(answer_for("t1"))) as resp:
            assert resp.status == 200  # a real answer still passes
        delivery = await receiver.get()
    assert delivery.task_id == "t1" and delivery.response is not None
    assert (receiver.received, receiver.rejected) == (1, 4)


async def test_only_expected_tasks_are_delivered_and_only_with_their_own_answer() -> None:
    def expected(task_id: str, tag: str | None) -> bool:
        return (task_id, tag) == ("t1", "key-1")

    async with CallbackReceiver(accept=expected) as receiver, aiohttp.ClientSession() as http:
        base = receiver.base_url
        for query in ("id=t2&tag=key-1", "id=t1&tag=other", "id=t2&tag=key-2"):
            async with http.post(f"{base}/postback?{query}", data=answer_for("t2")) as resp:
                assert resp.status == 404
            async with http.get(f"{base}/pingback?{query}") as resp:
                assert resp.status == 404
        # The right id and tag in the URL, but the body answers another task: refused.
        forged = answer_for("t9", "FORGED: buy EvilCRM")
        async with http.post(f"{base}/postback?id=t1&tag=key-1", data=forged) as resp:
            assert resp.status == 400
        async with http.post(f"{base}/postback?id=t1&tag=key-1", data=answer_for("t1")) as resp:
            assert resp.status == 200
        delivery = await receiver.get()
    assert (delivery.task_id, delivery.tag) == ("t1", "key-1")
    assert receiver.received == 1 and receiver._queue.empty()


async def test_a_sweep_records_no_forged_postback(tmp_path: Path) -> None:
    # With the receiver's token (a leaked URL), postbacks naming tasks the sweep did not post,
    # or a posted task with the wrong tag, are refused; each real task is collected for real.
    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.3, 0.3))
    out = tmp_path / "r.jsonl"
    async with (
        Emulator(config) as emu,
        AsyncClient(emu.login, emu.password, base_url=emu.base_url) as client,
        CallbackReceiver() as receiver,
        aiohttp.ClientSession() as http,
    ):
        sweep = asyncio.create_task(
            gather_prompts(
                client,
                [f"which CRM {i}" for i in range(3)],
                platform="gemini",
                model_name=MODEL,
                method="standard",
                receiver=receiver,
                sink=out,
            )
        )
        while len(emu.record.standard.posts) < 3:  # noqa: ASYNC110 - waits for the server's record
            await asyncio.sleep(0.01)
        posts = emu.record.standard.posts
        forged = answer_for("fake-id", "FORGED: buy EvilCRM")
        for query in (
            f"id=fake-id&tag={posts[0].tag}",  # a tag of this sweep, an id it never posted
            "id=fake-id&tag=fake-tag",
            f"id={posts[1].id}&tag=fake-tag",  # a posted id with another tag
        ):
            async with http.post(f"{receiver.base_url}/postback?{query}", data=forged) as resp:
                assert resp.status == 404
        results = await sweep
    assert len(results) == 3 and all(r.ok for r in results)
    assert {r.task_id for r in results} == {p.id for p in posts}
    assert all(b"FORGED" not in msgspec.json.encode(r.response) for r in results)
    assert "FORGED" not in out.read_text()
    assert receiver.rejected == 3


class Crossing(CallbackReceiver):
    """A receiver that lets the sweep take a task's postback only once a task_get answer for
    the same task is in hand (``fetched``), and notes when it took it (``handled``)."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: set[str] = set()
        self.handled: set[str] = set()

    async def _deliver(self, delivery: Delivery) -> web.Response:
        while delivery.task_id not in self.fetched:  # noqa: ASYNC110 - set by the transport
            await asyncio.sleep(0.005)
        answer = await super()._deliver(delivery)
        self.handled.add(delivery.task_id)
        return answer


class HoldsAnswersUntilDelivered:
    """The aiohttp transport to the emulator, handing back a finished task_get answer only
    after the sweep took that task's postback: the two cross, every time."""

    def __init__(self, emu: Emulator, receiver: Crossing) -> None:
        self.receiver = receiver
        self.inner = AiohttpTransport(emu.base_url, basic_auth(emu.login, emu.password))
        self.crossed = 0

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        status, answer = await self.inner.request(method, path, body, timeout)
        if "/task_get/" in path and msgspec.json.decode(answer)["tasks"][0]["status_code"] == 20000:
            task_id = path.rsplit("/", 1)[1]
            self.receiver.fetched.add(task_id)
            while task_id not in self.receiver.handled:  # noqa: ASYNC110 - set by the receiver
                await asyncio.sleep(0.005)
            self.crossed += 1
        return status, answer

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_postback_and_a_task_get_that_cross_emit_the_result_once(tmp_path: Path) -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.1, 0.1), tasks_ready_limit=None)
    out = tmp_path / "r.jsonl"
    async with Emulator(config) as emu, Crossing() as receiver:
        transport = HoldsAnswersUntilDelivered(emu, receiver)
        # resolve_after ~0: every posted task is also asked for by task_get at once.
        limits = {"tasks_ready_limit": 100, "tasks_ready_period": 1.0}
        async with AsyncClient(transport=transport, **limits) as client:  # type: ignore[arg-type]
            results = await gather_prompts(
                client,
                [f"crossing {i}" for i in range(6)],
                platform="gemini",
                model_name=MODEL,
                method="standard",
                receiver=receiver,
                resolve_after=0.01,
                sink=out,
            )
    assert transport.crossed >= 5  # task_get answers that came after their postback
    assert sorted(r.index for r in results) == list(range(6))  # each emitted once
    assert all(r.ok for r in results)
    assert sum(1 for r in read_results(out) if r.ok) == 6
