"""Decoding responses: every DataForSEO fixture, plus synthetic shapes the fixtures lack."""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec
import pytest

from dfs_async import (
    Annotation,
    AuthError,
    CostLimitError,
    DecodeError,
    DuplicateTaskLimitError,
    LiveRequest,
    LiveResponse,
    ModelsResponse,
    ServerError,
    UserData,
    UserDataResponse,
    decode_response,
)
from dfs_async._errors import error_for_code, error_for_http
from dfs_async._wire._models import Item, LiveResult, LiveTask, ModelInfo, Section, StatusEnvelope
from dfs_async._wire._tasks import TaskPostResponse, TasksReadyResponse

from .._fakes import FIXTURES


def fixture(name: str) -> bytes:
    """The raw bytes of one fixture file."""
    return (FIXTURES / name).read_bytes()


class AppendixCode(msgspec.Struct):
    """An item of GET /v3/appendix/errors: ``{code, message}``, not ``status_code``."""

    code: int
    message: str


def _live(body: bytes) -> None:
    response = msgspec.json.decode(body, type=LiveResponse)
    # Every field the Structs model holds exactly what the body sent (names as in the JSON).
    assert_sent(msgspec.to_builtins(response), msgspec.json.decode(body))
    assert response.result is not None and response.result.items


def assert_sent(decoded: object, sent: object, where: str = "$") -> None:
    """Each value in ``decoded`` equals the one ``sent`` at the same place (a null sent reads
    as the field's default, and a field absent from ``sent`` keeps its default)."""
    if isinstance(decoded, dict):
        assert isinstance(sent, dict), where
        for key, value in decoded.items():
            if sent.get(key) is not None:
                assert_sent(value, sent[key], f"{where}.{key}")
    elif isinstance(decoded, list) and isinstance(sent, list) and None not in sent:
        assert len(decoded) == len(sent), where
        for n, (value, raw) in enumerate(zip(decoded, sent, strict=True)):
            assert_sent(value, raw, f"{where}[{n}]")
    else:
        assert decoded == sent, where


def _requests(body: bytes) -> None:
    (request,) = msgspec.json.decode(body, type=list[LiveRequest])
    assert request.platform is None  # request fixtures never carry the routing-only field
    assert request.user_prompt


def _task_40101(body: bytes) -> None:
    task = msgspec.json.decode(body, type=LiveTask)
    assert (task.status_code, task.result) == (40101, None)
    err = error_for_code(task.status_code, task.status_message)
    assert isinstance(err, ServerError)
    assert not err.retryable  # billable upstream failure: fail fast (dfs_async/_errors.py)


def _envelope_40205(body: bytes) -> None:
    env = msgspec.json.decode(body, type=StatusEnvelope)
    assert env.status_code == 40205
    assert isinstance(error_for_code(env.status_code, env.status_message), DuplicateTaskLimitError)


def _http401_40100(body: bytes) -> None:
    env = msgspec.json.decode(body, type=StatusEnvelope)
    err = error_for_http(401, env.status_code, env.status_message)
    assert isinstance(err, AuthError)
    assert (err.status_code, err.http_status) == (40100, 401)


def _appendix_40203(body: bytes) -> None:
    item = msgspec.json.decode(body, type=AppendixCode)
    err = error_for_code(item.code, item.message)
    assert isinstance(err, CostLimitError)
    assert "cost limit" in err.status_message


# Every valid JSON fixture and the Struct it decodes into; test_every_json_fixture_is_covered
# fails when a new fixture appears without an entry here.
JSON_FIXTURES: dict[str, Callable[[bytes], None]] = {
    "chat_gpt_live_response.json": _live,
    "chat_gpt_live_request_example.json": _requests,
    "chat_gpt_task_post_request_example.json": _requests,
    "error_40101_task_level_helpcenter.json": _task_40101,
    "error_40205_duplicate_task_limit_helpcenter.json": _envelope_40205,
    "error_http401_body_40100_thirdparty_observed.json": _http401_40100,
    "error_40203_cost_limit_helpcenter.json": _appendix_40203,
}

TRUNCATED = [
    "chat_gpt_task_get_response_TRUNCATED.txt",
    "claude_task_get_response_TRUNCATED.txt",
    "errors_appendix_example_response_TRUNCATED.txt",
]


