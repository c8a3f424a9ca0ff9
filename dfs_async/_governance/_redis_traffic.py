"""What a process of the shared governor exchanges with Redis in the background.

`RedisTraffic` runs three loops over a `RedisLink`, reading and updating a `LeaseBook`:

- the **acquirer** sends the acquire requests that gathered while its last script ran as one
  script, with the frees owed meanwhile, and answers each request; it also runs the pump a
  script asked this process for (the account's schedule has room again for calls waiting for
  it, see ``_redis.py``), as an acquire script with no requests unless one ran by then;
- the **writer** sends the other owed items, the shared pause, and re-registers this
  process's leases and waiters after Redis lost the account's state (a new epoch);
- the **listener** hears of slots other processes hand over (published on this process's
  channel, confirmed before use) and of a new epoch (Redis lost the account's state: published
  on the account's channel by the script that noticed), and ticks every ``tick`` seconds
  (presence, waiters long unanswered, slots whose leases ran out) and at once when its
  connection comes back (Redis may have restarted empty).

The design and the fault policy are in ``_redis.py``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Final

from .._config import Limits
from .._errors import GovernorUnavailableError
from .._platforms import PLATFORMS, Platform
from ._redis_book import LeaseBook, Op
from ._redis_link import BACKOFF, RedisLink, down_errors, refused_errors

logger: Final = logging.getLogger("dfs_async")

RECOVERY: Final = 0.5
"""Longest freeze of new slots after Redis lost the account's state (a flush, an empty
restart, a first start): every running process re-registers its slots within it, as it hears
of the new epoch on the account's channel (a flush keeps its subscription) or ticks on
reconnecting (a restart; it retries every `RECONNECT` at most), a few round trips each."""

RECONNECT: Final = 0.2
"""Longest pause between the listener's attempts to reach Redis again."""

Asking = tuple[Platform | None, str, "asyncio.Future[tuple[int, float]]"]
"""An acquire request: platform (None: a token only), waiter id, and its answer: (granted,
seconds to wait before the send)."""


@dataclass(frozen=True)
class Account:
    """What every script of this process says about it and the account's limits."""

    prefix: str
    """The account's key prefix (its hash tag included)."""
    process: str
    """This process's id in Redis."""
    wake: str
    """The channel on which this process hears of handed slots."""
    limits: Limits
    tick: float

    @property
    def interval_us(self) -> int:
        return round(self.limits.interval * 1e6)

    @property
    def tau_us(self) -> int:
        # The local pacer's bucket as a GCRA (see _pacer.py): tau = (capacity - 2)·interval.
        return round((self.limits.capacity - 2) * self.limits.interval * 1e6)

    @property
    def presence_ms(self) -> int:
        return round(3 * self.tick * 1000)

    @property
    def recovery_us(self) -> int:
        """The freeze after a lost state: three ticks, at most `RECOVERY`."""
        return round(min(3 * self.tick, RECOVERY) * 1e6)

    @property
    def epochs(self) -> str:
        """The account's channel on which a script that starts a new epoch announces it."""
        return f"{self.prefix}:epoch"

    def head(self) -> list[str | int]:
        """The arguments every presence-refreshing script starts with."""
        return [self.process, self.presence_ms, uuid.uuid4().hex, self.recovery_us]


