"""One open `JsonlSink` for several sweeps: its index and spend follow every record written, so a
second pass pays for nothing twice and its cap covers what the first one spent; two sweeps on the
one sink at the same time are refused. Charges are counted per key at the emulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from dfs_async import JsonlSink, Target, gather_prompts, read_results
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import client_for

PROMPTS = [f"which CRM for a team of {i}?" for i in range(20)]
TARGET = [Target("gemini", "gemini-2.5-flash")]

pytestmark = pytest.mark.anyio


async def test_a_second_pass_on_one_open_sink_sends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.01))) as emu, client_for(emu) as client:
        with JsonlSink(path) as sink:
            first = await gather_prompts(client, PROMPTS, sink=sink, targets=TARGET)
            assert len(sink.done) == 20 and sink.spent == pytest.approx(sum(r.cost for r in first))
            second = await gather_prompts(client, PROMPTS, sink=sink, targets=TARGET)
        record = emu.record
    assert (len(first), len(second)) == (20, 0)
    assert Counter(record.charges_by_key().values()) == {1: 20}  # no key charged twice
    assert len(path.read_bytes().splitlines()) == 20


async def test_the_cap_of_a_second_pass_counts_what_the_first_spent(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.01))) as emu, client_for(emu) as client:
        with JsonlSink(path) as sink:
            await gather_prompts(client, PROMPTS[:10], sink=sink, targets=TARGET)
            cap = sink.spent  # the first pass spent the whole cap already
            again = await gather_prompts(client, PROMPTS, sink=sink, max_cost=cap, targets=TARGET)
        record = emu.record
    assert sum(record.charges_by_key().values()) == 10  # the second pass paid nothing
    assert sum(c.charged for c in record.calls) <= cap + 1e-9
    assert {type(r.error).__name__ for r in again} == {"BudgetExceededError"}


async def test_two_sweeps_at_once_on_one_sink_pay_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.2, 0.3))) as emu, client_for(emu) as client:
        with JsonlSink(path) as sink:
            both = await asyncio.gather(
                gather_prompts(client, PROMPTS, sink=sink, targets=TARGET),
                gather_prompts(client, PROMPTS, sink=sink, targets=TARGET),
                return_exceptions=True,
            )
        record = emu.record
    assert Counter(record.charges_by_key().values()) == {1: 20}, both
    # The second is refused with a clear error, or shares the sink: either way each key once.
    refused = [r for r in both if isinstance(r, BaseException)]
    assert all("in use by another sweep" in str(e) for e in refused)
    assert len(read_results(path)) == 20


def test_a_sink_refuses_a_second_sweep_while_one_runs(tmp_path: Path) -> None:
    with JsonlSink(tmp_path / "r.jsonl") as sink:
        first = sink.sweeping()
        first.__enter__()
        with pytest.raises(RuntimeError, match="in use by another sweep"), sink.sweeping():
            pass
        first.__exit__(None, None, None)
        with sink.sweeping():  # one after the other is fine
            pass
