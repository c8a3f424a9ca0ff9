"""The HTTP seam: one aiohttp session per client, and the one place aiohttp errors are translated.

Tests and users may pass any object with the `Transport` shape instead (e.g. to record calls).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from typing import Final, Protocol
from urllib.parse import urlsplit

import aiohttp

from .._errors import (
    DeadlineExceededError,
    DecodeError,
    DFSError,
    ResponseTooLargeError,
    ValidationError,
    transport_error,
)
from .._version import __version__

USER_AGENT: Final = f"dfs_async/{__version__}"
DEFAULT_MAX_BODY_SIZE: Final = 64 * 1024 * 1024
"""Largest decoded answer accepted: real answers are kilobytes, a few MB at most."""
_CHUNK: Final = 256 * 1024


class Upload:
    """Whether the current request has started to leave, as far as the transport can tell.

    The client sets one in `CURRENT_UPLOAD` around each exchange; a transport that can tell
    (the aiohttp one) replaces ``started``. Unknown counts as started: a call that may be on
    the wire is read to its end rather than abandoned.
    """

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started: Callable[[], bool] = lambda: True


CURRENT_UPLOAD: Final[ContextVar[Upload | None]] = ContextVar("dfs_async_upload", default=None)


class Transport(Protocol):
    """Sends one request and returns ``(http_status, body)``; raises only `DFSError`s."""

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        """Exchange one request within ``timeout`` seconds counted from now."""

    async def aclose(self) -> None:
        """Release connections; safe to call twice."""


def check_base_url(base_url: str) -> str:
    """Return the base URL without a trailing slash; refuse plain http to a remote host."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("base_url", f"expected http(s)://host[:port], got {base_url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValidationError(
            "base_url",
            "plain http would send credentials in the clear; use https, or a loopback host "
            "such as the emulator on 127.0.0.1",
        )
    return base_url.rstrip("/")


def basic_auth(login: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic auth."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class AiohttpTransport:
    """`Transport` over one `aiohttp.ClientSession`, created lazily inside the running loop.

    The connector's connection cap is lifted (aiohttp's default of 100 would sit below
    4 platforms × 30 Live calls plus other endpoints): the governor is the only limit.
    Bodies are read in chunks and refused past ``max_body_size`` decoded bytes, so a small
    gzip that inflates to gigabytes costs no more memory than the cap.
    """

    def __init__(
        self,
        base_url: str,
        authorization: str,
        *,
        connection_limit: int = 0,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self._base_url = check_base_url(base_url)
        self._max_body_size = max_body_size
        self._headers = {
            "Authorization": authorization,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": USER_AGENT,
        }
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __repr__(self) -> str:
        # Never show the Authorization header.
        return f"<AiohttpTransport {self._base_url}>"

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the client is closed; use a new AsyncClient")
        self._session = aiohttp.ClientSession(
            base_url=self._base_url,
            headers=self._headers,
            connector=aiohttp.TCPConnector(limit=self._connection_limit, limit_per_host=0),
            # The deadline is enforced around the whole exchange in request().
            timeout=aiohttp.ClientTimeout(total=None),
            raise_for_status=False,
        )
        return self._session

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        """Send and read the whole body; the deadline covers both.

        aiohttp's exceptions are translated and never chained: they keep the request's
        headers (``Authorization`` among them), and an error we raise must not lead to them.
        """
        session = self._session or self._open()
        # Tells whether the whole request reached the socket: a failure before that point
        # cannot have started a task at DataForSEO; after it, the outcome is unknown.
        tracker = aiohttp.UploadTracker()
        upload = CURRENT_UPLOAD.get()
        if upload is not None:
            # Connecting does not count: only request bytes handed to the kernel may reach
            # DataForSEO.
            upload.started = lambda: tracker.bytes_written > 0 or tracker.upload_complete.done()
        try:
            async with asyncio.timeout(timeout):
                async with session.request(
                    method, path, data=body, upload_tracker=tracker
                ) as response:
                    return response.status, await self._body(method, path, response)
        except TimeoutError:
            error: DFSError = DeadlineExceededError(
                f"no answer within {timeout:g} s for {method} {path}; DataForSEO may still run "
                "and charge the task"
            )
        except aiohttp.ClientConnectorError as exc:
            error = transport_error(f"cannot connect to {self._base_url}: {exc}", sent=False)
        except (aiohttp.ClientError, OSError) as exc:
            error = self._failed(method, path, exc, _written(tracker))
        raise error  # outside the handler: no __context__ leads to aiohttp's exception

    async def _body(self, method: str, path: str, response: aiohttp.ClientResponse) -> bytes:
        """The decoded body, read in chunks up to the cap."""
        limit = self._max_body_size
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    break
                chunks.append(chunk)
        except aiohttp.ClientPayloadError as exc:
            # Cut off after the status line: the server did the work.
            message = f"body cut off: {type(exc).__name__}: {exc}"
        else:
            if size <= limit:
                return b"".join(chunks)
            chunks.clear()
            response.close()  # drop the connection rather than read the rest
            raise ResponseTooLargeError(
                f"{method} {path}: the answer is over max_body_size ({limit} bytes decoded); "
                "not read. DataForSEO answered, so the call may be charged",
                limit=limit,
            )
        raise DecodeError(message, http_status=response.status, body=b"")

    def _failed(self, method: str, path: str, exc: BaseException, sent: bool) -> DFSError:
        """The typed error for an aiohttp or socket failure (its text only, no headers)."""
        after = (
            "after the request was sent; DataForSEO may run and charge it"
            if sent
            else "before the request was sent"
        )
        return transport_error(
            f"{method} {path}: {type(exc).__name__}: {_describe(exc)} ({after})",
            sent=sent,
            answered=isinstance(exc, aiohttp.ClientResponseError),
        )

    async def aclose(self) -> None:
        """Close the session; later requests raise."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


def _describe(exc: BaseException) -> str:
    """An aiohttp error's text without its request information (headers hold credentials)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} {exc.message}".strip()
    return str(exc)


def _written(tracker: aiohttp.UploadTracker) -> bool:
    """Whether the request may have reached the server whole (unknown counts as yes)."""
    done = tracker.upload_complete
    if not done.done():
        return True  # still writing when the exchange failed: some of it may have gone
    return done.cancelled() or done.exception() is None


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
