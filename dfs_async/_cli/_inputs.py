"""Reading prompts for the CLI: a file of lines, of CSV rows or of JSONL request objects, or
stdin, lazily.

The format is chosen once for the whole file (``--format``, by default from the extension),
never guessed per line: a plain-text prompt that starts with ``{`` is a prompt. A regular file
is checked whole (UTF-8, every CSV row, every JSONL line) before anything is sent, so a bad line
near the end stops the sweep before its first paid call, with its line number; every bad line is
reported (up to `ERRORS_SHOWN`), not only the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import os
import re
import sys
import threading
from array import array
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import IO, Final, Literal

import msgspec

from .._records._files import open_regular
from .._sweep._items import PromptItem
from .._wire._requests import REQUEST_FIELDS, LiveRequest
from ._csv import csv_rows
from ._usage import UsageError

PromptLine = str | LiveRequest | PromptItem
"""What one line (or CSV row) of a prompts file becomes: a subset of the sweep's `PromptInput`."""
PromptFormat = Literal["text", "jsonl", "csv"]

FORMATS: Final[tuple[PromptFormat, ...]] = ("text", "jsonl", "csv")
JSONL_SUFFIXES: Final = (".jsonl", ".ndjson")
CSV_SUFFIXES: Final = (".csv",)
ERRORS_SHOWN: Final = 20
"""Bad lines of a prompts file reported one by one; the rest are counted."""
_BOM: Final = "\ufeff"
_REQUEST_DECODER: Final = msgspec.json.Decoder(LiveRequest)
_ROW_FIELDS: Final = ('"id"', '"metadata"')
"""A JSONL line may carry the row's own ``id`` and ``metadata`` beside the request fields."""
_UNKNOWN_FIELD: Final = re.compile(r"unknown field `([^`]*)`")
_LIKELY: Final = {"prompt": "user_prompt", "model": "model_name", "system": "system_message"}
"""Fields people write for the request's own: ``{"prompt": ...}`` means ``user_prompt``."""


class PromptFileError(UsageError):
    """A line of the prompts file is not a prompt nor a request object."""


def prompt_format(path: str, given: str | None) -> PromptFormat:
    """``given``, or by extension: CSV for ``.csv``, JSONL for ``.jsonl``/``.ndjson``, else text."""
    by_name: PromptFormat = "text"
    if path.lower().endswith(JSONL_SUFFIXES):
        by_name = "jsonl"
    elif path.lower().endswith(CSV_SUFFIXES):
        by_name = "csv"
    if given is None:
        return by_name
    if given not in FORMATS:
        raise UsageError(f"--format {given!r}: expected text, jsonl or csv")
    if given == "text" and by_name == "csv":
        # Each row, header included, would be sent and paid as a prompt, quotes and commas too.
        raise UsageError(
            f"{path} is a CSV file: read it with --format csv (the default for .csv; "
            "--prompt-column names the prompts' column), or rename it to send its lines as text"
        )
    if given == "csv" and path == "-":
        raise UsageError("--format csv reads a file, not stdin: give the CSV file's path")
    return "jsonl" if given == "jsonl" else "csv" if given == "csv" else "text"


class _Problems:
    """Bad lines of a prompts file: the first `ERRORS_SHOWN` kept, all counted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.shown: list[str] = []

    def add(self, number: int, message: str) -> None:
        self.count += 1
        if len(self.shown) < ERRORS_SHOWN:
            self.shown.append(f"{self.name}:{number}: {message}")

    def error(self) -> PromptFileError | None:
        """One error naming every bad line kept, or None when there is none."""
        if not self.count:
            return None
        if self.count == 1:
            return PromptFileError(self.shown[0])
        more = self.count - len(self.shown)
        lines = [f"{self.count} bad lines in {self.name}, nothing was sent:", *self.shown]
        if more:
            lines.append(f"… and {more} more")
        return PromptFileError("\n  ".join(lines))


def check_prompts(
    path: str, fmt: PromptFormat, *, targeted: bool, column: str = "prompt"
) -> int | None:
    """Check a regular file whole and count its prompts; None for stdin.

    Raises `PromptFileError` naming every line (up to `ERRORS_SHOWN`) that is not UTF-8, not a
    CSV row with a prompt, or (JSONL) not a request object. One pass, nothing kept: cheap next
    to the first paid call it protects.
    """
    if path == "-":
        return None
    problems = _Problems(path)
    count = 0
    with _opened(path) as f:
        if fmt == "csv":
            count = sum(1 for _ in csv_rows(f, column, problems.add))
        else:
            for number, raw in enumerate(f, start=1):
                try:
                    count += parse_line(raw, fmt, path, number, targeted=targeted) is not None
                except PromptFileError as exc:
                    problems.add(number, str(exc).removeprefix(f"{path}:{number}: "))
    if (error := problems.error()) is not None:
        raise error
    return count


@contextlib.contextmanager
def _opened(path: str) -> Iterator[IO[bytes]]:
    """The prompts file, opened for reading: a regular file only (a FIFO would hang)."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        raise UsageError(f"no such prompts file: {path}") from None
    except ValueError as exc:
        raise UsageError(
            f"the prompts file {path} {exc}: give a file, or pipe the prompts to stdin "
            "(... | dfs-async sweep - ...)"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "rb") as f:
            yield f
    except OSError as exc:
        raise PromptFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_line(
    raw: str | bytes, fmt: PromptFormat, name: str, number: int, *, targeted: bool
) -> PromptLine | None:
    """One line as a prompt or a request; None for a blank line."""
    where = f"{'<stdin>' if name == '-' else name}:{number}"
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PromptFileError(
                f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1});"
                " save the file as UTF-8"
            ) from None
    else:
        line = raw
    if number == 1 and line.startswith(_BOM):
        line = line[len(_BOM) :]  # an editor's byte order mark, not part of the prompt
    text = line.strip()
    if not text:
        return None
    if fmt == "text":
        return text
    return _request(text, where, targeted=targeted)


