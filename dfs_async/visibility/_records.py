"""Reading a results file one record at a time, as `dfs_async.read_results` reads it.

`read_results` returns every record in a list; a report over millions of answers cannot hold
them. This reader keeps its semantics (a line that is not a record is skipped, a BOM on the
first line is ignored, the last record of a key wins) while decoding only the fields scoring
needs, into narrow msgspec Structs.

Last-record-wins needs one pass over the keys before the records are scored: the first pass
keeps a 64-bit digest per distinct key (a Python ``set`` of ints, about 60 bytes a key: 12 MB
for 200,000 records) and, for the rare keys written twice (a failed call answered on a re-run),
the line that wins. Two keys are taken for one only if their 64-bit digests agree. That pass
reads the file in chunks of whole lines and finds the keys of a chunk with one regex call.
"""

from __future__ import annotations

import os
import re
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


_digest: Final = hash
"""64 bits of a whole key, from its UTF-8 bytes (a hand-made file's keys may share their first
digits): Python's own hash of bytes (SipHash), one C call a key. The digests live only as long
as the process, as the hash does."""


_CHUNK: Final = 1 << 18
"""Bytes read at a time: whole lines, which the first pass reads with one regex call."""
_LINE_KEY: Final = re.compile(rb'\{"key":"([^"\\\n]*)"[^\n]*\n|[^\n]*\n')
"""Each line of a chunk: the key of a line a sink wrote (``{"key":"...`` first, no escapes),
found without decoding the line, else b"" (any other line, or an empty key)."""


def _chunks(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The file as pieces of whole lines, each line ending in a newline (one is added to a last
    line that lacks it), a BOM at the start of the file removed."""
    with open(path, "rb") as f:
        block = f.read(_CHUNK)
        # The start of the piece, up to the block's last newline: a list, so that a line longer
        # than a block is joined once, not copied again with every block read.
        parts = [block[len(_BOM) :] if block.startswith(_BOM) else block]
        while block:
            block = f.read(_CHUNK)
            end = block.rfind(b"\n") + 1
            if not end:
                parts.append(block)
                continue
            parts.append(block[:end])
            yield b"".join(parts)
            parts = [block[end:]]
        last = b"".join(parts)
        if last:
            yield last if last.endswith(b"\n") else last + b"\n"


def _lines_of(chunk: bytes) -> list[bytes]:
    """The lines of a chunk, without their newlines (blank ones included: they are counted)."""
    lines = chunk.split(b"\n")
    lines.pop()  # the empty piece after the chunk's last newline
    return lines


def _is_blank(line: bytes) -> bool:
    return not line or line.isspace()  # isspace() would copy nothing, strip() would


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line, BOM removed, as `read_results` sees them."""
    number = 0
    for chunk in _chunks(path):
        for line in _lines_of(chunk):
            number += 1
            if line and not line.isspace():  # _is_blank, inline: once per record
                yield number, line


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


def _winners(path: str | os.PathLike[str]) -> dict[int, int]:
    """The first pass: digest -> number of the line that wins, for the keys written twice or
    more; `ResultsFileError` if no line of a file that has some is a record."""
    keys = msgspec.json.Decoder(_Key)
    seen: set[int] = set()
    winner: dict[int, int] = {}
    unreadable = 0
    number = 0
    for chunk in _chunks(path):
        found = _LINE_KEY.findall(chunk)
        if b"" not in found:
            # Most chunks: every line a sink's, each key new. Checked as a whole, in C.
            digests = set(map(_digest, found))
            if len(digests) == len(found) and seen.isdisjoint(digests):
                seen |= digests
                number += len(found)
                continue
        for line in _lines_of(chunk):
            number += 1
            if _is_blank(line):
                continue
            match = _LINE_KEY.match(line + b"\n")
            key = _digest(match.group(1)) if match and match.group(1) else None
            if key is None or key in seen:
                # Decoded in full only when needed: a line whose key is not written first, or a
                # key seen before (the later line wins only if it is a record).
                try:
                    key = _digest(keys.decode(line).key.encode())
                except (msgspec.DecodeError, ValueError, RecursionError):
                    unreadable += 1
                    continue
            if key in seen:
                winner[key] = number
            else:
                seen.add(key)
    if unreadable and not seen:
        # As JsonlSink refuses it: scoring it would report "nothing named" from no answer.
        raise ResultsFileError(path, "is not a results file (no line is a dfs_async result)")
    return winner


def read_answers(path: str | os.PathLike[str]) -> Iterator[Answer]:
    """Each record of ``path`` that `read_results` would return, one at a time, file order of
    the winning line (a key's last record)."""
    winner = _winners(path)
    decoder = msgspec.json.Decoder(Answer)
    for number, line in _lines(path):
        try:
            answer = decoder.decode(line)
        except (msgspec.DecodeError, ValueError, RecursionError):
            continue  # not a record; read_results skips it too
        if winner and winner.get(_digest(answer.key.encode()), number) != number:
            continue  # a later record of this key wins
        yield answer