def test_every_json_fixture_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.json")} == set(JSON_FIXTURES)
    assert {p.name for p in FIXTURES.glob("*.txt")} == set(TRUNCATED)


@pytest.mark.parametrize("name", sorted(JSON_FIXTURES))
def test_json_fixture_decodes(name: str) -> None:
    JSON_FIXTURES[name](fixture(name))


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncated_fixture_fails_to_decode(name: str) -> None:
    lines = fixture(name).decode().splitlines()
    body = "\n".join(line for line in lines if not line.startswith("#")).strip()
    assert body.startswith("{")  # the comment header is gone, the JSON excerpt is left
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(body)
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(body, type=LiveResponse)


def test_chat_gpt_live_response_values() -> None:
    response = msgspec.json.decode(fixture("chat_gpt_live_response.json"), type=LiveResponse)
    assert (response.status_code, response.tasks_count, response.tasks_error) == (20000, 1, 0)
    assert response.cost == pytest.approx(0.0296424)
    assert response.time == "4.7042 sec."
    task = response.tasks[0]
    assert task.id == "12111224-1535-0612-0000-0362a4b8fdb4"
    assert task.path == ["v3", "ai_optimization", "chat_gpt", "llm_responses", "live"]
    assert task.data is not None
    assert task.data["model_name"] == "gpt-4.1-mini"

    result = response.result
    assert result is not None
    assert result.model_name == "gpt-4.1-mini-2025-04-14"
    assert (result.input_tokens, result.output_tokens, result.reasoning_tokens) == (8174, 483, 576)
    assert result.web_search is True
    assert result.money_spent == pytest.approx(0.0290424)
    assert result.datetime == "2025-12-11 12:24:51 +00:00"
    assert result.fan_out_queries == ["current relevance of amusement park business in France 2024"]

    assert [item.type for item in result.items] == ["reasoning", "message"]
    reasoning = result.items[0]
    assert [s.type for s in reasoning.sections] == ["summary_text"] * 3
    assert reasoning.sections[0].text.startswith("**Exploring a riddle**")

    assert result.text.startswith("The amusement park industry in France")
    assert "riddle" not in result.text  # reasoning is not part of the answer text

    annotations = list(result.annotations())
    assert len(annotations) == 5
    assert all(a.url and a.url.startswith("https://") for a in annotations)
    assert annotations[0].title == "France Amusement Parks Market Size & Outlook, 2030"
    assert annotations[2].url == "https://en.wikipedia.org/wiki/Parc_Ast%C3%A9rix?utm_source=openai"
    assert annotations[0].start_index is None  # not in this (2025) example


# Synthetic: shaped after the Live response fields, with extra keys and an item type the API
# may add later: https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/live/
SYNTHETIC_LIVE = b"""{
  "version": "0.1.x", "status_code": 20000, "status_message": "Ok.", "future_key": [1, 2],
  "tasks": [{
    "id": "t1", "status_code": 20000, "status_message": "Ok.", "new_task_key": {"a": 1},
    "result": [{
      "model_name": "m", "new_result_key": true, "reasoning_tokens": null,
      "items": [
        {"type": "image", "url": "https://x/img.png", "sections": [{"type": "text", "text": "?"}]},
        {"type": "message", "new_item_key": 1, "sections": [
          {"type": "text", "text": "one", "annotations": null},
          {"type": "text", "text": "two", "annotations": []},
          {"type": "text", "text": "three", "new_section_key": 0, "annotations": [
            {"title": "T", "url": "https://a", "start_index": 0, "end_index": 5,
             "text": "three", "favicon": "https://a/f.ico"}
          ]}
        ]}
      ]
    }]
  }]
}"""


def test_unknown_fields_and_item_types_decode() -> None:
    response = msgspec.json.decode(SYNTHETIC_LIVE, type=LiveResponse)
    result = response.result
    assert result is not None
    assert result.reasoning_tokens is None
    assert result.fan_out_queries is None
    assert [item.type for item in result.items] == ["image", "message"]
    assert result.text == "one\n\ntwo\n\nthree"  # only message items make the text


def test_annotations_null_empty_and_list() -> None:
    result = msgspec.json.decode(SYNTHETIC_LIVE, type=LiveResponse).result
    assert result is not None
    sections = result.items[1].sections
    assert sections[0].annotations is None  # web search off
    assert sections[1].annotations == []  # web search found nothing to cite
    assert sections[2].annotations is not None
    (annotation,) = sections[2].annotations
    assert (annotation.start_index, annotation.end_index, annotation.text) == (0, 5, "three")
    assert list(result.annotations()) == [annotation]


