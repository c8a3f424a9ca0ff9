"""`Target` and `PromptResult` as a script uses them: typed answers, keyword fields."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from dfs_async import (
    Annotation,
    AsyncClient,
    LiveRequest,
    PromptResult,
    Target,
    ValidationError,
    gather_prompts,
    read_results,
    request_key,
)
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import FIXTURES, OK_BODY, ScriptedTransport, client_for

pytestmark = pytest.mark.anyio


def test_a_targets_fields_may_be_keywords() -> None:
    by_keyword = Target("chat_gpt", "gpt-4.1-mini", web_search=True)
    assert by_keyword == Target("chat_gpt", "gpt-4.1-mini", {"web_search": True})
    assert Target("claude", "x", {"a": 1}, b=2).fields == {"a": 1, "b": 2}
    assert Target("claude", "x").fields is None
    assert pickle.loads(pickle.dumps(by_keyword)) == by_keyword
    with pytest.raises(AttributeError):
        by_keyword.model_name = "other"  # type: ignore[misc]


def test_an_unanswered_items_answer_raises_its_error() -> None:
    error = ValidationError("user_prompt", "too long")
    request = LiveRequest(user_prompt="x")
    failed = PromptResult(0, "claude", request, "k", error=error, target=Target("claude", "m"))
    with pytest.raises(ValidationError, match="too long"):
        failed.answer  # noqa: B018


async def test_an_answered_items_answer_is_typed_and_its_annotations_a_list() -> None:
    body = (FIXTURES / "chat_gpt_live_response.json").read_bytes()
    async with AsyncClient("l", "p", transport=ScriptedTransport((200, body))) as client:
        [result] = await gather_prompts(client, ["q"], platform="chat_gpt", model_name="gpt-4.1")
    answer = result.answer  # LiveResponse, not LiveResponse | None
    assert answer is result.response
    assert answer.result is not None
    cited = answer.result.annotations()
    assert isinstance(cited, list) and cited[:1] == cited[0:1]
    assert all(isinstance(a, Annotation) for a in cited) and len(cited) > 0


async def test_a_result_gives_its_target_and_the_file_keeps_its_index(tmp_path: Path) -> None:
    targets = [
        Target("chat_gpt", "gpt-4.1-mini", web_search=True),
        Target("perplexity", "sonar"),
    ]
    out = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu, client_for(emu) as client:
        results = await gather_prompts(client, ["best CRM", "best VPN"], targets=targets, sink=out)
    pairs = [(i, t) for i in range(2) for t in range(2)]
    assert [(r.index, r.target_index) for r in results] == pairs
    for r in results:
        assert r.ok
        assert r.target is targets[r.target_index]  # the caller's own object, typed Target
        assert (r.target.platform, r.target.model_name) == (r.platform, r.request.model_name)
    assert results[0].target.fields == {"web_search": True}
    by_target = Counter(r.target for r in results)  # targets group results, fields and all
    assert by_target == {targets[0]: 2, targets[1]: 2}
    assert hash(Target("chat_gpt", "gpt-4.1-mini", web_search=True)) == hash(targets[0])
    assert results[0].request.web_search is True
    # On disk "target" is still the index, as in every earlier results file.
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted((line["index"], line.get("target", 0)) for line in lines) == pairs
    assert sorted((r.index, r.target_index) for r in read_results(out)) == pairs


async def test_a_sweep_without_targets_names_the_target_it_made() -> None:
    own = LiveRequest(user_prompt="q", platform="gemini", model_name="gemini-2.5-flash")
    nameless = LiveRequest(user_prompt="q", model_name="gemini-2.5-flash")
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu, client_for(emu) as client:
        plain = await gather_prompts(
            client, ["a", "b"], platform="claude", model_name="claude-sonnet-4-0", temperature=0.5
        )
        [named, unnamed] = await gather_prompts(client, [own, nameless])
    assert plain[0].target == Target("claude", "claude-sonnet-4-0", temperature=0.5)
    assert plain[0].target is plain[1].target  # one Target for the sweep, not one per result
    assert named.ok and named.target == Target("gemini", "gemini-2.5-flash")
    # A request that names no platform fails unsent; its target says so with an empty platform.
    assert not unnamed.ok and unnamed.platform is None
    assert (unnamed.target.platform, unnamed.target.model_name) == ("", "gemini-2.5-flash")


async def test_a_results_file_written_before_resumes_with_its_target_index(tmp_path: Path) -> None:
    # A line as earlier versions wrote it: "target" holds the index of the target.
    request = LiveRequest(user_prompt="best CRM", model_name="sonar")
    old = {
        "key": request_key("perplexity", request),
        "index": 0,
        "platform": "perplexity",
        "model_name": "sonar",
        "prompt": "best CRM",
        "ok": True,
        "status_code": 20000,
        "cost": 0.002,
        "target": 1,
        "response": msgspec.json.decode(OK_BODY),
    }
    out = tmp_path / "old.jsonl"
    out.write_bytes(msgspec.json.encode(old) + b"\n")
    (record,) = read_results(out)
    assert record.ok and record.target_index == 1
    targets = [Target("chat_gpt", "gpt-4.1-mini"), Target("perplexity", "sonar")]
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu, client_for(emu) as client:
        results = await gather_prompts(client, ["best CRM"], targets=targets, sink=out)
        sent = [call.platform for call in emu.record.calls]
    assert sent == ["chat_gpt"]  # the perplexity answer in the old file is not paid again
    assert [(r.target_index, r.target) for r in results] == [(0, targets[0])]
    assert sorted(r.target_index for r in read_results(out)) == [0, 1]
