"""`RedisGovernor`: one account's limits shared by every process and host that uses it.

Each process keeps nothing authoritative; Redis holds the account's state and Lua scripts
(``lua/``) change it atomically, reading the time with Redis's ``TIME`` (the hosts' clocks are
never compared, so a skewed host cannot break the limits):

- **rate**: a GCRA schedule with reservations. A call reserves its send time in one script
  and sleeps until then locally, so waiting for a token costs no traffic. A send time is
  reserved at most a **horizon** ahead (`HORIZON` intervals, ``_scripts.py``): a call whose
  slot is free but whose send time would lie beyond waits in its lane (below), and each time
  the schedule has room the next send time goes to the highest lane waiting on any platform,
  whichever process queued it (a lane passed over `PATIENCE` times first; platforms of one
  lane take turns). Without it a sweep holding more slots than the rate needs would reserve
  send times far ahead, first come first served, and a higher-priority call of another
  process would go after all of them. Every script hands the room out; room that comes up
  while no script runs (no call ends meanwhile) is handed out by a pump: the script that
  leaves calls waiting for room tells one process when two send times fit again (its own
  later scripts move that time on), and that process runs an acquire script then. A call
  without a platform (Standard, metadata) holds no slot and queues nowhere: beyond the
  horizon it is told when to ask again (the processes an interval apart), and asks then with
  its process's other such calls, taking its turn by lane with the queued ones.
- **slots**: a sorted set of leases per platform, each expiring at its send time plus
  ``live_execution_limit`` plus ``lease_margin``. The server cannot run a call longer, so a
  crashed process's slots come back by themselves, with no heartbeat. A call abandoned
  locally (deadline, cancellation) simply keeps its lease until it runs out.
- **waiting**: a call that finds no free slot (or finds others queued) joins its platform's
  queue in Redis, in the lane of its ``priority``: a freed slot goes to the highest lane that
  waits, whichever process queued there, except that a lane passed over `PATIENCE` times is
  served next (the rule of the local governor's lanes, `_lanes.py`: while two lanes wait, the
  lower gets at least one of every ``PATIENCE + 1`` slots, so it is never starved). One rule
  hands out the slots and the send times: every lane of every platform with a free slot
  competes for the next send time, and a lane's skips count per platform, so a platform's
  lower lane having its turn never lets another platform's middle lane pass its higher one.
  Within a lane the processes take turns (start-time fair queueing). A process that frees a
  slot hands it, with a reserved send time (once the schedule has room: see rate), to the
  next waiter, which takes both at once: in its own reply if the waiter is its own, else
  published on the waiter's process channel (pub/sub: waiting sends no command). A slot
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
with several calls in flight far less; ``python -m benchmarks shared`` counts them. While the
rate binds, add the pumps: at most one per two send times, fewer where frees hand the room
out first. Each process also sends one tick script per ``tick`` seconds (its presence,
waiters long unanswered, and the hand-out of slots whose leases ran out).

Fault policy (Redis unreachable, lost, restarted empty, or slow): **fail closed**. Without
Redis a process cannot know what the others send, so it sends nothing new: a call waits for
Redis, and once Redis has been unreachable for ``redis_wait`` seconds, calls end with
`GovernorUnavailableError`, which counts as never sent (a re-run resends the item). Calls
already in flight keep their leases; their frees are sent when Redis is back. A command
that takes longer than ``command_timeout`` counts as a failure (a slow Redis only slows the
sweep). When Redis comes back empty (a new epoch), every running process re-registers the
slots it still holds and its queued waiters; meanwhile new slots stay frozen for three
ticks, at most `RECOVERY` (0.5 s), so no call takes the place of one still running. The
script that starts the epoch announces it on the account's channel, which every process
hears at once if its subscription survived (a flush); after a restart each process's
listener reconnects within `RECONNECT` and ticks at once. On a first start the freeze is
paid by `check_health` (``AsyncClient``'s ``async with`` calls it), so a first call does not
wait for it. One case is out of reach: a process cut off from Redis (or stalled) for longer
than that freeze while Redis restarts empty cannot re-register in time. A Redis that answers
but refuses the scripts (full under maxmemory with noeviction, a read-only replica) ends the
call at once with `GovernorUnavailableError`.

The parts, one job each: `RedisLink` (``_redis_link.py``: connections, scripts, health),
`LeaseBook` (``_redis_book.py``: this process's leases, waiters and owed items),
`RedisTraffic` (``_redis_traffic.py``: the background acquirer, writer and listener), and
`RedisGovernor` here: the `Governor` protocol and the admission of one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import uuid
from typing import Final

from .._config import Limits, check_seconds
from .._errors import GovernorUnavailableError, ValidationError
from .._platforms import PLATFORMS, Platform
from ._keys import DEFAULT_NAMESPACE, account_prefix, wake_key
from ._protocol import GovernorState, PlatformState
from ._redis_book import LeaseBook, Op, Waiter, granted
from ._redis_link import BACKOFF, RedisLink, down_errors, refused_errors
from ._redis_traffic import RECOVERY, Account, RedisTraffic

AHEAD: Final = 0.1
"""Seconds of the account's schedule one process may be asking for or hold reserved at once
(its calls granted at once; queued ones wait without it). The horizon bounds the account's
reservations more tightly while the rate binds; this bounds a process's asks at any rate."""


