"""What a process of the shared governor exchanges with Redis in the background.

`RedisLink` is the half of `RedisGovernor` that talks to Redis: the acquire batches (requests
and frees gathered while the last script ran), the writer (settles, the shared pause,
re-registration after Redis lost the account's state), the listener (slots other processes
hand over, published on this process's channel, confirmed before use; a tick every ``tick``
seconds), the local record of leases and waiters those update, and Redis's health (how long
it has been unreachable). The design and the fault policy are in ``_redis.py``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from .._config import Limits
from .._errors import GovernorUnavailableError
from .._platforms import PLATFORMS, Platform, check_platform
from ._scripts import Scripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger: Final = logging.getLogger("dfs_async")

BACKOFF: Final = (0.05, 1.0)
"""First and longest pause between attempts to reach Redis."""


def redis_module() -> Any:
    """The ``redis`` package, or an ImportError saying which extra installs it."""
    try:
        import redis.asyncio
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the shared governor needs the redis client: pip install 'dfs_async[redis]'"
        ) from None
    return redis


@dataclass
class Waiter:
    """A call of this process queued in Redis for a slot of ``platform``."""

    platform: Platform
    future: asyncio.Future[float]
    """Resolves to the seconds to wait before the send, once a slot was handed over."""
    since: float
    """Loop time it started waiting."""


def down_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Redis cannot be reached" (not a bug in a script)."""
    exceptions = redis_module().exceptions
    return (exceptions.ConnectionError, exceptions.TimeoutError, OSError)


def refused_errors() -> tuple[type[BaseException], ...]:
    """The replies that mean "Redis is up but refuses the governor's scripts": a full Redis
    (maxmemory with noeviction: OOM), a read-only replica, a failed save (MISCONF)."""
    return (redis_module().exceptions.ResponseError,)


def unavailable(url: str, exc: BaseException) -> GovernorUnavailableError:
    """The typed error for a Redis that refused a script (``exc``), credentials redacted."""
    hint = " (maxmemory reached with noeviction: free memory or raise maxmemory)"
    return GovernorUnavailableError(
        f"the shared governor's Redis at {redact(url)} refused its script: {exc}"
        f"{hint if 'OOM' in str(exc) else ''}; nothing was sent (a re-run sends it)"
    )


def granted(future: asyncio.Future[float]) -> bool:
    """Whether a waiter's future holds a handed slot (not an error, not cancelled)."""
    return future.done() and not future.cancelled() and future.exception() is None


