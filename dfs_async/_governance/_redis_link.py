"""The shared governor's connection to Redis: clients, scripts, health, and what errors mean.

`RedisLink` owns the two connections (commands, and the subscription to this process's wake
channel, which holds one of its own), runs the Lua scripts and counts them, and keeps Redis's
health: since when it has been unreachable, and the fail-closed verdict once that lasted
``redis_wait`` seconds. Nothing here knows about slots or waiters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from .._errors import GovernorUnavailableError
from ._scripts import Scripts

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

logger: Final = logging.getLogger("dfs_async")

BACKOFF: Final = (0.05, 1.0)
"""First and longest pause between attempts to reach Redis."""

SECRET_PARAMS: Final = frozenset({"password", "username", "user"})
"""Query parameters redis-py reads credentials from (``redis://host/0?password=...``)."""


def redis_module() -> Any:
    """The ``redis`` package, or an ImportError saying which extra installs it."""
    try:
        import redis.asyncio
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the shared governor needs the redis client: pip install 'dfs_async[redis]'"
        ) from None
    return redis


def down_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Redis cannot be reached" (not a bug in a script)."""
    exceptions = redis_module().exceptions
    return (exceptions.ConnectionError, exceptions.TimeoutError, OSError)


def refused_errors() -> tuple[type[BaseException], ...]:
    """The replies that mean "Redis is up but refuses the governor's scripts": a full Redis
    (maxmemory with noeviction: OOM), a read-only replica, a failed save (MISCONF)."""
    return (redis_module().exceptions.ResponseError,)


def redact(url: str) -> str:
    """``url`` without its credentials: no userinfo, no credential query parameters."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # not a URL redis-py could read either: show nothing of it
        return "<unparsable redis url>"
    netloc = parts.netloc.rpartition("@")[2]
    kept = urlencode([(k, v) for k, v in query if k.lower() not in SECRET_PARAMS])
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{kept}" if kept else "")


class RedisLink:
    """The connections to one Redis, its scripts, and how reachable it has been."""

    def __init__(self, url: str, *, command_timeout: float, tick: float, redis_wait: float):
        self.url = url
        self.command_timeout = command_timeout
        self.tick = tick
        self.redis_wait = redis_wait
        self.commands = 0
        """Redis commands (scripts) this process has sent."""
        # Imported now, not at the first connection: the import (a few tenths of a second)
        # is the process's to pay, not the warm-up's, and a missing extra fails at once.
        redis_module()
        self.client: Redis | None = None
        self.subscriber: Redis | None = None
        self.scripts: Scripts | None = None
        self.down_since: float | None = None

    @property
    def where(self) -> str:
        """The URL as logs and errors may show it (credentials redacted)."""
        return redact(self.url)

    def open(self) -> None:
        """Make the clients (lazily: nothing is sent yet)."""
        if self.client is not None:
            return
        aioredis = redis_module().asyncio
        self.client = aioredis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_timeout=self.command_timeout,
            socket_connect_timeout=self.command_timeout,
        )
        # The wake channel's subscription holds a connection of its own; a read on it waits
        # up to a tick for a message.
        self.subscriber = aioredis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_timeout=self.tick + self.command_timeout,
            socket_connect_timeout=self.command_timeout,
        )
        self.scripts = Scripts.register(self.client)

    def pubsub(self) -> PubSub:
        """A pub/sub reader on the subscriber connection."""
        assert self.subscriber is not None
        return self.subscriber.pubsub(ignore_subscribe_messages=True)

    async def run(self, name: str, args: list[str | int], prefix: str) -> Any:
        """Run script ``name`` on the account's keys (one command)."""
        assert self.scripts is not None
        self.commands += 1
        return await getattr(self.scripts, name)(keys=[prefix], args=args)

    # -- health -------------------------------------------------------------------------

    def failed(self, exc: BaseException) -> None:
        """A command failed: Redis is down (or refusing) from now on, until one succeeds."""
        if self.down_since is None:
            self.down_since = asyncio.get_running_loop().time()
            logger.warning("Redis at %s unreachable (%s); holding new calls", self.where, exc)

    def up(self) -> None:
        """A command succeeded."""
        if self.down_since is not None:
            self.down_since = None
            logger.warning("Redis at %s reachable again", self.where)

    def check_down(self) -> None:
        """Fail closed once Redis has been unreachable for ``redis_wait``."""
        loop = asyncio.get_running_loop()
        if self.down_since is not None and loop.time() - self.down_since >= self.redis_wait:
            raise GovernorUnavailableError(
                f"the shared governor's Redis at {self.where} has been unreachable for "
                f"{loop.time() - self.down_since:.0f} s; nothing was sent (a re-run sends it)"
            )

    def refused(self, exc: BaseException) -> GovernorUnavailableError:
        """The typed error for a script Redis refused (``exc``), credentials redacted."""
        hint = " (maxmemory reached with noeviction: free memory or raise maxmemory)"
        return GovernorUnavailableError(
            f"the shared governor's Redis at {self.where} refused its script: {exc}"
            f"{hint if 'OOM' in str(exc) else ''}; nothing was sent (a re-run sends it)"
        )

    async def aclose(self) -> None:
        """Close both connections; closing never fails the caller's exit."""
        for client in (self.client, self.subscriber):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
