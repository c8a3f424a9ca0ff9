"""``dfs-async emulate``: the emulator's own command line (`dfs_async.testing`), as a subcommand."""

from __future__ import annotations

import argparse

from ._usage import EXIT_OK, Subcommands, UsageError


def add_emulate(commands: Subcommands, parent: argparse.ArgumentParser) -> None:
    """The ``emulate`` subcommand's parser: the flags of ``python -m dfs_async.testing``."""
    # Imported here: the emulator is a test aid, not needed for real sweeps.
    from ..testing._command import DESCRIPTION, add_arguments

    emulate = commands.add_parser(
        "emulate", parents=[parent], help="run the DataForSEO emulator", description=DESCRIPTION
    )
    add_arguments(emulate)
    emulate.set_defaults(run=run_emulate)


def run_emulate(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; a bad flag, host or port is a usage error."""
    from ..testing._command import EmulatorUsageError, run

    try:
        run(args)
    except EmulatorUsageError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK
