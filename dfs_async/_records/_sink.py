"""Durable sweeps: one JSON line per finished item, written as it arrives, read back to resume.

A results file is only ever appended to. Reading it back skips a line it cannot decode (a
damaged line costs that one record, never the ones after it); the only bytes ever removed are a
record torn by a crash mid-write at the very end. A file that holds no record at all is not a
results file and is refused untouched, and an open sink holds an exclusive lock on its file, so
two sweeps can never interleave their writes or pay twice for the same items.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self, TypeVar

import msgspec

from .._errors import ResultsFileError, ResultsFileInUseError
from .._platforms import PLATFORMS
from ._costs import CostsSeen
from ._keyset import KeySet
from ._records import PromptResult, RecordHead, ResultRecord

if sys.platform != "win32":
    import fcntl

_BOM: Final = b"\xef\xbb\xbf"
_RECORD_START: Final = b'{"key":'
"""How every record begins (``key`` is `ResultRecord`'s first field): tells a torn record."""

RecordT = TypeVar("RecordT")

# Sinks open in this process, by (device, inode): a second one on the same file gets a clear
# error instead of a lock conflict with itself.
_OPEN: dict[tuple[int, int], JsonlSink] = {}


@dataclass(slots=True)
class _Scan:
    """What reading a results file found."""

    records: int = 0
    unreadable: int = 0
    first_unreadable: int | None = None
    keep: int = 0
    """Bytes to keep: the whole file but a torn final record."""
    size: int = 0
    ends_open: bool = False
    """The last kept line has no newline; one is written before the next record."""
    torn_record: bool = False


def _scan(
    lines: Iterable[bytes],
    decoder: msgspec.json.Decoder[RecordT],
    on_record: Callable[[RecordT], None],
) -> _Scan:
    scan = _Scan()
    for number, line in enumerate(lines, start=1):
        scan.size += len(line)
        text = line[len(_BOM) :] if number == 1 and line.startswith(_BOM) else line
        complete = text.endswith(b"\n")
        if not text.strip():
            scan.keep = scan.size
            scan.ends_open = not complete and bool(text)
            continue  # a blank line holds nothing to lose
        try:
            record = decoder.decode(text)
        except (msgspec.DecodeError, ValueError, RecursionError):
            if not complete and text.startswith(_RECORD_START):
                # A record torn by a crash mid-write (the last line, since it has no newline):
                # the only bytes ever dropped. ``keep`` still ends the line before it.
                scan.torn_record = True
                break
            scan.unreadable += 1
            if scan.first_unreadable is None:
                scan.first_unreadable = number
        else:
            scan.records += 1
            on_record(record)
        scan.keep = scan.size
        scan.ends_open = not complete
    return scan


class JsonlSink:
    """Appends a `ResultRecord` per result to ``path`` and flushes it at once.

    Opening takes an exclusive lock on the file (`ResultsFileInUseError` while another sink,
    in any process, holds it) and reads what an earlier run wrote: keys answered (`done`),
    keys that failed (`failed`), and among those the `settled` ones, which a re-run leaves
    alone unless asked (invalid requests, and calls that may have been charged). Lines that
    cannot be read are skipped and counted (`unreadable_lines`, `first_unreadable_line`); a
    record torn by a crash at the end of the file is dropped. An existing file that holds no
    record is refused with `ResultsFileError` and left untouched.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Digests, 8 bytes a key: a million-record file resumes in a few MB (see KeySet).
        self.done = KeySet()
        self.failed = KeySet()
        self.settled = KeySet()
        self.spent = 0.0
        """USD the file's records cost, charges of unknown amount counted at their estimate:
        a resumed sweep's ``max_cost`` covers the whole file, so it starts from here."""
        self.costs = CostsSeen()
        """Costs of the file's answers per target, for the estimates of the calls left."""
        self.posted: dict[str, str | None] = {}
        """Keys posted as Standard tasks and not collected: task id, or None when the
        task_post answer never arrived (resolved through tasks_ready tags)."""
        self.unreadable_lines = 0
        """Lines of the file, as opened, that are not records (skipped, kept in the file)."""
        self.first_unreadable_line: int | None = None
        """1-based number of the first of those lines."""
        self._fd: int | None = None
        self._id: tuple[int, int] | None = None
        self._end = 0
        self._broken: ResultsFileError | None = None
        self._encoder = msgspec.json.Encoder()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """True between `open` and `close`."""
        return self._fd is not None

    def open(self) -> None:
        """Lock the file, read earlier results, then open it for appending."""
        if self._fd is not None:
            raise RuntimeError("JsonlSink is already open")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ResultsFileError(self.path, f"cannot open: {exc.strerror or exc}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ResultsFileError(self.path, "is not a regular file")
            self._id = _lock(self.path, fd, self)
            scan = self._load(fd)
            if scan.records == 0 and scan.unreadable:
                raise ResultsFileError(
                    self.path,
                    "exists and is not a results file (no line is a dfs_async result); "
                    "it was left untouched: give a new file or an earlier run's results",
                )
            if scan.keep < scan.size:
                os.ftruncate(fd, scan.keep)  # a torn final record, never anything else
            if scan.ends_open:
                _write_all(fd, b"\n")
        except BaseException:
            self._release(fd)
            raise
        self.unreadable_lines = scan.unreadable
        self.first_unreadable_line = scan.first_unreadable
        self._end = os.fstat(fd).st_size
        self._fd = fd

    @classmethod
    def peek(cls, path: str | os.PathLike[str]) -> JsonlSink:
        """What a results file holds (key sets, ``spent``, costs), read without locking or
        changing it, for a preview of a sweep; a missing file reads as empty. Not opened."""
        sink = cls(path)
        try:
            fd = os.open(sink.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return sink
        except OSError as exc:
            raise ResultsFileError(sink.path, f"cannot open: {exc.strerror or exc}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ResultsFileError(sink.path, "is not a regular file")
            scan = sink._load(fd)
        finally:
            os.close(fd)
        if scan.records == 0 and scan.unreadable:
            raise ResultsFileError(sink.path, "exists and is not a results file")
        sink.unreadable_lines = scan.unreadable
        sink.first_unreadable_line = scan.first_unreadable
        return sink

    def _load(self, fd: int) -> _Scan:
        decoder = msgspec.json.Decoder(RecordHead)

        def note(rec: RecordHead) -> None:
            if rec.posted:
                if rec.key not in self.done:
                    # An id, once known, is never forgotten by a later "posting" line.
                    self.posted[rec.key] = rec.task_id or self.posted.get(rec.key)
                    if rec.cost:
                        prepaid[rec.key] = rec.cost
                    self.failed.discard(rec.key)
                    self.settled.discard(rec.key)
                return
            self.posted.pop(rec.key, None)
            prepaid.pop(rec.key, None)
            self._note(rec.key, rec.ok, rec.error is not None and rec.error.settled)
            self.spent += rec.cost + (rec.cost_estimate or 0.0)
            platform = rec.platform
            if rec.cost > 0 and platform in PLATFORMS:
                self.costs.add((platform, rec.model_name, rec.web_search), rec.cost)

        # Prepayments of Standard tasks not collected yet: spent until their results come.
        prepaid: dict[str, float] = {}
        # A duplicate shares the offset and the lock; closing it releases neither.
        with open(os.dup(fd), "rb") as reader:
            scan = _scan(reader, decoder, note)
        self.spent += sum(prepaid.values())
        return scan

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
        """Append and flush the record of ``result``; `ResultsFileError` if it cannot be."""
        # The key sets describe the file as it was opened and are not grown here: a sweep of
        # millions would otherwise keep every key in memory for nothing.
        self.write_record(ResultRecord.of(result))

    def write_record(self, record: ResultRecord) -> None:
        """Append and flush one record (a result's, or a Standard task's "posted" record)."""
        if self._fd is None:
            raise RuntimeError("JsonlSink is not open; use 'with JsonlSink(path)' or open()")
        if self._broken is not None:
            raise self._broken
        line = self._encoder.encode(record) + b"\n"
        try:
            _write_all(self._fd, line)
        except OSError as exc:
            # Disk full, quota: drop the partial line so every recorded line stays whole, and
            # refuse further writes, which would be lost the same way.
            try:
                if os.fstat(self._fd).st_size > self._end:
                    os.ftruncate(self._fd, self._end)
            except OSError:
                pass
            self._broken = ResultsFileError(self.path, f"cannot write: {exc.strerror or exc}")
            raise self._broken from None
        self._end += len(line)

    def close(self) -> None:
        """Release the lock and close; safe to call twice."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            self._release(fd)

    def _release(self, fd: int) -> None:
        if self._id is not None and _OPEN.get(self._id) is self:
            del _OPEN[self._id]
        self._id = None
        os.close(fd)  # releases the lock


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _lock(path: Path, fd: int, sink: JsonlSink) -> tuple[int, int]:
    """Take the file's exclusive lock for ``sink``, or raise `ResultsFileInUseError`."""
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    if key in _OPEN:
        raise ResultsFileInUseError(path, os.getpid())
    if sys.platform != "win32":
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResultsFileInUseError(path, _lock_holder(st)) from None
    _OPEN[key] = sink
    return key


def _lock_holder(st: os.stat_result) -> int | None:
    """The pid holding a lock on the file, from ``/proc/locks`` (Linux); None elsewhere."""
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            for line in f:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146519 0 EOF"
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
                    pid = int(fields[4])
                    return pid if pid > 0 else None
    except (OSError, ValueError):
        pass
    return None


def read_results(path: str | os.PathLike[str], *, strict: bool = False) -> list[ResultRecord]:
    """Every record of a results file, last record per key winning.

    Lines that are not records are skipped (``strict=True`` raises `ResultsFileError` naming
    the first one instead); a record torn at the end of the file, by a crash or by a sweep
    still writing, is left out.
    """
    decoder = msgspec.json.Decoder(ResultRecord)
    latest: dict[str, ResultRecord] = {}

    def keep(rec: ResultRecord) -> None:
        latest[rec.key] = rec

    with open(path, "rb") as f:
        scan = _scan(f, decoder, keep)
    if strict and scan.first_unreadable is not None:
        raise ResultsFileError(
            path,
            f"line {scan.first_unreadable} is not a result record "
            f"({scan.unreadable} such lines in all)",
        )
    return list(latest.values())
