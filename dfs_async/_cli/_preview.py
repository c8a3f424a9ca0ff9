"""``dfs-async sweep --dry-run`` and ``--estimate``: the sweep worked out, nothing sent.

Neither needs credentials: `plan_sweep` validates without a client and reads the results
file without locking or changing it.
"""

from __future__ import annotations

import argparse
import asyncio
from array import array
from collections.abc import Sequence
from typing import Final

from .._errors import ValidationError
from .._records._records import PromptResult, Target
from .._sweep._plan import SweepPlan, plan_sweep
from ._inputs import PromptFormat, read_prompts
from ._model_check import check_models_for_preview
from ._progress import format_money
from ._usage import EXIT_FAILED, EXIT_OK

SHOWN: Final = 20
"""Invalid items printed one by one; the rest are counted."""


def preview(args: argparse.Namespace, targets: list[Target], fmt: PromptFormat) -> int:
    """Print what the sweep would do; exit 1 when an item is invalid (``--dry-run``)."""
    numbers: array[int] = array("q")
    models = asyncio.run(check_models_for_preview(args, targets))
    plan = asyncio.run(_plan(args, targets, fmt, numbers))
    lines = report(
        plan,
        estimate=args.estimate,
        max_cost=args.max_cost,
        numbers=numbers if args.prompts != "-" else None,
        name=args.prompts,
    )
    for line in [models, *lines]:
        print(line)
    return EXIT_FAILED if plan.invalid and args.dry_run else EXIT_OK


async def _plan(
    args: argparse.Namespace, targets: list[Target], fmt: PromptFormat, numbers: array[int]
) -> SweepPlan:
    prompts = read_prompts(
        args.prompts, fmt, targeted=bool(targets), column=args.prompt_column, numbers=numbers
    )
    try:
        return await plan_sweep(
            prompts,
            targets=targets or None,
            model_name=None if targets or not args.model else args.model[0],
            samples=args.samples,
            sink=args.out,
            retry_failed=args.retry_failed,
        )
    finally:
        await prompts.aclose()


def _invalid(result: PromptResult, numbers: Sequence[int] | None, name: str) -> str:
    """``p.csv:12 → claude/claude-sonnet-4-0 ('best CRM'): ...``, in CLI words."""
    if numbers is not None and result.index < len(numbers):
        where = f"{name}:{numbers[result.index]}"
    else:
        where = f"item {result.index + 1}"
    if result.platform is not None:
        where += f" → {result.platform}/{result.request.model_name}"
    prompt = result.request.user_prompt
    short = prompt if len(prompt) <= 40 else prompt[:39] + "…"
    error = result.error
    why = str(error)
    if isinstance(error, ValidationError) and error.field == "platform" and "pass" in why:
        # The library says "pass platform=": its keyword, not a flag.
        why = (
            "no platform: give --model (gpt-*, o1.., claude-*, gemini-*, sonar* tell their "
            'platform) or --platform, or set "platform" in each JSONL request'
        )
    return f"invalid: {where} ({short!r}): {why}"


def report(
    plan: SweepPlan,
    *,
    estimate: bool,
    max_cost: float | None,
    numbers: Sequence[int] | None = None,
    name: str = "",
) -> list[str]:
    """The lines to print for ``plan``; invalid items by line number when ``numbers`` holds
    the line of each prompt."""
    lines = [_invalid(result, numbers, name) for result in plan.errors[:SHOWN]]
    if plan.invalid > SHOWN:
        lines.append(f"invalid: … and {plan.invalid - SHOWN} more")
    valid = plan.items - plan.invalid
    lines.append(
        f"dry run: {plan.items} items, {valid} valid, {plan.invalid} invalid; nothing was sent"
    )
    if not estimate:
        return lines
    lines.append(
        f"already in the results file: {plan.skipped} items, {format_money(plan.spent)} spent"
        + (f"; {plan.collected} posted, to be collected" if plan.collected else "")
        + (f"; {plan.duplicates} duplicates sent once" if plan.duplicates else "")
    )
    for (platform, model, web), target in sorted(
        plan.targets.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        where = f"{platform}/{model}" + (" +web" if web else "")
        basis = "average in the results file" if target.from_file else "default"
        lines.append(
            f"  {where}: {target.calls} calls × {format_money(target.per_call)} ({basis}) = "
            f"{format_money(target.cost)}"
        )
    lines.append(f"estimate: {plan.calls} calls still to make, about {format_money(plan.cost)}")
    if max_cost is not None:
        room = max(0.0, max_cost - plan.spent)
        fits = "fits" if plan.cost <= room else "does not fit"
        lines.append(
            f"--max-cost {format_money(max_cost)}: {format_money(room)} left after the file; "
            f"the estimate {fits}"
        )
    return lines
