"""This process's own record of the shared governor: leases held, waiters queued, items owed.

Redis holds the account's state; `LeaseBook` holds what this process must remember about its
part of it: the leases it holds per platform (to free them, to re-register them after Redis
lost its state, to report them), the calls it has queued in Redis (`Waiter`), the items it
still has to tell Redis (`Op`: free a slot, withdraw a waiter, check on one), the pause it
owes the account, and the account's counts as Redis last reported them. It sends nothing:
`notify` wakes whoever sends the owed items.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .._platforms import PLATFORMS, Platform, check_platform


class Op(StrEnum):
    """An item owed to Redis about one lease or waiter (the letters the Lua scripts read)."""

    FREE = "r"
    """Free a slot (a lease, or the grant of a waiter whose caller is gone)."""
    WITHDRAW = "d"
    """Take a queued waiter out of the platform's queue."""
    CHECK = "w"
    """Ask after a waiter long unanswered (a grant lost with its message)."""


BATCHED: frozenset[str] = frozenset({Op.FREE, Op.WITHDRAW})
"""The items an acquire script carries along (the writer sends the rest)."""


@dataclass
class Waiter:
    """A call of this process queued in Redis for a slot of ``platform``."""

    platform: Platform
    future: asyncio.Future[float]
    """Resolves to the seconds to wait before the send, once a slot was handed over."""
    since: float
    """Loop time it started waiting."""


def granted(future: asyncio.Future[float]) -> bool:
    """Whether a waiter's future holds a handed slot (not an error, not cancelled)."""
    return future.done() and not future.cancelled() and future.exception() is None


class LeaseBook:
    """The leases, waiters and owed items of one process (see the module docstring)."""

    def __init__(self, lease: float, notify: Callable[[], None]) -> None:
        self.lease = lease
        """Seconds a slot stays taken after its send."""
        self._notify = notify
        self.held: dict[Platform, deque[tuple[str, float]]] = {p: deque() for p in PLATFORMS}
        """Per platform, this process's leases: id and loop time they run out, oldest first."""
        self.active = dict.fromkeys(PLATFORMS, 0)
        """Per platform, calls granted and not released (the rest of `held` is abandoned)."""
        self.waiters: dict[str, Waiter] = {}
        self.pending: dict[Platform, list[tuple[str, str]]] = {}
        """Per platform, items owed to Redis: (`Op`, lease or waiter id)."""
        self.pause_us = 0
        """A pause owed to the account (microseconds), sent with the next settle."""
        self.shared: dict[Platform, tuple[int, int]] = {}
        """Per platform, the account's slots in use and calls queued, as last reported."""

    # -- leases -----------------------------------------------------------------------

    def add_lease(self, platform: Platform, lease: str, delay: float) -> None:
        """Record a slot granted to this process, sent ``delay`` seconds from now."""
        expires = asyncio.get_running_loop().time() + delay + self.lease
        self.held[platform].append((lease, expires))

    def live_leases(self, platform: Platform) -> deque[tuple[str, float]]:
        """This process's leases of ``platform``, those that ran out dropped."""
        leases = self.held[platform]
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:  # a repr after the loop ended: as last known
            return leases
        while leases and leases[0][1] <= now:
            leases.popleft()
        return leases

    def free_one(self, platform: Platform) -> None:
        """Give back one lease of ``platform``."""
        # Leases of a platform are interchangeable; freeing the oldest keeps the ones that
        # run out last, so every call still running stays covered.
        leases = self.live_leases(platform)
        if leases:
            lease, _ = leases.popleft()
            self.owe(platform, Op.FREE, lease)

    # -- items owed to Redis ----------------------------------------------------------

    def owe(self, platform: Platform, op: Op, ident: str) -> None:
        """Owe Redis ``op`` on ``ident`` and wake the sender."""
        self.pending.setdefault(platform, []).append((op, ident))
        self._notify()

    def take_batched(self) -> dict[Platform, list[tuple[str, str]]]:
        """The owed frees and withdrawals, taken out of the pending items."""
        taken: dict[Platform, list[tuple[str, str]]] = {}
        for p, items in list(self.pending.items()):
            kept = [item for item in items if item[0] not in BATCHED]
            batched = [item for item in items if item[0] in BATCHED]
            if batched:
                taken[p] = batched
            if kept:
                self.pending[p] = kept
            else:
                del self.pending[p]
        return taken

    def take_all(self) -> tuple[dict[Platform, list[tuple[str, str]]], int]:
        """Every owed item and the owed pause, taken (give them back if the send fails)."""
        pending, self.pending = self.pending, {}
        pause, self.pause_us = self.pause_us, 0
        return pending, pause

    def give_back(self, pending: dict[Platform, list[tuple[str, str]]], pause: int = 0) -> None:
        """Put back items (and a pause) a failed send did not apply, ahead of newer ones."""
        for p, items in pending.items():
            self.pending.setdefault(p, [])[:0] = items
        self.pause_us = max(self.pause_us, pause)

    # -- waiters ----------------------------------------------------------------------

    def check_waiters(self, now: float, tick: float, unconfirmed: set[str]) -> None:
        """Owe a check on each waiter unanswered for a tick (a grant lost with a reply), once:
        ticks retried while Redis is away do not pile up copies."""
        owed = {ident for items in self.pending.values() for op, ident in items if op == Op.CHECK}
        skip = unconfirmed | owed
        for ident, w in self.waiters.items():
            if now - w.since > tick and not w.future.done() and ident not in skip:
                self.pending.setdefault(w.platform, []).append((Op.CHECK, ident))

    def withdraw_all(self) -> None:
        """Owe a withdrawal of every waiter (the process is closing)."""
        for ident, waiter in self.waiters.items():
            self.pending.setdefault(waiter.platform, []).append((Op.WITHDRAW, ident))

    def fail_waiters(self, exc: BaseException) -> None:
        """End every waiting call with ``exc`` (Redis stayed away too long)."""
        for waiter in list(self.waiters.values()):
            if not waiter.future.done():
                waiter.future.set_exception(exc)

    def handed_all(self, messages: list[Any]) -> None:
        """Slots handed to this process's waiters: ';'-separated grants per message."""
        for message in messages:
            for grant in str(message).split(";"):
                self.handed(grant)

    def handed(self, grant: str) -> None:
        """A slot handed to one of our waiters: ``"<waiter> <platform> <delay_us>"``."""
        waiter, platform, delay_us = grant.split(" ")
        w = self.waiters.pop(waiter, None)
        if w is None or w.future.done():
            checked = check_platform(platform)
            if any(lease == waiter for lease, _ in self.held[checked]):
                return  # handed twice (a grant checked on after its message came): ours
            # Its caller is gone (cancelled, failed while Redis was away, or retried after a
            # lost reply): free the slot at once.
            self.owe(checked, Op.FREE, waiter)
            return
        delay = int(delay_us) / 1e6
        self.add_lease(w.platform, waiter, delay)
        w.future.set_result(delay)

    def forget(self, platform: Platform, waiter: str, future: asyncio.Future[float]) -> None:
        """An attempt that may or may not have run: undo whatever it did in Redis."""
        self.waiters.pop(waiter, None)
        if granted(future):
            self.free_one(platform)  # already handed a slot: give it back
            return
        self.owe(platform, Op.WITHDRAW, waiter)  # queued: withdraw
        self.owe(platform, Op.FREE, waiter)  # granted at once: free

    def waiting(self, platform: Platform) -> int:
        """This process's calls queued for a slot of ``platform``."""
        return sum(1 for w in self.waiters.values() if w.platform == platform)
