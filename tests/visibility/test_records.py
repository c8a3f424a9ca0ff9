"""The report reads a results file exactly as `read_results` does, one record at a time."""

from __future__ import annotations

from pathlib import Path

import msgspec

from dfs_async import read_results
from dfs_async.visibility._records import read_answers

from ._fixtures import record


def test_same_records_as_read_results(tmp_path: Path) -> None:
    failed = record("p1", None)
    answered = record("p1", "Acme")  # the same key, answered on a re-run: it wins
    other = record("p2", "Globex")
    lines = [
        b"\xef\xbb\xbf" + msgspec.json.encode(failed),
        b"not json at all",
        b"",
        msgspec.json.encode({"key": "x" * 32}),  # a record lacking required fields
        msgspec.json.encode(other),
        msgspec.json.encode(answered),
        msgspec.json.encode(record("p3", "Initech"))[:40],  # torn by a crash mid-write
    ]
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(lines))
    expected = {(r.key, r.ok, r.prompt) for r in read_results(path)}
    got = {(a.key, a.ok, a.prompt) for a in read_answers(path)}
    assert got == expected
    assert len(got) == 2 and all(ok for _, ok, _ in got)
