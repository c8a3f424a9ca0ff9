"""``dfs-async sweep``'s flags, in groups: input, targets, money, preview, limits, Standard."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import Any, Final

from .. import PLATFORMS
from ._common import connection_args
from ._inputs import FORMATS
from ._sweep import run_sweep
from ._usage import EXIT_STATUS, Subcommands

DESCRIPTION: Final = """\
Send every prompt to every target (--model, with --platform when the name does
not tell it) and append one JSON line per result to --out as it arrives.
Re-running the same command resumes: items already in --out are skipped, so
nothing is paid for twice."""

EPILOG: Final = f"""\
examples:
  dfs-async sweep prompts.csv -o results.jsonl -m gpt-4.1-mini -m claude-sonnet-4-0
  dfs-async sweep prompts.txt --out results.jsonl --web-search \\
      --platform chat_gpt --model gpt-4.1-mini --platform claude --model claude-sonnet-4-0

credentials: DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (not needed with --emulator)
{textwrap.fill(EXIT_STATUS, 79)}"""


def add_sweep(commands: Subcommands, parent: argparse.ArgumentParser) -> None:
    """The ``sweep`` subcommand's parser."""
    sweep = commands.add_parser(
        "sweep",
        parents=[parent],
        help="send every prompt to every target, writing one JSON line per result",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    _input_args(sweep)
    _target_args(sweep)
    _money_args(sweep)
    connection_args(sweep)
    _limit_args(sweep)
    _standard_args(sweep)
    sweep.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line, only the summary"
    )
    sweep.set_defaults(run=run_sweep)


def _input_args(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument(
        "prompts",
        metavar="PROMPTS",
        help="file with one prompt per line, a CSV with a prompt column, or JSONL of request "
        'objects ({"user_prompt": ..., "platform"?: ..., "model_name"?: ..., ...}), in UTF-8; '
        "- reads stdin",
    )
    sweep.add_argument(
        "--format",
        choices=FORMATS,
        help="text: one prompt per line; csv: a header row, then one prompt per row; jsonl: one "
        "request object per line (default: by extension, .csv or .jsonl/.ndjson; else text)",
    )
    sweep.add_argument(
        "--prompt-column",
        default="prompt",
        metavar="NAME",
        help="CSV: the column of the prompts (default: prompt); an 'id' column is the row's id, "
        "every other column its metadata",
    )
    sweep.add_argument(
        "-o", "--out", metavar="FILE", help="results file (JSONL); needed unless --dry-run"
    )


def _target_args(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument(
        "--platform",
        action=InOrder,
        default=[],
        choices=PLATFORMS,
        metavar="PLATFORM",
        help=f"{', '.join(PLATFORMS)}; needed only before a --model whose name does not tell "
        "it; repeat for several (each --platform takes the --model flags after it)",
    )
    sweep.add_argument(
        "-m",
        "--model",
        action=InOrder,
        default=[],
        metavar="MODEL",
        help="a target model; repeat for several. The platform comes from the name: gpt-*, "
        "o1.. chat_gpt; claude-*; gemini-*; sonar* perplexity",
    )
    sweep.add_argument(
        "--web-search",
        action="store_true",
        help="ask for web search (answers with citations) on chat_gpt, claude and gemini; "
        "perplexity always searches and rejects the field, so it is not sent there",
    )
    sweep.add_argument("--system", metavar="TEXT", help="system message sent with every prompt")
    sweep.add_argument(
        "--temperature", type=float, metavar="T", help="sampling temperature of every prompt"
    )
    sweep.add_argument(
        "--max-tokens",
        type=positive_int,
        metavar="N",
        help="max_output_tokens of every answer",
    )
    sweep.add_argument(
        "--samples",
        type=positive_int,
        default=1,
        metavar="N",
        help="ask each prompt of each target N times (answers vary); sample 0..N-1 in each record",
    )


def _money_args(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="also resend earlier failures that a re-run skips by default: invalid requests "
        "and calls that may have been charged (deadline passed, body cut off); other failures "
        "are always sent again",
    )
    sweep.add_argument(
        "--max-cost",
        type=_non_negative,
        metavar="USD",
        help="spend up to this much and not past it, counting what --out already spent; "
        "items that would cross it fail as over budget, unsent",
    )
    sweep.add_argument(
        "--dry-run",
        action="store_true",
        help="validate every prompt against every target and send nothing (no credentials)",
    )
    sweep.add_argument(
        "--estimate",
        action="store_true",
        help="print the calls still to make (after what --out holds, if given) and their "
        "estimated cost; send nothing (no credentials)",
    )


def _limit_args(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument(
        "--rate-limit", type=int, metavar="N", help="calls per --rate-period (default 2000)"
    )
    sweep.add_argument(
        "--rate-period", type=float, metavar="S", help="seconds of the rate window (default 60)"
    )
    sweep.add_argument(
        "--jitter",
        type=float,
        metavar="S",
        help="seconds of arrival bunching the pacer allows for (default 0.1; 0.02 to loopback)",
    )
    sweep.add_argument(
        "--concurrency", type=int, metavar="N", help="Live calls in flight per platform (30)"
    )
    sweep.add_argument(
        "--timeout", type=float, metavar="S", help="seconds per call once sent (default 120)"
    )
    sweep.add_argument(
        "--redis-url",
        metavar="URL",
        help="share the account's limits with every other process on this Redis "
        "(default: $DFS_REDIS_URL; needs dfs_async[redis])",
    )


def _standard_args(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument(
        "--method",
        choices=("live", "standard"),
        default="live",
        help="live (default), or standard: ChatGPT/Claude/Gemini tasks posted 100 per call and "
        "collected when ready (Perplexity stays on Live)",
    )
    sweep.add_argument(
        "--tasks-ready-limit", type=int, metavar="N", help="tasks_ready calls per period (20)"
    )
    sweep.add_argument(
        "--tasks-ready-period", type=float, metavar="S", help="tasks_ready period, seconds (60)"
    )
    sweep.add_argument(
        "--resolve-after",
        type=float,
        metavar="S",
        help="seconds to look for a maybe-posted task in tasks_ready before posting it again (900)",
    )


class InOrder(argparse.Action):
    """Appends like ``append``, and also records ``(dest, value)`` in ``order``, so that
    ``--platform``/``--model`` can be paired by where they stand on the command line."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        order = [*(getattr(namespace, "order", None) or []), (self.dest, values)]
        namespace.order = order


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number of USD >= 0, got {text!r}")
    return value
