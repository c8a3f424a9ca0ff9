"""The emulator's command line, one parser for ``python -m dfs_async.testing`` and
``dfs-async emulate``: the flags, and the `EmulatorConfig` they give."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Final

from ._config import EmulatorConfig
from ._emulator import serve

DESCRIPTION: Final = (
    "Impersonate DataForSEO's LLM Responses API on a loopback port until Ctrl-C or SIGTERM "
    "(login and password: emulator, unless --login/--password)."
)


class EmulatorUsageError(ValueError):
    """The emulator's flags cannot run: a bad value, a host that is not loopback, a busy port."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's flags to ``parser``; every default is `EmulatorConfig`'s own."""
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks a free one)")
    parser.add_argument(
        "--latency",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="seconds of service time per Live call, uniform in [LO, HI] (default 3 7)",
    )
    parser.add_argument(
        "--standard-delay",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="seconds until a Standard task is ready, uniform in [LO, HI] (default 30 120)",
    )
    parser.add_argument("--rate-limit", type=int, metavar="N", help="answer 40202 above N calls")
    parser.add_argument("--rate-period", type=float, metavar="S", help="of --rate-limit (60)")
    parser.add_argument(
        "--concurrency", type=int, metavar="N", help="answer 40209 above N Live calls per platform"
    )
    parser.add_argument(
        "--fault-rate", type=float, metavar="F", help="share of Live calls that meet a fault (0)"
    )
    parser.add_argument(
        "--hang-seconds", type=float, metavar="S", help="how long a hang fault holds a call (120)"
    )
    parser.add_argument("--seed", type=int, help="seed of every random choice (0)")
    parser.add_argument("--balance", type=float, metavar="USD", help="the account's money (100)")
    parser.add_argument("--login", help="the Basic-auth login to accept (emulator)")
    parser.add_argument("--password", help="the Basic-auth password to accept (emulator)")
    parser.add_argument(
        "--config-json", metavar="JSON", help="a whole EmulatorConfig as JSON (see EmulatorProcess)"
    )


_FLAGS: Final = {
    "latency": "latency",
    "standard_delay": "standard_delay",
    "rate_limit": "rate_limit",
    "rate_period": "rate_period",
    "concurrency": "live_concurrency",
    "fault_rate": "fault_rate",
    "hang_seconds": "hang_seconds",
    "seed": "seed",
    "balance": "balance",
    "login": "login",
    "password": "password",
}
"""Each flag's destination and the `EmulatorConfig` field it sets."""


def config_of(args: argparse.Namespace) -> EmulatorConfig:
    """The config the flags ask for: ``--config-json`` (or the defaults), then each flag given."""
    try:
        config = EmulatorConfig.from_json(args.config_json) if args.config_json else None
        changes: dict[str, Any] = {}
        for dest, name in _FLAGS.items():
            value = getattr(args, dest, None)
            if value is not None:
                changes[name] = tuple(value) if isinstance(value, list) else value
        return dataclasses.replace(config or EmulatorConfig(), **changes)
    except (ValueError, TypeError) as exc:  # a bad value, or an unknown field in the JSON
        raise EmulatorUsageError(str(exc)) from None


def run(args: argparse.Namespace) -> None:
    """Serve the emulator the flags describe until Ctrl-C or SIGTERM."""
    if not 0 <= args.port <= 65535:
        raise EmulatorUsageError(
            f"--port {args.port} is not a port (0 to 65535; 0 picks a free one)"
        )
    config = config_of(args)
    try:
        serve(config, host=args.host, port=args.port)
    except ValueError as exc:  # not a loopback address
        raise EmulatorUsageError(f"--host: {exc}") from None
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise EmulatorUsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
