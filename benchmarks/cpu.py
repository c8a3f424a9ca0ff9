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
from .peers import Peer, all_peers, get

SLOTS = 16
"""Live calls in flight per platform (the floor: 64 in all)."""
CALLS = 4000
"""Calls per run; six rounds make 24,000 per peer."""
ROUNDS = 6
"""Even, so that running every other round in reverse puts each peer first as often as last."""
FLOOR = "floor"
DFS = "dfs_async"
REFERENCE = "dfs_async (GCRA)"
"""The same client on the governor it shipped before (benchmarks/gcra_governor.py)."""
UVLOOP = (DFS, REFERENCE, FLOOR)


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
    """Every peer on the default loop (the floor always); dfs_async, its reference governor
    and the floor on uvloop too."""
    chosen = all_peers()
    if FLOOR not in {p.name for p in chosen}:
        chosen.append(get(FLOOR))
    found = [Variant(p, False) for p in chosen]
    found += [Variant(p, True) for p in chosen if p.name in UVLOOP]
    return found


def run(quick: bool = False) -> list[Table]:
    """The CPU table."""
    rounds = 1 if quick else ROUNDS
    chosen = variants()
    results: dict[str, list[RunResult]] = {v.label: [] for v in chosen}
    calls: dict[str, int] = {}
    with EmulatorProcess(latency=(0.0, 0.0)) as emulator:
        warm_up(emulator)
        for r in range(rounds):
            # Every other round runs the peers in reverse, so no peer always goes first
            # after the emulator's reset or always follows the same neighbour.
            for v in chosen if r % 2 == 0 else chosen[::-1]:
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

    def ratio(a: list[float], b: list[float]) -> Spread | None:
        if not a or len(a) != len(b):
            return None
        return Spread.of([x / y for x, y in zip(a, b, strict=True)])

    dfs, floor = per_call(DFS), per_call(FLOOR)
    lines = []
    to_floor = ratio(dfs, floor)
    if to_floor is not None:
        lines.append(
            f"Goal (dfs_async within 1.3× of the floor's CPU per call): "
            f"{'met' if to_floor.median <= 1.3 else 'MISSED'} — {to_floor.fmt('.2f')}×."
        )
    uv = ratio(per_call(f"{DFS} + uvloop"), floor)
    if uv is not None:
        below = "below" if uv.median < 1.0 else "not below"
        lines.append(
            f"uvloop: dfs_async on uvloop is {below} the default-loop floor — {uv.fmt('.2f')}×."
        )
    for suffix in ("", " + uvloop"):
        to_ref = ratio(per_call(DFS + suffix), per_call(REFERENCE + suffix))
        if to_ref is not None:
            lines.append(
                f"Goal (dfs_async{suffix} within 1.05× of the CPU per call of the same client on "
                f"the GCRA governor, same round): "
                f"{'met' if to_ref.median <= 1.05 else 'MISSED'} — {to_ref.fmt('.3f')}×."
            )
    return lines
