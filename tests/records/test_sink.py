"""The JSONL sink: one flushed record per result, torn tails tolerated, damaged lines skipped,
foreign files refused, one writer per file."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from dfs_async import (
    JsonlSink,
    LiveRequest,
    PromptResult,
    ResultsFileError,
    ResultsFileInUseError,
    Target,
    ValidationError,
    read_results,
)
from dfs_async._records import _sink
from dfs_async._wire._decode import LIVE_DECODER
from dfs_async._wire._keys import body_key, request_key
from dfs_async._wire._requests import encode_body

from .._fakes import OK_BODY


def result(i: int, ok: bool = True) -> PromptResult:
    request = LiveRequest(user_prompt=f"p{i}", model_name="gpt-4.1-mini")
    return PromptResult(
        index=i,
        platform="chat_gpt",
        request=request,
        key=request_key("chat_gpt", request),
        response=LIVE_DECODER.decode(OK_BODY) if ok else None,
        error=None if ok else ValidationError("user_prompt", "too long"),
        target=Target("chat_gpt", "gpt-4.1-mini"),
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


def write_records(path: Path, n: int) -> list[bytes]:
    with JsonlSink(path) as sink:
        for i in range(n):
            sink.write(result(i))
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("damage", "unreadable"),
    [
        (lambda line: line[: len(line) // 2] + b"\n", 1),  # cut short by a crash long ago
        (lambda line: b"\n", 0),  # a blank line holds nothing to lose
        (lambda line: b"garbage \xff\xfe\n", 1),
        (lambda line: b'{"hello":"world"}\n', 1),
        (lambda line: b"[1,2,3]\n", 1),
        (lambda line: line.replace(b'"ok":true', b'"ok":"yes"'), 1),  # a wrong-typed field
        # Any field read_results would refuse, not only those resuming needs: the sink and
        # read_results agree on which lines are records.
        (lambda line: line.replace(b'"index":9,', b'"index":"9",'), 1),
        (lambda line: line.replace(b'"prompt":"p9"', b'"prompt":null'), 1),
        (lambda line: line.replace(b'"ok":true,', b'"ok":true,"metadata":[1],'), 1),
        (lambda line: line.replace(b'"ok":true,', b'"ok":true,"sample":0.5,'), 1),
        (lambda line: line.replace(b'"ok":true,', b'"ok":true,"error":{"type":"X"},'), 1),
    ],
)
def test_a_damaged_line_in_the_middle_costs_that_line_only(
    tmp_path: Path, damage: Callable[[bytes], bytes], unreadable: int
) -> None:
    path = tmp_path / "out.jsonl"
    lines = write_records(path, 100)
    lines[9] = damage(lines[9])
    damaged = b"".join(lines)
    path.write_bytes(damaged)
    with JsonlSink(path) as sink:
        assert sink.done == {result(i).key for i in range(100) if i != 9}
        assert sink.unreadable_lines == unreadable
        assert sink.first_unreadable_line == (10 if unreadable else None)
    assert path.read_bytes() == damaged  # nothing truncated, nothing rewritten
    assert {r.index for r in read_results(path)} == set(range(100)) - {9}
    if unreadable:
        with pytest.raises(ResultsFileError, match="line 10 is not a result record"):
            read_results(path, strict=True)


def test_a_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    whole = b"".join(write_records(path, 2))
    path.write_bytes(whole.rstrip(b"\n"))
    with JsonlSink(path) as sink:
        assert sink.done == {result(0).key, result(1).key}
        sink.write(result(2))
    assert path.read_bytes().startswith(whole)
    assert path.read_bytes().count(b"\n") == 3
    assert len(read_results(path, strict=True)) == 3


@pytest.mark.parametrize(
    "content",
    [
        b"my notes\nabout the sweep\n",
        b"prompt,platform\nbest crm,claude\n",
        bytes(range(256)) * 4,
        b"no newline at all",
        b'{"hello":"world"}\n',
        b'{"user_prompt": "a prompts file, not results"}\n',
    ],
)
def test_a_file_that_is_not_a_results_file_is_refused_untouched(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    before = path.stat()
    with pytest.raises(ResultsFileError, match="not a results file"):
        JsonlSink(path).open()
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    # The refusal released the file: a second try is refused the same way, not as "in use".
    with pytest.raises(ResultsFileError, match="not a results file"):
        JsonlSink(path).open()


def test_a_results_file_with_a_bom_is_read_whole_and_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    whole = b"".join(write_records(path, 3))
    path.write_bytes(b"\xef\xbb\xbf" + whole)
    with JsonlSink(path) as sink:
        assert len(sink.done) == 3
        assert sink.unreadable_lines == 0
        sink.write(result(3))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf" + whole)
    assert len(read_results(path, strict=True)) == 4


def test_directories_and_devices_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="cannot open"):
        JsonlSink(tmp_path).open()
    if os.path.exists("/dev/null"):
        with pytest.raises(ResultsFileError, match="not a regular file"):
            JsonlSink("/dev/null").open()


def test_two_sinks_on_one_file_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JsonlSink(path) as first:
        with pytest.raises(ResultsFileInUseError, match="another sink in this process") as info:
            JsonlSink(tmp_path / "." / "out.jsonl").open()
        assert info.value.pid == os.getpid()
        first.write(result(0))
    with JsonlSink(path) as again:  # closing released it
        assert again.done == {result(0).key}


HOLD = """
import sys
import threading
from dfs_async import JsonlSink
with JsonlSink(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_sink_in_another_process_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_records(path, 2)
    before = path.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(ResultsFileInUseError) as info:
            JsonlSink(path).open()
        assert info.value.pid in (holder.pid, None)  # None where the system cannot tell
        if sys.platform == "linux":
            assert f"process {holder.pid}" in str(info.value)
    finally:
        holder.communicate("", timeout=10)
    assert path.read_bytes() == before
    with JsonlSink(path) as sink:  # the holder ended: free again
        assert len(sink.done) == 2


def test_a_failed_write_leaves_every_recorded_line_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.jsonl"
    whole = b"".join(write_records(path, 2))

    def disk_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with JsonlSink(path) as sink:
        monkeypatch.setattr(_sink, "_write_all", disk_full)
        with pytest.raises(ResultsFileError, match="cannot write: No space left on device"):
            sink.write(result(2))
        assert path.read_bytes() == whole  # the half line is gone
        monkeypatch.undo()
        with pytest.raises(ResultsFileError):  # and nothing more is written after it
            sink.write(result(3))
    assert path.read_bytes() == whole
    assert len(read_results(path, strict=True)) == 2


def returns_within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` on a daemon thread: the exception it raised, failing if it hangs."""
    raised: list[BaseException | None] = [None]

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised[0] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung: opened the FIFO for reading before checking it"
    return raised[0]


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes as on POSIX")
@pytest.mark.parametrize("reader", ["read_results", "peek", "open"])
def test_a_fifo_is_refused_at_once_never_waited_on(tmp_path: Path, reader: str) -> None:
    fifo = tmp_path / "results.jsonl"
    os.mkfifo(fifo)
    calls: dict[str, Callable[[], object]] = {
        "read_results": lambda: read_results(fifo),
        "peek": lambda: JsonlSink.peek(fifo),
        "open": lambda: JsonlSink(fifo).open(),
    }
    error = returns_within(5, calls[reader])
    assert isinstance(error, ResultsFileError)
    assert "is not a regular file (a named pipe)" in str(error)
