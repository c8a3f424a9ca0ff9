"""`RedisGovernor`: one account's limits shared by every process and host that uses it.

Each process keeps nothing authoritative; Redis holds the account's state and Lua scripts
(``lua/``) change it atomically, reading the time with Redis's ``TIME`` (the hosts' clocks are
never compared, so a skewed host cannot break the limits):

- **rate**: a GCRA schedule with reservations. A call reserves its send time in one script
  and sleeps until then locally, so waiting for a token costs no traffic and calls go in the
  order they asked, whichever process they come from.
- **slots**: a sorted set of leases per platform, each expiring at its send time plus
  ``live_execution_limit`` plus ``lease_margin``. The server cannot run a call longer, so a
  crashed process's slots come back by themselves, with no heartbeat. A call abandoned
  locally (deadline, cancellation) simply keeps its lease until it runs out.
- **waiting**: a call that finds no free slot joins a per-platform queue in Redis where the
  processes take turns (start-time fair queueing); a process that frees a slot hands it, with
  a reserved send time, to the head of the queue: in its own reply if the waiter is its own,
  else published on the waiter's process channel (pub/sub: waiting sends no command). A slot
  handed to another process is only claimed until that process confirms it, so a process that
  died while queued does not hold it; a message lost on the way costs a claim that runs out
  and a waiter checked on at the next tick and queued again.
- **shared pause**: a 40202 seen by any process moves the schedule past the pause for all.
- **strictest limits**: each script merges the caller's limits into the account's (longest
  interval, fewest slots) and flags a difference, which is logged once as a warning.

Commands per call: each process batches. The calls that ask while its last acquire script
runs go together in the next one, with the frees made meanwhile; a slot handed to one of its
own waiters comes back in that reply; a slot handed across processes costs the receiver one
confirm script (for all the slots of that message). So a call costs at most two scripts, and
with several calls in flight far less; ``python -m benchmarks shared`` counts them. Each
process also sends one tick script per ``tick`` seconds (its presence, waiters long
unanswered, and the hand-out of slots whose leases ran out).

Fault policy (Redis unreachable, lost, restarted empty, or slow): **fail closed**. Without
Redis a process cannot know what the others send, so it sends nothing new: a call waits for
Redis, and once Redis has been unreachable for ``redis_wait`` seconds, calls end with
`GovernorUnavailableError`, which counts as never sent (a re-run resends the item). Calls
already in flight keep their leases; their frees are sent when Redis is back. A command
that takes longer than ``command_timeout`` counts as a failure (a slow Redis only slows the
sweep). When Redis comes back empty (a new epoch), every running process re-registers the
slots it still holds and its queued waiters; meanwhile new slots stay frozen for three
ticks, so no call takes the place of one still running. One case is out of reach: a process
cut off from Redis for longer than that freeze while Redis restarts empty cannot
re-register in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import uuid
from collections import deque
from typing import TYPE_CHECKING, Final

from .._config import Limits, check_seconds
from .._errors import ValidationError
from .._platforms import PLATFORMS, Platform
from ._keys import DEFAULT_NAMESPACE, account_prefix, wake_key
from ._protocol import GovernorState, PlatformState
from ._redis_link import BACKOFF, RedisLink, Waiter, down_errors, granted, redact, redis_module
from ._scripts import Scripts

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger: Final = logging.getLogger("dfs_async")

AHEAD: Final = 0.1
"""Seconds of the account's schedule one process may hold reserved: enough calls to keep the
rate through a busy loop or a slow reply, few enough to interleave the processes finely."""


class RedisGovernor(RedisLink):
    """A `Governor` whose limits are shared through Redis by every client of one account.

    Parameters
    ----------
    url:
        ``redis://[[user]:password@]host[:port][/db]`` (or ``rediss://``).
    account:
        The DataForSEO login; only its hash is written to Redis.
    limits:
        This process's view of the account's limits; the strictest of all processes wins.
    namespace:
        Prefix of every key, for several independent deployments on one Redis.
    redis_wait:
        Seconds Redis may stay unreachable before calls fail with `GovernorUnavailableError`.
    lease_margin:
        Seconds a slot stays taken beyond ``live_execution_limit`` after its send; covers the
        time from Redis's grant to the server's receipt.
    tick:
        Seconds between a process's presence ticks; also bounds how late a slot freed by
        expiry (a crashed holder) is noticed.
    command_timeout:
        Seconds a Redis command may take before it counts as a failure.
    """

    def __init__(
        self,
        url: str,
        *,
        account: str,
        limits: Limits,
        namespace: str = DEFAULT_NAMESPACE,
        redis_wait: float = 30.0,
        lease_margin: float = 5.0,
        tick: float = 1.0,
        command_timeout: float = 2.0,
    ) -> None:
        for name, value in (
            ("redis_wait", redis_wait),
            ("lease_margin", lease_margin),
            ("tick", tick),
            ("command_timeout", command_timeout),
        ):
            check_seconds(name, value)
        if lease_margin <= command_timeout:
            raise ValidationError(
                "lease_margin", "must exceed command_timeout: a grant may take that long to arrive"
            )
        self.url = url
        self.limits = limits
        self.redis_wait = redis_wait
        self.lease_margin = lease_margin
        self.tick = tick
        self.command_timeout = command_timeout
        self.commands = 0
        """Redis commands (scripts and pops) this process has sent."""
        self._prefix = account_prefix(account, namespace)
        self._process = uuid.uuid4().hex[:16]
        self._wake = wake_key(self._prefix, self._process)
        self._ids = itertools.count()
        self._lease = limits.live_execution_limit + lease_margin
        self._interval_us = round(limits.interval * 1e6)
        self._tau_us = round((limits.burst - 1) * limits.interval * 1e6)
        self._presence_ms = round(3 * tick * 1000)
        self._client: Redis | None = None
        self._subscriber: Redis | None = None
        self._subscribed: asyncio.Event | None = None
        self._scripts: Scripts | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._kick: asyncio.Event | None = None
        self._ahead: asyncio.Semaphore | None = None
        self._ask_kick: asyncio.Event | None = None
        self._asking: list[tuple[Platform | None, str, asyncio.Future[tuple[int, float]]]] = []
        self._unconfirmed: list[tuple[str, str, float]] = []
        """Slots handed to our waiters by other processes, not yet confirmed: waiter,
        platform, and when (loop time) to send."""
        self._ahead_count = max(2, math.ceil(AHEAD / limits.interval))
        self._epoch: str | None = None
        self._restore = False
        self._held: dict[Platform, deque[tuple[str, float]]] = {p: deque() for p in PLATFORMS}
        self._active = dict.fromkeys(PLATFORMS, 0)
        self._waiters: dict[str, Waiter] = {}
        self._pending: dict[Platform, list[tuple[str, str]]] = {}
        self._pause_us = 0
        self._paused_until = 0.0
        self._sleeping = 0
        self._shared: dict[Platform, tuple[int, int]] = {}
        self._down_since: float | None = None
        self._warned = False
        self._closed = False

    # -- the Governor protocol -----------------------------------------------------------

    async def acquire(self, platform: Platform | None) -> None:
        """Take a slot of ``platform`` (none if None) and wait for this call's send time."""
        loop = self._start()
        assert self._ahead is not None and self._subscribed is not None
        if not self._subscribed.is_set():
            # Listening before queueing: a slot handed before would be heard of only once its
            # claim ran out. Bounded: without Redis the call goes on to fail closed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), self.command_timeout)
        while (pause := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110 - a deadline
            await asyncio.sleep(pause)
        # Few reservations ahead per process: the account's schedule then interleaves the
        # processes call by call, and no slot idles while its call waits far down the schedule.
        async with self._ahead:
            delay, queued = await self._ask(platform)
            if queued is None:
                await self._until_send(platform, delay)
                return
        assert platform is not None  # only a slot can be queued for
        delay = await self._queue(platform, *queued)
        await self._until_send(platform, delay)

    async def _until_send(self, platform: Platform | None, delay: float) -> None:
        if platform is not None:
            self._active[platform] += 1
        if delay <= 0:
            return
        self._sleeping += 1
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if platform is not None:
                self.release(platform)  # never sent
            raise
        finally:
            self._sleeping -= 1

    def release(self, platform: Platform | None, *, abandoned_at: float | None = None) -> None:
        """Free the slot; an abandoned call's lease is left to run out in Redis by itself."""
        if platform is None:
            return
        self._active[platform] -= 1
        if abandoned_at is None:
            self._free_one(platform)

    def pause(self, seconds: float) -> None:
        """Hold every call of every process on the account for ``seconds``."""
        loop = self._start()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        self._pause_us = max(self._pause_us, round(seconds * 1e6))
        self._wake_writer()

    def state(self) -> GovernorState:
        """This process's slots and queue, and the account's as Redis last reported them."""
        platforms = {}
        for p in PLATFORMS:
            in_use = len(self._live_leases(p))
            shared = self._shared.get(p)
            platforms[p] = PlatformState(
                limit=self.limits.concurrency_for(p),
                in_use=in_use,
                held=max(0, in_use - self._active[p]),
                waiting=sum(1 for w in self._waiters.values() if w.platform == p),
                shared_in_use=shared[0] if shared else 0,
                shared_waiting=shared[1] if shared else 0,
            )
        return GovernorState(
            rate_limit=self.limits.rate_limit,
            rate_period=self.limits.rate_period,
            waiting_for_token=self._sleeping,
            platforms=platforms,
            shared=redact(self.url),
        )

    async def aclose(self) -> None:
        """Send the last frees, stop the background tasks and close the connections."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # The loops also stop on `_closed`: a cancellation that lands inside a redis-py
            # command can be swallowed by it, so one more turn of the loop may be needed.
            await asyncio.wait(self._tasks, timeout=self.tick + 2 * self.command_timeout)
        self._tasks.clear()
        for ident, waiter in self._waiters.items():
            self._pending.setdefault(waiter.platform, []).append(("d", ident))
        if self._client is not None and (self._pending or self._pause_us):
            try:
                await self._settle(list(self._pending))
            except down_errors():
                logger.warning("could not free this process's slots in Redis; they run out")
        for client in (self._client, self._subscriber):
            if client is not None:
                await client.aclose()

    def __repr__(self) -> str:
        return f"<RedisGovernor {self._prefix} {self.state()!r}>"

    # -- asking Redis --------------------------------------------------------------------

    def _start(self) -> asyncio.AbstractEventLoop:
        """Connect (lazily: nothing is sent yet) and start the background tasks once."""
        loop = asyncio.get_running_loop()
        if self._closed:
            raise RuntimeError("this RedisGovernor is closed")
        if self._client is None:
            aioredis = redis_module().asyncio
            self._client = aioredis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=self.command_timeout,
                socket_connect_timeout=self.command_timeout,
            )
            # The wake channel's subscription holds a connection of its own.
            self._subscriber = aioredis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_timeout=self.tick + self.command_timeout,
                socket_connect_timeout=self.command_timeout,
            )
            self._scripts = Scripts.register(self._client)
            self._kick = asyncio.Event()
            self._ahead = asyncio.Semaphore(self._ahead_count)
            self._ask_kick = asyncio.Event()
            self._subscribed = asyncio.Event()
            self._tasks = [
                loop.create_task(self._listen(), name="dfs_async redis listener"),
                loop.create_task(self._write(), name="dfs_async redis writer"),
                loop.create_task(self._dispatch(), name="dfs_async redis acquirer"),
            ]
        return loop

    async def _ask(
        self, platform: Platform | None
    ) -> tuple[float, tuple[str, asyncio.Future[float]] | None]:
        """Ask Redis (in the next batch), waiting for it within the fail-closed bound.

        Returns the delay before the send, or the waiter id and future of a queued call.
        """
        assert self._ask_kick is not None
        loop = asyncio.get_running_loop()
        backoff = BACKOFF[0]
        while True:
            # A new waiter id per attempt: a slot handed to an attempt whose reply was lost is
            # then an orphan, freed as soon as it arrives, never mistaken for this one's.
            waiter = f"{self._process}|{next(self._ids)}"
            future: asyncio.Future[float] = loop.create_future()
            if platform is not None:
                # Registered before the script runs: a slot may be handed over (and its
                # message read) before the script's reply is.
                self._waiters[waiter] = Waiter(platform, future, loop.time())
            answer: asyncio.Future[tuple[int, float]] = loop.create_future()
            self._asking.append((platform, waiter, answer))
            self._ask_kick.set()
            try:
                granted, delay = await answer
                break
            except BaseException as exc:
                if platform is not None:
                    self._forget(platform, waiter, future)
                if not isinstance(exc, down_errors()):
                    raise
                self._failed(exc)
                self._check_down()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
        if platform is None:
            return delay, None
        if granted:
            self._waiters.pop(waiter, None)
            self._add_lease(platform, waiter, delay)
            return delay, None
        return 0.0, (waiter, future)

    def _forget(self, platform: Platform, waiter: str, future: asyncio.Future[float]) -> None:
        """An attempt that may or may not have run: undo whatever it did in Redis."""
        self._waiters.pop(waiter, None)
        if granted(future):
            self._free_one(platform)  # already handed a slot: give it back
            return
        self._queue_item(platform, "d", waiter)  # queued: withdraw
        self._queue_item(platform, "r", waiter)  # granted at once: free

    async def _queue(self, platform: Platform, waiter: str, future: asyncio.Future[float]) -> float:
        """Wait until a process hands this waiter a slot; the delay before its send."""
        try:
            return await future
        except asyncio.CancelledError:
            if self._waiters.pop(waiter, None) is not None:
                self._queue_item(platform, "d", waiter)  # still queued: withdraw it
            elif granted(future):
                self._free_one(platform)  # handed over in the same tick: give it back
            raise
        finally:
            self._waiters.pop(waiter, None)
