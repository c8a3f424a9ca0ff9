"""A sweep's arguments are checked before anything opens or is sent (`SweepSpec.check`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dfs_async import (
    JsonlSink,
    LiveRequest,
    Target,
    ValidationError,
    gather_prompts,
    plan_sweep,
    request_key,
)
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import client_for

pytestmark = pytest.mark.anyio

FAST = EmulatorConfig(latency=(0.0, 0.0))
TARGET: dict[str, Any] = {"platform": "claude", "model_name": "claude-sonnet-4-0"}


async def test_a_bad_method_leaves_the_results_file_untouched_and_unlocked(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    async with Emulator(FAST) as emu, client_for(emu) as client:
        with pytest.raises(ValidationError, match="method"):
            await gather_prompts(client, ["a", "b"], sink=out, method="Live", **TARGET)
        assert not out.exists()  # never opened, so never created
        # The same path serves the next sweep of this process at once.
        results = await gather_prompts(client, ["a", "b"], sink=out, **TARGET)
        assert [r.ok for r in results] == [True, True]
        assert sorted(emu.record.charges_by_key().values()) == [1, 1]
    with JsonlSink(out) as sink:  # and nobody holds its lock any more
        assert len(sink.done) == 2


async def test_a_misspelled_option_is_refused_before_anything_is_recorded_or_sent(
    tmp_path: Path,
) -> None:
    out = tmp_path / "results.jsonl"
    async with Emulator(FAST) as emu, client_for(emu) as client:
        with pytest.raises(TypeError, match=r"'max_costs'.*did you mean 'max_cost'\?"):
            await gather_prompts(client, ["a", "b"], sink=out, max_costs=1.0, **TARGET)
        assert emu.record.calls == []
        assert not out.exists()
        # The corrected run pays for every item: nothing was recorded as settled before.
        results = await gather_prompts(client, ["a", "b"], sink=out, max_cost=1.0, **TARGET)
    assert [r.ok for r in results] == [True, True]
    assert len(emu.record.charges_by_key()) == 2


async def test_request_fields_still_pass_through_as_keywords() -> None:
    async with Emulator(FAST) as emu, client_for(emu) as client:
        [result] = await gather_prompts(client, ["a"], max_output_tokens=200, **TARGET)
    assert result.ok
    assert result.request.max_output_tokens == 200


async def test_a_targets_unknown_field_is_refused_up_front() -> None:
    async with Emulator(FAST) as emu, client_for(emu) as client:
        with pytest.raises(ValidationError, match="'max_tokens' is not a request field"):
            await gather_prompts(
                client, ["a"], targets=[Target("claude", "claude-sonnet-4-0", {"max_tokens": 9})]
            )
    assert emu.record.calls == []


async def test_a_single_string_is_refused_not_sent_one_letter_at_a_time() -> None:
    async with Emulator(FAST) as emu, client_for(emu) as client:
        with pytest.raises(TypeError, match="wrap it in a list"):
            await gather_prompts(client, "best CRM", **TARGET)
        with pytest.raises(TypeError, match="wrap it in a list"):
            await gather_prompts(client, b"best CRM", **TARGET)  # type: ignore[arg-type]
    assert emu.record.calls == []


async def test_a_prompts_line_ending_is_not_part_of_it(tmp_path: Path) -> None:
    lines = tmp_path / "prompts.txt"
    lines.write_text("best CRM\nbest VPN\r\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    async with Emulator(FAST) as emu, client_for(emu) as client:
        with lines.open(encoding="utf-8", newline="") as f:
            results = await gather_prompts(client, f, sink=out, **TARGET)
        assert [r.request.user_prompt for r in results] == ["best CRM", "best VPN"]
        stripped = LiveRequest(user_prompt="best CRM", model_name="claude-sonnet-4-0")
        assert results[0].key == request_key("claude", stripped)
        # The same prompts as a list (or from the CLI) are already answered.
        again = await gather_prompts(client, ["best CRM", "best VPN"], sink=out, **TARGET)
    assert again == []
    assert len(emu.record.calls) == 2


async def test_plan_sweep_checks_its_arguments_like_the_sweep() -> None:
    with pytest.raises(TypeError, match="did you mean 'cost_estimate'"):
        await plan_sweep(["a"], cost_estimat=0.1, **TARGET)
    with pytest.raises(TypeError, match="wrap it in a list"):
        await plan_sweep("abc", **TARGET)
    plan = await plan_sweep(["a", "a\n", "x" * 501], **TARGET)
    assert (plan.items, plan.duplicates, plan.invalid, plan.calls) == (3, 1, 1, 1)


async def test_a_model_the_platform_does_not_list_stops_that_target_at_once() -> None:
    targets = [Target("chat_gpt", "gpt-41-mini"), Target("claude", "claude-sonnet-4-0")]
    prompts = [f"prompt {i}" for i in range(50)]
    async with Emulator(FAST) as emu, client_for(emu, live_concurrency=2) as client:
        results = await gather_prompts(client, prompts, targets=targets)
        sent = [c for c in emu.record.calls if c.platform == "chat_gpt" and c.path.endswith("live")]
    refused = [r for r in results if r.platform == "chat_gpt"]
    assert all(not r.ok for r in refused)
    assert all(r.ok for r in results if r.platform == "claude")
    # Only the calls already on the wire when the first refusal came reached the server.
    assert len(sent) <= 2 + 2  # live_concurrency plus the spare workers queued at the slots
    rest = [r for r in refused if isinstance(r.error, ValidationError)]
    assert len(rest) >= 50 - len(sent)
    assert "did you mean 'gpt-4.1-mini'" in str(rest[0].error)


async def test_a_sweeps_queue_timeout_bounds_each_calls_wait_and_sends_nothing_late() -> None:
    slow = EmulatorConfig(latency=(0.5, 0.5))
    async with Emulator(slow) as emu, client_for(emu, live_concurrency=1) as client:
        results = await gather_prompts(client, ["a", "b", "c"], queue_timeout=0.2, **TARGET)
        with pytest.raises(ValidationError, match="queue_timeout"):
            await gather_prompts(client, ["a"], queue_timeout=-1, **TARGET)
    # One slot: the first call goes, the two behind it give up after 0.2 s, never sent.
    assert [type(r.error).__name__ for r in results] == [
        "NoneType",
        "QueueTimeoutError",
        "QueueTimeoutError",
    ]
    assert len(emu.record.calls) == 1
