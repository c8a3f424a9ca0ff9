"""One open `JsonlSink` for several sweeps: its index and spend follow every record written, so a
second pass pays for nothing twice and its cap covers what the first one spent; two sweeps on the
one sink at the same time are refused. Charges are counted per key at the emulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from dfs_async import ErrorRecord, JsonlSink, ResultRecord, Target, gather_prompts, read_results
from dfs_async._records._index import read_index
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


def record(key: str, **fields: object) -> ResultRecord:
    base: dict[str, object] = {"index": 0, "platform": "claude", "model_name": "m", "prompt": "p"}
    return ResultRecord(key=key, **{**base, **fields})  # type: ignore[arg-type]


def test_the_index_a_sink_keeps_while_writing_is_the_one_read_back(tmp_path: Path) -> None:
    # Standard tasks: posted (prepaid), posted again with its id, then collected (whole cost);
    # one never collected; a failure cured later; a settled failure; an unknown charge.
    path = tmp_path / "r.jsonl"
    settled = ErrorRecord(type="DeadlineExceededError", message="late", settled=True)
    transient = ErrorRecord(type="RateLimitError", message="busy")
    records = [
        record("a" * 32, ok=False, posted=True),
        record("a" * 32, ok=False, posted=True, task_id="t1", cost=0.01),
        record("a" * 32, ok=True, task_id="t1", cost=0.03),
        record("b" * 32, ok=False, posted=True, task_id="t2", cost=0.01),
        record("c" * 32, ok=False, error=transient),
        record("c" * 32, ok=True, cost=0.02),
        record("d" * 32, ok=False, error=settled, cost_estimate=0.07),
    ]
    with JsonlSink(path) as sink:
        for rec in records:
            sink.write_record(rec)
        live = sink.index
        assert live.spent == pytest.approx(0.03 + 0.01 + 0.02 + 0.07)
        assert dict(live.posted) == {"b" * 32: "t2"}
        assert (len(live.done), len(live.failed), len(live.settled)) == (2, 1, 1)
        assert live.costs.mean(("claude", "m", False)) == pytest.approx(0.025)
    again = read_index(path)
    assert again.spent == pytest.approx(live.spent)
    assert again.posted == live.posted
    assert (again.done, again.failed, again.settled) == (live.done, live.failed, live.settled)
