"""The emulator answers in DataForSEO's own schema: the official client's models accept it.

``dataforseo-client`` is generated from DataForSEO's OpenAPI spec; its pydantic models use
strict types (a number where the spec wants an object, a string where it wants a number, fails).
Every Live shape the emulator produces (four platforms, with and without web search,
reasoning models, a conversation, refused tasks, error envelopes), the Models lists and
user_data are parsed with those models, then walked against the raw JSON: no key the official
schema does not know (``additional_properties``), no item the schema cannot type (it reads
those as ``None``), every value as sent. The official client itself also calls the emulator.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import msgspec
import pytest
from pydantic import BaseModel

from dfs_async import PLATFORMS, AsyncClient, Platform
from dfs_async._platforms import USER_DATA_PATH, live_path, models_path
from dfs_async.testing import Emulator, EmulatorConfig

_PREFIX: dict[Platform, str] = {
    "chat_gpt": "ChatGpt",
    "claude": "Claude",
    "gemini": "Gemini",
    "perplexity": "Perplexity",
}
PROMPTS = (
    "What are the best running shoes for beginners?",
    "Which CRM suits a small agency in 2025?",
    "Is a heat pump worth it in a cold climate?",
)
# (platform, fields, expects web search, expects a reasoning item)
LIVE_CASES: list[tuple[Platform, dict[str, Any], bool, bool]] = [
    ("chat_gpt", {"model_name": "gpt-4.1-mini"}, False, False),
    ("chat_gpt", {"model_name": "gpt-4.1-mini", "web_search": True,
                  "web_search_country_iso_code": "us", "web_search_city": "Austin"}, True, False),
    ("chat_gpt", {"model_name": "o3", "web_search": True, "max_output_tokens": 2048}, True, True),
    ("chat_gpt", {"model_name": "o3-mini"}, False, True),
    ("claude", {"model_name": "claude-3-5-haiku-latest", "temperature": 0.2}, False, False),
    ("claude", {"model_name": "claude-sonnet-4-0", "web_search": True,
                "web_search_country_iso_code": "FR"}, True, False),
    ("claude", {"model_name": "claude-sonnet-4-0", "use_reasoning": True,
                "max_output_tokens": 2000}, False, True),
    ("claude", {"model_name": "claude-opus-4-1", "use_reasoning": True, "web_search": True,
                "max_output_tokens": 2000}, True, True),
    ("gemini", {"model_name": "gemini-2.0-flash", "system_message": "Answer briefly."},
     False, False),
    ("gemini", {"model_name": "gemini-2.5-flash", "web_search": True}, True, False),
    ("gemini", {"model_name": "gemini-2.5-flash", "use_reasoning": True,
                "max_output_tokens": 1500}, False, True),
    ("gemini", {"model_name": "gemini-2.5-pro", "web_search": True}, True, True),  # automatic
    ("perplexity", {"model_name": "sonar", "web_search_country_iso_code": "GB"}, True, False),
    ("perplexity", {"model_name": "sonar-reasoning-pro", "message_chain": [
        {"role": "user", "message": "Hi"}, {"role": "ai", "message": "Hello! How can I help?"},
    ]}, True, False),  # Perplexity's items are messages only, reasoning models included
]  # fmt: skip


def _model(module: str, name: str) -> type[BaseModel]:
    found = getattr(importlib.import_module(f"dataforseo_client.models.{module}"), name)
    assert isinstance(found, type) and issubclass(found, BaseModel)
    return found


def live_model(platform: Platform) -> type[BaseModel]:
    """The official response model of ``platform``'s Live endpoint."""
    return _model(
        f"ai_optimization_{platform}_llm_responses_live_response_info",
        f"AiOptimization{_PREFIX[platform]}LlmResponsesLiveResponseInfo",
    )


def models_model(platform: Platform) -> type[BaseModel]:
    """The official response model of ``platform``'s Models endpoint."""
    return _model(
        f"ai_optimization_{platform}_llm_responses_models_response_info",
        f"AiOptimization{_PREFIX[platform]}LlmResponsesModelsResponseInfo",
    )