def _request(text: str, where: str, *, targeted: bool) -> PromptLine:
    row_id: object = None
    metadata: object = None
    try:
        if any(name in text for name in _ROW_FIELDS):
            fields = msgspec.json.decode(text)
            if not isinstance(fields, dict):
                raise msgspec.ValidationError(f"Expected `object`, got `{type(fields).__name__}`")
            row_id = fields.pop("id", None)
            metadata = fields.pop("metadata", None)
            request = msgspec.convert(fields, LiveRequest, strict=True)
        else:
            request = _REQUEST_DECODER.decode(text)
    except msgspec.DecodeError as exc:
        hint = "; plain-text prompts need --format text" if not text.startswith("{") else ""
        raise PromptFileError(
            f"{where}: not a request object: {exc}{_did_you_mean(exc)}{hint}"
        ) from None
    if targeted and request.platform is not None:
        # iter_prompts would send it to its own platform with each target's model.
        raise PromptFileError(
            f"{where}: the request names platform {request.platform!r}; "
            "drop it from the file or drop --platform/--model"
        )
    if row_id is not None or metadata is not None:
        # Checked (types, JSON) by the sweep as that item's ValidationError, never sent.
        return PromptItem(request, row_id, metadata)  # type: ignore[arg-type]
    return request


def _did_you_mean(exc: Exception) -> str:
    """``; did you mean `user_prompt`?`` for a field that is not the request's."""
    match = _UNKNOWN_FIELD.search(str(exc))
    if match is None:
        return ""
    field = match[1]
    guess = _LIKELY.get(field) or next(
        iter(difflib.get_close_matches(field, sorted(REQUEST_FIELDS), n=1)), None
    )
    if guess is not None:
        return f"; did you mean `{guess}`?"
    return "; a row's own fields go under `metadata`"


def looks_like_request(prompt: str) -> bool:
    """Whether a text prompt is in fact a JSON request object (a JSONL file read as text)."""
    if not prompt.startswith("{"):
        return False
    try:
        _REQUEST_DECODER.decode(prompt)
    except msgspec.DecodeError:
        return False
    return True


async def read_prompts(
    path: str,
    fmt: PromptFormat,
    *,
    targeted: bool,
    column: str = "prompt",
    numbers: array[int] | None = None,
) -> AsyncGenerator[PromptLine, None]:
    """Each prompt: a line (text), a row (CSV) or a `LiveRequest` (JSONL), blank ones skipped;
    the line number of each is appended to ``numbers`` when given."""
    if fmt == "csv":
        problems = _Problems(path)
        with _opened(path) as f:  # checked whole before: a problem here is a file changed since
            for number, row in csv_rows(f, column, problems.add):
                if (error := problems.error()) is not None:
                    raise error
                if numbers is not None:
                    numbers.append(number)
                yield row
        if (error := problems.error()) is not None:
            raise error
        return
    number = 0
    async for raw in _lines(path):
        number += 1
        prompt = parse_line(raw, fmt, path, number, targeted=targeted)
        if prompt is not None:
            if numbers is not None:
                numbers.append(number)
            yield prompt


async def _lines(path: str) -> AsyncIterator[str | bytes]:
    if path != "-":
        # A local file read never stalls the loop for long; read it in place.
        with _opened(path) as f:
            for line in f:
                yield line
        return
    reader = _ThreadLines()
    try:
        while (piped := await reader.next()) is not None:
            yield piped
    finally:
        reader.close()


class _ThreadLines:
    """Reads stdin, which may block, on a daemon thread, one line on demand.

    Not `asyncio.to_thread`: a read blocked on a terminal would keep ``asyncio.run`` from
    returning after Ctrl-C, while a daemon thread is simply abandoned at exit.
    """

    def __init__(self) -> None:
        self._wanted = threading.Semaphore(0)
        self._future: asyncio.Future[str | bytes] | None = None
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._thread = threading.Thread(target=self._read, name="dfs-async-stdin", daemon=True)
        self._thread.start()

    async def next(self) -> str | bytes | None:
        """The next line, or None at the end of the stream."""
        self._future = self._loop.create_future()
        self._wanted.release()
        line = await self._future
        return line or None

    def close(self) -> None:
        """Let the thread end once its current read returns."""
        self._closed = True
        self._wanted.release()

    def _read(self) -> None:
        # Bytes, decoded per line so that a bad byte is reported with its line number; a stdin
        # replaced by a text stream (no buffer) is read as text.
        stream: IO[str] | IO[bytes] = getattr(sys.stdin, "buffer", None) or sys.stdin
        while True:
            self._wanted.acquire()
            if self._closed:
                return
            line: str | bytes | Exception
            try:
                line = stream.readline()
            except OSError as exc:
                line = PromptFileError(f"cannot read stdin: {exc}")
            try:
                self._loop.call_soon_threadsafe(_settle, self._future, line)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return
            if isinstance(line, Exception) or not line:
                return


def _settle(future: asyncio.Future[str | bytes] | None, line: str | bytes | Exception) -> None:
    if future is None or future.done():
        return
    if isinstance(line, Exception):
        future.set_exception(line)
    else:
        future.set_result(line)
