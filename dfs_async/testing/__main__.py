"""``python -m dfs_async.testing``: run the emulator on a loopback port until Ctrl-C.

The same flags as ``dfs-async emulate`` (one parser, in `_command`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._command import DESCRIPTION, EmulatorUsageError, add_arguments, run


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m dfs_async.testing", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run(args)
    except EmulatorUsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
