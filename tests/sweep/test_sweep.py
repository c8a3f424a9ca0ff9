"""gather_prompts / iter_prompts: order, per-item errors, targets, bounded work, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

import dfs_async
from dfs_async import AsyncClient, LiveRequest, Target, gather_prompts, iter_prompts, read_results

from .._fakes import EchoTransport

pytestmark = pytest.mark.anyio


def client(transport: EchoTransport, **kwargs: object) -> AsyncClient:
    kwargs.setdefault("rate_limit", 100_000)
    kwargs.setdefault("rate_period", 1.0)
    kwargs.setdefault("burst", 1000)
    return AsyncClient(transport=transport, **kwargs)  # type: ignore[arg-type]


async def test_results_come_back_in_input_order_for_lists() -> None:
    t = EchoTransport(latency=0.001)
    prompts = [f"prompt {i}" for i in range(50)]
    async with client(t) as c:
        results = await gather_prompts(c, prompts, platform="chat_gpt", model_name="gpt-4.1-mini")
    assert [r.index for r in results] == list(range(50))
    assert all(r.ok for r in results)
    assert [
        (r.response.tasks[0].data or {}).get("user_prompt") for r in results if r.response
    ] == prompts
    assert sorted(t.prompts()) == sorted(prompts)


async def test_async_generators_and_request_objects_are_accepted() -> None:
    async def prompts() -> AsyncIterator[str | LiveRequest]:
        for i in range(10):
            await asyncio.sleep(0)
            yield f"p{i}"
        yield LiveRequest(user_prompt="own", platform="claude", model_name="claude-sonnet-4-0")

    t = EchoTransport()
    async with client(t) as c:
        results = await gather_prompts(c, prompts(), platform="chat_gpt", model_name="gpt-4.1")
    assert [r.index for r in results] == list(range(11))
    assert (results[-1].platform, results[-1].request.model_name) == ("claude", "claude-sonnet-4-0")
    assert results[0].platform == "chat_gpt"


async def test_one_bad_prompt_is_that_items_error_and_never_sent() -> None:
    t = EchoTransport()
    t.fail_prompts.add("server says no")
    prompts = ["fine", "x" * 501, "server says no", "also fine"]
    async with client(t) as c:
        results = await gather_prompts(c, prompts, platform="gemini", model_name="gemini-2.5-flash")
    assert [r.ok for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, dfs_async.ValidationError)
    assert isinstance(results[2].error, dfs_async.InvalidRequestError)
    assert results[2].status_code == 40501
    assert "x" * 501 not in t.prompts()
    assert len(t.bodies) == 3


async def test_every_prompt_goes_to_every_target() -> None:
    t = EchoTransport(latency=0.002)
    targets = [
        Target("chat_gpt", "gpt-4.1-mini", {"web_search": True}),
        Target("claude", "claude-sonnet-4-0"),
        Target("perplexity", "sonar"),
    ]
    async with client(t) as c:
        results = await gather_prompts(c, ["a", "b"], targets=targets)
    assert [(r.index, r.target_index, r.platform) for r in results] == [
        (0, 0, "chat_gpt"),
        (0, 1, "claude"),
        (0, 2, "perplexity"),
        (1, 0, "chat_gpt"),
        (1, 1, "claude"),
        (1, 2, "perplexity"),
    ]
    assert results[0].request.web_search is True
    assert results[1].request.web_search is None


async def test_work_in_progress_stays_bounded_for_a_long_generator() -> None:
    produced = 0

    def prompts() -> Iterator[str]:
        nonlocal produced
        for i in range(3000):
            produced += 1
            yield f"p{i}"

    t = EchoTransport(latency=0.001)
    peak_tasks = 0
    async with (
        client(t, live_concurrency=4) as c,
        aclosing(
            iter_prompts(c, prompts(), platform="chat_gpt", model_name="gpt-4.1-mini")
        ) as stream,
    ):
        async for r in stream:
            assert r.ok
            peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
            # The reader runs only a small buffer ahead of what has been answered.
            assert produced - (r.index + 1) < 400
    assert produced == 3000
    assert peak_tasks < 20  # workers per platform, not a task per prompt
    assert t.max_in_flight <= 4


async def test_cancelling_the_caller_frees_slots_and_keeps_arrived_results(tmp_path: Path) -> None:
    t = EchoTransport(latency=0.05)
    out = tmp_path / "results.jsonl"
    seen: list[int] = []
    some_arrived = asyncio.Event()
    async with client(t, live_concurrency=3, live_execution_limit=0.2) as c:

        async def consume() -> None:
            async for r in iter_prompts(
                c, (f"p{i}" for i in range(100)), platform="claude", model_name="c", sink=out
            ):
                seen.append(r.index)
                if len(seen) == 4:
                    some_arrived.set()

        task = asyncio.create_task(consume())
        await some_arrived.wait()  # mid-sweep, with calls on the wire, however busy the machine
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sent_before = len(t.bodies)
        await asyncio.sleep(0.1)
        assert len(t.bodies) == sent_before  # nothing new goes out after the cancel
        await asyncio.sleep(0.25)  # past live_execution_limit: held slots are free again
        claude = c.stats.governor.platforms["claude"]
        assert (claude.in_use, claude.held, claude.waiting) == (0, 0, 0)
    records = read_results(out)
    assert len(records) >= len(seen) > 0
    assert {r.index for r in records} >= set(seen)


async def test_a_programming_error_in_the_input_aborts_the_sweep() -> None:
    def prompts() -> Iterator[str]:
        yield "fine"
        raise RuntimeError("bad input file")

    async with client(EchoTransport()) as c:
        with pytest.raises(RuntimeError, match="bad input file"):
            await gather_prompts(c, prompts(), platform="chat_gpt", model_name="m")


async def test_budget_cap_is_not_crossed_under_concurrency() -> None:
    t = EchoTransport(latency=0.01, cost=0.01)
    async with client(t, live_concurrency=10) as c:
        results = await gather_prompts(
            c,
            [f"p{i}" for i in range(100)],
            platform="chat_gpt",
            model_name="m",
            max_cost=0.255,
            cost_estimate=0.01,
        )
    spent = sum(r.cost for r in results)
    assert spent <= 0.255
    assert spent >= 0.15  # it did use the budget
    refused = [r for r in results if isinstance(r.error, dfs_async.BudgetExceededError)]
    assert len(refused) == 100 - len(t.bodies)
    assert all(r.ok for r in results if r.error is None)


async def test_rerun_with_the_same_sink_skips_what_was_answered(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    t = EchoTransport()
    t.fail_prompts.add("p3")
    prompts = [f"p{i}" for i in range(6)]
    async with client(t) as c:
        first = await gather_prompts(c, prompts, platform="chat_gpt", model_name="m", sink=out)
        assert len(first) == 6
        again = await gather_prompts(c, prompts, platform="chat_gpt", model_name="m", sink=out)
        assert again == []
        t.fail_prompts.clear()
        retried = await gather_prompts(
            c, prompts, platform="chat_gpt", model_name="m", sink=out, retry_failed=True
        )
    assert [r.request.user_prompt for r in retried] == ["p3"]
    assert t.prompts().count("p0") == 1
    assert len(t.bodies) == 7
    assert all(r.ok for r in read_results(out))


async def test_a_request_naming_its_platform_goes_there_once() -> None:
    t = EchoTransport()
    targets = [Target("chat_gpt", "gpt-4.1-mini"), Target("claude", "claude-sonnet-4-0")]
    own = LiveRequest(user_prompt="mine", platform="claude")
    elsewhere = LiveRequest(user_prompt="x", platform="gemini", model_name="gemini-2.5-flash")
    async with client(t) as c:
        results = await gather_prompts(c, ["shared", own, elsewhere], targets=targets)
    assert [(r.index, r.platform, r.request.model_name) for r in results] == [
        (0, "chat_gpt", "gpt-4.1-mini"),
        (0, "claude", "claude-sonnet-4-0"),
        (1, "claude", "claude-sonnet-4-0"),
        (2, "gemini", "gemini-2.5-flash"),
    ]
    assert all(r.ok for r in results)


async def test_a_rerun_resends_what_was_never_sent_but_not_what_may_be_charged(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r.jsonl"
    t = EchoTransport(cost=0.01)
    prompts = [f"p{i}" for i in range(4)]
    async with client(t, live_concurrency=1) as c:
        first = await gather_prompts(
            c,
            prompts,
            platform="chat_gpt",
            model_name="m",
            sink=out,
            max_cost=0.025,
            cost_estimate=0.01,
        )
        refused = [r.index for r in first if isinstance(r.error, dfs_async.BudgetExceededError)]
        assert refused == [2, 3]
        again = await gather_prompts(c, prompts, platform="chat_gpt", model_name="m", sink=out)
    assert [r.index for r in again] == [2, 3]
    assert all(r.ok for r in again)
    assert len(t.bodies) == 4


async def test_two_sweeps_on_one_results_path_in_one_process(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    t = EchoTransport(latency=0.01)
    async with client(t) as c:
        first = iter_prompts(c, ["a", "b"], platform="claude", model_name="m", sink=out)
        async with aclosing(first):
            got = [await anext(first)]
            second = iter_prompts(c, ["a", "b"], platform="claude", model_name="m", sink=out)
            with pytest.raises(dfs_async.ResultsFileInUseError, match="in this process"):
                await anext(second)
            got += [r async for r in first]
    assert sorted(r.request.user_prompt for r in got) == ["a", "b"]
    assert len(t.bodies) == 2  # the refused sweep sent nothing
    assert len(read_results(out, strict=True)) == 2


BAD_ITEMS: list[tuple[str | LiveRequest, str]] = [
    ("bad \udcff prompt", "user_prompt"),
    (LiveRequest(user_prompt="q", tag=7), "tag"),  # type: ignore[arg-type]
    (LiveRequest(user_prompt="q", model_name=5), "model_name"),  # type: ignore[arg-type]
    (LiveRequest(user_prompt="q", message_chain=({"role": "user"},)), "message_chain"),  # type: ignore[arg-type]
    (LiveRequest(user_prompt="q", web_search="yes"), "web_search"),  # type: ignore[arg-type]
    (LiveRequest(user_prompt="q", system_message=["a"]), "system_message"),  # type: ignore[arg-type]
    (LiveRequest(user_prompt="q", temperature=True), "temperature"),
    (LiveRequest(user_prompt="q \ud800", platform="claude", model_name="m"), "user_prompt"),
]


async def test_bad_content_and_field_types_are_item_errors_before_any_call(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r.jsonl"
    prompts: list[str | LiveRequest] = ["fine", *(p for p, _ in BAD_ITEMS), "also fine"]
    t = EchoTransport()
    async with client(t) as c:
        results = await gather_prompts(
            c, prompts, platform="claude", model_name="claude-sonnet-4-0", sink=out
        )
    assert sorted(t.prompts()) == ["also fine", "fine"]  # nothing bad reached the network
    assert [r.ok for r in results] == [True] + [False] * len(BAD_ITEMS) + [True]
    for r, (_, field) in zip(results[1:-1], BAD_ITEMS, strict=True):
        assert isinstance(r.error, dfs_async.ValidationError), r.error
        assert r.error.field == field
    # Every item is on disk and reads back; a re-run skips the invalid ones, sending nothing.
    assert len(read_results(out, strict=True)) == len(prompts)
    async with client(t) as c:
        again = await gather_prompts(
            c, prompts, platform="claude", model_name="claude-sonnet-4-0", sink=out
        )
    assert again == []
    assert len(t.bodies) == 2


async def test_a_targets_fields_are_type_checked_for_request_prompts() -> None:
    t = EchoTransport()
    targets = [Target("claude", "claude-sonnet-4-0", {"web_search": "yes"})]
    prompts: list[str | LiveRequest] = ["text", LiveRequest(user_prompt="object")]
    async with client(t) as c:
        results = await gather_prompts(c, prompts, targets=targets)
    assert [type(r.error).__name__ for r in results] == ["ValidationError"] * 2
    assert t.bodies == []
