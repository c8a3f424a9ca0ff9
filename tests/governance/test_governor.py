"""The governor: slot before token, abandoned calls held, state and repr."""

from __future__ import annotations

import asyncio

import pytest

from dfs_async import Governor, Limits, LocalGovernor, Platform

from .._virtual_time import run_virtual

pytestmark = pytest.mark.anyio


def governor(**limits: object) -> LocalGovernor:
    return LocalGovernor(Limits(**limits))  # type: ignore[arg-type]


async def test_local_governor_is_a_governor() -> None:
    g: Governor = governor()
    assert "chat_gpt=0/30" in repr(g)


async def test_slot_is_taken_before_the_token() -> None:
    # One slot, a slow pacer: the second caller must not hold a token while it waits for the
    # slot, else the token turns into a burst when the slot frees.
    g = governor(rate_limit=100, rate_period=1.0, live_concurrency=1)
    await g.acquire("claude")
    second = asyncio.create_task(g.acquire("claude"))
    await asyncio.sleep(0.05)
    state = g.state()
    assert state.platforms["claude"].waiting == 1
    assert state.waiting_for_token == 0
    g.release("claude")
    await second
    assert g.state().platforms["claude"].in_use == 1


async def test_platforms_do_not_share_slots() -> None:
    g = governor(live_concurrency={"chat_gpt": 1, "gemini": 2})
    await g.acquire("chat_gpt")
    await asyncio.wait_for(g.acquire("gemini"), 1)
    await asyncio.wait_for(g.acquire("gemini"), 1)
    state = g.state().platforms
    assert (state["chat_gpt"].in_use, state["gemini"].in_use, state["claude"].limit) == (1, 2, 30)


async def test_non_live_calls_take_a_token_but_no_slot() -> None:
    g = governor(live_concurrency=1)
    await g.acquire("perplexity")
    await asyncio.wait_for(g.acquire(None), 1)
    g.release(None)
    assert g.state().platforms["perplexity"].in_use == 1


async def test_abandoned_call_holds_its_slot_for_the_execution_limit() -> None:
    g = governor(live_concurrency=1, live_execution_limit=0.2)
    loop = asyncio.get_running_loop()
    await g.acquire("gemini")
    sent = loop.time()
    g.release("gemini", abandoned_at=sent)
    assert g.state().platforms["gemini"].held == 1
    await g.acquire("gemini")
    assert loop.time() - sent >= 0.19


async def test_cancel_while_waiting_for_the_token_frees_the_slot() -> None:
    g = governor(rate_limit=4, rate_period=10.0, live_concurrency=5)
    await g.acquire("chat_gpt")
    await g.acquire("chat_gpt")  # the immediate tokens are used up
    waiting = asyncio.create_task(g.acquire("chat_gpt"))
    await asyncio.sleep(0.01)
    assert g.state().platforms["chat_gpt"].in_use == 3
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert g.state().platforms["chat_gpt"].in_use == 2
    g.close()


def test_a_pause_holds_live_and_other_calls_alike() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        g = LocalGovernor(Limits(rate_limit=300, rate_period=6.0), clock=loop.time)
        await g.acquire("claude")
        g.pause(6.0)  # a 40202: the server's window is full

        async def call(platform: Platform | None) -> float:
            await g.acquire(platform)
            return loop.time()

        times = await asyncio.gather(call("claude"), call(None), call("gemini"))
        g.close()
        return list(times)

    times = run_virtual(main)
    assert min(times) == pytest.approx(6.0)
    # Past the pause the bucket is empty: its burst + 1 go at once, then one per interval.
    assert sorted(times) == pytest.approx(
        [6.0, 6.0, 6.0 + Limits(rate_limit=300, rate_period=6.0).interval]
    )


def test_a_governor_made_before_the_loop_runs_works_in_it() -> None:
    # A user may build LocalGovernor at import time and pass it to AsyncClient(governor=...).
    g = LocalGovernor(Limits(rate_limit=300, rate_period=6.0, live_concurrency=1))

    async def main() -> tuple[int, int]:
        await g.acquire("chat_gpt")
        second = asyncio.create_task(g.acquire("chat_gpt"))
        await asyncio.sleep(0)
        waiting = g.state().platforms["chat_gpt"].waiting
        g.release("chat_gpt")
        await second
        await g.aclose()
        return waiting, g.state().platforms["chat_gpt"].in_use

    assert asyncio.run(main()) == (1, 1)
