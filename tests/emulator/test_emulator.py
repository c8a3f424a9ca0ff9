"""The emulator's endpoints: shapes that decode with dfs_async's Structs, auth, body errors."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

import dfs_async.testing
from dfs_async import (
    PLATFORMS,
    LiveRequest,
    LiveResponse,
    ModelsResponse,
    Platform,
    UserDataResponse,
)
from dfs_async._platforms import USER_DATA_PATH, live_path, models_path
from dfs_async._wire._models import StatusEnvelope
from dfs_async.testing import Emulator, EmulatorConfig, ServerRecord, task_key

MODEL: dict[Platform, str] = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-sonnet-4-0",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}
VERSION: dict[Platform, str] = {
    "chat_gpt": "gpt-4.1-mini-2025-04-14",
    "claude": "claude-sonnet-4-20250514",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}


def auth(login: str = "emulator", password: str = "emulator") -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as session:
        yield session


async def live(
    http: aiohttp.ClientSession, platform: Platform, body: Any
) -> tuple[int, LiveResponse]:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    async with http.post(live_path(platform), data=raw) as response:
        return response.status, msgspec.json.decode(await response.read(), type=LiveResponse)


def task(platform: Platform, /, **fields: Any) -> dict[str, Any]:
    return {"user_prompt": "What are the best running shoes for beginners?",
            "model_name": MODEL[platform], **fields}  # fmt: skip


# -- public API -------------------------------------------------------------------------------


def test_public_names_import_and_are_documented() -> None:
    names = dfs_async.testing.__all__
    assert names == sorted(names)
    for name in names:
        obj = getattr(dfs_async.testing, name)
        assert obj.__doc__ and obj.__doc__.strip(), name


def test_only_loopback_addresses_are_accepted() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost"):
        Emulator(host=host)
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(ValueError, match="loopback"):
            Emulator(host=host)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="latency"):
        EmulatorConfig(latency=(2.0, 1.0))
    with pytest.raises(ValueError, match="rate_limit"):
        EmulatorConfig(rate_limit=0)
    with pytest.raises(ValueError, match="platform"):
        EmulatorConfig(live_concurrency={"bard": 3})  # type: ignore[dict-item]
    config = EmulatorConfig(fault_kinds=("reset",))  # type: ignore[arg-type]
    assert EmulatorConfig.from_json(config.to_json()) == config


# -- Live ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_live_answer_mirrors_the_fixture(
    emu: Emulator, http: aiohttp.ClientSession, platform: Platform
) -> None:
    body = task(platform, tag="t-1", **({} if platform == "perplexity" else {"web_search": True}))
    status, answer = await live(http, platform, [body])
    assert status == 200
    assert (answer.status_code, answer.status_message, answer.tasks_error) == (20000, "Ok.", 0)
    assert answer.time.endswith(" sec.") and answer.tasks_count == 1
    one = answer.tasks[0]
    assert one.status_code == 20000 and len(one.id.split("-")) == 5
    assert one.path == ["v3", "ai_optimization", platform, "llm_responses", "live"]
    assert one.data == {"api": "ai_optimization", "function": "llm_responses", "se": platform,
                        **body}  # fmt: skip
    result = answer.result
    assert result is not None and one.result_count == 1
    assert result.model_name == VERSION[platform] and result.web_search
    assert result.input_tokens > 0 and result.output_tokens > 0
    assert len(result.datetime) == 26 and result.datetime.endswith(" +00:00")
    assert answer.cost == one.cost == pytest.approx(result.money_spent + 0.0006)
    assert [item.type for item in result.items] == ["message"]
    assert result.fan_out_queries and result.text
    for note in result.annotations():
        assert note.url and note.url.startswith("https://") and note.title
        if platform == "gemini":  # a grounding redirect, and the page it leads to
            assert note.url.startswith("https://vertexaisearch.cloud.google.com/")
            assert note.direct_url and note.source_url == note.direct_url != note.url
        else:
            assert note.direct_url is None and note.source_url == note.url
        if platform in ("chat_gpt", "gemini"):
            assert note.start_index is not None and note.end_index is not None
            assert result.text[note.start_index : note.end_index] == note.text
        else:
            assert note.start_index is None
    [call] = emu.record.calls
    assert (call.platform, call.status_code, call.tag, call.admitted) == (
        platform,
        20000,
        "t-1",
        True,
    )
    assert call.charged == answer.cost == emu.record.total_cost
    assert call.key == task_key(body) == task_key(LiveRequest(**body))


@pytest.mark.anyio
async def test_base_names_resolve_and_costs_match_the_fixture_prices(
    http: aiohttp.ClientSession,
) -> None:
    _, answer = await live(http, "chat_gpt", [task("chat_gpt", web_search=True)])
    result = answer.result
    assert result is not None and result.model_name == "gpt-4.1-mini-2025-04-14"
    # The fixture's money_spent: $0.4/M input, $1.6/M output, $0.025 per web search.
    expected = result.input_tokens * 0.4e-6 + result.output_tokens * 1.6e-6 + 0.025
    assert result.money_spent == pytest.approx(expected, abs=1e-7)
    _, again = await live(http, "claude", [task("claude", model_name="claude-opus-4-20250514")])
    assert again.result is not None and again.result.model_name == "claude-opus-4-20250514"


@pytest.mark.anyio
async def test_annotations_are_null_without_web_search(http: aiohttp.ClientSession) -> None:
    for platform in ("chat_gpt", "claude", "gemini"):
        _, answer = await live(http, platform, [task(platform)])
        assert answer.result is not None and not answer.result.web_search
        [message] = answer.result.items
        assert message.sections[0].annotations is None
        assert answer.result.fan_out_queries == []
    _, answer = await live(http, "perplexity", [task("perplexity")])  # Sonar always searches
    assert answer.result is not None and answer.result.web_search


@pytest.mark.anyio
async def test_web_search_sometimes_finds_nothing_to_cite(http: aiohttp.ClientSession) -> None:
    empty = 0
    for i in range(60):
        body = task("chat_gpt", user_prompt=f"best espresso machine {i}", web_search=True)
        _, answer = await live(http, "chat_gpt", [body])
        assert answer.result is not None
        notes = answer.result.items[-1].sections[0].annotations
        assert notes is not None
        empty += not notes
    assert 0 < empty < 20


@pytest.mark.anyio
async def test_reasoning_items_only_for_reasoning(http: aiohttp.ClientSession) -> None:
    cases: list[tuple[Platform, dict[str, Any], bool]] = [
        ("chat_gpt", {"model_name": "o4-mini"}, True),
        ("chat_gpt", {"model_name": "gpt-4o"}, False),
        ("claude", {"use_reasoning": True, "max_output_tokens": 2000}, True),
        ("claude", {}, False),
        ("gemini", {"use_reasoning": True, "max_output_tokens": 2000}, True),
        ("gemini", {"model_name": "gemini-2.5-pro"}, True),  # Pro models always reason
        ("gemini", {"model_name": "gemini-2.0-flash"}, False),
        ("perplexity", {"model_name": "sonar-reasoning"}, False),
    ]
    for platform, fields, reasons in cases:
        _, answer = await live(http, platform, [task(platform, **fields)])
        result = answer.result
        assert result is not None, (platform, fields, answer.tasks[0].status_message)
        types = [item.type for item in result.items]
        assert types == (["reasoning", "message"] if reasons else ["message"]), (platform, fields)
        assert (result.reasoning_tokens or 0) > 0 if reasons else result.reasoning_tokens == 0
        if reasons:
            assert {s.type for s in result.items[0].sections} == {"summary_text"}


@pytest.mark.anyio
async def test_answers_are_deterministic(http: aiohttp.ClientSession) -> None:
    body = [task("gemini", web_search=True, max_output_tokens=300)]
    _, first = await live(http, "gemini", body)
    _, second = await live(http, "gemini", body)
    assert first.tasks[0].id != second.tasks[0].id
    assert first.result is not None and second.result is not None
    assert first.result.items == second.result.items
    assert first.result.input_tokens == second.result.input_tokens
    assert first.cost == second.cost


@pytest.mark.anyio
async def test_a_small_token_cap_gives_a_short_answer(http: aiohttp.ClientSession) -> None:
    _, answer = await live(http, "claude", [task("claude", max_output_tokens=5)])
    assert answer.result is not None
    assert answer.result.output_tokens <= 5 and len(answer.result.text) <= 20


@pytest.mark.anyio
async def test_platforms_cite_different_domains(http: aiohttp.ClientSession) -> None:
    top: dict[Platform, list[str]] = {}
    for platform in PLATFORMS:
        domains: Counter[str] = Counter()
        for i in range(30):
            fields = {} if platform == "perplexity" else {"web_search": True}
            body = task(platform, user_prompt=f"best project management software {i}", **fields)
            _, answer = await live(http, platform, [body])
            assert answer.result is not None
            domains.update((n.source_url or "").split("/")[2] for n in answer.result.annotations())
        assert len(domains) >= 8
        top[platform] = [domain for domain, _ in domains.most_common(3)]
    assert len({tuple(t) for t in top.values()}) == len(PLATFORMS)
    assert "www.youtube.com" in top["gemini"] or "www.reddit.com" in top["perplexity"]


# -- Models and user_data -----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_models_list(http: aiohttp.ClientSession, platform: Platform) -> None:
    async with http.get(models_path(platform)) as response:
        answer = msgspec.json.decode(await response.read(), type=ModelsResponse)
    assert answer.status_code == 20000 and answer.cost == 0
    models = {m.model_name: m for m in answer.tasks[0].result or []}
    assert MODEL[platform] in models
    assert all(m.reasoning is not None for m in models.values())
    if platform == "chat_gpt":
        assert models["o3-mini"].reasoning and not models["o3-mini"].web_search_supported
        assert {"gpt-4.1", "gpt-4o", "gpt-4o-mini", "o4-mini", "gpt-5"} <= set(models)
    if platform == "perplexity":
        assert not any(m.task_post_supported for m in models.values())


@pytest.mark.anyio
async def test_user_data_reports_limits_and_a_falling_balance() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), rate_limit=300, balance=10.0)
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        async with http.get(USER_DATA_PATH) as response:
            before = msgspec.json.decode(await response.read(), type=UserDataResponse)
        _, answer = await live(http, "chat_gpt", [task("chat_gpt")])
        async with http.get(USER_DATA_PATH) as response:
            after = msgspec.json.decode(await response.read(), type=UserDataResponse)
    [account] = before.tasks[0].result or []
    assert account.login == "emulator" and account.timezone == "UTC"
    assert account.minute_limit == 300 and account.balance == 10.0
    [later] = after.tasks[0].result or []
    assert later.balance == pytest.approx(10.0 - answer.cost)
    assert emu.balance == pytest.approx(10.0 - answer.cost)


# -- auth, paths and body errors ----------------------------------------------------------------


@pytest.mark.anyio
async def test_wrong_or_missing_credentials_get_401(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url) as http:
        for headers in ({}, auth("emulator", "wrong"), {"Authorization": "Bearer x"}):
            async with http.get(models_path("claude"), headers=headers) as response:
                assert response.status == 401
                body = msgspec.json.decode(await response.read(), type=StatusEnvelope)
            assert body.status_code == 40100 and "not authorized" in body.status_message
        # Case and spacing of the scheme do not matter.
        token = auth()["Authorization"].split()[1]
        async with http.get(
            models_path("claude"), headers={"Authorization": f"basic  {token}"}
        ) as r:
            assert r.status == 200
    assert [c.http_status for c in emu.record.calls] == [401, 401, 401, 200]


@pytest.mark.anyio
async def test_unknown_paths_get_404_and_wrong_methods_405(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    for path in ("/v3/ai_optimization/llm_responses/live", "/v3/ai_optimization/bard/x"):
        async with http.post(path, data=b"[]") as response:
            assert response.status == 404
            body = msgspec.json.decode(await response.read(), type=StatusEnvelope)
            assert (body.status_code, body.status_message) == (40400, "Not Found.")
    async with http.get(live_path("claude")) as response:
        assert response.status == 405
    assert [c.status_code for c in emu.record.calls] == [40400, 40400, 40402]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", 40502),
        (b"  ", 40502),
        (b"[]", 40502),
        (b"{not json", 40503),
        (b'{"user_prompt": "hi"}', 40503),
        (b'["hi"]', 40503),
        (b'[{"user_prompt": "a", "model_name": "sonar"}, {"user_prompt": "b"}]', 40000),
    ],
)
async def test_bad_bodies_fail_the_envelope(
    emu: Emulator, http: aiohttp.ClientSession, body: bytes, code: int
) -> None:
    status, answer = await live(http, "perplexity", body)
    assert (status, answer.status_code, answer.cost, answer.tasks) == (200, code, 0, [])
    [call] = emu.record.calls
    assert (call.status_code, call.charged, call.admitted) == (code, 0.0, False)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"colour": "red"}, 40506, ["Unknown Fields", "colour"]),
        ({"platform": "chat_gpt"}, 40506, ["Unknown Fields", "platform"]),
        ({"message_chain": [{"role": "user", "message": "x", "x": 1}]}, 40506, ["message_chain"]),
        ({"max_output_tokens": "lots"}, 40501, ["Invalid Field", "max_output_tokens"]),
        ({"user_prompt": None}, 40501, ["Invalid Field", "user_prompt"]),
        ({"model_name": "gpt-2"}, 40501, ["Invalid Field", "model_name", "gpt-2"]),
        ({"model_name": None}, 40501, ["Invalid Field", "model_name"]),
        ({"max_output_tokens": 5000}, 40501, ["Invalid Field", "max_output_tokens", "4096"]),
        ({"temperature": 3.5}, 40501, ["Invalid Field", "temperature"]),
        ({"model_name": "o3-mini", "web_search": True}, 40501, ["web_search"]),
        ({"user_prompt": "x" * 501}, 40501, ["user_prompt", "500"]),
    ],
)
async def test_bad_tasks_fail_the_task(
    emu: Emulator, http: aiohttp.ClientSession, fields: dict[str, Any], code: int, words: list[str]
) -> None:
    body = {k: v for k, v in task("chat_gpt", **fields).items() if v is not None}
    status, answer = await live(http, "chat_gpt", [body])
    assert (status, answer.status_code, answer.tasks_error, answer.cost) == (200, 20000, 1, 0)
    one = answer.tasks[0]
    assert (one.status_code, one.result, one.cost) == (code, None, 0)
    for word in words:
        assert word in one.status_message
    [call] = emu.record.calls
    assert (call.status_code, call.charged, call.admitted) == (code, 0.0, False)
    assert emu.record.codes == Counter({code: 1})


@pytest.mark.anyio
async def test_record_reset_and_to_dict(emu: Emulator, http: aiohttp.ClientSession) -> None:
    await live(http, "claude", [task("claude")])
    summary = emu.record.to_dict()
    assert summary["calls_count"] == 1 and summary["codes"] == {"20000": 1}
    copy = ServerRecord.from_dict(msgspec.json.decode(msgspec.json.encode(summary)))
    assert copy.calls == emu.record.calls and copy.total_cost == emu.record.total_cost
    emu.record.reset()
    assert emu.record.calls == [] and emu.record.total_cost == 0
    async with http.post("/_emulator/reset") as response:
        assert response.status == 200
    async with http.get("/_emulator/record?calls=0") as response:
        assert (await response.json())["calls_count"] == 0
    assert emu.record.calls == []  # the controls are not API calls
