"""At the ``max_cost`` cap a prompt is answered by all its targets and samples or by none."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from dfs_async import BudgetExceededError, Target, gather_prompts
from dfs_async.testing import Emulator, EmulatorConfig, task_key

from .._fakes import client_for

pytestmark = pytest.mark.anyio

TARGETS = [
    Target("chat_gpt", "gpt-4.1-mini"),
    Target("claude", "claude-sonnet-4-0"),
    Target("perplexity", "sonar"),
]


async def test_the_cap_leaves_no_prompt_partly_answered() -> None:
    prompts = [f"which CRM for a team of {i}?" for i in range(40)]
    config = EmulatorConfig(latency=(0.0, 0.02), seed=11)
    async with Emulator(config) as emu, client_for(emu) as client:
        results = await gather_prompts(
            client, prompts, targets=TARGETS, samples=2, max_cost=0.4, cost_estimate=0.01
        )
        charged = Counter(call.key for call in emu.record.calls if call.charged > 0)
        total = emu.record.total_cost
    assert total <= 0.4
    answered_per_prompt: dict[int, int] = defaultdict(int)
    for r in results:
        assert r.ok or isinstance(r.error, BudgetExceededError)
        answered_per_prompt[r.index] += r.ok
    # What the server charged per prompt (samples send one body twice: two charges, one key).
    charged_per_prompt = {
        i: sum(charged[task_key(r.request)] for r in results if r.index == i and r.sample == 0)
        for i in range(len(prompts))
    }
    assert set(answered_per_prompt.values()) <= {0, 6}
    assert charged_per_prompt == answered_per_prompt
    complete = sum(n == 6 for n in answered_per_prompt.values())
    assert 0 < complete < len(prompts)  # the cap did bind, and some prompts were answered