SECRET_PARAMS: Final = frozenset({"password", "username", "user"})
"""Query parameters redis-py reads credentials from (``redis://host/0?password=...``)."""


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
    """The background traffic and local bookkeeping of a `RedisGovernor` (its base class)."""

    url: str
    limits: Limits
    redis_wait: float
    tick: float
    command_timeout: float
    commands: int
    _prefix: str
    _process: str
    _wake: str
    _lease: float
    _interval_us: int
    _tau_us: int
    _presence_ms: int
    _client: Redis | None
    _subscriber: Redis | None
    _subscribed: asyncio.Event | None
    _scripts: Scripts | None
    _kick: asyncio.Event | None
    _ask_kick: asyncio.Event | None
    _asking: list[tuple[Platform | None, str, asyncio.Future[tuple[int, float]]]]
    _unconfirmed: list[tuple[str, str, float]]
    _epoch: str | None
    _restore: bool
    _held: dict[Platform, deque[tuple[str, float]]]
    _waiters: dict[str, Waiter]
    _pending: dict[Platform, list[tuple[str, str]]]
    _pause_us: int
    _shared: dict[Platform, tuple[int, int]]
    _down_since: float | None
    _warned: bool
    _closed: bool

    async def _dispatch(self) -> None:
        """Send the acquire requests that gathered meanwhile as one script, and answer them."""
        assert self._ask_kick is not None and self._scripts is not None
        loop = asyncio.get_running_loop()
        while not self._closed:
            await self._ask_kick.wait()
            self._ask_kick.clear()
            batch = [r for r in self._asking if not r[2].done()]  # a cancelled caller left
            self._asking = []
            if not batch:
                continue
            args: list[str | int] = [
                self._process,
                self._interval_us,
                self._tau_us,
                round(self._lease * 1e6),
                self._presence_ms,
                uuid.uuid4().hex,
                round(3 * self.tick * 1e6),
            ]
            # Frees batched since the last script ride along (the writer leaves them a turn).
            frees = self._take_frees()
            args.append(sum(len(items) for items in frees.values()))
            for p, items in frees.items():
                for kind, ident in items:
                    args += [p, self.limits.concurrency_for(p), kind, ident]
            for platform, waiter, _ in batch:
                slots = self.limits.concurrency_for(platform) if platform is not None else 0
                args += [waiter, platform or "", slots]
            try:
                self.commands += 1
                asked = loop.time()
                reply = await self._scripts.acquire(keys=[self._prefix], args=args)
            except Exception as exc:  # the callers decide: wait for Redis, or fail
                for p, items in frees.items():  # not applied: the writer sends them
                    self._pending.setdefault(p, [])[:0] = items
                self._wake_writer()
                for _, _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            self._up()
            self._saw_epoch(reply[0])
            if reply[1] and not self._warned:
                self._warned = True
                logger.warning(
                    "processes sharing this account's limits in Redis were configured with "
                    "different limits; the strictest are in force for all"
                )
            # The script ran somewhere between asking and the reply: aim at the middle, so a
            # reply read late (a busy loop) moves the send by half the delay, not all of it.
            late = (loop.time() - asked) / 2
            for n, (platform, waiter, answer) in enumerate(batch):
                granted, delay_us, held, queued = reply[2 + 4 * n : 6 + 4 * n]
                if platform is not None:
                    self._shared[platform] = (int(held), int(queued))
                if not answer.done():
                    answer.set_result((int(granted), delay_us / 1e6 - late))
                elif granted and platform is not None:
                    self._queue_item(platform, "r", waiter)  # its caller is gone
            self._handed_all(reply[2 + 4 * len(batch) :])

    def _check_down(self) -> None:
        """Fail closed once Redis has been unreachable for ``redis_wait``."""
        loop = asyncio.get_running_loop()
        if self._down_since is not None and loop.time() - self._down_since >= self.redis_wait:
            raise GovernorUnavailableError(
                f"the shared governor's Redis at {redact(self.url)} has been unreachable for "
                f"{loop.time() - self._down_since:.0f} s; nothing was sent (a re-run sends it)"
            )

    def _failed(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = asyncio.get_running_loop().time()
            logger.warning("Redis at %s unreachable (%s); holding new calls", redact(self.url), exc)

    def _up(self) -> None:
        if self._down_since is not None:
            self._down_since = None
            logger.warning("Redis at %s reachable again", redact(self.url))

    def _saw_epoch(self, epoch: str) -> None:
        if self._epoch is not None and epoch != self._epoch:
            # Redis lost the account's state: put back what this process still holds.
            logger.warning("Redis lost the shared state; re-registering this process's slots")
            self._restore = True
            self._wake_writer()
        self._epoch = epoch

    def _add_lease(self, platform: Platform, lease: str, delay: float) -> None:
        expires = asyncio.get_running_loop().time() + delay + self._lease
        self._held[platform].append((lease, expires))

    def _live_leases(self, platform: Platform) -> deque[tuple[str, float]]:
        """This process's leases of ``platform``, those that ran out dropped."""
        leases = self._held[platform]
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:  # a repr after the loop ended: as last known
            return leases
        if leases:
            while leases and leases[0][1] <= now:
                leases.popleft()
        return leases

    def _free_one(self, platform: Platform) -> None:
        # Leases of a platform are interchangeable; freeing the oldest keeps the ones that
        # run out last, so every call still running stays covered.
        leases = self._live_leases(platform)
        if leases:
            lease, _ = leases.popleft()
            self._queue_item(platform, "r", lease)

    def _queue_item(self, platform: Platform, kind: str, ident: str) -> None:
        self._pending.setdefault(platform, []).append((kind, ident))
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self._kick is not None:
            self._kick.set()

    def _take_frees(self) -> dict[Platform, list[tuple[str, str]]]:
        """The batched frees and withdrawals ('r', 'd'), taken out of the pending items."""
        frees: dict[Platform, list[tuple[str, str]]] = {}
        for p, items in list(self._pending.items()):
            kept = [item for item in items if item[0] not in ("r", "d")]
            taken = [item for item in items if item[0] in ("r", "d")]
            if taken:
                frees[p] = taken
            if kept:
                self._pending[p] = kept
            else:
                del self._pending[p]
        return frees

    async def _write(self) -> None:
        """Send batched frees, withdrawals and pauses; re-register after Redis lost state."""
        assert self._kick is not None
        backoff = BACKOFF[0]
        while not self._closed:
            await self._kick.wait()
            self._kick.clear()
            # A turn for the acquirer first: frees made just before a new acquire (a worker
            # moving to its next item) ride along with it in one script.
            await asyncio.sleep(0)
            try:
                if self._restore:
                    await self._reregister()
                if self._pending or self._pause_us:
                    await self._settle(list(self._pending))
                self._up()
                backoff = BACKOFF[0]
            except (*down_errors(), *refused_errors()) as exc:
                self._failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
                self._kick.set()

    async def _settle(self, platforms: list[Platform]) -> None:
        """One settle script: the batched items of ``platforms``, the pause, fresh counts."""
        assert self._scripts is not None
        pending, self._pending = self._pending, {}
        pause, self._pause_us = self._pause_us, 0
        args: list[str | int] = [
            self._process,
            self._presence_ms,
            uuid.uuid4().hex,
            round(3 * self.tick * 1e6),
            self._interval_us,
            self._tau_us,
            round(self._lease * 1e6),
            pause,
        ]
        for p in platforms:
            items = pending.get(p, [])
            args += [p, self.limits.concurrency_for(p), len(items)]
            for kind, ident in items:
                args += [kind, ident]
        try:
            self.commands += 1
            reply = await self._scripts.settle(keys=[self._prefix], args=args)
        except BaseException:
            for p, items in pending.items():  # not applied: keep them for the next attempt
                self._pending.setdefault(p, [])[:0] = items
            self._pause_us = max(self._pause_us, pause)
            raise
        self._saw_epoch(reply[0])
        for i, p in enumerate(platforms):
            held, queued, _ = reply[2 + 3 * i : 5 + 3 * i]
            self._shared[p] = (int(held), int(queued))
        self._handed_all(reply[2 + 3 * len(platforms) :])

    async def _reregister(self) -> None:
        assert self._scripts is not None
        now = asyncio.get_running_loop().time()
        args: list[str | int] = [
            self._process,
            self._presence_ms,
            uuid.uuid4().hex,
            round(3 * self.tick * 1e6),
        ]
        leases = [(p, lease, expires) for p in PLATFORMS for lease, expires in self._live_leases(p)]
        args.append(len(leases))
        for p, lease, expires in leases:
            args += [p, lease, max(0, round((expires - now) * 1e6))]
        for waiter, w in self._waiters.items():
            args += [w.platform, waiter]
        self.commands += 1
        epoch = await self._scripts.restore(keys=[self._prefix], args=args)
        self._restore = False
        self._epoch = epoch

    async def _listen(self) -> None:
        """Hear of slots handed to this process's waiters; tick every ``tick`` seconds."""
        assert self._subscriber is not None and self._subscribed is not None
        loop = asyncio.get_running_loop()
        pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        next_tick = loop.time()
        backoff = BACKOFF[0]
        try:
            while not self._closed:
                try:
                    if not pubsub.subscribed:
                        await pubsub.subscribe(self._wake)
                        self._subscribed.set()
                    if loop.time() >= next_tick:
                        next_tick = loop.time() + self.tick
                        self._check_waiters(loop.time())
                        await self._settle(list(PLATFORMS))
                    if self._unconfirmed:
                        await self._confirm()
                    # Pushed by Redis: waiting for a message sends no command.
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=max(0.0, next_tick - loop.time())
                    )
                    if message is not None and message.get("type") == "message":
                        now = loop.time()
                        for grant in str(message["data"]).split(";"):
                            waiter, platform, delay_us = grant.split(" ")
                            self._unconfirmed.append((waiter, platform, int(delay_us) / 1e6 + now))
                        await self._confirm()
                    self._up()
                    backoff = BACKOFF[0]
                except (*down_errors(), *refused_errors()) as exc:
                    self._failed(exc)
                    self._fail_waiters_if_down_too_long()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF[1])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed since redis 7

    def _check_waiters(self, now: float) -> None:
        """Have Redis check on waiters unanswered for a tick (a grant lost with a reply)."""
        unconfirmed = {waiter for waiter, _, _ in self._unconfirmed}
        for ident, w in self._waiters.items():
            if now - w.since > self.tick and not w.future.done() and ident not in unconfirmed:
                self._pending.setdefault(w.platform, []).append(("w", ident))

    async def _confirm(self) -> None:
        """Confirm the slots other processes handed to our waiters (claimed until then)."""
        assert self._scripts is not None
        loop = asyncio.get_running_loop()
        grants, self._unconfirmed = self._unconfirmed, []
        args: list[str | int] = [
            self._process,
            self._presence_ms,
            uuid.uuid4().hex,
            round(3 * self.tick * 1e6),
            round(self._lease * 1e6),
        ]
        now = loop.time()
        for waiter, platform, send_at in grants:
            args += [platform, waiter, max(0, round((send_at - now) * 1e6))]
        try:
            self.commands += 1
            reply = await self._scripts.confirm(keys=[self._prefix], args=args)
        except BaseException:
            self._unconfirmed[:0] = grants  # ask again: a claim that ran out queues again
            raise
        self._saw_epoch(reply[0])
        now = loop.time()
        for (waiter, platform, send_at), confirmed in zip(grants, reply[1:], strict=True):
            if confirmed:
                self._handed(f"{waiter} {platform} {round((send_at - now) * 1e6)}")
            # else: its waiter queued again in Redis and keeps waiting here

    def _handed_all(self, messages: list[Any]) -> None:
        """Slots handed to this process's waiters: ';'-separated grants per message."""
        for message in messages:
            for grant in str(message).split(";"):
                self._handed(grant)

    def _handed(self, grant: str) -> None:
        """A slot handed to one of our waiters: ``"<waiter> <platform> <delay_us>"``."""
        waiter, platform, delay_us = grant.split(" ")
        w = self._waiters.pop(waiter, None)
        if w is None or w.future.done():
            checked = check_platform(platform)
            if any(lease == waiter for lease, _ in self._held[checked]):
                return  # handed twice (a grant checked on after its message came): ours
            # Its caller is gone (cancelled, failed while Redis was away, or retried after a
            # lost reply): free the slot at once.
            self._queue_item(checked, "r", waiter)
            return
        delay = int(delay_us) / 1e6
        self._add_lease(w.platform, waiter, delay)
        w.future.set_result(delay)

    def _fail_waiters_if_down_too_long(self) -> None:
        try:
            self._check_down()
        except GovernorUnavailableError as exc:
            for waiter in list(self._waiters.values()):
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
