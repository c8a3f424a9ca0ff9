"""``dfs-async sweep --dry-run`` and ``--estimate``: the sweep worked out, nothing sent.

Neither needs credentials: `plan_sweep` validates without a client and reads the results
file without locking or changing it.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Final

from .._records._records import Target
from .._sweep._plan import SweepPlan, plan_sweep
from ._common import EXIT_FAILED, EXIT_OK
from ._inputs import PromptFormat, read_prompts

SHOWN: Final = 20
"""Invalid items printed one by one; the rest are counted."""


def preview(args: argparse.Namespace, targets: list[Target], fmt: PromptFormat) -> int:
    """Print what the sweep would do; exit 1 when an item is invalid (``--dry-run``)."""
    plan = asyncio.run(_plan(args, targets, fmt))
    for line in report(plan, estimate=args.estimate, max_cost=args.max_cost):
        print(line)
    return EXIT_FAILED if plan.invalid and args.dry_run else EXIT_OK


async def _plan(args: argparse.Namespace, targets: list[Target], fmt: PromptFormat) -> SweepPlan:
    prompts = read_prompts(args.prompts, fmt, targeted=bool(targets))
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


def report(plan: SweepPlan, *, estimate: bool, max_cost: float | None) -> list[str]:
    """The lines to print for ``plan``."""
    lines = []
    for result in plan.errors[:SHOWN]:
        where = f"item {result.index + 1}"
        if result.platform is not None:
            where += f" → {result.platform}/{result.request.model_name}"
        prompt = result.request.user_prompt
        short = prompt if len(prompt) <= 40 else prompt[:39] + "…"
        lines.append(f"invalid: {where} ({short!r}): {result.error}")
    if plan.invalid > SHOWN:
        lines.append(f"invalid: … and {plan.invalid - SHOWN} more")
    valid = plan.items - plan.invalid
    lines.append(
        f"dry run: {plan.items} items, {valid} valid, {plan.invalid} invalid; nothing was sent"
    )
    if not estimate:
        return lines
    lines.append(
        f"already in the results file: {plan.skipped} items, ${plan.spent:.4f} spent"
        + (f"; {plan.collected} posted, to be collected" if plan.collected else "")
        + (f"; {plan.duplicates} duplicates sent once" if plan.duplicates else "")
    )
    for (platform, model, web), target in sorted(
        plan.targets.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        where = f"{platform}/{model}" + (" +web" if web else "")
        basis = "average in the results file" if target.from_file else "default"
        lines.append(
            f"  {where}: {target.calls} calls × ${target.per_call:.4f} ({basis}) = "
            f"${target.cost:.4f}"
        )
    lines.append(f"estimate: {plan.calls} calls still to make, about ${plan.cost:.4f}")
    if max_cost is not None:
        room = max(0.0, max_cost - plan.spent)
        fits = "fits" if plan.cost <= room else "does not fit"
        lines.append(
            f"--max-cost ${max_cost:.4f}: ${room:.4f} left after the file; the estimate {fits}"
        )
    return lines
