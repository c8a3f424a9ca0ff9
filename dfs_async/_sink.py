"""Durable sweeps: one JSON line per finished item, written as it arrives, read back to resume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Self

import msgspec

from ._results import PromptResult, ResultRecord


class _Settled(msgspec.Struct):
    settled: bool = False


class _KeyStatus(msgspec.Struct):
    key: str
    ok: bool
    error: _Settled | None = None


class JsonlSink:
    """Appends a `ResultRecord` per result to ``path`` and flushes it at once.

    Opening reads what an earlier run wrote: keys answered (`done`), keys that failed
    (`failed`), and among those the `settled` ones, which a re-run leaves alone unless asked
    (invalid requests, and calls that may have been charged). A torn last line, left by a
    crash mid-write, is ignored and overwritten.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self.settled: set[str] = set()
        self._file: IO[bytes] | None = None
        self._encoder = msgspec.json.Encoder()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Read earlier results, then open for appending."""
        valid_end = self._load()
        self._file = open(self.path, "r+b" if self.path.exists() else "wb")  # noqa: SIM115
        # Drop a torn tail so the next record starts on a clean line.
        self._file.truncate(valid_end)
        self._file.seek(valid_end)

    def _load(self) -> int:
        if not self.path.exists():
            return 0
        decoder = msgspec.json.Decoder(_KeyStatus)
        valid_end = 0
        with open(self.path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break  # torn last line
                try:
                    rec = decoder.decode(line)
                except msgspec.DecodeError:
                    break  # a torn line that happens to end a block; nothing after it counts
                valid_end += len(line)
                self._note(rec.key, rec.ok, rec.error is not None and rec.error.settled)
        return valid_end

    def _note(self, key: str, ok: bool, settled: bool) -> None:
        if ok:
            self.done.add(key)
            self.failed.discard(key)
            self.settled.discard(key)
        elif key not in self.done:
            self.failed.add(key)
            if settled:
                self.settled.add(key)
            else:
                self.settled.discard(key)

    def write(self, result: PromptResult) -> None:
        """Append and flush the record of ``result``."""
        if self._file is None:
            raise RuntimeError("JsonlSink is not open")
        # The key sets describe the file as it was opened and are not grown here: a sweep of
        # millions would otherwise keep every key in memory for nothing.
        record = ResultRecord.of(result)
        self._file.write(self._encoder.encode(record) + b"\n")
        self._file.flush()

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_results(path: str | os.PathLike[str]) -> list[ResultRecord]:
    """Every complete record of a results file, last record per key winning."""
    decoder = msgspec.json.Decoder(ResultRecord)
    latest: dict[str, ResultRecord] = {}
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                rec = decoder.decode(line)
            except msgspec.DecodeError:
                break
            latest[rec.key] = rec
    return list(latest.values())
