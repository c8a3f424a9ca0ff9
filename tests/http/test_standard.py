"""`AsyncClient.task_post` / `tasks_ready` / `task_get` against the emulator, checked on the
server's record: limits, pacing, resend rules, and a lost task_post answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

import dfs_async
from dfs_async import (
    AsyncClient,
    DecodeError,
    InvalidRequestError,
    LiveRequest,
    NotFoundError,
    ServerError,
    TaskPendingError,
    TransportError,
    ValidationError,
)
from dfs_async._http._standard import outcome_unknown_post, refused_post, task_post_path
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault, task_key
from tests._fakes import FIXTURES, client_for

pytestmark = pytest.mark.anyio

CLAUDE = "claude-sonnet-4-0"


def tasks(n: int, start: int = 0, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"user_prompt": f"which crm for agencies, case {i}?", "model_name": CLAUDE, **fields}
        for i in range(start, start + n)
    ]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.05, 0.1))
    async with Emulator(config) as emulator:
        yield emulator


async def test_post_collect_and_decode_like_live(emu: Emulator) -> None:
    async with client_for(emu) as client:
        posted = await client.task_post("claude", tasks(3))
        assert [t.status_code for t in posted.tasks] == [20100] * 3
        assert posted.cost == pytest.approx(3 * 0.0102)
        # Every task was tagged with its request key, so tasks_ready can identify it.
        for task, fields in zip(posted.tasks, tasks(3), strict=True):
            request = LiveRequest(**fields)
            assert task.tag == dfs_async.request_key("claude", request)
        await asyncio.sleep(0.15)
        ready = await client.tasks_ready("claude")
        assert {r.id for r in ready} == {t.id for t in posted.tasks}
        assert {r.tag for r in ready} == set(posted.ids_by_tag)
        response = await client.task_get("claude", ready[0].id)
        assert isinstance(response, dfs_async.LiveResponse)
        assert response.result is not None and response.result.text
        assert response.result.model_name == "claude-sonnet-4-20250514"
        assert len(await client.tasks_ready("claude")) == 2  # collected ones leave the list
    record = emu.record.standard
    assert record.post_sizes == [3]
    assert record.collected == {ready[0].id: 1}
    assert record.posted_twice() == {}
    assert emu.balance == pytest.approx(100.0 - 3 * 0.0102 + record.refunded)


async def test_documented_request_example_is_accepted(emu: Emulator) -> None:
    example = msgspec.json.decode(
        (FIXTURES / "chat_gpt_task_post_request_example.json").read_bytes()
    )
    async with client_for(emu) as client:
        posted = await client.task_post("chat_gpt", example)
    assert posted.tasks[0].ok
    assert emu.record.standard.posts[0].platform == "chat_gpt"


async def test_bad_input_fails_before_any_call(emu: Emulator) -> None:
    async with client_for(emu) as client:
        with pytest.raises(ValidationError, match="at most 100"):
            await client.task_post("claude", tasks(101))
        with pytest.raises(ValidationError, match="at least one"):
            await client.task_post("claude", [])
        with pytest.raises(ValidationError, match="no Standard method"):
            await client.task_post("perplexity", [{"user_prompt": "x", "model_name": "sonar"}])
        with pytest.raises(ValidationError, match="no Standard method"):
            await client.tasks_ready("perplexity")
        with pytest.raises(ValidationError, match="no Standard method"):
            await client.task_get("perplexity", "some-id")
        with pytest.raises(ValidationError, match="temperature"):
            await client.task_post("claude", tasks(1, temperature=1.5))
        with pytest.raises(ValidationError, match="postback_url"):
            await client.task_post("claude", tasks(1), postback_url="ftp://x")
    assert emu.record.calls == []


async def test_a_model_without_standard_is_refused_once_models_are_known() -> None:
    models = msgspec.json.encode(
        {
            "status_code": 20000,
            "tasks": [
                {
                    "status_code": 20000,
                    "result": [{"model_name": "gpt-x", "task_post_supported": False}],
                }
            ],
        }
    )
    from tests._fakes import ScriptedTransport

    transport = ScriptedTransport((200, models))
    async with AsyncClient(transport=transport) as client:
        await client.models("chat_gpt")
        with pytest.raises(ValidationError, match="task_post_supported"):
            await client.task_post("chat_gpt", [{"user_prompt": "x", "model_name": "gpt-x"}])
    assert len(transport.requests) == 1


async def test_tasks_over_the_server_limit_come_back_as_40006() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), task_post_limit=2)
    async with Emulator(config) as emu, client_for(emu) as client:
        posted = await client.task_post("gemini", tasks(3, model_name="gemini-2.5-flash"))
    codes = [t.status_code for t in posted.tasks]
    assert codes == [20100, 20100, 40006]
    assert isinstance(posted.tasks[2].error, InvalidRequestError)
    assert len(emu.record.standard.posts) == 2
    assert posted.cost == pytest.approx(2 * 0.0102)


async def test_task_get_pending_unknown_and_expired() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), standard_delay=(0.3, 0.3), results_ttl=0.6)
    async with Emulator(config) as emu, client_for(emu) as client:
        posted = await client.task_post("claude", tasks(1))
        task_id = posted.tasks[0].id
        with pytest.raises(TaskPendingError) as pending:
            await client.task_get("claude", task_id)
        assert pending.value.status_code in (40601, 40602)
        response = await client.task_get("claude", task_id, wait=2.0)  # polls with backoff
        assert response.tasks[0].id == task_id
        with pytest.raises(NotFoundError) as unknown:
            await client.task_get("claude", "00000000-0000-0000-0000-000000000000")
        assert unknown.value.status_code == 40401
        await asyncio.sleep(0.6)
        with pytest.raises(NotFoundError) as expired:
            await client.task_get("claude", task_id)
        assert expired.value.status_code == 40403


async def test_every_call_counts_against_the_account_rate() -> None:
    config = EmulatorConfig(
        latency=(0.0, 0.0), standard_delay=(0.0, 0.0), rate_limit=20, rate_period=1.0
    )
    async with Emulator(config) as emu, client_for(emu, rate_limit=20, rate_period=1.0) as client:
        posted = await client.task_post("claude", tasks(30))
        await asyncio.gather(*(client.task_get("claude", t.id) for t in posted.tasks))
        await client.live("claude", user_prompt="and a live one", model_name=CLAUDE)
    assert emu.record.max_calls_in_window(1.0) <= 20
    assert 40202 not in emu.record.codes
    assert sum(emu.record.standard.collected.values()) == 30


async def test_tasks_ready_keeps_to_its_own_limit() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), tasks_ready_limit=3, tasks_ready_period=0.5)
    limits = {"tasks_ready_limit": 3, "tasks_ready_period": 0.5}
    async with Emulator(config) as emu, client_for(emu, **limits) as client:
        await asyncio.gather(*(client.tasks_ready(p) for p in ["claude", "gemini", "chat_gpt"] * 3))
    assert len(emu.record.standard.ready_calls) == 9
    assert emu.record.standard.max_ready_calls_in_window(0.5) <= 3
    assert 40202 not in emu.record.codes


async def test_a_tasks_ready_40202_holds_tasks_ready_only() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), tasks_ready_limit=1, tasks_ready_period=0.3)
    async with (
        Emulator(config) as emu,
        client_for(emu, tasks_ready_limit=5, tasks_ready_period=0.3) as client,
    ):
        await client.tasks_ready("claude")
        await client.tasks_ready("claude")  # the server says 40202; retried after 0.3 s
        assert client.stats.retries == {"40202": 1}
        # The account's governor was not paused: other calls go at once.
        await asyncio.wait_for(client.models("claude"), 0.2)
    assert [c.status_code for c in emu.record.calls if "tasks_ready" in c.path] == [
        20000,
        40202,
        20000,
    ]


def lose_first_post(fault: Fault) -> Any:
    def choose(info: CallInfo) -> Fault | None:
        return fault if info.path.endswith("/task_post") and info.attempt == 1 else None

    return choose


@pytest.mark.parametrize("fault", [Fault.RESET, Fault.TRUNCATED, Fault.HTTP_502_HTML])
async def test_a_lost_post_answer_is_raised_not_reposted_and_found_by_tag(fault: Fault) -> None:
    config = EmulatorConfig(
        latency=(0.0, 0.0), standard_delay=(0.0, 0.0), faults=lose_first_post(fault)
    )
    async with Emulator(config) as emu, client_for(emu) as client:
        with pytest.raises((TransportError, DecodeError, ServerError)) as lost:
            await client.task_post("claude", tasks(4))
        assert outcome_unknown_post(lost.value) and not refused_post(lost.value)
        ready = await client.tasks_ready("claude")
    record = emu.record.standard
    assert record.post_sizes == [4]  # one task_post, never resent
    assert len(record.posts) == 4  # the server did create (and charge) the tasks
    assert emu.record.total_cost == pytest.approx(4 * (0.0002 + 0.01))  # charged first
    expected = {dfs_async.request_key("claude", LiveRequest(**t)) for t in tasks(4)}
    assert {r.tag for r in ready} == expected


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.SERVER_ERROR])
async def test_a_post_the_server_refused_whole_is_resent_once(fault: Fault) -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), faults=lose_first_post(fault))
    options = {"retry": dfs_async.RetryPolicy(backoff_base=0.01, backoff_max=0.05)}
    async with Emulator(config) as emu, client_for(emu, **options) as client:
        posted = await client.task_post("claude", tasks(2))
    assert all(t.ok for t in posted.tasks)
    assert emu.record.standard.post_sizes == [2, 2]
    assert len(emu.record.standard.posts) == 2
    assert emu.record.charges_by_key() == {
        task_key({**t, "tag": dfs_async.request_key("claude", LiveRequest(**t))}): 1
        for t in tasks(2)
    }


async def test_task_post_path_and_key_helpers_agree_with_the_emulator(emu: Emulator) -> None:
    assert task_post_path("gemini") == "/v3/ai_optimization/gemini/llm_responses/task_post"
    async with client_for(emu) as client:
        await client.task_post("gemini", tasks(1, model_name="gemini-2.5-flash", tag="mine"))
    post = emu.record.standard.posts[0]
    assert post.tag == "mine"  # a caller's tag is kept
    assert post.key == task_key({**tasks(1, model_name="gemini-2.5-flash")[0], "tag": "mine"})
