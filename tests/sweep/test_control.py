"""Ending a sweep early never pays twice: a graceful stop and closing the stream with a sink
wait for the calls already sent and record them; a re-run then sends only what was never
sent. Checked at the emulator: charges per key, calls, in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

import dfs_async
from dfs_async import SweepControl, gather_prompts, iter_prompts, read_results
from dfs_async.testing import Emulator, EmulatorConfig

pytestmark = pytest.mark.anyio

PROMPTS = [f"which espresso machine {i}" for i in range(40)]
ASK: dict[str, Any] = {"platform": "gemini", "model_name": "gemini-2.5-flash"}


def client_for(emu: Emulator) -> dfs_async.AsyncClient:
    return dfs_async.AsyncClient(
        emu.login, emu.password, base_url=emu.base_url, rate_limit=60_000, live_concurrency=6
    )


def config() -> EmulatorConfig:
    return EmulatorConfig(latency=(0.15, 0.3), seed=2)


async def test_a_graceful_stop_records_every_call_sent_and_a_rerun_pays_none_twice(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r.jsonl"
    control = SweepControl()
    async with Emulator(config()) as emu, client_for(emu) as client:
        got = []
        async with aclosing(iter_prompts(client, PROMPTS, sink=out, control=control, **ASK)) as s:
            async for result in s:
                got.append(result)
                if len(got) == 8:
                    assert control.in_flight > 0  # calls on the wire when asked to stop
                    control.stop()
        # Every call the server saw was answered, handed on and recorded.
        assert len(emu.record.calls) == len(got) == len(read_results(out))
        assert control.abandoned == 0 and emu.record.in_flight["gemini"] == 0
        assert len(got) < len(PROMPTS)

        again = await gather_prompts(client, PROMPTS, sink=out, **ASK)
    assert len(got) + len(again) == len(PROMPTS)
    assert len(emu.record.calls) == len(PROMPTS)
    assert max(emu.record.charges_by_key().values()) == 1


async def test_breaking_out_with_a_sink_keeps_the_answers_of_calls_already_sent(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r.jsonl"
    async with Emulator(config()) as emu, client_for(emu) as client:
        stream = iter_prompts(client, PROMPTS, sink=out, **ASK)
        async with aclosing(stream):
            seen = 0
            async for _ in stream:
                seen += 1
                if seen == 5:
                    break  # aclosing closes the stream: it waits for the calls on the wire
        sent = len(emu.record.calls)
        assert sent > seen and len(read_results(out)) == sent
        await gather_prompts(client, PROMPTS, sink=out, **ASK)
    assert len(emu.record.calls) == len(PROMPTS)
    assert max(emu.record.charges_by_key().values()) == 1


async def test_cancelling_abandons_calls_in_flight_and_says_how_many() -> None:
    control = SweepControl()
    async with Emulator(config()) as emu, client_for(emu) as client:

        async def consume() -> None:
            async for _ in iter_prompts(client, PROMPTS, control=control, **ASK):
                pass

        task = asyncio.create_task(consume())
        while control.in_flight < 6:  # noqa: ASYNC110 - polls the sweep's own counter
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert control.abandoned == 6  # on the wire: the server runs (and bills) them
        # Their answers are still read (and free the slots when they come): not yet.
        assert client.stats.governor.platforms["gemini"].in_use == 6


async def test_a_stop_before_a_retry_sends_nothing_more() -> None:
    control = SweepControl()
    arrived = 0

    def failing(call: dfs_async.testing.CallInfo) -> dfs_async.testing.Fault:
        # The stop comes as the server holds both first attempts (two slots): they are on
        # the wire, the two other items wait for a slot.
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            control.stop()
        return dfs_async.testing.Fault.SERVER_ERROR  # retryable, not charged

    emu_config = EmulatorConfig(latency=(0.05, 0.05), faults=failing)
    retry = dfs_async.RetryPolicy(max_retries=5, backoff_base=0.01)
    async with Emulator(emu_config) as emu:
        async with dfs_async.AsyncClient(
            emu.login, emu.password, base_url=emu.base_url, retry=retry, live_concurrency=2
        ) as client:
            results = await gather_prompts(client, PROMPTS[:4], control=control, **ASK)
        # Both calls on the wire were answered and handed on; neither was resent.
        assert len(emu.record.calls) == 2
    assert [type(r.error) for r in results] == [dfs_async.ServerError] * 2
    assert client.stats.retries == {}


async def test_a_sweep_stopped_before_it_starts_sends_nothing_and_ends() -> None:
    control = SweepControl()
    control.stop()
    async with Emulator(config()) as emu, client_for(emu) as client:
        results = await gather_prompts(client, PROMPTS, control=control, **ASK)
        with pytest.raises(RuntimeError, match="one sweep"):
            await gather_prompts(client, PROMPTS, control=control, **ASK)
    assert results == [] and emu.record.calls == []


class StopOnAdmission(dfs_async.LocalGovernor):
    """Calls ``stop`` as the ``nth`` call is admitted, before its exchange is scheduled
    (``soon=False``) or just after (``soon=True``, the window a signal can land in); either
    way before the exchange begins."""

    def __init__(self, stop: Callable[[], object], nth: int, *, soon: bool = True) -> None:
        super().__init__(dfs_async.Limits(rate_limit=60_000, live_concurrency=6))
        self.stop, self.nth, self.soon, self.admitted = stop, nth, soon, 0

    async def acquire(self, platform: dfs_async.Platform | None, *, priority: int = 0) -> None:
        await super().acquire(platform, priority=priority)
        self.admitted += 1
        if self.admitted == self.nth:
            if self.soon:
                asyncio.get_running_loop().call_soon(self.stop)
            else:
                self.stop()


async def settled(governor: dfs_async.LocalGovernor) -> None:
    """Wait (up to ~5 s) until no gemini slot is in use: a call that left anyway would reach
    the server meanwhile."""
    for _ in range(500):
        if governor.state().platforms["gemini"].in_use == 0:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("nth", [1, 3, 7])
async def test_a_stop_between_admission_and_send_sends_nothing_unrecorded(
    tmp_path: Path, nth: int
) -> None:
    out = tmp_path / "r.jsonl"
    control = SweepControl()
    governor = StopOnAdmission(control.stop, nth)
    async with Emulator(config()) as emu:
        async with dfs_async.AsyncClient(
            emu.login, emu.password, base_url=emu.base_url, governor=governor
        ) as client:
            results = await gather_prompts(client, PROMPTS, sink=out, control=control, **ASK)
            await settled(governor)
        # Every call the server saw (and charged) is recorded; the one admitted as the stop
        # came was never sent, and its slot was given back.
        assert len(emu.record.calls) == len(results) == len(read_results(out)) == nth - 1
        assert all(r.ok for r in results) and control.abandoned == 0
        assert governor.state().platforms["gemini"].in_use == 0


@pytest.mark.parametrize("nth", [1, 7])
async def test_a_cancel_between_admission_and_send_abandons_only_calls_on_the_wire(
    tmp_path: Path, nth: int
) -> None:
    # The cancel reaches the sweep, which closes and cancels its workers, before the nth
    # call's exchange begins.
    out = tmp_path / "r.jsonl"
    control = SweepControl()
    sweep: list[asyncio.Task[object]] = []
    governor = StopOnAdmission(lambda: sweep[0].cancel(), nth, soon=False)
    async with Emulator(config()) as emu:
        async with dfs_async.AsyncClient(
            emu.login, emu.password, base_url=emu.base_url, governor=governor
        ) as client:
            sweep.append(
                asyncio.create_task(
                    gather_prompts(client, PROMPTS, sink=out, control=control, **ASK)
                )
            )
            with pytest.raises(asyncio.CancelledError):
                await sweep[0]
            await settled(governor)  # the abandoned calls are answered, their slots freed
        # The call admitted as the cancel came never left, and every call the server ran is
        # recorded or counted as abandoned, and no other: a call cancelled before its first
        # byte is neither.
        assert len(emu.record.calls) == len(read_results(out)) + control.abandoned <= nth - 1
