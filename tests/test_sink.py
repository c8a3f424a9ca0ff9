"""The JSONL sink: one flushed record per result, torn tails tolerated, resume sets."""

from __future__ import annotations

from pathlib import Path

import msgspec

from dfs_async import JsonlSink, LiveRequest, PromptResult, ValidationError, read_results
from dfs_async._decode import LIVE_DECODER
from dfs_async._requests import encode_body
from dfs_async._results import body_key, request_key

from ._fakes import OK_BODY


def result(i: int, ok: bool = True) -> PromptResult:
    request = LiveRequest(user_prompt=f"p{i}", model_name="gpt-4.1-mini")
    return PromptResult(
        index=i,
        platform="chat_gpt",
        request=request,
        key=request_key("chat_gpt", request),
        response=LIVE_DECODER.decode(OK_BODY) if ok else None,
        error=None if ok else ValidationError("user_prompt", "too long"),
    )


def test_each_result_is_on_disk_as_soon_as_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlSink(path) as sink:
        sink.write(result(0))
        # Read by another handle while the sink is still open: flushed, one full line.
        lines = path.read_bytes().splitlines()
        assert len(lines) == 1
        record = msgspec.json.decode(lines[0])
        assert record["ok"] is True
        assert record["prompt"] == "p0"
        assert record["platform"] == "chat_gpt"
        assert record["model_name"] == "gpt-4.1-mini"
        assert record["response"]["tasks"][0]["result"][0]["model_name"]
        assert record["cost"] > 0
        sink.write(result(1, ok=False))
    failed = read_results(path)[1]
    assert failed.error is not None
    assert (failed.ok, failed.error.type, failed.error.status_code) == (
        False,
        "ValidationError",
        None,
    )


def test_a_torn_last_line_is_ignored_and_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlSink(path) as sink:
        sink.write(result(0))
        sink.write(result(1, ok=False))
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"key": "abc", "ok": tr')  # a crash mid-write
    with JsonlSink(path) as sink:
        assert sink.done == {result(0).key}
        assert sink.failed == {result(1).key}
        sink.write(result(2))
    assert len(read_results(path)) == 3
    assert path.read_bytes().startswith(whole)
    assert path.read_bytes().count(b"\n") == 3


def test_a_later_success_clears_an_earlier_failure(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlSink(path) as sink:
        sink.write(result(5, ok=False))
        sink.write(result(5))
    with JsonlSink(path) as sink:
        assert sink.done == {result(5).key}
        assert sink.failed == set()
    assert [r.ok for r in read_results(path)] == [True]


def test_keys_are_stable_and_depend_on_every_sent_field() -> None:
    a = LiveRequest(user_prompt="q", model_name="m", tag="t")
    assert request_key("claude", a) == request_key(
        "claude", LiveRequest(user_prompt="q", model_name="m", tag="t", platform="claude")
    )
    assert request_key("claude", a) != request_key("gemini", a)
    assert request_key("claude", a) != request_key(
        "claude", LiveRequest(user_prompt="q", model_name="m", tag="u")
    )
    assert len(request_key("claude", a)) == 32
    assert request_key("claude", a) == body_key("claude", encode_body(a))
