"""Durable sweeps: one JSON line per finished item, written as it arrives, read back to resume.

A results file is only ever appended to. Reading it back skips a line it cannot decode (a
damaged line costs that one record, never the ones after it); the only bytes ever removed are a
record torn by a crash mid-write at the very end. A file that holds no record at all is not a
results file and is refused untouched, and an open sink holds an exclusive lock on its file, so
two sweeps can never interleave their writes or pay twice for the same items.

The sink composes three parts, one job each: the lock and the appends (here), the resume index
(`ResultsIndex`, kept in step with every record written) and the Standard tasks posted and not
collected (`PostedTasks`, inside the index).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import msgspec

from .._errors import ResultsFileError, ResultsFileInUseError
from ._costs import CostsSeen
from ._files import open_regular
from ._index import ResultsIndex, read_index
from ._keyset import KeySet
from ._records import PromptResult, ResultRecord
from ._scan import read_results

if sys.platform != "win32":
    import fcntl

__all__ = ["JsonlSink", "read_results"]

# Sinks open in this process, by (device, inode): a second one on the same file gets a clear
# error instead of a lock conflict with itself.
_OPEN: dict[tuple[int, int], JsonlSink] = {}


class JsonlSink:
    """Appends a `ResultRecord` per result to ``path`` and flushes it at once.

    Opening takes an exclusive lock on the file (`ResultsFileInUseError` while another sink,
    in any process, holds it) and reads what an earlier run wrote: keys answered (`done`),
    keys that failed (`failed`), and among those the `settled` ones, which a re-run leaves
    alone unless asked (invalid requests, and calls that may have been charged). Every record
    written afterwards updates them, and ``spent``, so a second sweep on the same open sink
    sends nothing the first one answered. Lines that cannot be read are skipped and counted
    (`unreadable_lines`, `first_unreadable_line`); a record torn by a crash at the end of the
    file is dropped. An existing file that holds no record is refused with `ResultsFileError`
    and left untouched, and so is anything but a regular file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.index = ResultsIndex()
        """What the file holds (see `ResultsIndex`); `done`, `spent` and the rest read it."""
        self.unrecorded = 0
        """Results that could not be written (disk full): answered or charged, and lost."""
        self.unrecorded_cost = 0.0
        """What those results cost, USD (unknown charges at their estimate)."""
        self._fd: int | None = None
        self._id: tuple[int, int] | None = None
        self._end = 0
        self._broken: ResultsFileError | None = None
        self._broken_reason = ""
        self._sweeping = False
        self._encoder = msgspec.json.Encoder()

    # The index's parts, under the names the sink has always had.
    @property
    def done(self) -> KeySet:
        """Keys answered."""
        return self.index.done

    @property
    def failed(self) -> KeySet:
        """Keys whose latest record is a failure."""
        return self.index.failed

    @property
    def settled(self) -> KeySet:
        """Failed keys a re-run leaves alone unless asked (invalid, or maybe charged)."""
        return self.index.settled

    @property
    def spent(self) -> float:
        """USD the file's records cost, charges of unknown amount counted at their estimate:
        a resumed sweep's ``max_cost`` covers the whole file, so it starts from here."""
        return self.index.spent

    @property
    def costs(self) -> CostsSeen:
        """Costs of the file's answers per target, for the estimates of the calls left."""
        return self.index.costs

    @property
    def posted(self) -> dict[str, str | None]:
        """Keys posted as Standard tasks and not collected: task id, or None when the
        task_post answer never arrived (resolved through tasks_ready tags)."""
        return self.index.posted

    @property
    def unreadable_lines(self) -> int:
        """Lines of the file, as opened, that are not records (skipped, kept in the file)."""
        return self.index.unreadable_lines

    @property
    def first_unreadable_line(self) -> int | None:
        """1-based number of the first of those lines."""
        return self.index.first_unreadable_line

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
            fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            raise ResultsFileError(self.path, f"cannot open: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ResultsFileError(self.path, str(exc)) from None
        try:
            self._id = _lock(self.path, fd, self)
            index = ResultsIndex()
            scan = index.load(fd)
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
        self.index = index
        self._end = os.fstat(fd).st_size
        self._fd = fd

    @classmethod
    def peek(cls, path: str | os.PathLike[str]) -> ResultsIndex:
        """What a results file holds (key sets, ``spent``, costs, tasks posted), read without
        locking or changing it, for a preview of a sweep; a missing file reads as empty."""
        return read_index(path)

    @contextmanager
    def sweeping(self) -> Iterator[None]:
        """Held by a sweep while it runs: a second sweep on this sink at the same time is
        refused (its items in flight are not in the index yet, so it would pay for them again);
        one after the other, each sees what the ones before it wrote."""
        if self._sweeping:
            raise RuntimeError(
                f"this JsonlSink ({self.path}) is in use by another sweep; run sweeps on one "
                "sink one after the other, or give each its own results file"
            )
        self._sweeping = True
        try:
            yield
        finally:
            self._sweeping = False

    def write(self, result: PromptResult) -> None:
        """Append and flush the record of ``result``; `ResultsFileError` if it cannot be."""
        try:
            self.write_record(ResultRecord.of(result))
        except ResultsFileError:
            if result.ok or result.cost or result.cost_estimate:
                self.unrecorded += 1
                self.unrecorded_cost += result.cost + (result.cost_estimate or 0.0)
                self._count_losses()
            raise

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
            self._broken_reason = f"cannot write: {exc.strerror or exc}"
            self._broken = ResultsFileError(self.path, self._broken_reason)
            raise self._broken from None
        self._end += len(line)
        self.index.note(record)

    def _count_losses(self) -> None:
        # One error object stands for every write refused after the first failure, and the
        # sweep raises it once its calls on the wire are answered: its message is kept up to
        # date so that it counts every paid answer lost, not only the first.
        broken = self._broken
        if broken is None:
            return
        n = self.unrecorded
        lost = f"{n} paid answer{'' if n == 1 else 's'} (${self.unrecorded_cost:.4f})"
        broken.args = (
            f"{self.path}: {self._broken_reason}; {lost} could not be recorded "
            f"(a re-run pays for {'it' if n == 1 else 'them'} again)",
        )

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
