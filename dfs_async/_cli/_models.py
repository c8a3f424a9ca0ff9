"""``dfs-async models PLATFORM``: a platform's models, as a table."""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AsyncExitStack

from .. import PLATFORMS, AuthError, BillingError, DFSError
from ._common import connect, connection_args
from ._usage import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Subcommands


def add_models(commands: Subcommands, parent: argparse.ArgumentParser) -> None:
    """The ``models`` subcommand's parser."""
    models = commands.add_parser(
        "models",
        parents=[parent],
        help="list a platform's models",
        description="List a platform's models.",
    )
    models.add_argument(
        "platform", metavar="PLATFORM", choices=PLATFORMS, help=", ".join(PLATFORMS)
    )
    connection_args(models)
    models.set_defaults(run=run_models)


def run_models(args: argparse.Namespace) -> int:
    """List the models; exit 2 when the account is refused, 1 when the call failed."""
    return asyncio.run(_models(args))


async def _models(args: argparse.Namespace) -> int:
    async with AsyncExitStack() as stack:
        client = await connect(args, stack)
        try:
            models = await client.models(args.platform)
        except (AuthError, BillingError) as exc:
            print(f"dfs-async: error: {exc}", file=sys.stderr)
            return EXIT_USAGE  # as for sweep: the account, not this call, needs fixing
        except DFSError as exc:
            print(f"dfs-async: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    rows = [("model", "web search", "task_post", "reasoning")]
    for m in models:
        reasoning = "?" if m.reasoning is None else _yes(m.reasoning)
        rows.append(
            (m.model_name, _yes(m.web_search_supported), _yes(m.task_post_supported), reasoning)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
