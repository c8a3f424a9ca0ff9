"""The ``dfs-async`` command: a parser per subcommand, then the subcommand's own run function.

Adding a subcommand is one function that adds its parser (``set_defaults(run=...)``) and one
line in `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Final

from .. import CredentialsError, ResultsFileError, ValidationError
from .._version import __version__
from ._common import verbose_logging
from ._emulate import add_emulate
from ._models import add_models
from ._report import add_report
from ._sweep_parser import add_sweep
from ._usage import EXIT_INTERRUPTED, EXIT_USAGE, Subcommands, UsageError

AddParser = Callable[[Subcommands, argparse.ArgumentParser], None]
"""Adds one subcommand's parser, given the subcommands and the parent parser (``-v``)."""

SUBCOMMANDS: Final[tuple[AddParser, ...]] = (add_sweep, add_models, add_emulate, add_report)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dfs-async`` command and return its exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        with verbose_logging(args.verbose):
            code: int = args.run(args)
            return code
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
    for add in SUBCOMMANDS:
        add(commands, verbose)
    return parser
