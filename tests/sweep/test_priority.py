"""A user waiting goes ahead of bulk work: ``live()`` calls beside running sweeps."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import pytest

from dfs_async import gather_prompts
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import client_for

pytestmark = pytest.mark.anyio

SERVICE = 0.2
ASK: dict[str, Any] = {"platform": "claude", "model_name": "claude-sonnet-4-0"}


async def test_interactive_calls_wait_at_most_about_one_slot_turnover_beside_three_sweeps() -> None:
    config = EmulatorConfig(latency=(SERVICE, SERVICE), live_concurrency=3)
    async with Emulator(config) as emu, client_for(emu, live_concurrency=3) as client:
        sweeps = [
            asyncio.create_task(gather_prompts(client, [f"bulk {s}-{i}" for i in range(25)], **ASK))
            for s in range(3)
        ]
        while sum(emu.record.in_flight.values()) < 3:  # noqa: ASYNC110 - the server's count
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        waits = []
        for i in range(8):
            started = loop.time()
            await client.live(
                "claude", user_prompt=f"a user asks {i}", model_name="claude-sonnet-4-0"
            )
            waits.append(loop.time() - started)
        still_running = sum(not s.done() for s in sweeps)
        done = await asyncio.gather(*sweeps)
    assert still_running == 3  # every interactive call ran beside all three sweeps
    assert all(r.ok for results in done for r in results)
    assert max(emu.record.max_in_flight.values()) <= 3
    # Served at the next free slot: one service time plus at most about one turnover. In
    # arrival order it would wait behind the sweeps' queued calls (3 sweeps x 5 workers).
    assert statistics.median(waits) <= 1.5 * SERVICE + 0.05, waits
