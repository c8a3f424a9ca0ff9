"""Per-platform request validation: every documented limit passes at the edge, fails past it."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from dfs_async import DFSError, ValidationError, prepare_request, request_key
from dfs_async._platforms import PLATFORMS, Platform
from dfs_async._wire._models import ModelInfo
from dfs_async._wire._requests import ChainMessage, LiveRequest, build_request, encode_body, merge
from dfs_async._wire._validation import CLAUDE_COUNTRIES, validate_request

from .._fakes import FIXTURES

REASONING = ModelInfo(model_name="o3", web_search_supported=True, reasoning=True)
PLAIN = ModelInfo(model_name="gpt-4.1-mini", web_search_supported=True, reasoning=False)
NO_SEARCH = ModelInfo(model_name="old", web_search_supported=False, reasoning=False)


def req(**fields: Any) -> LiveRequest:
    """A minimal valid request with ``fields`` on top."""
    fields.setdefault("user_prompt", "hi")
    fields.setdefault("model_name", "some-model")
    return LiveRequest(**fields)


def chain(*roles: str, message: str = "m") -> tuple[ChainMessage, ...]:
    """A message chain with the given roles."""
    return tuple(ChainMessage(role=r, message=message) for r in roles)


def alternating(n: int) -> tuple[ChainMessage, ...]:
    """``n`` turns alternating user, ai, ..."""
    return chain(*("user" if i % 2 == 0 else "ai" for i in range(n)))


def rejects(
    platform: Platform, request: LiveRequest, model: ModelInfo | None = None
) -> ValidationError:
    """Validate, expecting a `ValidationError`; return it."""
    with pytest.raises(ValidationError) as info:
        validate_request(platform, request, model)
    return info.value


def edge(
    platform: Platform,
    field: str,
    ok: object,
    bad: object,
    limit: str,
    model: ModelInfo | None = None,
    **extra: object,
) -> Any:
    """A case where ``field=ok`` passes and ``field=bad`` fails, naming ``limit``."""
    return pytest.param(
        platform,
        {field: ok, **extra},
        {field: bad, **extra},
        field,
        limit,
        model,
        id=f"{platform}-{field}-{limit}{'-' + ','.join(extra) if extra else ''}",
    )


EDGES = [
    *(edge(p, f, "x" * 500, "x" * 501, "limit of 500") for p in PLATFORMS
      for f in ("user_prompt", "system_message")),
    *(edge(p, "tag", "t" * 255, "t" * 256, "limit of 255") for p in PLATFORMS),
    *(edge(p, "message_chain", alternating(10), alternating(11), "limit of 10")
      for p in PLATFORMS),
    *(edge(p, "message_chain", chain("user", "ai", message="x" * 500),
           chain("user", "ai", message="x" * 501), "limit of 500") for p in PLATFORMS),
    # max_output_tokens: the top is 4096 everywhere; the floor depends on platform and reasoning.
    *(edge(p, "max_output_tokens", 4096, 4097, "maximum of 4096") for p in PLATFORMS),
    edge("chat_gpt", "max_output_tokens", 16, 15, "minimum of 16"),
    edge("chat_gpt", "max_output_tokens", 1024, 1023, "minimum of 1024", REASONING),
    edge("claude", "max_output_tokens", 1, 0, "minimum of 1"),
    edge("claude", "max_output_tokens", 1025, 1024, "minimum of 1025", use_reasoning=True),
    edge("gemini", "max_output_tokens", 1, 0, "minimum of 1"),
    edge("gemini", "max_output_tokens", 1024, 1023, "minimum of 1024", use_reasoning=True),
    edge("perplexity", "max_output_tokens", 1, 0, "minimum of 1"),
    # temperature: the top of each platform's range, and the shared floor of 0.
    edge("chat_gpt", "temperature", 2.0, 2.01, "range of 0 to 2"),
    edge("claude", "temperature", 1.0, 1.01, "range of 0 to 1"),
    edge("gemini", "temperature", 2.0, 2.01, "range of 0 to 2"),
    edge("perplexity", "temperature", 1.9, 1.91, "range of 0 to 1.9"),
    *(edge(p, "temperature", 0.0, -0.01, "range of 0 to") for p in PLATFORMS),
    *(edge(p, "top_p", 1.0, 1.01, "range of 0 to 1") for p in PLATFORMS),
    *(edge(p, "top_p", 0, -0.01, "range of 0 to 1") for p in PLATFORMS),
]  # fmt: skip


@pytest.mark.parametrize(("platform", "ok", "bad", "field", "limit", "model"), EDGES)
def test_limit_edges(
    platform: Platform,
    ok: dict[str, Any],
    bad: dict[str, Any],
    field: str,
    limit: str,
    model: ModelInfo | None,
) -> None:
    validate_request(platform, req(**ok), model)
    exc = rejects(platform, req(**bad), model)
    assert exc.field == field
    assert limit in str(exc)
    assert platform in str(exc)
    assert str(exc).startswith(f"{field}: ")


def test_message_format_matches_the_example() -> None:
    exc = rejects("claude", req(max_output_tokens=5000))
    assert str(exc) == "max_output_tokens: 5000 is above claude's maximum of 4096"


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model_name": None}, "model_name"),
        ({"model_name": ""}, "model_name"),
        ({"model_name": "  "}, "model_name"),
        ({"user_prompt": ""}, "user_prompt"),
        ({"user_prompt": " \n"}, "user_prompt"),
        ({"message_chain": chain("user", "ai", message="")}, "message_chain"),
        ({"message_chain": chain("user", "assistant")}, "message_chain"),
        ({"max_output_tokens": True}, "max_output_tokens"),
        ({"max_output_tokens": 100.0}, "max_output_tokens"),
        ({"temperature": math.nan}, "temperature"),
        ({"temperature": math.inf}, "temperature"),
        ({"top_p": math.nan}, "top_p"),
        ({"top_p": -math.inf}, "top_p"),
        ({"top_p": True}, "top_p"),
        ({"temperature": "0.5"}, "temperature"),
    ],
)
def test_required_and_malformed(platform: Platform, fields: dict[str, Any], field: str) -> None:
    assert rejects(platform, req(**fields)).field == field


def test_role_message_names_the_allowed_roles() -> None:
    exc = rejects("chat_gpt", req(message_chain=chain("user", "assistant")))
    assert "'user' or 'ai'" in str(exc)
    assert "turn 1" in str(exc)


UNSUPPORTED: list[tuple[Platform, str, object]] = [
    ("perplexity", "web_search", True),
    ("perplexity", "web_search", False),  # sending the key at all is what the API rejects
    ("perplexity", "force_web_search", False),
    ("perplexity", "web_search_city", "Paris"),
    ("perplexity", "use_reasoning", True),
    ("gemini", "force_web_search", True),
    ("gemini", "web_search_country_iso_code", "US"),
    ("gemini", "web_search_city", "Paris"),
    ("chat_gpt", "use_reasoning", False),
]


@pytest.mark.parametrize(("platform", "field", "value"), UNSUPPORTED)
def test_unsupported_fields(platform: Platform, field: str, value: object) -> None:
    exc = rejects(platform, req(**{field: value}))
    assert exc.field == field
    assert f"{platform} does not accept" in str(exc)


def test_perplexity_accepts_country_without_web_search() -> None:
    validate_request("perplexity", req(web_search_country_iso_code="US"))


@pytest.mark.parametrize(
    ("platform", "allowed"),
    [("chat_gpt", True), ("claude", False), ("gemini", True), ("perplexity", True)],
)
def test_temperature_with_top_p(platform: Platform, allowed: bool) -> None:
    request = req(temperature=0.3, top_p=0.5)
    if allowed:
        validate_request(platform, request)
    else:
        exc = rejects(platform, request)
        assert exc.field == "top_p"
        assert "temperature" in str(exc)
        validate_request(platform, req(temperature=0.3))
        validate_request(platform, req(top_p=0.5))


# Which fields need web_search=True, per the official field descriptions of each platform:
# "to enable this parameter, `web_search` must also be enabled" appears on these and no others.
NEEDS_WEB_SEARCH: list[tuple[Platform, str, object]] = [
    ("chat_gpt", "force_web_search", True),
    ("chat_gpt", "web_search_country_iso_code", "FR"),
    ("claude", "force_web_search", True),
]
FREE_OF_WEB_SEARCH: list[tuple[Platform, str, object]] = [
    ("chat_gpt", "web_search_city", "Paris"),  # its description has no such note
    ("claude", "web_search_country_iso_code", "FR"),
    ("claude", "web_search_city", "Paris"),
    ("perplexity", "web_search_country_iso_code", "FR"),  # Perplexity has no web_search field
]


@pytest.mark.parametrize(("platform", "field", "value"), NEEDS_WEB_SEARCH)
def test_needs_web_search(platform: Platform, field: str, value: object) -> None:
    validate_request(platform, req(web_search=True, **{field: value}))
    for web_search in (None, False):
        exc = rejects(platform, req(web_search=web_search, **{field: value}))
        assert exc.field == field
        assert "web_search=True" in str(exc)
        assert platform in str(exc)


@pytest.mark.parametrize(("platform", "field", "value"), FREE_OF_WEB_SEARCH)
def test_location_without_web_search_where_the_docs_allow_it(
    platform: Platform, field: str, value: object
) -> None:
    web_search = (None, False) if platform != "perplexity" else (None,)
    for flag in web_search:
        validate_request(platform, req(web_search=flag, **{field: value}))


@pytest.mark.parametrize(
    "model_name", ["o3-mini", "o1", "o1-pro", "o3-mini-2025-01-31", "o1-2024-12-17"]
)
@pytest.mark.parametrize(
    ("field", "value"), [("web_search_country_iso_code", "US"), ("web_search_city", "Paris")]
)
def test_chat_gpt_models_without_location(model_name: str, field: str, value: str) -> None:
    exc = rejects("chat_gpt", req(model_name=model_name, web_search=True, **{field: value}))
    assert exc.field == field
    assert repr(model_name) in str(exc) and "does not support it" in str(exc)
    validate_request("chat_gpt", req(model_name=model_name))


@pytest.mark.parametrize("model_name", ["o3", "o4-mini", "o1-mini", "gpt-4.1-mini", "o3-mini-high"])
def test_chat_gpt_other_models_take_a_location(model_name: str) -> None:
    fields = {"web_search_country_iso_code": "US", "web_search_city": "Paris"}
    validate_request("chat_gpt", req(model_name=model_name, web_search=True, **fields))


@pytest.mark.parametrize("platform", ["chat_gpt", "claude"])
def test_force_web_search_false_needs_nothing(platform: Platform) -> None:
    validate_request(platform, req(force_web_search=False))


@pytest.mark.parametrize("platform", ["chat_gpt", "claude", "perplexity"])
@pytest.mark.parametrize("code", ["FRA", "F", "F1", "", "ÉE", "f1"])
def test_country_code_shape(platform: Platform, code: str) -> None:
    web_search = None if platform == "perplexity" else True
    exc = rejects(platform, req(web_search=web_search, web_search_country_iso_code=code))
    assert exc.field == "web_search_country_iso_code"


@pytest.mark.parametrize("platform", ["chat_gpt", "claude", "perplexity"])
@pytest.mark.parametrize("code", ["us", "Us", "uS"])
def test_country_code_case_is_normalised_not_refused(platform: Platform, code: str) -> None:
    request = req(web_search=True if platform != "perplexity" else None,
                  web_search_country_iso_code=code)  # fmt: skip
    assert request.web_search_country_iso_code == "US"
    validate_request(platform, request)
    # Every way a request is made normalises it, so the body sent (and its key) says 'US'.
    assert b'"web_search_country_iso_code":"US"' in encode_body(request)
    built = build_request({"user_prompt": "hi", "web_search_country_iso_code": code})
    assert built.web_search_country_iso_code == "US"
    decoded = msgspec.json.decode(b'{"user_prompt": "hi", "web_search_country_iso_code": "us"}',
                                  type=LiveRequest)  # fmt: skip
    assert decoded.web_search_country_iso_code == "US"
    assert merge(req(), {"web_search_country_iso_code": code}).web_search_country_iso_code == "US"
    # Claude's list is checked after normalising: 'fr' is France, 'ie' is still not listed.
    if platform == "claude":
        validate_request("claude", req(web_search_country_iso_code="fr"))
        assert rejects("claude", req(web_search_country_iso_code="ie")).field == (
            "web_search_country_iso_code"
        )


def test_claude_country_list() -> None:
    for code in sorted(CLAUDE_COUNTRIES):
        validate_request("claude", req(web_search=True, web_search_country_iso_code=code))
    exc = rejects("claude", req(web_search=True, web_search_country_iso_code="IE"))
    assert exc.field == "web_search_country_iso_code"
    assert "claude's countries" in str(exc)
    assert "ZA" in str(exc)
    # chat_gpt documents no list: any 2-letter code goes.
    validate_request("chat_gpt", req(web_search=True, web_search_country_iso_code="IE"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": 0.5}, "top_p"),
        ({"web_search": True, "force_web_search": True}, "force_web_search"),
    ],
)
def test_claude_use_reasoning_forbids(fields: dict[str, Any], field: str) -> None:
    validate_request("claude", req(**fields))
    exc = rejects("claude", req(use_reasoning=True, **fields))
    assert exc.field == field
    assert "use_reasoning=True" in str(exc)
    validate_request("claude", req(use_reasoning=True, web_search=True, force_web_search=False))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"web_search": True, "force_web_search": True}, "force_web_search"),
    ],
)
def test_chat_gpt_reasoning_model_forbids(fields: dict[str, Any], field: str) -> None:
    for model in (None, PLAIN):
        validate_request("chat_gpt", req(**fields), model)
    exc = rejects("chat_gpt", req(**fields), REASONING)
    assert exc.field == field
    assert "reasoning model" in str(exc)


def test_chat_gpt_reasoning_model_allows_top_p() -> None:
    validate_request("chat_gpt", req(top_p=0.5, max_output_tokens=1024), REASONING)


@pytest.mark.parametrize("platform", ["claude", "gemini"])
def test_use_reasoning_needs_a_reasoning_model(platform: Platform) -> None:
    for reasoning in (True, None):
        model = ModelInfo(model_name="m", reasoning=reasoning)
        validate_request(platform, req(use_reasoning=True), model)
    validate_request(platform, req(use_reasoning=False), ModelInfo(model_name="m", reasoning=False))
    exc = rejects(platform, req(use_reasoning=True), ModelInfo(model_name="m", reasoning=False))
    assert exc.field == "use_reasoning"
    assert "'m' cannot reason" in str(exc)


@pytest.mark.parametrize("platform", ["chat_gpt", "claude", "gemini"])
def test_web_search_needs_a_supporting_model(platform: Platform) -> None:
    validate_request(platform, req(web_search=True), PLAIN)
    validate_request(platform, req(web_search=False), NO_SEARCH)
    exc = rejects(platform, req(web_search=True), NO_SEARCH)
    assert exc.field == "web_search"
    assert "does not support web search" in str(exc)


@pytest.mark.parametrize(
    "roles",
    [
        (),
        ("user", "ai"),
        ("user", "ai", "user", "ai"),
        # The docs require strict alternation from a user turn, not which turn comes last.
        ("user",),
        ("user", "ai", "user"),
    ],
)
def test_perplexity_chain_alternates(roles: tuple[str, ...]) -> None:
    validate_request("perplexity", req(message_chain=chain(*roles)))


@pytest.mark.parametrize(
    ("roles", "needle"),
    [
        (("ai", "user"), "turn 0"),
        (("user", "user"), "turn 1"),
        (("user", "ai", "ai", "user"), "turn 2"),
        (("user", "ai", "user", "user"), "turn 3"),
    ],
)
def test_perplexity_chain_rejects(roles: tuple[str, ...], needle: str) -> None:
    exc = rejects("perplexity", req(message_chain=chain(*roles)))
    assert exc.field == "message_chain"
    assert needle in str(exc)
    # Only Perplexity documents the alternation.
    for platform in ("chat_gpt", "claude", "gemini"):
        validate_request(platform, req(message_chain=chain(*roles)))


def _fixture_request() -> LiveRequest:
    raw = (FIXTURES / "chat_gpt_live_request_example.json").read_bytes()
    (request,) = msgspec.json.decode(raw, type=list[LiveRequest])
    return request


def test_docs_example_is_valid_for_chat_gpt() -> None:
    request = _fixture_request()
    validate_request("chat_gpt", request)
    validate_request("chat_gpt", request, PLAIN)


def test_docs_example_fails_for_claude_on_temperature_with_top_p() -> None:
    exc = rejects("claude", _fixture_request())
    assert exc.field == "top_p"


def test_validation_error_is_dfs_error_and_value_error() -> None:
    exc = rejects("chat_gpt", req(user_prompt=""))
    assert isinstance(exc, DFSError)
    assert isinstance(exc, ValueError)


@pytest.mark.parametrize(
    "model_name", ["gemini-2.5-pro", "gemini-1.5-pro-002", "gemini-2.5-pro-preview-06-05"]
)
def test_gemini_pro_models_reason_automatically(model_name: str) -> None:
    # "for Gemini Pro models, the use_reasoning will automatically be set to true", and with
    # reasoning the minimum of max_output_tokens is 1024: so it is for Pro models, unasked.
    for use_reasoning in (None, False, True):
        validate_request("gemini", req(model_name=model_name, max_output_tokens=1024,
                                       use_reasoning=use_reasoning))  # fmt: skip
        exc = rejects("gemini", req(model_name=model_name, max_output_tokens=1023,
                                    use_reasoning=use_reasoning))  # fmt: skip
        assert exc.field == "max_output_tokens"
        assert "minimum of 1024" in str(exc)
    # Unless the Models endpoint says this model cannot reason at all.
    cannot = ModelInfo(model_name=model_name, reasoning=False)
    validate_request("gemini", req(model_name=model_name, max_output_tokens=300), cannot)


def test_gemini_pro_minimum_names_the_reason() -> None:
    exc = rejects("gemini", req(model_name="gemini-2.5-pro", max_output_tokens=300))
    assert "gemini-2.5-pro (a Pro model reasons automatically)" in str(exc)


@pytest.mark.parametrize("model_name", ["gemini-2.5-flash", "gemini-2.0-flash", "gemini-proto-x"])
def test_other_gemini_models_keep_the_minimum_of_one(model_name: str) -> None:
    validate_request("gemini", req(model_name=model_name, max_output_tokens=1))


def test_perplexity_web_search_is_granted_by_leaving_the_field_out() -> None:
    # The same rule as the CLI's --web-search: Perplexity always searches, the API takes no
    # such field, so True is dropped (same body, same key) and False cannot be honoured.
    _, asked = prepare_request("perplexity", user_prompt="q", model_name="sonar", web_search=True)
    _, plain = prepare_request("perplexity", user_prompt="q", model_name="sonar")
    assert asked == plain and asked.web_search is None
    assert request_key("perplexity", asked) == request_key("perplexity", plain)
    with pytest.raises(ValidationError, match="always searches the web"):
        prepare_request("perplexity", user_prompt="q", model_name="sonar", web_search=False)
