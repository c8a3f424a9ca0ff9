"""tasks_ready polls go evenly spaced, not in bursts that spend the window's allowance at once
(``_sweep/_standard.py``): checked on the emulator's record of tasks_ready arrivals."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import dfs_async
from dfs_async import AsyncClient, Target
from dfs_async.testing import Emulator, EmulatorConfig

pytestmark = pytest.mark.anyio

READY: dict[str, Any] = {"tasks_ready_limit": 10, "tasks_ready_period": 1.0}
SPACING = 1.0 / 10


async def test_tasks_ready_polls_are_evenly_spaced() -> None:
    # Tasks finish over 1–2 s, so the sweep polls tasks_ready many times on two platforms;
    # the window limiter alone would let 10 go back to back.
    config = EmulatorConfig(
        latency=(0.0, 0.0), standard_delay=(1.0, 2.0), rate_limit=600, rate_period=1.0, **READY
    )
    async with (
        Emulator(config) as emu,
        AsyncClient(
            emu.login,
            emu.password,
            base_url=emu.base_url,
            rate_limit=600,
            rate_period=1.0,
            **READY,
        ) as client,
    ):
        results = await dfs_async.gather_prompts(
            client,
            [f"case {i}" for i in range(20)],
            targets=[Target("claude", "claude-sonnet-4-0"), Target("gemini", "gemini-2.5-flash")],
            method="standard",
        )
    assert all(r.ok for r in results)
    polls = sorted(emu.record.standard.ready_calls)
    assert len(polls) >= 6
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    # Each poll leaves `spacing` after the one before; at the server a little less when one
    # arrives late (a busy machine), never the near-zero gaps of a burst.
    assert min(gaps) >= SPACING * 0.5, gaps