class RedisTraffic:
    """The background loops of one `RedisGovernor` (see the module docstring)."""

    def __init__(self, link: RedisLink, book: LeaseBook, account: Account) -> None:
        self.link = link
        self.book = book
        self.account = account
        self.closed = False
        self.asking: list[tuple[int, Asking]] = []
        """Requests for the next acquire script, with their priority."""
        self.unconfirmed: list[tuple[str, str, float]] = []
        """Slots handed to our waiters by other processes, not yet confirmed: waiter,
        platform, and when (loop time) to send."""
        self.epoch: str | None = None
        self.restore = False
        self.frozen_until = 0.0
        """Loop time new slots stay frozen until, as Redis last said (a lost state)."""
        self.settle_due = False
        """A settle is owed for its hand-out alone (a freeze ended with waiters queued)."""
        self.pump_due = False
        """An acquire is owed for its hand-out alone: Redis told this process to pump then."""
        self._pump: asyncio.TimerHandle | None = None
        self._thaw: asyncio.TimerHandle | None = None
        self._warned = False
        self._kick: asyncio.Event | None = None
        self._ask_kick: asyncio.Event | None = None
        self.subscribed: asyncio.Event | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the three loops (once, in the running loop)."""
        self._kick = asyncio.Event()
        self._ask_kick = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.tasks = [
            loop.create_task(self._listen(), name="dfs_async redis listener"),
            loop.create_task(self._write(), name="dfs_async redis writer"),
            loop.create_task(self._dispatch(), name="dfs_async redis acquirer"),
        ]

    def ask(self, request: Asking, priority: int = 0) -> None:
        """Queue an acquire request for the next acquire script."""
        assert self._ask_kick is not None
        self.asking.append((priority, request))
        self._ask_kick.set()

    def wake_writer(self) -> None:
        """Something is owed to Redis: let the writer send it."""
        if self._kick is not None:
            self._kick.set()

    async def stop(self) -> None:
        """Stop the loops, then send what is still owed once."""
        self.closed = True
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # The loops also stop on `closed`: a cancellation that lands inside a redis-py
            # command can be swallowed by it, so one more turn of the loop may be needed.
            await asyncio.wait(
                self.tasks, timeout=self.account.tick + 2 * self.link.command_timeout
            )
        self.tasks.clear()
        for timer in (self._thaw, self._pump):
            if timer is not None:
                timer.cancel()
        self._thaw = self._pump = None
        self.book.withdraw_all()
        if self.link.client is not None and (self.book.pending or self.book.pause_us):
            try:
                await self.settle(list(self.book.pending))
            except Exception as exc:  # unreachable, or full: the leases run out by themselves
                logger.warning(
                    "could not free this process's slots in Redis at %s (%s); they run out",
                    self.link.where,
                    type(exc).__name__,
                )

    # -- the acquirer -------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Send the acquire requests that gathered meanwhile as one script, and answer them."""
        assert self._ask_kick is not None
        while not self.closed:
            await self._ask_kick.wait()
            self._ask_kick.clear()
            # Higher priority first within the batch (a stable sort keeps arrival order);
            # a cancelled caller has left.
            self.asking.sort(key=lambda asked: -asked[0])
            batch = [r for _, r in self.asking if not r[2].done()]
            self.asking = []
            if batch or self.pump_due:
                await self._acquire(batch)

    def _acquire_args(
        self, batch: list[Asking], frees: dict[Platform, list[tuple[str, str]]]
    ) -> list[str | int]:
        a, limits = self.account, self.account.limits
        args: list[str | int] = [
            a.process,
            a.interval_us,
            a.tau_us,
            round(self.book.lease * 1e6),
            a.presence_ms,
            uuid.uuid4().hex,
            a.recovery_us,
        ]
        args.append(sum(len(items) for items in frees.values()))
        for p, items in frees.items():
            for op, ident in items:
                args += [p, limits.concurrency_for(p), op, ident]
        for platform, waiter, _ in batch:
            slots = limits.concurrency_for(platform) if platform is not None else 0
            args += [waiter, platform or "", slots]
        return args

    async def _acquire(self, batch: list[Asking]) -> None:
        loop = asyncio.get_running_loop()
        # Frees owed since the last script ride along (the writer leaves them a turn).
        frees = self.book.take_batched()
        self.pump_due = False  # this script hands the schedule out
        try:
            asked = loop.time()
            reply = await self.link.run(
                "acquire", self._acquire_args(batch, frees), self.account.prefix
            )
        except Exception as exc:  # the callers decide: wait for Redis, or fail
            self.book.give_back(frees)  # not applied: the writer sends them
            self.wake_writer()
            for _, _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        self.link.up()
        self.saw_epoch(reply[0])
        self.saw_frozen(int(reply[2]))
        self.saw_pump(int(reply[3]))
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
            granted, delay_us, held, queued = reply[4 + 4 * n : 8 + 4 * n]
            if platform is not None:
                self.book.shared[platform] = (int(held), int(queued))
            if not answer.done():
                answer.set_result((int(granted), delay_us / 1e6 - late))
            elif granted and platform is not None:
                self.book.owe(platform, Op.FREE, waiter)  # its caller is gone
        self.book.handed_all(reply[4 + 4 * len(batch) :])

    def saw_epoch(self, epoch: str) -> None:
        """The account state's epoch in a reply; a new one means Redis lost the state."""
        if self.epoch is not None and epoch != self.epoch:
            # Redis lost the account's state: put back what this process still holds.
            logger.warning("Redis lost the shared state; re-registering this process's slots")
            self.restore = True
            self.wake_writer()
        self.epoch = epoch

    def saw_frozen(self, frozen_us: int) -> None:
        """Redis froze new slots for ``frozen_us`` more: settle when the freeze ends, so that
        waiters queued meanwhile are handed slots then, not at the next tick."""
        if frozen_us <= 0:
            return
        loop = asyncio.get_running_loop()
        self.frozen_until = loop.time() + frozen_us / 1e6
        if self._thaw is None:
            self._thaw = loop.call_at(self.frozen_until, self._thawed)

    def saw_pump(self, pump_us: int) -> None:
        """Redis told this process to hand the account's schedule out in ``pump_us`` (calls
        wait for room that no free may bring; -1: nothing new). A later word moves the pump:
        Redis holds one claim per account (``claim_pump`` in ``lua/common.lua``)."""
        if pump_us < 0:
            return
        if self._pump is not None:
            self._pump.cancel()
        self._pump = asyncio.get_running_loop().call_later(pump_us / 1e6, self._pumped)

    def _pumped(self) -> None:
        self._pump = None
        self.pump_due = True
        if self._ask_kick is not None:
            self._ask_kick.set()

    def _thawed(self) -> None:
        self._thaw = None
        if asyncio.get_running_loop().time() < self.frozen_until:  # extended meanwhile
            self._thaw = asyncio.get_running_loop().call_at(self.frozen_until, self._thawed)
            return
        if self.book.waiters:
            self.settle_due = True
            self.wake_writer()

    # -- the writer ---------------------------------------------------------------------

    async def _write(self) -> None:
        """Send owed items and pauses; re-register after Redis lost state."""
        assert self._kick is not None
        backoff = BACKOFF[0]
        while not self.closed:
            await self._kick.wait()
            self._kick.clear()
            # A turn for the acquirer first: frees made just before a new acquire (a worker
            # moving to its next item) ride along with it in one script.
            await asyncio.sleep(0)
            try:
                if self.restore:
                    await self._reregister()
                if self.settle_due:
                    await self.settle(list(PLATFORMS))
                    self.settle_due = False  # only once it went: a failure retries it
                elif self.book.pending or self.book.pause_us:
                    await self.settle(list(self.book.pending))
                self.link.up()
                backoff = BACKOFF[0]
            except (*down_errors(), *refused_errors()) as exc:
                self.link.failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF[1])
                self._kick.set()

    async def settle(self, platforms: list[Platform]) -> None:
        """One settle script: the owed items of ``platforms``, the pause, fresh counts."""
        a = self.account
        pending, pause = self.book.take_all()
        args: list[str | int] = [
            *a.head(),
            a.interval_us,
            a.tau_us,
            round(self.book.lease * 1e6),
            pause,
        ]
        for p in platforms:
            items = pending.get(p, [])
            args += [p, a.limits.concurrency_for(p), len(items)]
            for op, ident in items:
                args += [op, ident]
        self.pump_due = False  # this script hands the schedule out
        try:
            reply = await self.link.run("settle", args, a.prefix)
        except BaseException:
            self.book.give_back(pending, pause)  # not applied: keep them for the next attempt
            raise
        self.saw_epoch(reply[0])
        self.saw_frozen(int(reply[1]))
        self.saw_pump(int(reply[2]))
        for i, p in enumerate(platforms):
            held, queued, _ = reply[3 + 3 * i : 6 + 3 * i]
            self.book.shared[p] = (int(held), int(queued))
        self.book.handed_all(reply[3 + 3 * len(platforms) :])

    async def _reregister(self) -> None:
        now = asyncio.get_running_loop().time()
        args = self.account.head()
        leases = [
            (p, lease, expires) for p in PLATFORMS for lease, expires in self.book.live_leases(p)
        ]
        args.append(len(leases))
        for p, lease, expires in leases:
            args += [p, lease, max(0, round((expires - now) * 1e6))]
        for waiter, w in self.book.waiters.items():
            args += [w.platform, waiter]
        epoch = await self.link.run("restore", args, self.account.prefix)
        self.restore = False
        self.epoch = epoch

    # -- the listener -------------------------------------------------------------------

    async def _listen(self) -> None:
        """Hear of slots handed to this process's waiters; tick every ``tick`` seconds."""
        assert self.subscribed is not None
        loop = asyncio.get_running_loop()
        pubsub = self.link.pubsub()
        next_tick = loop.time()
        backoff = BACKOFF[0]
        try:
            while not self.closed:
                try:
                    if not pubsub.subscribed:
                        await pubsub.subscribe(self.account.wake, self.account.epochs)
                        self.subscribed.set()
                    if loop.time() >= next_tick:
                        next_tick = loop.time() + self.account.tick
                        await self._tick(loop.time())
                    if self.unconfirmed:
                        await self._confirm()
                    # Pushed by Redis: waiting for a message sends no command.
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=max(0.0, next_tick - loop.time())
                    )
                    if message is not None and message.get("type") == "message":
                        if message.get("channel") == self.account.epochs:
                            self.saw_epoch(str(message["data"]))  # Redis lost the state
                        else:
                            self._heard(str(message["data"]), loop.time())
                            await self._confirm()
                    self.link.up()
                    backoff = BACKOFF[0]
                except (*down_errors(), *refused_errors()) as exc:
                    self.link.failed(exc)
                    self._fail_waiters_if_down_too_long()
                    # Back soon, and tick at once then: Redis may have restarted empty, and
                    # this process's slots must be re-registered within the freeze.
                    next_tick = loop.time()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, RECONNECT)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed since redis 7

    async def _tick(self, now: float) -> None:
        """Presence, checks on waiters long unanswered, and fresh counts for every platform."""
        unconfirmed = {waiter for waiter, _, _ in self.unconfirmed}
        self.book.check_waiters(now, self.account.tick, unconfirmed)
        await self.settle(list(PLATFORMS))

    def _heard(self, data: str, now: float) -> None:
        """A wake message: ``;``-separated grants ``"<waiter> <platform> <delay_us>"``."""
        for grant in data.split(";"):
            waiter, platform, delay_us = grant.split(" ")
            self.unconfirmed.append((waiter, platform, int(delay_us) / 1e6 + now))

    async def _confirm(self) -> None:
        """Confirm the slots other processes handed to our waiters (claimed until then)."""
        loop = asyncio.get_running_loop()
        grants, self.unconfirmed = self.unconfirmed, []
        args: list[str | int] = [*self.account.head(), round(self.book.lease * 1e6)]
        now = loop.time()
        for waiter, platform, send_at in grants:
            args += [platform, waiter, max(0, round((send_at - now) * 1e6))]
        try:
            reply: list[Any] = await self.link.run("confirm", args, self.account.prefix)
        except BaseException:
            self.unconfirmed[:0] = grants  # ask again: a claim that ran out queues again
            raise
        self.saw_epoch(reply[0])
        now = loop.time()
        for (waiter, platform, send_at), confirmed in zip(grants, reply[1:], strict=True):
            if confirmed:
                self.book.handed(f"{waiter} {platform} {round((send_at - now) * 1e6)}")
            # else: its waiter queued again in Redis and keeps waiting here

    def _fail_waiters_if_down_too_long(self) -> None:
        try:
            self.link.check_down()
        except GovernorUnavailableError as exc:
            self.book.fail_waiters(exc)