# Synthetic: a Gemini answer as the official schema describes it (AnnotationInfo): `url` is a
# Vertex AI grounding redirect, `direct_url` the cited page.
GEMINI_ANNOTATIONS = b"""[
  {"title": "wikipedia.org", "direct_url": "https://en.wikipedia.org/wiki/Parc_Asterix",
   "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQE1"},
  {"title": "example.com", "url": "https://www.example.com/a", "direct_url": null},
  {"title": "no link"}
]"""


def test_annotation_source_is_direct_url_else_url() -> None:
    redirect, plain, bare = msgspec.json.decode(GEMINI_ANNOTATIONS, type=list[Annotation])
    assert redirect.url is not None and redirect.url.startswith("https://vertexaisearch.")
    assert (
        redirect.source_url == redirect.direct_url == "https://en.wikipedia.org/wiki/Parc_Asterix"
    )
    assert plain.source_url == plain.url == "https://www.example.com/a"
    assert bare.source_url is None
    # The field round-trips: a results file keeps both links.
    assert msgspec.json.decode(msgspec.json.encode(redirect), type=Annotation) == redirect


@pytest.mark.parametrize(
    ("raw", "queries"),
    [
        (b'["a", "b"]', ["a", "b"]),
        (b"[]", []),
        (b"null", None),
        (b'"one query"', ["one query"]),  # a bare string
        (b'["a", null, 3, {"query": "b"}]', ["a"]),  # only the strings are queries
        (b'{"queries": ["a"]}', []),
        (b"7", []),
    ],
)
def test_fan_out_queries_never_fail_a_paid_answer(raw: bytes, queries: list[str] | None) -> None:
    # The official schema types Perplexity's fan_out_queries as anything (Any).
    body = b'{"tasks": [{"result": [{"money_spent": 0.01, "fan_out_queries": ' + raw + b"}]}]}"
    result = msgspec.json.decode(body, type=LiveResponse).result
    assert result is not None and result.money_spent == 0.01
    assert result.fan_out_queries == queries
    assert result.fan_out_raw == msgspec.json.decode(raw)  # kept as sent
    # Written back (a results file), the raw value keeps its JSON name.
    assert msgspec.json.decode(msgspec.json.encode(result))["fan_out_queries"] == result.fan_out_raw


# Synthetic: every place the official schema allows a null (it makes every field and list
# element nullable), sent as null. The client and decode_response read it as absent.
NULLS_LIVE = b"""{
  "version": null, "status_code": 20000, "status_message": null, "time": null, "cost": null,
  "tasks_count": null, "tasks_error": null,
  "tasks": [null, {
    "id": null, "status_code": 20000, "status_message": null, "time": null, "cost": null,
    "result_count": null, "path": ["v3", null, "live"], "data": {"tag": null},
    "result": [null, {
      "model_name": null, "input_tokens": null, "output_tokens": null,
      "reasoning_tokens": null, "web_search": null, "money_spent": null, "datetime": null,
      "fan_out_queries": null,
      "items": [
        null,
        {"type": "image_carousel", "sections": null},
        {"type": null, "sections": [null]},
        {"type": "message", "sections": [
          null,
          {"type": null, "text": null, "annotations": null},
          {"type": "text", "text": "cited", "annotations": [null, {"url": "https://a"}, null]}
        ]}
      ]
    }]
  }]
}"""


def test_the_structs_are_strict_so_a_null_takes_the_second_pass() -> None:
    # The fast path: one msgspec pass into strict Structs, no __post_init__ anywhere.
    with pytest.raises(msgspec.ValidationError, match="got `null`"):
        msgspec.json.decode(NULLS_LIVE, type=LiveResponse)
    assert not any(
        hasattr(cls, "__post_init__")
        for cls in (LiveResponse, LiveTask, LiveResult, Item, Section, Annotation)
    )


