"""What the ``dfs-async`` subcommands share: the connection flags and opening the client."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any, Final

from .._errors import CredentialsError, ValidationError
from .._http._client import LOGIN_ENV, PASSWORD_ENV, AsyncClient
from ._usage import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "connect",
    "connection_args",
    "unreachable",
    "verbose_logging",
]

FLAGS: Final = {
    "live_concurrency": "--concurrency",
    "rate_limit": "--rate-limit",
    "rate_period": "--rate-period",
    "jitter": "--jitter",
    "timeout": "--timeout",
    "base_url": "--base-url",
}
"""The command-line flag of each client setting, for messages about a bad value."""

WATCH_INTERVAL: Final = 0.05
"""Seconds between two looks at the client's counters for an unreachable server."""
UNREACHABLE_AFTER: Final = 3
"""Failed connections, with no answer at all yet, after which the server counts as unreachable."""

EMULATOR_LATENCY: Final[tuple[float, float]] = (0.2, 0.8)
"""Service time of ``--emulator`` calls: short enough for a demo, long enough to overlap."""
EMULATOR_STANDARD_DELAY: Final[tuple[float, float]] = (1.0, 3.0)
"""How long ``--emulator`` Standard tasks take (the real API: minutes)."""


def connection_args(parser: argparse.ArgumentParser) -> None:
    """``--emulator`` and ``--base-url``, for every subcommand that calls the API."""
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="start the embedded emulator in-process and use it (no credentials needed)",
    )
    parser.add_argument("--base-url", metavar="URL", help="API root (https://api.dataforseo.com)")


async def connect(args: argparse.Namespace, stack: AsyncExitStack) -> AsyncClient:
    """The client the arguments ask for, with the emulator started first if asked."""
    options: dict[str, Any] = {}
    for name in (
        "rate_limit",
        "rate_period",
        "jitter",
        "timeout",
        "tasks_ready_limit",
        "tasks_ready_period",
    ):
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
        from ..testing import Emulator, EmulatorConfig

        if args.base_url is not None:
            raise UsageError("--emulator and --base-url exclude each other")
        config = EmulatorConfig(
            latency=EMULATOR_LATENCY,
            standard_delay=EMULATOR_STANDARD_DELAY,
            seed=0,
            vary_repeats=True,  # samples of a prompt differ, as on the real engines
        )
        emulator = Emulator(config)
        emu = await stack.enter_async_context(emulator)
        login, password, options["base_url"] = emu.login, emu.password, emu.base_url
        if not getattr(args, "quiet", False):
            print(f"dfs-async: using the embedded emulator at {emu.base_url}", file=sys.stderr)
    try:
        client = AsyncClient(login, password, **options)
    except CredentialsError:
        # The library's message names its keyword arguments (login=); say it in CLI words.
        raise UsageError(
            f"no DataForSEO credentials: set {LOGIN_ENV} and {PASSWORD_ENV} "
            "(https://app.dataforseo.com/api-access), or try --emulator, the embedded emulator"
        ) from None
    except ValidationError as exc:
        flag = FLAGS.get(exc.field, exc.field)
        message = str(exc).removeprefix(f"{exc.field}: ")
        raise UsageError(f"{flag}: {message}") from None
    return await stack.enter_async_context(client)


def unreachable(client: AsyncClient) -> bool:
    """Whether it is clear that the server cannot be reached at all (DNS, refused, TLS).

    Such a host fails every call after its retries: minutes of waiting for nothing.
    """
    stats = client.stats
    return stats.answered == 0 and stats.unreached >= UNREACHABLE_AFTER


@contextlib.contextmanager
def verbose_logging(verbose: bool) -> Iterator[None]:
    """With ``-v``, the client's debug log (each retry and why) goes to stderr meanwhile."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dfs-async: %(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("dfs_async")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
