"""Reading prompts for the CLI: a file of lines or JSONL request objects, or stdin, lazily."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final, TextIO

import msgspec

from ._requests import LiveRequest

PromptInput = str | LiveRequest

_REQUEST_DECODER: Final = msgspec.json.Decoder(LiveRequest)


class UsageError(Exception):
    """A command line or input that cannot run; exit status 2."""


class PromptFileError(UsageError):
    """A line of the prompts file is not a prompt nor a request object."""


def _is_regular(path: str) -> bool:
    try:
        return path != "-" and stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def count_prompts(path: str) -> int | None:
    """Non-blank lines of a regular file, read in one cheap pass; None for stdin or a pipe."""
    if not _is_regular(path):
        if path != "-" and not os.path.exists(path):
            raise UsageError(f"no such prompts file: {path}")
        return None
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


async def read_prompts(path: str, *, targeted: bool) -> AsyncGenerator[PromptInput, None]:
    """Each non-blank line as a prompt, or as a `LiveRequest` when it is a JSON object."""
    name = "<stdin>" if path == "-" else path
    number = 0
    async for line in _lines(path):
        number += 1
        text = line.strip()
        if not text:
            continue
        if not text.startswith("{"):
            yield text
            continue
        try:
            request = _REQUEST_DECODER.decode(text)
        except msgspec.DecodeError as exc:
            raise PromptFileError(f"{name}:{number}: not a request object: {exc}") from None
        if targeted and request.platform is not None:
            # iter_prompts would send it to its own platform with each target's model.
            raise PromptFileError(
                f"{name}:{number}: the request names platform {request.platform!r}; "
                "drop it from the file or drop --platform"
            )
        yield request


async def _lines(path: str) -> AsyncIterator[str]:
    if _is_regular(path):
        # A local file read never stalls the loop for long; read it in place.
        try:
            with open(path, encoding="utf-8") as f:  # noqa: ASYNC230
                for line in f:
                    yield line
        except (OSError, UnicodeDecodeError) as exc:
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
        self._future: asyncio.Future[str] | None = None
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._thread = threading.Thread(target=self._read, name="dfs-async-stdin", daemon=True)
        self._thread.start()

    async def next(self) -> str | None:
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
        stream: TextIO | None = None
        try:
            while True:
                self._wanted.acquire()
                if self._closed:
                    return
                line: str | Exception
                try:
                    if stream is None:
                        # Opened here, not in the loop: opening a named pipe waits for a writer.
                        stream = _open_text(self._path)
                    line = stream.readline()
                except (OSError, UnicodeDecodeError) as exc:
                    line = PromptFileError(f"cannot read {self._path}: {exc}")
                try:
                    self._loop.call_soon_threadsafe(_settle, self._future, line)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return
                if not isinstance(line, str) or not line:
                    return
        finally:
            if stream is not None and stream is not sys.stdin:
                stream.close()


def _open_text(path: str) -> TextIO:
    return sys.stdin if path == "-" else open(path, encoding="utf-8")


def _settle(future: asyncio.Future[str] | None, line: str | Exception) -> None:
    if future is None or future.done():
        return
    if isinstance(line, Exception):
        future.set_exception(line)
    else:
        future.set_result(line)
