"""Client CPU per request at zero latency with the limits lifted.

The emulator answers at once in its own process; each peer runs in a child that runs only the
client, and the child's user + system CPU (``getrusage(RUSAGE_SELF)``, every thread) over the
run, divided by the calls, is the figure. Rounds interleave the peers, and each ratio to the
floor is taken within its round, so a machine that slows down mid-suite moves both sides.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from dfs_async.testing import EmulatorProcess

from ._report import Spread, Table
from ._runner import run_child, spec_for, warm_up
from ._spec import RunResult
from .peers import Peer, all_peers

SLOTS = 16
"""Live calls in flight per platform (the floor: 64 in all)."""
CALLS = 4000
"""Calls per run; five rounds make 20,000 per peer."""
ROUNDS = 5
FLOOR = "floor"


@dataclass(frozen=True)
class Variant:
    """A peer on one event loop."""

    peer: Peer
    uvloop: bool

    @property
    def label(self) -> str:
        """How the row names it."""
        return self.peer.name + (" + uvloop" if self.uvloop else "")


def variants() -> list[Variant]:
    """Every peer on the default loop; dfs_async and the floor on uvloop too."""
    found = [Variant(p, False) for p in all_peers()]
    found += [Variant(p, True) for p in all_peers() if p.name in ("dfs_async", FLOOR)]
    return found


def run(quick: bool = False) -> list[Table]:
    """The CPU table."""
    rounds = 1 if quick else ROUNDS
    chosen = variants()
    results: dict[str, list[RunResult]] = {v.label: [] for v in chosen}
    calls: dict[str, int] = {}
    with EmulatorProcess(latency=(0.0, 0.0)) as emulator:
        warm_up(emulator)
        for _ in range(rounds):
            for v in chosen:
                n = 200 if quick else _size(v.peer)
                calls[v.label] = n
                if v.uvloop and importlib.util.find_spec("uvloop") is None:
                    missing = "not installed (uvloop); pip install -e '.[bench]'"
                    results[v.label].append(RunResult(unavailable=missing))
                    continue
                emulator.reset()
                spec = spec_for(emulator, v.peer.name, "sweep", n, SLOTS, uvloop=v.uvloop)
                results[v.label].append(run_child(spec))
    table = Table(
        "client CPU per request: zero latency, limits lifted, 16 slots per platform",
        (
            "client",
            "calls (per run × runs)",
            "CPU µs / call",
            "× floor (default loop)",
            "calls / s",
            "answered",
        ),
    )
    floor_runs = results.get(FLOOR, [])
    for v in chosen:
        runs = results[v.label]
        failed = next((r.unavailable for r in runs if r.unavailable), None)
        if failed:
            table.unavailable(v.label, failed)
            continue
        per_call = [r.cpu / calls[v.label] * 1e6 for r in runs]
        ratios = [
            (r.cpu / calls[v.label]) / (f.cpu / calls[FLOOR])
            for r, f in zip(runs, floor_runs, strict=True)
            if not f.unavailable and f.cpu > 0
        ]
        answered = sum(r.ok for r in runs)
        table.add(
            v.label,
            f"{calls[v.label]:,} × {len(runs)}",
            Spread.of(per_call).fmt(".0f"),
            Spread.of(ratios).fmt(".2f") if ratios else "–",
            Spread.of([calls[v.label] / r.wall for r in runs]).fmt(".0f"),
            f"{answered:,} / {calls[v.label] * len(runs):,}",
        )
    table.notes += [
        "Median of the runs (min–max). '× floor' divides by the default-loop floor's CPU per "
        "call in the same round. 'calls / s' is wall-clock throughput, which on 2 cores is "
        "also bounded by the emulator sharing the machine.",
        *_verdicts(results, calls),
    ]
    return [table]


def _size(peer: Peer) -> int:
    return max(4, round(CALLS * peer.cpu_share / 4) * 4)


def _verdicts(results: dict[str, list[RunResult]], calls: dict[str, int]) -> list[str]:
    def per_call(label: str) -> list[float]:
        return [r.cpu / calls[label] for r in results.get(label, []) if not r.unavailable]

    dfs, floor = per_call("dfs_async"), per_call(FLOOR)
    dfs_uv = per_call("dfs_async + uvloop")
    if not dfs or not floor or len(dfs) != len(floor):
        return []
    ratio = Spread.of([d / f for d, f in zip(dfs, floor, strict=True)])
    lines = [
        f"Goal (dfs_async within 1.3× of the floor's CPU per call): "
        f"{'met' if ratio.median <= 1.3 else 'MISSED'} — {ratio.fmt('.2f')}×."
    ]
    if dfs_uv and len(dfs_uv) == len(floor):
        uv = Spread.of([d / f for d, f in zip(dfs_uv, floor, strict=True)])
        below = "below" if uv.median < 1.0 else "not below"
        lines.append(
            f"uvloop: dfs_async on uvloop is {below} the default-loop floor — {uv.fmt('.2f')}×."
        )
    return lines
