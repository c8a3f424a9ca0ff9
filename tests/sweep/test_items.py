"""What a sweep sends per input row: duplicates once, N samples with their own keys, the
caller's id and metadata carried to the result and the record but never sent, and invalid
items keyed and recorded as the request that was meant."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import dfs_async
from dfs_async import (
    DEFAULT_COSTS,
    AsyncClient,
    LiveRequest,
    PromptItem,
    SweepControl,
    Target,
    gather_prompts,
    read_results,
    request_key,
)
from dfs_async._sweep._items import PromptInput
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import EchoTransport

pytestmark = pytest.mark.anyio


def client(transport: EchoTransport) -> AsyncClient:
    return AsyncClient(transport=transport, rate_limit=100_000, rate_period=1.0, burst=1000)


async def test_identical_items_in_one_sweep_are_sent_once() -> None:
    t = EchoTransport()
    control = SweepControl()
    prompts: list[str | LiveRequest] = ["a", "b", "a", LiveRequest(user_prompt="b"), "c", "a"]
    async with client(t) as c:
        results = await gather_prompts(
            c, prompts, platform="claude", model_name="m", control=control
        )
    assert sorted(t.prompts()) == ["a", "b", "c"]
    assert [r.index for r in results] == [0, 1, 4]
    assert control.duplicates == 3


async def test_samples_ask_each_prompt_n_times_under_distinct_keys(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    targets = [Target("gemini", "gemini-2.5-flash"), Target("perplexity", "sonar")]
    async with (
        Emulator(EmulatorConfig(latency=(0.0, 0.01))) as emu,
        AsyncClient(emu.login, emu.password, base_url=emu.base_url) as c,
    ):
        results = await gather_prompts(c, ["p0", "p1"], targets=targets, samples=3, sink=out)
        assert [(r.index, r.target_index, r.sample) for r in results] == [
            (i, t, s) for i in range(2) for t in range(2) for s in range(3)
        ]
        assert len({r.key for r in results}) == 12
        assert len(emu.record.calls) == 12 and max(emu.record.charges_by_key().values()) == 3
        # Sample 0 keeps the key the request always had; a re-run sends nothing.
        first = results[0]
        assert first.key == request_key("gemini", first.request)
        assert await gather_prompts(c, ["p0", "p1"], targets=targets, samples=3, sink=out) == []
        assert len(emu.record.calls) == 12
    records = read_results(out)
    assert sorted((r.index, r.target_index, r.sample) for r in records) == sorted(
        (r.index, r.target_index, r.sample) for r in results
    )
    with pytest.raises(dfs_async.ValidationError, match="samples"):
        await gather_prompts(c, ["p"], platform="gemini", model_name="m", samples=0)


async def test_ids_and_metadata_reach_the_record_and_never_the_api(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    t = EchoTransport()
    rows: list[PromptInput] = [
        PromptItem("best crm", id="row-7", metadata={"tier": "gold", "intent": ["buy"]}),
        PromptItem(LiveRequest(user_prompt="best vpn"), id=8),
        ("best crm", "row-9"),  # a tuple works too; another id: another item
    ]
    async with client(t) as c:
        results = await gather_prompts(c, rows, platform="claude", model_name="m", sink=out)
    assert [(r.id, r.metadata) for r in results] == [
        ("row-7", {"tier": "gold", "intent": ["buy"]}),
        (8, None),
        ("row-9", None),
    ]
    assert all(b"row-" not in body and b"tier" not in body for body in t.bodies)
    assert len(t.bodies) == 3
    records = {r.id: r for r in read_results(out)}
    assert records["row-7"].metadata == {"tier": "gold", "intent": ["buy"]}
    assert records[8].prompt == "best vpn"
    assert records["row-7"].key == request_key(
        "claude", LiveRequest(user_prompt="best crm", model_name="m"), item_id="row-7"
    )


async def test_an_invalid_item_is_keyed_and_recorded_as_the_request_meant(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r.jsonl"
    t = EchoTransport()
    targets = [Target("claude", "claude-sonnet-4-0", {"temperature": 1.5})]  # claude: <= 1
    async with client(t) as c:
        (result,) = await gather_prompts(c, ["q"], targets=targets, sink=out)
    assert isinstance(result.error, dfs_async.ValidationError) and t.bodies == []
    meant = LiveRequest(user_prompt="q", model_name="claude-sonnet-4-0", temperature=1.5)
    assert result.request == meant
    assert result.key == request_key("claude", meant)
    (record,) = read_results(out)
    assert (record.key, record.model_name) == (result.key, "claude-sonnet-4-0")


async def test_bad_ids_and_metadata_are_the_items_validation_errors() -> None:
    t = EchoTransport()
    rows = [
        PromptItem("a", id=1.5),  # type: ignore[arg-type]
        PromptItem("b", metadata={"x": object()}),
        PromptItem("c", metadata=["not", "a", "mapping"]),  # type: ignore[arg-type]
    ]
    async with client(t) as c:
        results = await gather_prompts(c, rows, platform="claude", model_name="m")
    assert [r.error.field for r in results if isinstance(r.error, dfs_async.ValidationError)] == [
        "id",
        "metadata",
        "metadata",
    ]
    assert t.bodies == []
    msgspec.json.encode([r.key for r in results])


async def test_rows_the_results_file_cannot_hold_are_recorded_errors(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    t = EchoTransport()
    rows: list[PromptInput] = [
        PromptItem("a", metadata={"x": object()}),
        PromptItem("b", metadata={"y": "lone \udcff surrogate"}),
        PromptItem("c", id="lone \udcff surrogate"),
        PromptItem("fine", id="row-4", metadata={"k": 1}),
    ]
    async with client(t) as c:
        results = await gather_prompts(c, rows, platform="claude", model_name="m", sink=out)
    assert [type(r.error).__name__ for r in results] == [
        "ValidationError",
        "ValidationError",
        "ValidationError",
        "NoneType",
    ]
    assert t.prompts() == ["fine"]
    recorded = {r.prompt: r for r in read_results(out, strict=True)}
    assert set(recorded) == {"a", "b", "c", "fine"}  # every row on disk, the bad ones too
    assert (recorded["fine"].id, recorded["fine"].metadata) == ("row-4", {"k": 1})
    async with client(t) as c:  # a re-run knows them all: nothing sent again
        assert await gather_prompts(c, rows, platform="claude", model_name="m", sink=out) == []
    assert t.prompts() == ["fine"]


async def test_validation_and_plans_need_no_client_nor_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    assert dfs_async.prepare_request("claude", user_prompt="q", model_name="m")[0] == "claude"
    with pytest.raises(dfs_async.ValidationError, match="temperature"):
        dfs_async.prepare_request("claude", user_prompt="q", model_name="m", temperature=3)
    targets = [Target("chat_gpt", "gpt-4.1-mini"), Target("perplexity", "sonar")]
    plan = await dfs_async.plan_sweep(["a", "b", "a", "x" * 501], targets=targets, samples=2)
    assert (plan.items, plan.invalid, plan.duplicates, plan.calls) == (16, 4, 4, 8)
    assert plan.cost == pytest.approx(4 * (DEFAULT_COSTS["chat_gpt"] + DEFAULT_COSTS["perplexity"]))
    assert {e.request.model_name for e in plan.errors} == {"gpt-4.1-mini", "sonar"}
