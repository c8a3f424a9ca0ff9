"""A sweep's spending cap: every call in flight reserves an estimate until its cost is known.

Checking only what has been spent would let 120 calls in flight pass the check together and
then overspend; so each call holds a reservation while it runs. A call that does not fit only
because of those reservations waits for calls in flight to settle; it is refused only when
what is spent plus its own estimate would cross the cap, which no later answer can undo.

Estimates are per target (platform, model, web search): the dearest answer seen so far plus
`COST_HEADROOM`, since answers vary in length; before a target's first answer, the sweep's
``cost_estimate`` or the platform's entry in `DEFAULT_COSTS`. At the end of the cap, where the
headroom no longer fits but the dearest answer does, calls go one at a time, each reserving
all the room left, so that the cap is spent to within one call. A call whose charge is
unknown (deadline passed after the send, connection lost after it, body cut off after HTTP
200) is counted at its estimate.

The cap holds exactly as long as no call costs more than its reservation.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .._errors import BudgetExceededError
from .._platforms import Platform
from .._records._costs import CostsSeen, PriceKey

DEFAULT_COSTS: Final[Mapping[Platform, float]] = MappingProxyType(
    {"chat_gpt": 0.10, "claude": 0.07, "gemini": 0.05, "perplexity": 0.02}
)
"""USD assumed per Live call before a target's first answer: a little above what users of the
real API measure with web search on (about $0.08 ChatGPT, $0.05 Claude, $0.04 Gemini, under
$0.01 Perplexity), so that the first calls of a sweep cannot overspend."""

COST_HEADROOM: Final = 0.25
"""Share added to the dearest answer seen, for answers longer than any seen so far."""

_ROUNDING: Final = 1e-9
"""Sums of float costs drift by far less than this; a call that fits exactly still fits."""


class Budget:
    """Admits calls while what is spent, reserved and one more estimate fits in ``max_cost``.

    ``spent`` may start above zero (a resumed results file); ``seen`` gives the costs already
    known per target; ``default`` replaces `DEFAULT_COSTS` for every platform.
    """

    def __init__(
        self,
        max_cost: float | None,
        *,
        spent: float = 0.0,
        default: float | None = None,
        seen: CostsSeen | None = None,
    ) -> None:
        self.max_cost = max_cost
        self.spent = spent
        """USD charged, with unknown charges counted at their estimate."""
        self.reserved = 0.0
        """USD held for calls in flight."""
        self.unknown = 0
        """Calls whose charge is unknown, counted at their estimate."""
        self.unknown_cost = 0.0
        """The estimates counted for those calls."""
        self.refused = 0
        self._default = default
        self._seen = CostsSeen(seen)
        self._in_flight: Counter[PriceKey] = Counter()
        self._settled: asyncio.Event | None = None

    def estimate(self, key: PriceKey) -> float:
        """USD one more call of this target is expected to cost at most."""
        dearest = self._seen.dearest(key)
        if dearest is not None:
            return dearest * (1.0 + COST_HEADROOM)
        return self._default if self._default is not None else DEFAULT_COSTS[key[0]]

    async def admit(self, key: PriceKey, *, floor: float = 0.0) -> float:
        """Reserve room for one call and return the amount; raise if it may not go.

        Waits while the call fits once calls in flight have settled; raises
        `BudgetExceededError` once it cannot fit whatever they cost. ``floor`` is the least
        to reserve (a Standard task's prepayment, charged whatever the answer costs).
        """
        return (await self.admit_all([key], floor=floor))[0]

    def try_admit(self, key: PriceKey, *, floor: float = 0.0) -> float | None:
        """`admit` without waiting: the amount reserved, or None if the call must wait."""
        reserved = self._try_admit_all([key], floor)
        return reserved[0] if reserved is not None else None

    async def admit_all(self, keys: list[PriceKey], *, floor: float = 0.0) -> list[float]:
        """Reserve room for several calls at once (one prompt's targets × samples) or none.

        Waits while they fit once calls in flight have settled; raises `BudgetExceededError`
        for all of them once they cannot fit together whatever those cost, so that the cap
        never leaves a prompt answered by some targets and not by others.
        """
        while (reserved := self._try_admit_all(keys, floor)) is None:
            if self._settled is None:
                self._settled = asyncio.Event()
            await self._settled.wait()
        return reserved

    def _try_admit_all(self, keys: list[PriceKey], floor: float) -> list[float] | None:
        """The amounts reserved for ``keys`` together, None if they must wait, or raise."""
        cap = self.max_cost
        estimates = [max(self.estimate(k), floor) for k in keys]
        if cap is None or self.spent + self.reserved + sum(estimates) <= cap + _ROUNDING:
            return [self._reserve(k, e) for k, e in zip(keys, estimates, strict=True)]
        # The least each call may cost: the dearest answer seen, without the headroom.
        least = [
            max(self._seen.dearest(k) or e, floor) for k, e in zip(keys, estimates, strict=True)
        ]
        if self.spent + sum(least) > cap + _ROUNDING:
            # A target with no answer yet may still learn a lower estimate from its first.
            if not any(self._seen.dearest(k) is None and self._in_flight[k] for k in keys):
                self.refused += len(keys)
                what = (
                    f"the next {keys[0][0]} call is"
                    if len(keys) == 1
                    else f"this prompt's {len(keys)} calls are"
                )
                raise BudgetExceededError(
                    f"max_cost ${cap:.4f} reached: ${self.spent:.4f} spent, and {what} "
                    f"estimated at ${sum(least):.4f}; not sent"
                )
        elif not self._in_flight.total():
            # The last room of the cap: less than the headroom, but the dearest answers seen
            # fit. Alone in flight, the calls share all of it in proportion to their cost.
            room = (cap - self.spent) / sum(least)
            return [self._reserve(k, x * room) for k, x in zip(keys, least, strict=True)]
        return None

    def _reserve(self, key: PriceKey, amount: float) -> float:
        self.reserved += amount
        self._in_flight[key] += 1
        return amount

    def settle(self, key: PriceKey, reserved: float, cost: float | None) -> None:
        """Replace a call's reservation by its cost (None: unknown, counted as reserved)."""
        self.reserved = max(0.0, self.reserved - reserved)
        self._in_flight[key] -= 1
        if cost is None:
            self.unknown += 1
            self.unknown_cost += reserved
            self.spent += reserved
        else:
            self.spent += cost
            if cost > 0:
                self._seen.add(key, cost)
        if self._settled is not None:
            # Wake every waiter; each checks again whether its call fits now.
            self._settled.set()
            self._settled = None
