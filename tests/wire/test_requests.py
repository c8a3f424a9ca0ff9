"""Building, merging and encoding Live requests."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from dfs_async import ValidationError
from dfs_async._platforms import Platform
from dfs_async._wire._requests import (
    REQUEST_FIELDS,
    ChainMessage,
    LiveRequest,
    build_request,
    check_types,
    encode_body,
    merge,
)


def test_build_request_converts_every_field() -> None:
    request = build_request(
        {
            "user_prompt": "hi",
            "model_name": "gpt-4.1-mini",
            "platform": "chat_gpt",
            "max_output_tokens": 200,
            "temperature": 1,  # an int is a fine float
            "top_p": 0.5,
            "web_search": True,
            "message_chain": [{"role": "user", "message": "a"}, {"role": "ai", "message": "b"}],
            "tag": "t1",
        }
    )
    assert request.platform == "chat_gpt"
    assert request.temperature == 1.0
    assert request.message_chain == (ChainMessage("user", "a"), ChainMessage("ai", "b"))
    assert request.system_message is None


def test_build_request_unknown_field() -> None:
    with pytest.raises(ValidationError) as info:
        build_request({"user_prompt": "hi", "prompt": "x", "zeta": 1})
    assert info.value.field == "prompt"  # the first unknown name, sorted
    assert "user_prompt" in str(info.value)  # lists what is accepted


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "user_prompt"),
        ({"model_name": "m"}, "user_prompt"),
        ({"user_prompt": 5}, "user_prompt"),
        ({"user_prompt": "hi", "max_output_tokens": "200"}, "max_output_tokens"),
        ({"user_prompt": "hi", "max_output_tokens": 200.5}, "max_output_tokens"),
        ({"user_prompt": "hi", "temperature": "0.3"}, "temperature"),
        ({"user_prompt": "hi", "web_search": "yes"}, "web_search"),
        ({"user_prompt": "hi", "platform": "bing"}, "platform"),
        ({"user_prompt": "hi", "message_chain": "hello"}, "message_chain"),
        ({"user_prompt": "hi", "message_chain": [{"role": "user"}]}, "message_chain"),
        (
            {"user_prompt": "hi", "message_chain": [{"role": "user", "message": "a", "x": 1}]},
            "message_chain",
        ),
    ],
)
def test_build_request_names_the_bad_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build_request(fields)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_merge_fills_only_unset_fields() -> None:
    request = LiveRequest(user_prompt="hi", temperature=0.3)
    merged = merge(request, {"model_name": "m", "temperature": 1.5, "tag": "t"})
    assert merged.model_name == "m"
    assert merged.temperature == 0.3  # set on the request: the request wins
    assert merged.tag == "t"
    assert request.model_name is None  # frozen: the original is untouched


def test_merge_returns_the_same_request_when_nothing_is_missing() -> None:
    request = LiveRequest(user_prompt="hi", model_name="m")
    assert merge(request, {"model_name": "other"}) is request
    assert merge(request, {}) is request


def test_merge_rejects_unknown_defaults() -> None:
    with pytest.raises(ValidationError) as info:
        merge(LiveRequest(user_prompt="hi"), {"modelname": "m"})
    assert info.value.field == "modelname"


def _decode(body: bytes) -> list[dict[str, Any]]:
    tasks = msgspec.json.decode(body)
    assert isinstance(tasks, list)
    return tasks


def test_encode_body_is_an_array_with_one_task_without_unset_fields() -> None:
    body = encode_body(LiveRequest(user_prompt="hi", model_name="m"))
    assert _decode(body) == [{"user_prompt": "hi", "model_name": "m"}]


@pytest.mark.parametrize("platform", ["chat_gpt", "perplexity"])
def test_encode_body_never_sends_platform(platform: Platform) -> None:
    body = encode_body(LiveRequest(user_prompt="hi", model_name="m", platform=platform))
    (task,) = _decode(body)
    assert "platform" not in task
    assert b"platform" not in body


def test_encode_body_keeps_false_and_zero() -> None:
    # omit_defaults drops only None; an explicit False or 0.0 is the caller's choice.
    body = encode_body(LiveRequest(user_prompt="hi", web_search=False, temperature=0.0))
    assert _decode(body) == [{"user_prompt": "hi", "temperature": 0.0, "web_search": False}]


def test_encode_body_message_chain_is_a_list_of_role_message_objects() -> None:
    request = build_request(
        {
            "user_prompt": "hi",
            "message_chain": [{"role": "user", "message": "a"}, {"role": "ai", "message": "b"}],
        }
    )
    (task,) = _decode(encode_body(request))
    assert task["message_chain"] == [
        {"role": "user", "message": "a"},
        {"role": "ai", "message": "b"},
    ]


def test_encode_body_round_trips_every_field() -> None:
    fields: dict[str, Any] = {
        "user_prompt": "hi",
        "model_name": "m",
        "max_output_tokens": 200,
        "temperature": 0.3,
        "top_p": 0.5,
        "web_search": True,
        "force_web_search": True,
        "web_search_country_iso_code": "FR",
        "web_search_city": "Paris",
        "use_reasoning": False,
        "system_message": "be brief",
        "message_chain": [{"role": "user", "message": "a"}],
        "tag": "t",
    }
    assert set(fields) == REQUEST_FIELDS - {"platform"}  # the test covers every sent field
    (task,) = _decode(encode_body(build_request({**fields, "platform": "claude"})))
    assert task == fields


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tag": 7}, "tag"),
        ({"model_name": 5}, "model_name"),
        ({"web_search": "yes"}, "web_search"),
        ({"system_message": ["a"]}, "system_message"),
        ({"message_chain": ({"role": "user"},)}, "message_chain"),
        ({"message_chain": (ChainMessage("user", 3),)}, "message_chain"),  # type: ignore[arg-type]
        ({"platform": "bing"}, "platform"),
        ({"user_prompt": "lone \udcff surrogate"}, "user_prompt"),
        ({"system_message": "\ud800"}, "system_message"),
        ({"tag": object()}, "tag"),
    ],
)
def test_check_types_names_the_bad_field(fields: dict[str, Any], field: str) -> None:
    request = msgspec.structs.replace(LiveRequest(user_prompt="q", model_name="m"), **fields)
    with pytest.raises(ValidationError) as info:
        check_types(request)
    assert info.value.field == field


def test_check_types_accepts_every_well_typed_request() -> None:
    check_types(
        LiveRequest(
            user_prompt="é ok 🙂",
            model_name="m",
            platform="claude",
            temperature=1,  # an int is a fine float
            message_chain=(ChainMessage("user", "a"), ChainMessage("ai", "b")),
        )
    )
