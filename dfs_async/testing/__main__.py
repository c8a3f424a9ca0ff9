"""``python -m dfs_async.testing``: run the emulator on a loopback port until Ctrl-C."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from ._config import EmulatorConfig
from ._emulator import serve


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m dfs_async.testing",
        description="Impersonate DataForSEO's LLM Responses API on a loopback port.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="a loopback address (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="0 picks a free port (default %(default)s)"
    )
    parser.add_argument(
        "--latency", type=float, nargs=2, metavar=("LO", "HI"), help="seconds per Live call"
    )
    parser.add_argument(
        "--standard-delay",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="seconds until a Standard task is ready",
    )
    parser.add_argument("--rate-limit", type=int, help="calls per rate period before 40202")
    parser.add_argument("--rate-period", type=float, help="seconds (default 60)")
    parser.add_argument(
        "--concurrency", type=int, help="Live calls in flight per platform before 40209"
    )
    parser.add_argument(
        "--fault-rate", type=float, help="share of Live calls that meet a random fault"
    )
    parser.add_argument("--hang-seconds", type=float, help="how long a hang fault holds a call")
    parser.add_argument("--seed", type=int, help="seed of every random choice")
    parser.add_argument("--balance", type=float, help="the account's money, USD")
    parser.add_argument("--login", help="the Basic-auth login to accept")
    parser.add_argument("--password", help="the Basic-auth password to accept")
    parser.add_argument(
        "--config-json", help="a whole EmulatorConfig as JSON (see EmulatorProcess)"
    )
    args = parser.parse_args(argv)

    try:
        config = (
            EmulatorConfig.from_json(args.config_json) if args.config_json else EmulatorConfig()
        )
        config = dataclasses.replace(
            config,
            latency=tuple(args.latency) if args.latency else config.latency,
            standard_delay=tuple(args.standard_delay)
            if args.standard_delay
            else config.standard_delay,
            rate_limit=args.rate_limit if args.rate_limit is not None else config.rate_limit,
            rate_period=_given(args.rate_period, config.rate_period),
            live_concurrency=args.concurrency
            if args.concurrency is not None
            else config.live_concurrency,
            fault_rate=_given(args.fault_rate, config.fault_rate),
            hang_seconds=_given(args.hang_seconds, config.hang_seconds),
            seed=args.seed if args.seed is not None else config.seed,
            balance=_given(args.balance, config.balance),
            login=args.login or config.login,
            password=args.password or config.password,
        )
        serve(config, host=args.host, port=args.port)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken, most likely
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _given(value: float | None, default: float) -> float:
    return value if value is not None else default


if __name__ == "__main__":
    sys.exit(main())
