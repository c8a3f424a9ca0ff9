"""``python -m benchmarks [governance|cpu|decode|memory|overhead|priority|standard|visibility ...]
[--quick]``."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType

from . import (
    cpu,
    decode,
    governance,
    governor,
    memory,
    overhead,
    peers,
    priority,
    rate,
    shared,
    standard,
    visibility,
)
from ._report import Table, load_average, machine

SUITES: dict[str, ModuleType] = {
    "governance": governance,
    "cpu": cpu,
    "governor": governor,
    "decode": decode,
    "memory": memory,
    "overhead": overhead,
    "priority": priority,
    "shared": shared,
    "standard": standard,
    "rate": rate,
    "visibility": visibility,
}
APART: frozenset[str] = frozenset({"rate"})
"""Suites left out of a run of all of them (minutes each); name them to run them."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen suites (all by default) and print their tables as Markdown."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark dfs_async against its peers on a loopback emulator.",
    )
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"any of {', '.join(SUITES)} (default: all but {', '.join(sorted(APART))})",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each")
    parser.add_argument(
        "--standard-sizes",
        type=_sizes,
        metavar="N,N",
        help="prompts per sweep of the standard suite (default 100,2000)",
    )
    parser.add_argument(
        "--stream-sizes",
        type=_sizes,
        metavar="N,N",
        help="calls per dfs_async run of the memory suite (default 10000,50000,200000)",
    )
    parser.add_argument(
        "--peers",
        type=lambda text: frozenset(filter(None, (n.strip() for n in text.split(",")))),
        metavar="NAME,NAME",
        help="run only these peers (the cpu suite always adds the floor, its yardstick)",
    )
    args = parser.parse_args(argv)
    if args.peers:
        try:
            peers.select(args.peers)
        except KeyError as exc:
            parser.error(str(exc.args[0]))
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"invalid choice: {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    chosen = args.suites or [s for s in SUITES if s not in APART]
    command = shlex.join(
        ["python", "-m", "benchmarks", *(argv if argv is not None else sys.argv[1:])]
    )
    print("## dfs_async benchmarks\n", flush=True)
    print(machine(command) + "\n", flush=True)
    started = time.perf_counter()
    for name in chosen:
        run: Callable[[bool], list[Table]] = SUITES[name].run
        if name == "memory" and args.stream_sizes:
            run = functools.partial(memory.run, dfs_sizes=args.stream_sizes)
        if name == "standard" and args.standard_sizes:
            run = functools.partial(standard.run, sizes=args.standard_sizes)
        suite_start = time.perf_counter()
        for table in run(args.quick):
            print(table.markdown(), flush=True)
        print(f"_{name}: {time.perf_counter() - suite_start:.0f} s_\n", flush=True)
    print(
        f"_total: {time.perf_counter() - started:.0f} s; load average at the end: "
        f"{load_average()}_",
        flush=True,
    )
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 10000,1000000: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers: {text!r}")
    return sizes


if __name__ == "__main__":
    sys.exit(main())
