"""Reading prompts for the CLI: a file of lines or of JSONL request objects, or stdin, lazily.

The format is chosen once for the whole file (``--format``, by default from the extension),
never guessed per line: a plain-text prompt that starts with ``{`` is a prompt. A regular file
is checked whole (UTF-8, and every JSONL line) before anything is sent, so a bad line near the
end stops the sweep before its first paid call, with its line number.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from typing import IO, Final, Literal

import msgspec

from .._sweep._items import PromptItem
from .._wire._requests import LiveRequest

PromptInput = str | LiveRequest | PromptItem
PromptFormat = Literal["text", "jsonl"]

FORMATS: Final[tuple[PromptFormat, ...]] = ("text", "jsonl")
JSONL_SUFFIXES: Final = (".jsonl", ".ndjson")
_BOM: Final = "\ufeff"
_REQUEST_DECODER: Final = msgspec.json.Decoder(LiveRequest)
_ROW_FIELDS: Final = ('"id"', '"metadata"')
"""A JSONL line may carry the row's own ``id`` and ``metadata`` beside the request fields."""


class UsageError(Exception):
    """A command line or input that cannot run; exit status 2."""


class PromptFileError(UsageError):
    """A line of the prompts file is not a prompt nor a request object."""


def prompt_format(path: str, given: str | None) -> PromptFormat:
    """``given``, or JSONL for a ``.jsonl``/``.ndjson`` file and text otherwise (stdin too)."""
    if given is not None:
        if given not in FORMATS:
            raise UsageError(f"--format {given!r}: expected text or jsonl")
        return "jsonl" if given == "jsonl" else "text"
    return "jsonl" if path.lower().endswith(JSONL_SUFFIXES) else "text"


def _is_regular(path: str) -> bool:
    try:
        return path != "-" and stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def check_prompts(path: str, fmt: PromptFormat, *, targeted: bool) -> int | None:
    """Check a regular file whole and count its prompts; None for stdin or a pipe.

    Raises `PromptFileError` naming the first line that is not UTF-8 or (JSONL) not a
    request object. One pass, nothing kept: cheap next to the first paid call it protects.
    """
    if not _is_regular(path):
        if path != "-" and not os.path.exists(path):
            raise UsageError(f"no such prompts file: {path}")
        return None
    count = 0
    try:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if parse_line(raw, fmt, path, number, targeted=targeted) is not None:
                    count += 1
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return count


def parse_line(
    raw: str | bytes, fmt: PromptFormat, name: str, number: int, *, targeted: bool
) -> PromptInput | None:
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
        raise PromptFileError(f"{where}: not a request object: {exc}{hint}") from None
    if targeted and request.platform is not None:
        # iter_prompts would send it to its own platform with each target's model.
        raise PromptFileError(
            f"{where}: the request names platform {request.platform!r}; "
            "drop it from the file or drop --platform"
        )
    if row_id is not None or metadata is not None:
        # Checked (types, JSON) by the sweep as that item's ValidationError, never sent.
        return PromptItem(request, row_id, metadata)  # type: ignore[arg-type]
    return request


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
    path: str, fmt: PromptFormat, *, targeted: bool
) -> AsyncGenerator[PromptInput, None]:
    """Each non-blank line as a prompt (text) or as a `LiveRequest` (JSONL)."""
    number = 0
    async for raw in _lines(path):
        number += 1
        prompt = parse_line(raw, fmt, path, number, targeted=targeted)
        if prompt is not None:
            yield prompt


async def _lines(path: str) -> AsyncIterator[str | bytes]:
    if _is_regular(path):
        # A local file read never stalls the loop for long; read it in place.
        try:
            with open(path, "rb") as f:  # noqa: ASYNC230
                for line in f:
                    yield line
        except OSError as exc:
            raise PromptFileError(f"cannot read {path}: {exc}") from None
        return
    reader = _ThreadLines(path)
    try:
        while (piped := await reader.next()) is not None:
            yield piped
    finally:
        reader.close()


class _ThreadLines:
    """Reads stdin or a pipe, which may block, on a daemon thread, one line on demand.

    Not `asyncio.to_thread`: a read blocked on a terminal would keep ``asyncio.run`` from
    returning after Ctrl-C, while a daemon thread is simply abandoned at exit.
    """

    def __init__(self, path: str) -> None:
        self._path = path
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
        stream: IO[str] | IO[bytes] | None = None
        try:
            while True:
                self._wanted.acquire()
                if self._closed:
                    return
                line: str | bytes | Exception
                try:
                    if stream is None:
                        # Opened here, not in the loop: opening a named pipe waits for a writer.
                        stream = _open(self._path)
                    line = stream.readline()
                except OSError as exc:
                    line = PromptFileError(f"cannot read {self._path}: {exc}")
                try:
                    self._loop.call_soon_threadsafe(_settle, self._future, line)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return
                if isinstance(line, Exception) or not line:
                    return
        finally:
            if stream is not None and self._path != "-":  # stdin is not ours to close
                stream.close()


def _open(path: str) -> IO[str] | IO[bytes]:
    if path != "-":
        return open(path, "rb")
    # Bytes, decoded per line so that a bad byte is reported with its line number; a stdin
    # replaced by a text stream (no buffer) is read as text.
    buffer: IO[bytes] | None = getattr(sys.stdin, "buffer", None)
    return buffer if buffer is not None else sys.stdin


def _settle(future: asyncio.Future[str | bytes] | None, line: str | bytes | Exception) -> None:
    if future is None or future.done():
        return
    if isinstance(line, Exception):
        future.set_exception(line)
    else:
        future.set_result(line)
