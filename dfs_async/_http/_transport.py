"""The HTTP seam: one aiohttp session per client, and the one place aiohttp errors are translated.

Tests and users may pass any object with the `Transport` shape instead (e.g. to record calls).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from typing import Final, Protocol
from urllib.parse import urlsplit

import aiohttp

from .._errors import DeadlineExceededError, DecodeError, TransportError, ValidationError
from .._version import __version__

USER_AGENT: Final = f"dfs_async/{__version__}"


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
    """

    def __init__(self, base_url: str, authorization: str, *, connection_limit: int = 0) -> None:
        self._base_url = check_base_url(base_url)
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
        """Send and read the whole body; the deadline covers both."""
        session = self._session or self._open()
        # Tells whether the whole request reached the socket: a failure before that point
        # cannot have started a task at DataForSEO; after it, the outcome is unknown.
        tracker = aiohttp.UploadTracker()
        try:
            async with asyncio.timeout(timeout):
                async with session.request(
                    method, path, data=body, upload_tracker=tracker
                ) as response:
                    try:
                        return response.status, await response.read()
                    except aiohttp.ClientPayloadError as exc:
                        # Cut off after the status line: the server did the work.
                        raise DecodeError(
                            f"body cut off: {exc}", http_status=response.status, body=b""
                        ) from exc
        except TimeoutError:
            raise DeadlineExceededError(
                f"no answer within {timeout:g} s for {method} {path}; DataForSEO may still run "
                "and charge the task"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect to {self._base_url}: {exc}", sent=False) from exc
        except (aiohttp.ClientError, OSError) as exc:
            sent = _written(tracker)
            after = (
                "after the request was sent; DataForSEO may run and charge it"
                if sent
                else ("before the request was sent")
            )
            raise TransportError(
                f"{method} {path}: {type(exc).__name__}: {exc} ({after})",
                sent=sent,
                answered=isinstance(exc, aiohttp.ClientResponseError),
            ) from exc

    async def aclose(self) -> None:
        """Close the session; later requests raise."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


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
