"""What the ``dfs-async`` subcommands share: exit codes and opening the client."""

from __future__ import annotations

import argparse
import sys
from contextlib import AsyncExitStack
from typing import Any, Final

from ._client import AsyncClient
from ._inputs import UsageError

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

EMULATOR_LATENCY: Final[tuple[float, float]] = (0.2, 0.8)
"""Service time of ``--emulator`` calls: short enough for a demo, long enough to overlap."""


async def connect(args: argparse.Namespace, stack: AsyncExitStack) -> AsyncClient:
    """The client the arguments ask for, with the emulator started first if asked."""
    options: dict[str, Any] = {}
    for name in ("rate_limit", "rate_period", "timeout"):
        if (value := getattr(args, name, None)) is not None:
            options[name] = value
    if (redis_url := getattr(args, "redis_url", None)) is not None:
        options["redis_url"] = redis_url
    if (concurrency := getattr(args, "concurrency", None)) is not None:
        options["live_concurrency"] = concurrency
    if args.base_url is not None:
        options["base_url"] = args.base_url
    login = password = None
    if args.emulator:
        # Imported here: the emulator is a test aid, not needed for real sweeps.
        from .testing import Emulator, EmulatorConfig

        if args.base_url is not None:
            raise UsageError("--emulator and --base-url exclude each other")
        emulator = Emulator(EmulatorConfig(latency=EMULATOR_LATENCY, seed=0))
        emu = await stack.enter_async_context(emulator)
        login, password, options["base_url"] = emu.login, emu.password, emu.base_url
        if not getattr(args, "quiet", False):
            print(f"dfs-async: using the embedded emulator at {emu.base_url}", file=sys.stderr)
    return await stack.enter_async_context(AsyncClient(login, password, **options))
