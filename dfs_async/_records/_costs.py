"""Answers' costs per target, as a results file and a sweep have seen them."""

from __future__ import annotations

from typing import TypeAlias

from .._platforms import Platform
from .._wire._requests import LiveRequest

PriceKey: TypeAlias = tuple[Platform, str | None, bool]
"""What a call's price depends on: platform, model, web search."""


def price_key(platform: Platform, request: LiveRequest) -> PriceKey:
    """The `PriceKey` of one call: the one place that says what a price depends on."""
    return platform, request.model_name, request.web_search is True


class CostsSeen:
    """Answers' costs per target: how many, their total, and the dearest."""

    def __init__(self, other: CostsSeen | None = None) -> None:
        self._by_target: dict[PriceKey, list[float]] = (
            {k: list(v) for k, v in other._by_target.items()} if other is not None else {}
        )

    def add(self, key: PriceKey, cost: float) -> None:
        """Count one charged answer (callers leave out uncharged and unknown ones)."""
        seen = self._by_target.get(key)
        if seen is None:
            self._by_target[key] = [1, cost, cost]
        else:
            seen[0] += 1
            seen[1] += cost
            seen[2] = max(seen[2], cost)

    def dearest(self, key: PriceKey) -> float | None:
        """The highest cost seen for ``key``, or None before its first answer."""
        seen = self._by_target.get(key)
        return seen[2] if seen is not None else None

    def mean(self, key: PriceKey) -> float | None:
        """The average cost seen for ``key``, or None before its first answer."""
        seen = self._by_target.get(key)
        return seen[1] / seen[0] if seen is not None else None