def parse(model: type[BaseModel], body: bytes) -> BaseModel:
    """Parse ``body`` with an official model (strict types), as its client does."""
    parsed = model.from_json(body.decode())  # type: ignore[attr-defined]
    assert isinstance(parsed, BaseModel)
    return parsed


def walk(parsed: object, raw: object, path: str = "$") -> Iterator[str]:
    """Every place where the official model did not take ``raw`` exactly as sent."""
    if isinstance(parsed, BaseModel):
        if not isinstance(raw, dict):
            yield f"{path}: sent {raw!r:.60}, the schema wants an object"
            return
        extra: dict[str, object] = getattr(parsed, "additional_properties", {})
        yield from (f"{path}.{key}: not in the official schema" for key in extra)
        for key, value in raw.items():
            if key not in extra and value is not None:
                yield from walk(getattr(parsed, key), value, f"{path}.{key}")
    elif isinstance(raw, list):
        if not isinstance(parsed, list) or len(parsed) != len(raw):
            yield f"{path}: a list of {len(raw)} read as {parsed!r:.60}"
            return
        for i, (one, sent) in enumerate(zip(parsed, raw, strict=True)):
            if sent is not None and one is None:
                yield f"{path}[{i}]: dropped (a type the schema does not know)"
            elif sent is not None:
                yield from walk(one, sent, f"{path}[{i}]")
    elif parsed != raw:  # a scalar, or a free-form object the schema leaves untyped
        yield f"{path}: sent {raw!r:.60}, read {parsed!r:.60}"


def assert_official(
    model: type[BaseModel], body: bytes, allowed: frozenset[str] = frozenset()
) -> Any:
    """``body`` parses with ``model`` and every value survives; ``allowed`` lists known gaps."""
    parsed = parse(model, body)
    problems = [p for p in walk(parsed, msgspec.json.decode(body)) if p not in allowed]
    assert not problems, "\n".join(problems)
    return parsed


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0), rate_limit=1500)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    token = base64.b64encode(f"{emu.login}:{emu.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=headers) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, body: object = None) -> bytes:
    method = "GET" if body is None else "POST"
    data = None if body is None else msgspec.json.encode(body)
    async with http.request(method, path, data=data) as response:
        assert response.status == 200
        return await response.read()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("platform", "fields", "web", "reasoning"),
    LIVE_CASES,
    ids=[f"{p}-{f['model_name']}{'-web' if w else ''}" for p, f, w, _ in LIVE_CASES],
)
async def test_live_answers_match_the_official_schema(
    http: aiohttp.ClientSession, platform: Platform, fields: dict[str, Any], web: bool,
    reasoning: bool,
) -> None:  # fmt: skip
    cited = 0
    for prompt in PROMPTS:
        body = await get(http, live_path(platform), [{"user_prompt": prompt, **fields}])
        parsed: Any = assert_official(live_model(platform), body)
        (task,) = parsed.tasks
        assert task.status_code == 20000
        (result,) = task.result
        assert result.web_search is web
        types = [item.type for item in result.items]
        assert types == (["reasoning", "message"] if reasoning else ["message"])
        for section in result.items[-1].sections:
            if not web:
                assert section.annotations is None  # "equals null if web_search is not true"
            cited += len(section.annotations or ())
            for note in section.annotations or ():
                assert (note.direct_url is not None) is (platform == "gemini")
    # The web-search cases did carry citations, so their shape was checked too.
    assert cited > 0 if web else cited == 0


@pytest.mark.anyio
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_refused_tasks_match_the_official_schema(
    http: aiohttp.ClientSession, platform: Platform
) -> None:
    for task in (
        {"user_prompt": "hi", "model_name": "no-such-model"},
        {"user_prompt": "hi", "model_name": "x", "unknown_field": 1},
    ):
        parsed: Any = assert_official(
            live_model(platform), await get(http, live_path(platform), [task])
        )
        assert parsed.tasks[0].status_code in (40501, 40506)
        assert parsed.tasks[0].result is None


# The faults whose answer is a JSON envelope (the others are HTML pages or broken bodies).
ENVELOPE_FAULTS = {
    "server_error": 50000,
    "task_error": 50000,
    "rate_limit": 40202,
    "concurrency": 40209,
    "timeout_50401": 50401,
}


