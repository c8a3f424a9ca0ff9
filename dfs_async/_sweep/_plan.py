"""`plan_sweep`: what a sweep would send and what it would cost, worked out without a client.

No credentials and no network: every item is validated against every target as the sweep would,
a results file is read (never locked or changed) to leave out what it already holds, items an
earlier run posted as Standard tasks are to be collected, not paid again, and each call still
to make is priced at its target's average cost in that file, or at the documented default
(`DEFAULT_COSTS`, or ``cost_estimate``) for a target it has not seen.
"""

from __future__ import annotations

import os
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .._records._costs import PriceKey
from .._records._index import ResultsIndex, read_index
from .._records._records import PromptResult, Target
from ._budget import DEFAULT_COSTS
from ._items import (
    PLANNING_OPTIONS,
    Disposition,
    ItemFilter,
    Prompts,
    SweepItem,
    check_fields,
    check_prompts,
    check_samples,
    plan_items,
    routes_for,
)

ERRORS_KEPT: Final = 100
"""Invalid items a plan keeps to show; it counts them all."""


@dataclass
class TargetEstimate:
    """The calls still to make for one target (platform, model, web search) and their cost."""

    calls: int = 0
    cost: float = 0.0
    per_call: float = 0.0
    """USD per call used: the file's average for this target, or the default."""
    from_file: bool = False
    """True when ``per_call`` is the average of answers already in the results file."""


@dataclass
class SweepPlan:
    """What a sweep would do, worked out without sending anything."""

    items: int = 0
    """Items of the input: rows × targets × samples."""
    invalid: int = 0
    """Items that would fail validation (never sent)."""
    errors: list[PromptResult] = field(default_factory=list)
    """The first `ERRORS_KEPT` invalid items, with their `ValidationError`."""
    skipped: int = 0
    """Items the results file already holds (answered, or settled failures)."""
    duplicates: int = 0
    """Items identical to an earlier one (sent once)."""
    collected: int = 0
    """Items an earlier run posted as Standard tasks and did not collect: the sweep collects
    them and posts nothing again (their prepayment is already in ``spent``)."""
    calls: int = 0
    """Calls still to make."""
    cost: float = 0.0
    """Their estimated cost, USD."""
    spent: float = 0.0
    """What the results file's records already cost, USD (it counts against ``max_cost``)."""
    targets: dict[PriceKey, TargetEstimate] = field(default_factory=dict)


async def plan_sweep(
    prompts: Prompts,
    *,
    platform: str | None = None,
    model_name: str | None = None,
    targets: Sequence[Target] | None = None,
    samples: int = 1,
    sink: str | os.PathLike[str] | None = None,
    retry_failed: bool = False,
    cost_estimate: float | None = None,
    **fields: Any,
) -> SweepPlan:
    """Validate every item against every target and estimate the calls left; send nothing.

    Takes the arguments of `iter_prompts` (``sink`` as a path). Needs no client and no
    credentials: the validation is `prepare_request`'s (a client that has listed a model's
    capabilities may also refuse what only the model forbids).
    """
    check_prompts(prompts)
    check_fields("plan_sweep", fields, PLANNING_OPTIONS)
    routes = routes_for(platform, model_name, targets, fields)
    check_samples(samples)
    held = read_index(sink) if sink is not None else None
    done: Container[str] = held.done if held is not None else ()
    settled: Container[str] = held.settled if held is not None and not retry_failed else ()
    plan = SweepPlan(spent=held.spent if held is not None else 0.0)
    items = ItemFilter(done, settled, held.posted if held is not None else ())
    async for item in plan_items(prompts, routes, samples):
        plan.items += 1
        match items.sort(item):
            case Disposition.HELD:
                plan.skipped += 1
            case Disposition.DUPLICATE:
                plan.duplicates += 1
            case Disposition.INVALID:
                plan.invalid += 1
                if len(plan.errors) < ERRORS_KEPT:
                    assert isinstance(item, PromptResult)
                    plan.errors.append(item)
            case Disposition.COLLECT:
                plan.collected += 1
            case Disposition.SEND:
                assert isinstance(item, SweepItem)
                _price(plan, item, held, cost_estimate)
    return plan


def _price(
    plan: SweepPlan, item: SweepItem, held: ResultsIndex | None, cost_estimate: float | None
) -> None:
    """Count one call still to make at its target's average cost, or the default."""
    price = item.price
    estimate = plan.targets.get(price)
    if estimate is None:
        mean = held.costs.mean(price) if held is not None else None
        if mean is not None:
            estimate = TargetEstimate(per_call=mean, from_file=True)
        else:
            default = cost_estimate if cost_estimate is not None else DEFAULT_COSTS[price[0]]
            estimate = TargetEstimate(per_call=default)
        plan.targets[price] = estimate
    estimate.calls += 1
    estimate.cost += estimate.per_call
    plan.calls += 1
    plan.cost += estimate.per_call
