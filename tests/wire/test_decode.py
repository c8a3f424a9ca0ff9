"""`decode_envelope` on hostile bodies: whatever the server sends, only a `DFSError` escapes,
and a body that is not an envelope is kept raw on the error."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dfs_async import (
    APIError,
    DecodeError,
    DFSError,
    LiveResponse,
    ModelsResponse,
    TaskPostResponse,
    TasksReadyResponse,
    UserDataResponse,
)
from dfs_async._errors import RAW_BODY_LIMIT
from dfs_async._wire._decode import (
    LIVE_DECODER,
    MODELS_DECODER,
    TASK_POST_DECODER,
    TASKS_READY_DECODER,
    USER_DATA_DECODER,
    decode_envelope,
    decode_response,
)

from .._fakes import FIXTURES, OK_BODY, envelope

DECODERS: list[msgspec.json.Decoder[Any]] = [
    LIVE_DECODER,
    MODELS_DECODER,
    USER_DATA_DECODER,
    TASK_POST_DECODER,
    TASKS_READY_DECODER,
]
ENVELOPES: list[type[Any]] = [
    LiveResponse,
    ModelsResponse,
    UserDataResponse,
    TaskPostResponse,
    TasksReadyResponse,
]
SEEDS = [
    OK_BODY,
    envelope(20000),
    envelope(20000, task_code=40501),
    envelope(50000),
    (FIXTURES / "error_40101_task_level_helpcenter.json").read_bytes(),
    (FIXTURES / "error_http401_body_40100_thirdparty_observed.json").read_bytes(),
    b'{"status_code": 20000, "tasks": [{"status_code": 20000, "result": null}]}',
]
STATUSES = st.sampled_from([200, 200, 200, 400, 401, 402, 404, 429, 500, 502, 503]) | st.integers(
    100, 599
)
# Deterministic (derandomize) and unhurried: a busy machine must not fail a health check.
FUZZ = settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)


def check(http_status: int, body: bytes, decoder: msgspec.json.Decoder[Any]) -> None:
    """Decode, and on failure require a typed error that keeps what it must."""
    error: DFSError | None = None
    try:
        decode_envelope(http_status, body, decoder)
    except DFSError as exc:  # anything else fails the test
        error = exc
    if isinstance(error, DecodeError):
        assert error.http_status == http_status
        assert error.body == body[:RAW_BODY_LIMIT]
    elif isinstance(error, APIError):
        assert error.http_status in (http_status, 200)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real body with a few bytes flipped, inserted, deleted, or the end cut off."""
    body = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if kind == "flip" and at < len(body):
            body[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 16))]
        else:
            del body[at:]
    return bytes(body)


@FUZZ
@given(st.binary(max_size=512), STATUSES, st.sampled_from(DECODERS))
@example(b'"\xff"', 200, LIVE_DECODER)
@example(b'{"status_code": 50000, "status_message": "\xff"}', 500, LIVE_DECODER)
@example(b"[" * 499 + b"]" * 499, 200, LIVE_DECODER)
@example(
    b'{"status_code": 20000, "tasks": [' + b"[" * 2000 + b"]" * 2000 + b"]}", 200, LIVE_DECODER
)
@example(
    b'{"status_code": 20000, "tasks": [{"status_code": 20000}], "cost": null}', 200, LIVE_DECODER
)
@example(b'"\\udcff"', 200, LIVE_DECODER)
def test_random_bytes_raise_only_dfs_errors(
    body: bytes, http_status: int, decoder: msgspec.json.Decoder[Any]
) -> None:
    check(http_status, body, decoder)


@FUZZ
@given(mutated(), STATUSES, st.sampled_from(DECODERS))
def test_mutated_real_bodies_raise_only_dfs_errors(
    body: bytes, http_status: int, decoder: msgspec.json.Decoder[Any]
) -> None:
    check(http_status, body, decoder)


@FUZZ
@given(JSON, st.sampled_from([200, 500]), st.sampled_from(DECODERS))
def test_any_json_document_raises_only_dfs_errors(
    document: object, http_status: int, decoder: msgspec.json.Decoder[Any]
) -> None:
    check(http_status, msgspec.json.encode(document), decoder)