def test_decode_response_reads_null_as_absent() -> None:
    response = decode_response(NULLS_LIVE)
    assert (response.version, response.status_message, response.cost) == ("", "", 0.0)
    assert (response.tasks_count, response.tasks_error) == (0, 0)
    (task,) = response.tasks  # the null task is dropped
    assert (task.id, task.cost, task.result_count, task.path) == ("", 0.0, 0, ["v3", "live"])
    assert task.data == {"tag": None}  # free-form objects keep their nulls
    result = response.result
    assert result is not None and task.result is not None and len(task.result) == 1
    assert (result.model_name, result.input_tokens, result.output_tokens) == ("", 0, 0)
    assert (result.web_search, result.money_spent, result.datetime) == (False, 0.0, "")
    assert result.reasoning_tokens is None and result.fan_out_queries is None
    assert [(i.type, len(i.sections)) for i in result.items] == [
        ("image_carousel", 0),
        ("", 0),
        ("message", 2),
    ]
    blank, cited = result.items[2].sections
    assert (blank.type, blank.text, blank.annotations) == ("", "", None)
    assert cited.annotations == [Annotation(url="https://a")]
    assert result.text == "\n\ncited"
    assert [a.url for a in result.annotations()] == ["https://a"]


def test_null_envelope_fields_and_other_endpoints() -> None:
    empty = decode_response(b'{"tasks": null, "cost": null}')
    assert (empty.tasks, empty.cost, empty.result) == ([], 0.0, None)
    models = decode_response(
        b'{"tasks": [{"result": [null, {"model_name": "m", "web_search_supported": null,'
        b' "task_post_supported": null, "reasoning": null}]}]}',
        ModelsResponse,
    )
    assert models.tasks[0].result == [ModelInfo(model_name="m")]
    users = decode_response(
        b'{"tasks": [{"result": [{"login": null, "timezone": null, "money": null,'
        b' "price": null, "rates": {"limits": null, "statistics": {"minute": {"total": 3}}}}]}]}',
        UserDataResponse,
    )
    assert users.tasks[0].result is not None
    (user,) = users.tasks[0].result
    assert (user.login, user.money, user.price, user.balance) == ("", {}, {}, None)
    assert user.rates == {"statistics": {"minute": {"total": 3}}}
    assert user.minute_limit is None


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"cost": "free"}', "$.cost"),
        (b'{"tasks": {}}', "$.tasks"),
        (b'{"tasks": [{"result": [{"items": 3}]}]}', "$.tasks[0].result[0].items"),
        # A null beside the wrong type: the null is read as absent, the wrong type still fails.
        (b'{"version": null, "tasks": [null, {"result": [{"input_tokens": "3"}]}]}', "input_"),
        (b'{"tasks": [{"result": [{"items": [{"sections": null}], "web_search": 1}]}]}', "web_"),
    ],
)
def test_wrong_types_still_fail_to_decode(body: bytes, where: str) -> None:
    # Tolerating null is not tolerating anything: a string where a number belongs is refused.
    with pytest.raises(msgspec.ValidationError, match=r"\$"):
        msgspec.json.decode(body, type=LiveResponse)
    with pytest.raises(DecodeError, match=re.escape(where)) as caught:
        decode_response(body)
    assert caught.value.body == body  # the raw body is kept


def test_decode_response_of_a_body_that_is_no_json_keeps_it() -> None:
    with pytest.raises(DecodeError, match="not a DataForSEO envelope") as caught:
        decode_response("<html>502 Bad Gateway</html>")
    assert caught.value.body == b"<html>502 Bad Gateway</html>"


def test_decode_response_reads_a_null_free_body_like_the_fast_path() -> None:
    for raw in (fixture("chat_gpt_live_response.json"), SYNTHETIC_LIVE):
        assert decode_response(raw) == msgspec.json.decode(raw, type=LiveResponse)


def test_defaults_are_never_shared() -> None:
    first, second = LiveResponse(), decode_response(b'{"tasks": null}')
    assert first.tasks == second.tasks == [] and first.tasks is not second.tasks
    assert Item().sections is not Item().sections


@pytest.mark.parametrize(
    "tasks",
    [b"[]", b'[{"id": "t", "status_code": 40501, "result": null}]', b'[{"result": []}]'],
)
def test_result_is_none_without_a_result(tasks: bytes) -> None:
    body = b'{"status_code": 20000, "tasks": ' + tasks + b"}"
    assert msgspec.json.decode(body, type=LiveResponse).result is None


