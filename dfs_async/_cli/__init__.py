"""The `dfs-async` command: one parser per subcommand, inputs, progress and summaries."""

from ._main import main

__all__ = ["main"]