class RedisGovernor:
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
        self.limits = limits
        self.lease_margin = lease_margin
        prefix = account_prefix(account, namespace)
        process = uuid.uuid4().hex[:16]
        self._link = RedisLink(
            url, command_timeout=command_timeout, tick=tick, redis_wait=redis_wait
        )
        self._book = LeaseBook(limits.live_execution_limit + lease_margin, self._wake_writer)
        self._traffic = RedisTraffic(
            self._link,
            self._book,
            Account(prefix, process, wake_key(prefix, process), limits, tick),
        )
        self._ids = itertools.count()
        self._ahead_count = max(2, math.ceil(AHEAD / limits.interval))
        self._ahead: asyncio.Semaphore | None = None
        self._paused_until = 0.0
        self._room: tuple[asyncio.TimerHandle, asyncio.Future[None]] | None = None
        """When this process's token-only calls told to wait for room ask again, and their
        shared wait."""
        self._sleeping = 0
        self._closed = False

    @property
    def url(self) -> str:
        """The Redis URL as given (credentials included: never log it, use ``state()``)."""
        return self._link.url

    @property
    def redis_wait(self) -> float:
        """Seconds Redis may stay unreachable before calls fail."""
        return self._link.redis_wait

    @property
    def tick(self) -> float:
        """Seconds between presence ticks."""
        return self._link.tick

    @property
    def command_timeout(self) -> float:
        """Seconds a Redis command may take before it counts as a failure."""
        return self._link.command_timeout

    @property
    def commands(self) -> int:
        """Redis commands (scripts) this process has sent."""
        return self._link.commands

    # -- the Governor protocol -----------------------------------------------------------

    async def acquire(self, platform: Platform | None, *, priority: int = 0) -> None:
        """Take a slot of ``platform`` (none if None) and wait for this call's send time.

        ``priority`` picks the call's lane in the account's queue for a slot, shared by every
        process: higher lanes are served first, a lane passed over `PATIENCE` times is served
        next (see the module docstring); within a lane the processes take turns and each one's
        calls go first come first served. It also orders this process's calls that ask Redis
        together (one acquire script serves a whole batch), and the account's send times: a
        call whose slot is free waits in its lane for the schedule's room (send times are
        reserved at most the horizon ahead), so beside a rate-bound sweep of another process it
        waits about that long, not behind every send time the sweep could reserve.
        """
        loop = self._start()
        subscribed = self._traffic.subscribed
        assert self._ahead is not None and subscribed is not None
        if not subscribed.is_set():
            # Listening before queueing: a slot handed before would be heard of only once its
            # claim ran out. Bounded: without Redis the call goes on to fail closed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscribed.wait(), self.command_timeout)
        while (pause := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110 - a deadline
            await asyncio.sleep(pause)
        # Few reservations ahead per process: the account's schedule then interleaves the
        # processes call by call, and no slot idles while its call waits far down the schedule.
        async with self._ahead:
            delay, queued = await self._ask(platform, priority)
            if queued is None:
                await self._until_send(platform, delay)
                return
        assert platform is not None  # only a slot can be queued for
        delay = await self._queue(platform, *queued)
        await self._until_send(platform, delay)

    def release(self, platform: Platform | None, *, abandoned_at: float | None = None) -> None:
        """Free the slot; an abandoned call's lease is left to run out in Redis by itself."""
        if platform is None:
            return
        self._book.active[platform] -= 1
        if abandoned_at is None:
            self._book.free_one(platform)

    def pause(self, seconds: float) -> None:
        """Hold every call of every process on the account for ``seconds``."""
        loop = self._start()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        self._book.pause_us = max(self._book.pause_us, round(seconds * 1e6))
        self._wake_writer()

    def state(self) -> GovernorState:
        """This process's slots and queue, and the account's as Redis last reported them."""
        platforms = {}
        for p in PLATFORMS:
            in_use = len(self._book.live_leases(p))
            shared = self._book.shared.get(p)
            platforms[p] = PlatformState(
                limit=self.limits.concurrency_for(p),
                in_use=in_use,
                held=max(0, in_use - self._book.active[p]),
                waiting=self._book.waiting(p),
                shared_in_use=shared[0] if shared else 0,
                shared_waiting=shared[1] if shared else 0,
            )
        return GovernorState(
            rate_limit=self.limits.rate_limit,
            rate_period=self.limits.rate_period,
            waiting_for_token=self._sleeping,
            platforms=platforms,
            shared=self._link.where,
        )

    async def aclose(self) -> None:
        """Send the last frees, stop the background tasks and close the connections."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._traffic.stop()
        finally:
            await self._link.aclose()

    async def check_health(self) -> None:
        """Raise `GovernorUnavailableError` unless Redis takes this process's writes now.

        For readiness probes: one settle script (this process's presence, the account's
        counts), bounded by ``command_timeout``, then the rest of a freeze of new slots after
        a lost state, if any (at most `RECOVERY`): until then no call could be admitted. It
        also connects and starts the background tasks, so calling it once at startup (as
        ``AsyncClient``'s ``async with`` does) pays the connection and a first start's freeze
        before the first call.
        """
        loop = self._start()
        try:
            await asyncio.wait_for(self._traffic.settle([]), self.command_timeout)
        except Exception as exc:
            if isinstance(exc, refused_errors()):
                raise self._link.refused(exc) from exc
            if not isinstance(exc, (*down_errors(), TimeoutError)):
                raise
            self._link.failed(exc)
            raise GovernorUnavailableError(
                f"the shared governor's Redis at {self._link.where} is unreachable "
                f"({type(exc).__name__}); calls would wait for it"
            ) from None
        self._link.up()
        if (frozen := min(self._traffic.frozen_until - loop.time(), RECOVERY)) > 0:
            await asyncio.sleep(frozen)

    def __repr__(self) -> str:
        return f"<RedisGovernor {self._traffic.account.prefix} {self.state()!r}>"

    # -- admitting one call ------------------------------------------------------------

    def _wake_writer(self) -> None:
        self._traffic.wake_writer()

    def _start(self) -> asyncio.AbstractEventLoop:
        """Connect (lazily: nothing is sent yet) and start the background tasks once."""
        loop = asyncio.get_running_loop()
        if self._closed:
            raise RuntimeError("this RedisGovernor is closed")
        if self._ahead is None:
            self._link.open()
            self._ahead = asyncio.Semaphore(self._ahead_count)
            self._traffic.start(loop)
        return loop

    async def _until_send(self, platform: Platform | None, delay: float) -> None:
        if platform is not None:
            self._book.active[platform] += 1
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

    async def _ask(
        self, platform: Platform | None, priority: int = 0
    ) -> tuple[float, tuple[str, asyncio.Future[float]] | None]:
        """Ask Redis (in the next batch), waiting for it within the fail-closed bound.

        Returns the delay before the send, or the waiter id and future of a queued call.
        """
        loop = asyncio.get_running_loop()
        backoff = BACKOFF[0]
        if platform is None and self._room is not None and not self._room[1].done():
            # Others of this process wait for the schedule's room: ask with them.
            await asyncio.shield(self._room[1])
        while True:
            # A new waiter id per attempt: a slot handed to an attempt whose reply was lost is
            # then an orphan, freed as soon as it arrives, never mistaken for this one's.
            # The id carries the lane: every script finds the waiter's queue from it.
            waiter = f"{self._traffic.account.process}|{priority}|{next(self._ids)}"
            future: asyncio.Future[float] = loop.create_future()
            if platform is not None:
                # Registered before the script runs: a slot may be handed over (and its
                # message read) before the script's reply is.
                self._book.waiters[waiter] = Waiter(platform, future, loop.time())
            answer: asyncio.Future[tuple[int, float]] = loop.create_future()
            self._traffic.ask((platform, waiter, answer), priority)
            try:
                granted_now, delay = await answer
            except BaseException as exc:
                if platform is not None:
                    self._book.forget(platform, waiter, future)
                if isinstance(exc, refused_errors()):
                    raise self._link.refused(exc) from exc
                if not isinstance(exc, down_errors()):
                    raise
                self._link.failed(exc)
                self._link.check_down()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
                continue
            if platform is not None or granted_now:
                break
            # A token only, its send time beyond the schedule's horizon: ask again when the
            # schedule has room (it then takes its turn by lane with the queued waiters).
            await self._wait_for_room(delay)
        if platform is None:
            return delay, None
        if granted_now:
            self._book.waiters.pop(waiter, None)
            self._book.add_lease(platform, waiter, delay)
            return delay, None
        return 0.0, (waiter, future)

    async def _wait_for_room(self, delay: float) -> None:
        """Wait until the account's schedule has room, ``delay`` from now as Redis said, with
        every token-only call of this process told so: they ask again in one script."""
        loop = asyncio.get_running_loop()
        at = loop.time() + delay
        if self._room is None or self._room[1].done():
            room: asyncio.Future[None] = loop.create_future()
        else:
            timer, room = self._room
            if timer.when() <= at:
                await asyncio.shield(room)
                return
            timer.cancel()  # room sooner than the others were told: all ask sooner
        self._room = (loop.call_at(at, _resolve, room), room)
        await asyncio.shield(room)

    async def _queue(self, platform: Platform, waiter: str, future: asyncio.Future[float]) -> float:
        """Wait until a process hands this waiter a slot; the delay before its send."""
        try:
            return await future
        except asyncio.CancelledError:
            if self._book.waiters.pop(waiter, None) is not None:
                self._book.owe(platform, Op.WITHDRAW, waiter)  # still queued: withdraw it
            elif granted(future):
                self._book.free_one(platform)  # handed over in the same tick: give it back
            raise
        finally:
            self._book.waiters.pop(waiter, None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
