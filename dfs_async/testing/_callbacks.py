"""Postbacks and pingbacks: what the emulator sends when a Standard task finishes.

As documented on
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/: ``$id`` and
``$tag`` in the URL are replaced (the tag url-encoded); a postback is a POST of the task_get
answer, gzip-compressed; a pingback is a GET. The receiver has ``callback_timeout`` seconds and
must answer 2xx, otherwise delivery failed and the task is listed by tasks_ready instead. The
emulator only ever connects to loopback hosts: a URL elsewhere counts as a failed delivery and
is never contacted.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import aiohttp

from .._http._transport import is_loopback_host


def substitute(url: str, task_id: str, tag: str | None) -> str:
    """The URL with ``$id`` and ``$tag`` filled in."""
    return url.replace("$id", quote(task_id, safe="")).replace("$tag", quote(tag or "", safe=""))


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (127.0.0.0/8, ::1, localhost)."""
    return is_loopback_host(urlsplit(url).hostname or "")


class Courier:
    """Delivers callbacks at a task's finishing time, each in its own task, on loopback only."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(
        self,
        delay: float,
        method: str,
        url: str,
        body: Callable[[], bytes] | None,
        done: Callable[[bool], None],
    ) -> None:
        """In ``delay`` seconds, send ``method url`` (with ``body()`` gzipped, if given) and
        report to ``done`` whether the receiver accepted it."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(timer)
            task = loop.create_task(self._deliver(method, url, body, done))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        timer = loop.call_later(max(delay, 0.0), fire)
        self._timers.add(timer)

    async def _deliver(
        self,
        method: str,
        url: str,
        body: Callable[[], bytes] | None,
        done: Callable[[bool], None],
    ) -> None:
        if not is_loopback_url(url):
            done(False)
            return
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        data = gzip.compress(body(), compresslevel=5) if body is not None else None
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"} if data else {}
        try:
            async with self._session.request(method, url, data=data, headers=headers) as resp:
                await resp.read()
                accepted = 200 <= resp.status <= 300
        except (aiohttp.ClientError, OSError, TimeoutError):
            accepted = False
        done(accepted)

    async def aclose(self) -> None:
        """Drop pending deliveries and close the connection pool."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
