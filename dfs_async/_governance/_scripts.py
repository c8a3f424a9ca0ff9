"""The Lua scripts of the Redis governor, shipped as package data (``lua/*.lua``).

Each script is the constants it shares with Python (`PATIENCE` of the priority lanes, the
`HORIZON` of the account's schedule), then
``common.lua`` (key layout, the GCRA reservation, priority lanes, slot hand-off), then its own
body, and runs atomically in Redis, so a decision and its bookkeeping are one step.
redis-py sends a script by its SHA and resends the source when Redis answers NOSCRIPT (after
a restart), so a script costs one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final

from ._lanes import PATIENCE

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

HORIZON: Final = 3
"""Intervals ahead the account's schedule in Redis reserves send times, at most: a waiter with a
free slot whose send time would lie further waits in its lane, and the next send time goes to
the highest lane waiting, whichever process queued it (``lua/common.lua``, ``hand_out``). So a
call of a higher lane waits at most about this beside a rate-bound sweep of another process."""

HORIZON_MIN: Final = 0.005
"""Seconds of horizon at the least: at very high rates a few intervals are shorter than one
script's batch of calls, which would then wait for room they do not need."""


@cache
def source(name: str) -> str:
    """The shared constants, ``common.lua``, then ``<name>.lua``."""
    constants = (
        f"local PATIENCE = {PATIENCE}\nlocal HORIZON = {HORIZON}\n"
        f"local HORIZON_MIN_US = {round(HORIZON_MIN * 1e6)}\n"
    )
    folder = resources.files(__package__).joinpath("lua")
    common = folder.joinpath("common.lua").read_text(encoding="utf-8")
    body = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    return f"{constants}{common}\n{body}"


@dataclass(frozen=True)
class Scripts:
    """The governor's scripts, registered with one client."""

    acquire: AsyncScript
    """Take a slot (or none) and reserve a send time, or queue for the slot (or the room)."""
    settle: AsyncScript
    """Free slots, withdraw waiters, pause; hand freed slots on; the presence tick."""
    restore: AsyncScript
    """Re-register held slots and queued waiters after Redis lost the account's state."""
    confirm: AsyncScript
    """Turn slots claimed for this process's waiters (handed by another) into full leases."""

    @classmethod
    def register(cls, client: Redis) -> Scripts:
        """Register every script with ``client`` (no round trip until first use)."""
        return cls(
            acquire=client.register_script(source("acquire")),
            settle=client.register_script(source("settle")),
            restore=client.register_script(source("restore")),
            confirm=client.register_script(source("confirm")),
        )
