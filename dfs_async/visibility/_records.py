"""Reading a results file one record at a time, as `dfs_async.read_results` reads it.

`read_results` returns every record in a list; a report over millions of answers cannot hold
them. This reader keeps its semantics (a line that is not a record is skipped, a BOM on the
first line is ignored, the last record of a key wins) while decoding only the fields scoring
needs, into narrow msgspec Structs.

Last-record-wins needs one pass over the keys before the records are scored: the first pass
keeps a 64-bit digest per distinct key (a Python ``set`` of ints, about 60 bytes a key: 12 MB
for 200,000 records) and, for the rare keys written twice (a failed call answered on a re-run),
the line that wins. Two keys are taken for one only if their 64-bit BLAKE2b digests agree.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any, Final

import msgspec

from dfs_async import ResultsFileError

_BOM: Final = b"\xef\xbb\xbf"


class _Annotation(msgspec.Struct, frozen=True, gc=False):
    title: str | None = None
    url: str | None = None
    direct_url: str | None = None


class _Section(msgspec.Struct, frozen=True, gc=False):
    text: str | None = ""
    annotations: list[_Annotation | None] | None = None


class _Item(msgspec.Struct, frozen=True, gc=False):
    type: str | None = ""
    sections: list[_Section | None] | None = None


class _Result(msgspec.Struct, frozen=True, gc=False):
    model_name: str | None = ""
    items: list[_Item | None] | None = None


class _Task(msgspec.Struct, frozen=True, gc=False):
    result: list[_Result | None] | None = None


class _Response(msgspec.Struct, frozen=True, gc=False):
    tasks: list[_Task | None] | None = None


class Answer(msgspec.Struct, frozen=True, gc=False):
    """The fields of a `dfs_async.ResultRecord` a report reads (its required ones included,
    so a line `read_results` refuses is refused here too)."""

    key: str
    index: int
    platform: str | None
    model_name: str | None
    prompt: str
    ok: bool
    cost: float = 0.0
    cost_estimate: float | None = None
    sample: int = 0
    id: str | int | None = None
    metadata: dict[str, Any] | None = None
    posted: bool = False
    response: _Response | None = None

    @property
    def result(self) -> _Result | None:
        """The first task's first result, as `dfs_async.LiveResponse.result` picks it."""
        tasks = self.response.tasks if self.response is not None else None
        task = tasks[0] if tasks else None
        results = task.result if task is not None else None
        return results[0] if results else None


class _Key(msgspec.Struct, frozen=True, gc=False):
    """A record's required fields: a line lacking one is no record for `read_results`."""

    key: str
    index: int
    platform: str | None
    model_name: str | None
    prompt: str
    ok: bool


def message_text_and_citations(result: _Result) -> tuple[str, dict[str, str | None]]:
    """The answer's text (every message section, joined by blank lines), and each distinct
    cited URL (``direct_url``, else ``url``) with its last title, in order, in one walk."""
    texts: list[str] = []
    cited: dict[str, str | None] = {}
    for item in result.items or ():
        if item is None or item.type != "message":
            continue
        for section in item.sections or ():
            if section is None:
                continue
            texts.append(section.text or "")
            for note in section.annotations or ():
                if note is not None:
                    url = note.direct_url or note.url
                    if url:
                        cited[url] = note.title
    return (texts[0] if len(texts) == 1 else "\n\n".join(texts)), cited


def _digest(key: str) -> int:
    """64 bits of the whole key: a hand-made file's keys may share their first digits."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


_KEY_FIRST: Final = b'{"key":"'


def _leading_key(line: bytes) -> int | None:
    """The digest of the key of a line a sink wrote (``{"key":"...`` first, no escapes), read
    without decoding the line; None for any other line."""
    if not line.startswith(_KEY_FIRST):
        return None
    end = line.find(b'"', len(_KEY_FIRST))
    if end < 0 or b"\\" in line[len(_KEY_FIRST) : end]:
        return None
    return int.from_bytes(
        hashlib.blake2b(line[len(_KEY_FIRST) : end], digest_size=8).digest(), "big"
    )


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line, BOM removed, as `read_results` sees them."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            text = line[len(_BOM) :] if number == 1 and line.startswith(_BOM) else line
            if text and not text.isspace():  # strip() would copy every line to say so
                yield number, text


def check_results_file(path: str | os.PathLike[str]) -> None:
    """`ResultsFileError` unless ``path`` holds a record, or nothing at all (an empty file);
    reads only up to its first record."""
    keys = msgspec.json.Decoder(_Key)
    unreadable = False
    for _, line in _lines(path):
        try:
            keys.decode(line)
        except (msgspec.DecodeError, ValueError, RecursionError):
            unreadable = True
            continue
        return
    if unreadable:
        raise ResultsFileError(path, "is not a results file (no line is a dfs_async result)")


def read_answers(path: str | os.PathLike[str]) -> Iterator[Answer]:
    """Each record of ``path`` that `read_results` would return, one at a time, file order of
    the winning line (a key's last record)."""
    keys = msgspec.json.Decoder(_Key)
    seen: set[int] = set()
    winner: dict[int, int] = {}  # digest -> line number, only for keys written twice or more
    unreadable = 0
    for number, line in _lines(path):
        key = _leading_key(line)
        if key is None or key in seen:
            # Decoded in full only when needed: a line whose key is not written first, or a
            # key seen before (the later line wins only if it is a record).
            try:
                key = _digest(keys.decode(line).key)
            except (msgspec.DecodeError, ValueError, RecursionError):
                unreadable += 1
                continue
        digest = key
        if digest in seen:
            winner[digest] = number
        else:
            seen.add(digest)
    if unreadable and not seen:
        # As JsonlSink refuses it: scoring it would report "nothing named" from no answer.
        raise ResultsFileError(path, "is not a results file (no line is a dfs_async result)")
    del seen
    decoder = msgspec.json.Decoder(Answer)
    for number, line in _lines(path):
        try:
            answer = decoder.decode(line)
        except (msgspec.DecodeError, ValueError, RecursionError):
            continue  # not a record; read_results skips it too
        if winner and winner.get(_digest(answer.key), number) != number:
            continue  # a later record of this key wins
        yield answer
