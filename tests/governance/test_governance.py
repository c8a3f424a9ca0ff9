"""Rate governance as the server sees it: the emulator's own record of every call.

Limits are scaled down (300 calls / 6 s, a few slots) so each run takes seconds; the
guarantees are the same as at 2000 / 60 s and 30 slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import dfs_async
from dfs_async import AsyncClient, RetryPolicy, Target, gather_prompts, iter_prompts
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault, ServerRecord

pytestmark = pytest.mark.anyio

FOUR = [
    Target("chat_gpt", "gpt-4.1-mini"),
    Target("claude", "claude-sonnet-4-0"),
    Target("gemini", "gemini-2.5-flash"),
    Target("perplexity", "sonar"),
]
FAST_RETRY = RetryPolicy(max_retries=6, backoff_base=0.05, backoff_max=0.5)


@asynccontextmanager
async def governed(
    config: EmulatorConfig, **client_kwargs: Any
) -> AsyncIterator[tuple[AsyncClient, ServerRecord]]:
    async with Emulator(config) as emu:
        client_kwargs.setdefault("retry", FAST_RETRY)
        async with AsyncClient(
            emu.login, emu.password, base_url=emu.base_url, **client_kwargs
        ) as client:
            yield client, emu.record


def prompts(n: int) -> Iterator[str]:
    return (f"Which CRM would you pick, case {i}?" for i in range(n))


def live_calls(record: ServerRecord) -> list[dfs_async.testing.CallRecord]:
    return sorted((c for c in record.calls if c.platform is not None), key=lambda c: c.arrived)


async def test_any_window_holds_at_most_the_limit_near_the_pacers_ceiling() -> None:
    # The emulator enforces the same limit: any overshoot would show up as 40202.
    config = EmulatorConfig(latency=(0.0, 0.0), rate_limit=300, rate_period=6.0)
    async with governed(config, rate_limit=300, rate_period=6.0) as (client, record):
        results = await gather_prompts(client, prompts(130), targets=FOUR)
    assert all(r.ok for r in results)
    assert len(record.arrivals) == 520
    assert record.max_calls_in_window(6.0) <= 300
    assert record.codes[40202] == 0
    first, last = record.arrivals[0], record.arrivals[-1]
    sustained = (len(record.arrivals) - 1) / (last - first)
    # The pacer's ceiling here is 99.0 % (burst + 1 calls and loopback's 20 ms of arrivals kept
    # back out of 300 / 6 s); 93 % leaves a loaded 2-core host its scheduling delays, while a
    # pacer that lost a tenth of the rate would still fail.
    assert sustained >= 0.93 * 300 / 6.0


async def test_slots_stay_full_and_never_overfill_on_every_platform() -> None:
    slots = 6
    config = EmulatorConfig(latency=(0.2, 0.4), live_concurrency=slots, seed=3)
    async with governed(config, rate_limit=3000, rate_period=10.0, live_concurrency=slots) as (
        client,
        record,
    ):
        results = await gather_prompts(client, prompts(60), targets=FOUR)
    assert all(r.ok for r in results)
    assert record.codes[40209] == 0
    for platform in dfs_async.PLATFORMS:
        calls = [c for c in live_calls(record) if c.platform == platform]
        assert record.max_in_flight[platform] == slots
        # Steady state: from the moment every slot was first taken to the last send. A slot
        # handed on at the next loop pass keeps ~99 % at 0.3 s service; 0.92 leaves a loaded
        # 2-core host its scheduling delays, and a slot held back a tenth of the service time
        # after each answer would still fail (0.3 / 0.33 = 0.91).
        start, end = calls[slots - 1].arrived, calls[-1].arrived
        assert record.occupancy(platform, start, end, slots) >= 0.92, platform


async def test_one_slow_platform_does_not_hold_back_the_others() -> None:
    config = EmulatorConfig(latency=(0.01, 0.01), latency_by_platform={"gemini": (0.5, 0.5)})
    finished: dict[str, float] = {}
    async with governed(config, live_concurrency=4, rate_limit=6000) as (client, _):
        loop = asyncio.get_running_loop()
        start = loop.time()
        async for r in iter_prompts(client, prompts(16), targets=FOUR):
            finished[f"{r.platform}"] = loop.time() - start
    # Gemini needs 16 / 4 slots x 0.5 s = 2 s; the others are done in a fraction of that.
    assert finished["gemini"] >= 1.9
    assert max(finished[p] for p in ("chat_gpt", "claude", "perplexity")) < 1.0


async def test_retryable_faults_end_answered_and_nothing_is_paid_twice() -> None:
    config = EmulatorConfig(latency=(0.0, 0.02), fault_rate=0.15, seed=11)
    async with governed(config, live_concurrency=8, rate_limit=6000) as (client, record):
        results = await gather_prompts(client, prompts(100), targets=FOUR[:2])
        stats = client.stats
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:3]
    faults = sum(1 for c in record.calls if c.fault)
    assert faults >= 15  # the faults really happened
    assert sum(stats.retries.values()) == faults
    charges = record.charges_by_key()
    assert len(charges) == 200
    assert max(charges.values()) == 1
    assert record.total_cost == pytest.approx(sum(r.cost for r in results))


async def test_calls_past_the_deadline_end_as_timeouts_and_slots_stay_held() -> None:
    def hang_some(call: CallInfo) -> Fault | None:
        text = call.request.user_prompt if call.request else ""
        return Fault.HANG if text.endswith(("1?", "5?")) else None

    slots = 3
    config = EmulatorConfig(
        latency=(0.05, 0.1), live_concurrency=slots, faults=hang_some, hang_seconds=1.5
    )
    async with governed(config, live_concurrency=slots, timeout=1.0, live_execution_limit=1.6) as (
        client,
        record,
    ):
        results = await gather_prompts(
            client, prompts(30), platform="claude", model_name="claude-sonnet-4-0"
        )
    timeouts = [r for r in results if isinstance(r.error, TimeoutError)]
    assert len(timeouts) == 6
    assert all(isinstance(r.error, dfs_async.DeadlineExceededError) for r in timeouts)
    assert sum(r.ok for r in results) == 24
    # The hung calls went on at the server after the client gave up, and the client kept
    # counting them: the server never saw more than the limit, and never said 40209.
    assert record.max_in_flight["claude"] <= slots
    assert record.codes[40209] == 0


async def test_cancelling_a_sweep_stops_sends_at_once() -> None:
    config = EmulatorConfig(latency=(0.1, 0.2), live_concurrency=4)
    async with governed(config, live_concurrency=4, live_execution_limit=0.3) as (client, record):

        async def sweep() -> None:
            await gather_prompts(client, prompts(200), targets=FOUR)

        task = asyncio.create_task(sweep())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Requests already written when the sweep was cancelled may still be on their way to
        # the in-process emulator (the client no longer tears their connections down): let
        # them land, then nothing more may come.
        await asyncio.sleep(0.05)
        sent = len(record.arrivals)
        await asyncio.sleep(0.4)
        assert len(record.arrivals) == sent
        assert all(p.in_use == 0 for p in client.stats.governor.platforms.values())
    assert max(record.max_in_flight.values()) <= 4
    assert record.codes[40209] == 0


async def test_another_process_filling_the_window_backs_off_the_whole_client() -> None:
    # The account's window is smaller than the client believes (another process uses it):
    # the server answers 40202, the client pauses and retries, and every prompt ends answered.
    config = EmulatorConfig(latency=(0.0, 0.0), rate_limit=20, rate_period=1.0)
    async with governed(config, rate_limit=100, rate_period=1.0) as (client, record):
        results = await gather_prompts(
            client, prompts(40), platform="perplexity", model_name="sonar"
        )
        stats = client.stats
    assert all(r.ok for r in results)
    assert record.codes[40202] > 0
    assert stats.retries.get("40202") == record.codes[40202]
    assert max(record.charges_by_key().values()) == 1


async def test_concurrent_sweeps_on_one_client_share_it_fairly() -> None:
    # A web backend: a long sweep is running when a short request arrives. The short one
    # queues behind the long one's few waiting workers, not behind its whole input.
    config = EmulatorConfig(latency=(0.05, 0.05))
    async with governed(config, live_concurrency=4, rate_limit=60_000) as (client, record):
        loop = asyncio.get_running_loop()
        start = loop.time()
        long = asyncio.create_task(
            gather_prompts(client, prompts(200), platform="gemini", model_name="gemini-2.5-flash")
        )
        await asyncio.sleep(0.2)
        short = await gather_prompts(
            client, ["quick one", "quick two"], platform="gemini", model_name="gemini-2.5-flash"
        )
        short_done = loop.time() - start
        long_results = await long
        long_done = loop.time() - start
    assert all(r.ok for r in short + long_results)
    assert short_done < long_done / 3
    assert record.max_in_flight["gemini"] <= 4