@pytest.mark.parametrize(
    "body",
    [
        b'"\xff"',
        b'{"status_code": 20000, "status_message": "ok \xff", "tasks": []}',
        b"[" * 499 + b"]" * 499,
        b'{"status_code": 20000, "tasks": [{"status_code": 20000, "result": [null, '
        + b"[" * 600
        + b"]" * 600
        + b"]}]}",
    ],
)
def test_malformed_200_bodies_are_decode_errors_keeping_the_raw_body(body: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode_envelope(200, body, LIVE_DECODER)
    assert info.value.body == body[:RAW_BODY_LIMIT]
    assert info.value.http_status == 200


def test_a_500_with_invalid_utf8_is_a_server_error_keeping_the_body() -> None:
    body = b'{"status_code": 50000, "status_message": "upstream \xff failed"}'
    with pytest.raises(APIError) as info:
        decode_envelope(500, body, LIVE_DECODER)
    assert info.value.http_status == 500
    assert info.value.retryable


def test_the_real_example_still_decodes() -> None:
    envelope_ = decode_envelope(200, OK_BODY, LIVE_DECODER)
    assert isinstance(envelope_, LiveResponse)
    assert envelope_.tasks


# The lenient second pass (dfs_async._wire._nulls), held to one rule: a null where the type
# takes none reads exactly as if the key were absent, and a null list element as if it were
# not there. Checked on the real answer, with nulls put anywhere but in the free-form parts
# (the request echo ``data`` and ``fan_out_queries`` keep what they are sent).
REAL = msgspec.json.decode((FIXTURES / "chat_gpt_live_response.json").read_bytes())
FREE_FORM = {"data", "fan_out_queries"}


def _places(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key and list position under ``value``, outside the free-form parts."""
    found: list[tuple[str | int, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, inner in items:
        if key in FREE_FORM:
            continue
        found.append((*path, key))
        if isinstance(inner, dict | list):
            found += _places(inner, (*path, key))
    return found


PLACES = _places(REAL)


def _container(tree: Any, path: tuple[str | int, ...]) -> Any:
    for key in path[:-1]:
        tree = tree[key]
    return tree


@FUZZ
@given(st.lists(st.sampled_from(PLACES), min_size=1, max_size=3, unique=True))
def test_a_null_anywhere_reads_as_absent(places: list[tuple[str | int, ...]]) -> None:
    with_nulls = msgspec.json.decode(msgspec.json.encode(REAL))
    without = msgspec.json.decode(msgspec.json.encode(REAL))
    # Deepest first, so an earlier change never moves a later place.
    for place in sorted(places, key=len, reverse=True):
        parent, key = _container(with_nulls, place), place[-1]
        if isinstance(parent, dict):
            parent[key] = None
            _container(without, place).pop(key, None)
        else:
            parent.insert(key, None)  # an extra null element: dropped
    body, expected = msgspec.json.encode(with_nulls), msgspec.json.encode(without)
    assert decode_response(body) == decode_response(expected)
    # The client's path: the same envelope, or the same error (a null status code is 0).
    assert _outcome(body) == _outcome(expected)


def _outcome(body: bytes) -> object:
    try:
        return decode_envelope(200, body, LIVE_DECODER)
    except DFSError as exc:  # the message without the body it quotes
        return type(exc), str(exc).split(" (HTTP")[0]


@FUZZ
@given(JSON.map(msgspec.json.encode) | mutated(), st.sampled_from(ENVELOPES))
def test_decode_response_raises_only_decode_errors(body: bytes, envelope_: type[Any]) -> None:
    error: DecodeError | None = None
    try:
        decode_response(body, envelope_)
    except DecodeError as exc:  # anything else fails the test
        error = exc
    assert error is None or error.body == body[:RAW_BODY_LIMIT]


def test_an_error_envelope_with_nulls_keeps_its_code() -> None:
    body = b'{"status_code": 40100, "status_message": null, "cost": null, "tasks": null}'
    with pytest.raises(APIError) as info:
        decode_envelope(401, body, LIVE_DECODER)
    assert info.value.status_code == 40100


class Node(msgspec.Struct):
    """A Struct that holds itself: the second pass must reach every level."""

    name: str = ""
    children: list[Node] = msgspec.field(default_factory=list)


def test_a_struct_that_holds_itself_reads_nulls_at_every_level() -> None:
    body = b'{"name": null, "children": [null, {"name": "a", "children": [{"name": null}]}]}'
    node = decode_response(body, Node)  # type: ignore[type-var]
    assert node == Node("", [Node("a", [Node("")])])
