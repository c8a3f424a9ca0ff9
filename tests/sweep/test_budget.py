"""The budget: reservations for calls in flight, waiting instead of refusing, estimates per
target; and against the emulator, the two bars: a run under the cap is never refused, a cap at
half the run's total is spent to at least 90 % and never past it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import dfs_async
from dfs_async import DEFAULT_COSTS, BudgetExceededError, Target, gather_prompts, read_results
from dfs_async._records._costs import PriceKey
from dfs_async._sweep._budget import COST_HEADROOM, Budget
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import client_for

pytestmark = pytest.mark.anyio

GPT: PriceKey = ("chat_gpt", "gpt-4.1-mini", True)
SONAR: PriceKey = ("perplexity", "sonar", False)


async def run_others() -> None:
    """Let every other ready task run until it blocks (no wall-clock time involved)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_no_cap_admits_everything_at_the_platforms_default_estimate() -> None:
    budget = Budget(None)
    assert [await budget.admit(GPT) for _ in range(100)] == [DEFAULT_COSTS["chat_gpt"]] * 100
    assert await budget.admit(SONAR) == DEFAULT_COSTS["perplexity"]


async def test_a_call_that_fits_once_calls_in_flight_settle_waits_instead_of_failing() -> None:
    budget = Budget(0.1, default=0.03)
    held = [await budget.admit(GPT) for _ in range(3)]
    fourth = asyncio.create_task(budget.admit(GPT))  # 0.09 reserved + 0.03 > 0.1: waits
    await run_others()
    assert not fourth.done()
    budget.settle(GPT, held[0], 0.01)  # the estimate becomes 0.0125: 0.01 + 0.06 + 0.0125 fits
    assert await asyncio.wait_for(fourth, 1) == pytest.approx(0.01 * (1 + COST_HEADROOM))
    assert budget.refused == 0


async def test_refused_only_when_spent_plus_one_estimate_would_cross_the_cap() -> None:
    budget = Budget(0.0515, default=0.01)
    for _ in range(4):
        budget.settle(GPT, await budget.admit(GPT), 0.01)
    assert budget.spent == pytest.approx(0.04)
    # 0.04 + 0.0125 (the dearest, 0.01, plus headroom) does not fit, but the dearest alone
    # does: alone in flight, the call gets all the room left.
    assert await budget.admit(GPT) == pytest.approx(0.0115)
    blocked = asyncio.create_task(budget.admit(GPT))  # the room is taken: waits
    await run_others()
    assert not blocked.done()
    budget.settle(GPT, 0.0115, 0.0)  # answered with an uncharged error: the room is back
    assert await asyncio.wait_for(blocked, 1) == pytest.approx(0.0115)
    budget.settle(GPT, 0.0115, 0.005)
    with pytest.raises(BudgetExceededError, match=r"\$0.0450 spent"):
        await budget.admit(GPT)  # 0.045 + 0.01 > 0.0515 whatever happens next
    assert budget.refused == 1 and budget.reserved == 0


async def test_estimates_are_per_target_and_follow_the_dearest_answer() -> None:
    budget = Budget(10.0)
    budget.settle(GPT, await budget.admit(GPT), 0.02)
    budget.settle(GPT, await budget.admit(GPT), 0.03)
    budget.settle(GPT, await budget.admit(GPT), 0.01)
    assert budget.estimate(GPT) == pytest.approx(0.03 * (1 + COST_HEADROOM))
    assert budget.estimate(SONAR) == DEFAULT_COSTS["perplexity"]  # no answer yet
    budget.settle(SONAR, await budget.admit(SONAR), 0.0)  # an uncharged error teaches nothing
    assert budget.estimate(SONAR) == DEFAULT_COSTS["perplexity"]


async def test_a_target_learning_its_first_cost_is_waited_for_not_refused() -> None:
    # The default (0.10) does not fit in 0.15 twice; the first answer shows calls cost 0.01.
    budget = Budget(0.15)
    first = await budget.admit(GPT)
    second = asyncio.create_task(budget.admit(GPT))
    await run_others()
    assert not second.done()
    budget.settle(GPT, first, 0.01)
    await asyncio.wait_for(second, 1)
    assert budget.refused == 0


async def test_an_unknown_charge_counts_at_its_estimate() -> None:
    budget = Budget(1.0, default=0.04)
    budget.settle(GPT, await budget.admit(GPT), None)
    assert (budget.spent, budget.unknown, budget.unknown_cost) == (0.04, 1, 0.04)
    assert budget.estimate(GPT) == 0.04  # an unknown charge teaches nothing either


