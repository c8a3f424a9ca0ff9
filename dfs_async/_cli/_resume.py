"""What the results file says to the user of ``dfs-async sweep``: the resume line at the start,
and at the end the failures it still holds for this input, with the flag that resends them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from .._records._keyset import KeySet
from .._records._records import Target
from .._records._sink import JsonlSink
from .._sweep._items import plan_items, routes_for
from ._inputs import PromptFormat, read_prompts
from ._progress import format_money, plural


@dataclass
class FailedInFile:
    """Failed items of this input × targets × samples that the results file holds."""

    resent: int = 0
    """Resent by a plain re-run (never sent, over budget, transient errors)."""
    kept: int = 0
    """Settled: invalid, or maybe charged; only ``--retry-failed`` resends them."""

    @property
    def total(self) -> int:
        """Every failed item of this input."""
        return self.resent + self.kept

    def text(self, retry_failed: bool, over_budget: int = 0) -> str:
        """The summary's ``failed in file`` row: how many, and which flag resends which;
        ``over_budget`` of them were refused by ``--max-cost`` in this run."""
        raise_cap = f" ({over_budget} over --max-cost: raise it first)" if over_budget else ""
        if retry_failed:
            items = plural(self.total, "item")
            return f"{items} of this input; a re-run with --retry-failed resends them{raise_cap}"
        parts = []
        if self.resent:
            parts.append(f"{self.resent} resent by a plain re-run{raise_cap}")
        if self.kept:
            parts.append(
                f"{self.kept} only with --retry-failed (invalid, or maybe charged: a "
                "maybe-charged call may be paid twice)"
            )
        return f"{plural(self.total, 'item')} of this input: " + "; ".join(parts)


async def failed_in_file(
    args: argparse.Namespace, targets: list[Target], fmt: PromptFormat, sink: JsonlSink
) -> FailedInFile | None:
    """The failures the file holds for this input, by key; None for stdin (it cannot be read
    twice). Failures of prompts no longer in the input, or of other targets, do not count."""
    found = FailedInFile()
    if not len(sink.failed):
        return found  # the common case: no second pass over the input
    if args.prompts == "-":
        return None
    routes = routes_for(
        None, None if targets or not args.model else args.model[0], targets or None, {}
    )
    prompts = read_prompts(args.prompts, fmt, targeted=bool(targets), column=args.prompt_column)
    seen = KeySet()
    try:
        async for item in plan_items(prompts, routes, args.samples):
            key = item.key
            if key in seen or key not in sink.failed:
                continue
            seen.add(key)
            if key in sink.settled:
                found.kept += 1
            else:
                found.resent += 1
    finally:
        await prompts.aclose()
    return found


def resume_note(sink: JsonlSink, retry_failed: bool, max_cost: float | None) -> str:
    """The line that says what a resumed sweep skips, resends and may still spend."""
    note = f"resuming {sink.path}: {plural(len(sink.done), 'answered item')} skipped"
    if max_cost is not None:
        left = format_money(max(0.0, max_cost - sink.spent))
        note += (
            f"; the file already spent {format_money(sink.spent)}, which counts against "
            f"--max-cost {format_money(max_cost)} ({left} left)"
        )
    if sink.posted:
        note += f", {plural(len(sink.posted), 'posted item')} collected, not posted again"
    resent = len(sink.failed) - (0 if retry_failed else len(sink.settled))
    if resent:
        note += f", {plural(resent, 'failed item')} sent again"
    if sink.settled and not retry_failed:
        kept = plural(len(sink.settled), "failed item")
        note += f", and {kept} kept (invalid or maybe charged; --retry-failed resends them)"
    if sink.unreadable_lines:
        note += "; " + unreadable_note(sink.unreadable_lines, sink.first_unreadable_line)
    return note


def unreadable_note(count: int, first: int | None) -> str:
    """``2 unreadable lines skipped (first: line 10)``: damaged lines of a results file."""
    lines = plural(count, "unreadable line")
    return f"{lines} skipped (first: line {first}); their items are sent again"
