"""Reading a results file line by line: records, damaged lines, and a record torn at the end.

A damaged line costs that one record, never the ones after it; the only bytes ever dropped
are a record torn by a crash mid-write at the very end of the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

import msgspec

from .._errors import ResultsFileError
from ._files import open_regular
from ._records import ResultRecord

_BOM: Final = b"\xef\xbb\xbf"
_RECORD_START: Final = b'{"key":'
"""How every record begins (``key`` is `ResultRecord`'s first field): tells a torn record."""

RecordT = TypeVar("RecordT")


@dataclass(slots=True)
class Scan:
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


def scan_lines(
    lines: Iterable[bytes],
    decoder: msgspec.json.Decoder[RecordT],
    on_record: Callable[[RecordT], None],
) -> Scan:
    """Decode each line, handing every record to ``on_record``; count what is not one."""
    scan = Scan()
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


def scan_fd(
    fd: int, decoder: msgspec.json.Decoder[RecordT], on_record: Callable[[RecordT], None]
) -> Scan:
    """`scan_lines` over an open file, from its current offset; ``fd`` stays open."""
    # A duplicate shares the offset and any lock; closing it releases neither.
    with open(os.dup(fd), "rb") as reader:
        return scan_lines(reader, decoder, on_record)


def open_for_reading(path: str | os.PathLike[str]) -> int:
    """A results file opened read-only; `ResultsFileError` for anything but a regular file."""
    try:
        return open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise ResultsFileError(path, _reason(exc)) from None


def _reason(exc: OSError | ValueError) -> str:
    if isinstance(exc, OSError):
        return f"cannot open: {exc.strerror or exc}"
    return str(exc)


def read_results(path: str | os.PathLike[str], *, strict: bool = False) -> list[ResultRecord]:
    """Every record of a results file, last record per key winning.

    Lines that are not records are skipped (``strict=True`` raises `ResultsFileError` naming
    the first one instead); a record torn at the end of the file, by a crash or by a sweep
    still writing, is left out. Anything but a regular file (a FIFO, a device) is refused
    with `ResultsFileError` before it is read.
    """
    decoder = msgspec.json.Decoder(ResultRecord)
    latest: dict[str, ResultRecord] = {}

    def keep(rec: ResultRecord) -> None:
        latest[rec.key] = rec

    fd = open_for_reading(path)
    try:
        scan = scan_fd(fd, decoder, keep)
    finally:
        os.close(fd)
    if strict and scan.first_unreadable is not None:
        raise ResultsFileError(
            path,
            f"line {scan.first_unreadable} is not a result record "
            f"({scan.unreadable} such lines in all)",
        )
    return list(latest.values())