@pytest.mark.anyio
@pytest.mark.parametrize("fault", sorted(ENVELOPE_FAULTS))
async def test_error_envelopes_match_the_official_schema(
    http: aiohttp.ClientSession, fault: str
) -> None:
    task = {"user_prompt": f"best shoes [[fault:{fault}]]", "model_name": "gpt-4.1-mini"}
    parsed: Any = assert_official(
        live_model("chat_gpt"), await get(http, live_path("chat_gpt"), [task])
    )
    codes = {parsed.status_code, *(t.status_code for t in parsed.tasks or ())}
    assert ENVELOPE_FAULTS[fault] in codes


@pytest.mark.anyio
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_models_lists_match_the_official_schema(
    http: aiohttp.ClientSession, platform: Platform
) -> None:
    body = await get(http, models_path(platform))
    raw = msgspec.json.decode(body)["tasks"][0]["result"]
    # `reasoning` is the one known gap: the request docs point at it ("reasoning is true in
    # the Models endpoint") but the generated schema omits it.
    gaps = frozenset(
        f"$.tasks[0].result[{i}].reasoning: not in the official schema" for i in range(len(raw))
    )
    parsed: Any = assert_official(models_model(platform), body, gaps)
    assert [m.model_name for m in parsed.tasks[0].result] == [m["model_name"] for m in raw]


@pytest.mark.anyio
async def test_user_data_matches_the_official_schema(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    model = _model("appendix_user_data_response_info", "AppendixUserDataResponseInfo")
    parsed: Any = assert_official(model, await get(http, USER_DATA_PATH))
    (account,) = parsed.tasks[0].result
    minute = account.rates.limits.minute
    assert minute.total == 1500.0 and minute.total_ai_optimization == 1500.0
    assert minute.ai_optimization.llm_responses.live == 1500.0  # an object, per endpoint
    # Our own model reads the same body: the account-wide figure, as a count of calls.
    async with AsyncClient(emu.login, emu.password, base_url=emu.base_url) as client:
        user = await client.user_data()
    assert user.minute_limit == 1500 and user.balance == account.money.balance


@pytest.mark.anyio
async def test_the_official_client_reads_the_emulator(emu: Emulator) -> None:
    # The client as its users call it: sync urllib3 + pydantic, here in a worker thread.
    from dataforseo_client.api.ai_optimization_api import AiOptimizationApi
    from dataforseo_client.api.appendix_api import AppendixApi
    from dataforseo_client.api_client import ApiClient
    from dataforseo_client.configuration import Configuration

    config = Configuration(host=emu.base_url, username=emu.login, password=emu.password)
    api_client = ApiClient(config)

    def calls() -> tuple[Any, dict[Platform, Any], dict[Platform, Any]]:
        appendix = AppendixApi(api_client)
        optimization = AiOptimizationApi(api_client)
        answers: dict[Platform, Any] = {}
        models: dict[Platform, Any] = {}
        for platform in PLATFORMS:
            request = _model(
                f"ai_optimization_{platform}_llm_responses_live_request_info",
                f"AiOptimization{_PREFIX[platform]}LlmResponsesLiveRequestInfo",
            )
            model_name = next(f["model_name"] for p, f, _, _ in LIVE_CASES if p == platform)
            live = getattr(optimization, f"{platform}_llm_responses_live")
            answers[platform] = live([request(user_prompt=PROMPTS[0], model_name=model_name)])
            models[platform] = getattr(optimization, f"{platform}_llm_responses_models")()
        return appendix.user_data(), answers, models

    try:
        user_data, answers, models = await asyncio.to_thread(calls)
    finally:
        api_client.rest_client.pool_manager.clear()
    assert user_data.status_code == 20000
    assert user_data.tasks[0].result[0].rates.limits.minute.total == 1500.0
    for platform in PLATFORMS:
        assert answers[platform].tasks[0].status_code == 20000
        assert answers[platform].tasks[0].result[0].items[-1].type == "message"
        assert models[platform].tasks[0].result[0].model_name
    assert emu.record.codes[20000] >= 1 + 2 * len(PLATFORMS)
