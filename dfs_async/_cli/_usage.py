"""What every ``dfs-async`` module may raise or return: the usage error and the exit codes.

The lowest module of the CLI: every other one imports from it, it imports none of them.
"""

from __future__ import annotations

import argparse
from typing import Any, Final, Protocol

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

EXIT_STATUS: Final = (
    "exit status: 0 all ok; 1 some items of this input failed (the summary says which flag "
    "resends them); 2 usage, input, results-file or account error; 130 interrupted by "
    "Ctrl-C, 143 by SIGTERM, 129 by SIGHUP"
)
"""The exit statuses, as ``--help`` and the README both say them (a test holds them equal)."""


class UsageError(Exception):
    """A command line or input that cannot run; exit status 2."""


class Subcommands(Protocol):
    """What ``parser.add_subparsers()`` returns, as the subcommands' builders use it (argparse's
    own class for it is private)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A new subcommand's parser."""
        ...