# Synthetic: the Models result fields (https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/models/);
# `reasoning` is absent from the official OpenAPI-generated clients' schema, so one model omits
# it.
SYNTHETIC_MODELS = b"""{
  "status_code": 20000, "cost": 0,
  "tasks": [{"status_code": 20000, "result": [
    {"model_name": "o3", "web_search_supported": true, "task_post_supported": true,
     "reasoning": true},
    {"model_name": "gpt-4.1-mini", "web_search_supported": true, "task_post_supported": false}
  ]}]
}"""


def test_models_response() -> None:
    response = msgspec.json.decode(SYNTHETIC_MODELS, type=ModelsResponse)
    assert response.tasks[0].result is not None
    o3, mini = response.tasks[0].result
    assert (o3.model_name, o3.web_search_supported, o3.task_post_supported) == ("o3", True, True)
    assert o3.reasoning is True
    assert mini.reasoning is None  # absent means unknown, not False
    assert mini.task_post_supported is False


# Synthetic: the user_data result fields (https://docs.dataforseo.com/v3/appendix/user_data/;
# rates/money nesting as documented).
SYNTHETIC_USER_DATA = b"""{
  "status_code": 20000,
  "tasks": [{"status_code": 20000, "result": [{
    "login": "me", "timezone": "UTC",
    "rates": {"limits": {"day": {"serp": 100000}, "minute": {"total": 2000, "serp": 2000}},
              "statistics": {"minute": {"total": 3}}},
    "money": {"total": 100.0, "balance": 42.5, "limits": {"day": {"total": 0}}},
    "price": {"ai_optimization": {"llm_responses": {"live": 0.0006}}},
    "backlinks_subscription_expiry_date": null,
    "llm_mentions_subscription_expiry_date": "2026-12-01 00:00:00 +00:00"
  }]}]
}"""


def test_user_data_response() -> None:
    response = msgspec.json.decode(SYNTHETIC_USER_DATA, type=UserDataResponse)
    assert response.tasks[0].result is not None
    (user,) = response.tasks[0].result
    assert (user.login, user.timezone) == ("me", "UTC")
    assert user.minute_limit == 2000
    assert user.balance == 42.5
    assert user.backlinks_subscription_expiry_date is None
    assert user.llm_mentions_subscription_expiry_date == "2026-12-01 00:00:00 +00:00"


@pytest.mark.parametrize(
    ("rates", "limit"),
    [
        ({"limits": {"minute": {"total": 10000}}}, 10000),
        ({"limits": {"minute": {"total": 2000.0}}}, 2000),  # the official schema's number
        ({"limits": {"minute": {"total": 2000.0, "ai_optimization": {"llm_responses": {}}}}}, 2000),
        ({"limits": {"minute": {"total": 0.5}}}, None),
        ({"limits": {"minute": {"total": float("nan")}}}, None),
        ({"limits": {"minute": None}}, None),
        ({"limits": None}, None),
        ({"limits": {"minute": 2000}}, 2000),  # a flat number is read too
        ({"limits": {"minute": {"serp": 2000}}}, None),
        ({"limits": {"minute": {"total": True}}}, None),
        ({"limits": {"minute": {"total": "2000"}}}, None),
        ({"limits": {}}, None),
        ({}, None),
    ],
)
def test_minute_limit(rates: dict[str, dict[str, object]], limit: int | None) -> None:
    assert UserData(rates=rates).minute_limit == limit


@pytest.mark.parametrize(
    ("money", "balance"),
    [({"balance": 3}, 3.0), ({"balance": 0.25}, 0.25), ({"balance": None}, None), ({}, None)],
)
def test_balance(money: dict[str, object], balance: float | None) -> None:
    assert UserData(money=money).balance == balance


def test_standard_method_answers_read_null_as_absent() -> None:
    posted = decode_response(
        b'{"status_code": 20000, "tasks": [null, {"id": "t", "status_code": 20100,'
        b' "cost": null, "data": {"tag": "a"}}]}',
        TaskPostResponse,
    )
    assert posted.ids_by_tag == {"a": "t"} and posted.tasks[0].cost == 0.0
    ready = decode_response(
        b'{"tasks": [{"result": [null, {"id": null, "tag": "b"}, {"id": "c"}]}, null]}',
        TasksReadyResponse,
    )
    assert [(r.id, r.tag) for r in ready.ready] == [("", "b"), ("c", None)]
    assert decode_response(b'{"tasks": null}', TasksReadyResponse).ready == []