# -- the bars, measured at the emulator --------------------------------------------------------

TARGETS = [
    Target("chat_gpt", "gpt-4.1-mini", {"web_search": True}),
    Target("perplexity", "sonar"),
]
PROMPTS = [f"which tool {i} " + "word " * (i % 17) for i in range(40)]


async def sweep(max_cost: float | None) -> tuple[list[dfs_async.PromptResult], Emulator]:
    config = EmulatorConfig(latency=(0.01, 0.03), seed=3)
    async with (
        Emulator(config) as emu,
        client_for(emu, rate_limit=60_000, live_concurrency=10) as client,
    ):
        results = await gather_prompts(client, PROMPTS, targets=TARGETS, max_cost=max_cost)
    return results, emu


async def test_the_two_budget_bars_at_the_server() -> None:
    free, emu = await sweep(None)
    total = emu.record.total_cost
    assert all(r.ok for r in free) and total == pytest.approx(sum(r.cost for r in free))

    # A run whose total is under the cap: nothing refused, everything answered once.
    under, emu = await sweep(total / 0.75)
    assert [r.error for r in under if not r.ok] == []
    assert len(emu.record.calls) == len(PROMPTS) * 2
    assert emu.record.total_cost == pytest.approx(total)

    # A cap at half the total: spent to at least 90 % of it, never a cent past it.
    cap = total / 2
    half, emu = await sweep(cap)
    assert 0.9 * cap <= emu.record.total_cost <= cap, (emu.record.total_cost, cap)
    assert max(emu.record.charges_by_key().values()) == 1
    refused = [r for r in half if isinstance(r.error, BudgetExceededError)]
    assert refused and len(emu.record.calls) == len(half) - len(refused)


async def test_a_cut_off_answer_is_recorded_as_unknown_and_counted_against_the_cap(
    tmp_path: Path,
) -> None:
    prompts = [f"gadget {i}" + (" [[fault:cut_off]]" if i % 3 == 0 else "") for i in range(30)]
    out = tmp_path / "r.jsonl"
    config = EmulatorConfig(latency=(0.01, 0.02), seed=5)
    async with (
        Emulator(config) as emu,
        client_for(emu, rate_limit=60_000, live_concurrency=4) as client,
    ):
        results = await gather_prompts(client, prompts, targets=TARGETS[1:], sink=out, max_cost=0.2)
    cut = [r for r in results if isinstance(r.error, dfs_async.DecodeError)]
    assert cut and all(r.cost == 0.0 and (r.cost_estimate or 0) > 0 for r in cut)
    records = {rec.key: rec for rec in read_results(out)}
    assert all(records[r.key].cost_estimate == r.cost_estimate for r in cut)
    # The server charged the cut answers; the cap held because their estimates were counted.
    assert all(c.charged > 0 for c in emu.record.calls if c.fault == "cut_off")
    assert emu.record.total_cost <= 0.2
    counted = sum(r.cost + (r.cost_estimate or 0.0) for r in results)
    assert counted >= emu.record.total_cost


async def test_a_resumed_sweep_counts_what_the_file_already_spent(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _, emu = await sweep(None)
    cap = emu.record.total_cost / 2
    config = EmulatorConfig(latency=(0.01, 0.03), seed=3)
    async with (
        Emulator(config) as emu,
        client_for(emu, rate_limit=60_000, live_concurrency=10) as client,
    ):
        # A first run without a cap answers a third of the items, then the sweep is resumed
        # with one: the cap covers the whole file, both runs together.
        await gather_prompts(client, PROMPTS[: len(PROMPTS) // 3], targets=TARGETS, sink=out)
        first = emu.record.total_cost
        again = await gather_prompts(client, PROMPTS, targets=TARGETS, sink=out, max_cost=cap)
        assert 0 < first < emu.record.total_cost <= cap
        assert emu.record.total_cost >= 0.9 * cap
        assert max(emu.record.charges_by_key().values()) == 1
        assert any(isinstance(r.error, BudgetExceededError) for r in again)
        # A third run with the same cap: the file has spent it, nothing more is sent.
        calls = len(emu.record.calls)
        await gather_prompts(client, PROMPTS, targets=TARGETS, sink=out, max_cost=cap)
        assert len(emu.record.calls) == calls
