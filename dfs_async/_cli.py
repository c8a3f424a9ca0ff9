"""The ``dfs-async`` command (``sweep``, ``models``, ``emulate``): argparse, then the public API."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any, Final

from . import (
    PLATFORMS,
    AuthError,
    BillingError,
    CredentialsError,
    DFSError,
    ResultsFileError,
    ValidationError,
)
from ._cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    connect,
    verbose_logging,
)
from ._cli_sweep import Sweep
from ._inputs import FORMATS, UsageError
from ._version import __version__
from .visibility import _command as visibility_command

_SWEEP_DESCRIPTION: Final = """\
Send every prompt to every --platform/--model target and append one JSON line
per result to --out as it arrives. Re-running the same command resumes: items
already in --out are skipped, so nothing is paid for twice."""

_SWEEP_EPILOG: Final = """\
example:
  dfs-async sweep prompts.txt --out results.jsonl --web-search \\
      --platform chat_gpt --model gpt-4.1-mini --platform claude --model claude-sonnet-4-0

credentials: DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (not needed with --emulator)
exit status: 0 all ok, 1 some items failed, 2 usage or credentials error, 130 interrupted"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dfs-async`` command and return its exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        with verbose_logging(args.verbose):
            if args.command == "sweep":
                return Sweep(args).run()
            if args.command == "report":
                return visibility_command.run(args)
            if args.command == "models":
                return asyncio.run(_models(args))
            return _emulate(args)
    except SystemExit as exc:  # argparse's own usage errors and --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except (UsageError, CredentialsError, ValidationError, ResultsFileError) as exc:
        print(f"dfs-async: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfs-async",
        description="Send prompts to ChatGPT, Claude, Gemini and Perplexity through "
        "DataForSEO's LLM Responses API.",
        epilog="Credentials come from DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD "
        "(not needed with --emulator).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log each retry and its cause to stderr"
    )
    # Also accepted after the subcommand; SUPPRESS keeps a top-level -v from being reset.
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log each retry and its cause to stderr",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sweep = commands.add_parser(
        "sweep",
        parents=[verbose],
        help="send every prompt to every target, writing one JSON line per result",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_SWEEP_DESCRIPTION,
        epilog=_SWEEP_EPILOG,
    )
    sweep.add_argument(
        "prompts",
        metavar="PROMPTS",
        help="file with one prompt per line, or JSONL of request objects "
        '({"user_prompt": ..., "platform"?: ..., "model_name"?: ..., ...}), in UTF-8; '
        "- reads stdin",
    )
    sweep.add_argument(
        "--format",
        choices=FORMATS,
        help="text: one prompt per line; jsonl: one request object per line "
        "(default: jsonl for a .jsonl or .ndjson file, else text)",
    )
    sweep.add_argument(
        "--platform",
        action=_InOrder,
        default=[],
        choices=PLATFORMS,
        metavar="PLATFORM",
        help=f"{', '.join(PLATFORMS)}; repeat for several (paired with --model in order)",
    )
    sweep.add_argument(
        "--model",
        action=_InOrder,
        default=[],
        metavar="MODEL",
        help="model of the --platform in the same position; one --platform may take several",
    )
    sweep.add_argument("--out", required=True, metavar="FILE", help="results file (JSONL)")
    sweep.add_argument(
        "--web-search",
        action="store_true",
        help="ask for web search (answers with citations) on chat_gpt, claude and gemini; "
        "perplexity always searches and rejects the field, so it is not sent there",
    )
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
        "--samples",
        type=_positive_int,
        default=1,
        metavar="N",
        help="ask each prompt of each target N times (answers vary); sample 0..N-1 in each record",
    )
    sweep.add_argument(
        "--dry-run",
        action="store_true",
        help="validate every prompt against every target and send nothing (no credentials)",
    )
    sweep.add_argument(
        "--estimate",
        action="store_true",
        help="print the calls still to make (after what --out holds) and their estimated cost; "
        "send nothing (no credentials)",
    )
    _connection_args(sweep)
    sweep.add_argument(
        "--rate-limit", type=int, metavar="N", help="calls per --rate-period (default 2000)"
    )
    sweep.add_argument(
        "--rate-period", type=float, metavar="S", help="seconds of the rate window (default 60)"
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
    sweep.add_argument("--quiet", action="store_true", help="no progress line, only the summary")

    models = commands.add_parser(
        "models",
        parents=[verbose],
        help="list a platform's models",
        description="List a platform's models.",
    )
    models.add_argument(
        "platform", metavar="PLATFORM", choices=PLATFORMS, help=", ".join(PLATFORMS)
    )
    _connection_args(models)

    visibility_command.add_parser(commands)

    emulate = commands.add_parser(
        "emulate",
        parents=[verbose],
        help="run the DataForSEO emulator",
        description="Serve the embedded DataForSEO emulator until Ctrl-C "
        "(login and password: emulator).",
    )
    emulate.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    emulate.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks one)")
    emulate.add_argument(
        "--latency",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="seconds of service time per Live call, uniform in [LO, HI] (default 3 7)",
    )
    emulate.add_argument(
        "--standard-delay",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="seconds until a Standard task is ready, uniform in [LO, HI] (default 30 120)",
    )
    emulate.add_argument("--rate-limit", type=int, metavar="N", help="answer 40202 above N calls")
    emulate.add_argument(
        "--rate-period", type=float, default=60.0, metavar="S", help="of --rate-limit (60)"
    )
    emulate.add_argument(
        "--concurrency", type=int, metavar="N", help="answer 40209 above N Live calls per platform"
    )
    emulate.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="F", help="share of faulty calls (0)"
    )
    emulate.add_argument("--seed", type=int, default=0, help="seed of all randomness (0)")
    return parser


class _InOrder(argparse.Action):
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


def _positive_int(text: str) -> int:
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


def _connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="start the embedded emulator in-process and use it (no credentials needed)",
    )
    parser.add_argument("--base-url", metavar="URL", help="API root (https://api.dataforseo.com)")


# --------------------------------------------------------------------------- models, emulate


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


def _emulate(args: argparse.Namespace) -> int:
    from .testing import EmulatorConfig, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port (0 to 65535; 0 picks a free one)")
    options: dict[str, Any] = {}
    if args.latency is not None:
        options["latency"] = (args.latency[0], args.latency[1])
    if args.standard_delay is not None:
        options["standard_delay"] = (args.standard_delay[0], args.standard_delay[1])
    try:
        config = EmulatorConfig(
            rate_limit=args.rate_limit,
            rate_period=args.rate_period,
            live_concurrency=args.concurrency,
            fault_rate=args.fault_rate,
            seed=args.seed,
            **options,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        serve(config, host=args.host, port=args.port)
    except ValueError as exc:  # not a loopback address
        raise UsageError(f"--host: {exc}") from None
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return EXIT_OK
