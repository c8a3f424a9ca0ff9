"""Latency each client adds to a call at realistic (scaled) service times.

Closed-loop callers (8 per platform, 32 in all) send one call after another; each call is timed
by its caller and carries a unique ``tag``, which the emulator records with the call's service
time. Added latency = the caller's round trip − the emulator's service time for that call:
the client's own path (governance, encoding, HTTP, decoding) plus the emulator's handling.
"""

from __future__ import annotations

from dfs_async.testing import EmulatorProcess

from ._report import Spread, Table, percentile
from ._runner import run_child, spec_for, warm_up
from ._server import handling, live_calls
from .peers import all_peers

LATENCY = (0.05, 0.15)
WORKERS = 8
"""Callers per platform."""
SLOTS = 30
"""Slots per platform: above the callers, so no call ever waits for one."""
CALLS = 800
ROUNDS = 3


def run(quick: bool = False) -> list[Table]:
    """The overhead table."""
    calls = 80 if quick else CALLS
    rounds = 1 if quick else ROUNDS
    peers = all_peers()
    p50: dict[str, list[float]] = {p.name: [] for p in peers}
    p99: dict[str, list[float]] = {p.name: [] for p in peers}
    rtt: dict[str, list[float]] = {p.name: [] for p in peers}
    answered: dict[str, int] = {p.name: 0 for p in peers}
    failed: dict[str, str] = {}
    server: list[float] = []
    with EmulatorProcess(latency=LATENCY) as emulator:
        warm_up(emulator)
        for _ in range(rounds):
            for peer in peers:
                if peer.name in failed:
                    continue
                emulator.reset()
                spec = spec_for(emulator, peer.name, "calls", calls, SLOTS, workers=WORKERS)
                result = run_child(spec)
                if result.unavailable:
                    failed[peer.name] = result.unavailable
                    continue
                served = {c.tag: c for c in live_calls(emulator.record()) if c.tag}
                added = [
                    t - served[tag].service_time for tag, t in result.rtts.items() if tag in served
                ]
                if not added:
                    failed[peer.name] = "no call could be matched to the emulator's record"
                    continue
                server.append(handling(list(served.values())))
                p50[peer.name].append(percentile(added, 50))
                p99[peer.name].append(percentile(added, 99))
                rtt[peer.name].append(percentile(list(result.rtts.values()), 50))
                answered[peer.name] += result.ok
    table = Table(
        "added latency per call: service uniform(0.05, 0.15) s, 8 callers per platform, "
        "limits lifted",
        (
            "client",
            "calls (per run × runs)",
            "added p50 ms",
            "added p99 ms",
            "round trip p50 ms",
            "answered",
        ),
    )
    for peer in peers:
        name = peer.name
        if name in failed:
            table.unavailable(name, failed[name])
            continue
        table.add(
            name,
            f"{calls:,} × {len(p50[name])}",
            Spread.of(p50[name]).fmt(".2f", 1e3),
            Spread.of(p99[name]).fmt(".1f", 1e3),
            Spread.of(rtt[name]).fmt(".1f", 1e3),
            f"{answered[name]:,} / {calls * len(p50[name]):,}",
        )
    table.notes.append(
        "p50 and p99 are taken over each run's calls; the table shows their median over the "
        "runs (min–max). The first calls of each run open connections, and count."
    )
    if server:
        table.notes.append(
            "Of the added latency, the emulator's own handling (arrival to answer minus service "
            f"time) is {Spread.of(server).fmt('.2f', 1e3)} ms at the median; the rest is the "
            "client and loopback TCP."
        )
    table.notes.append(
        "aiometer has no single-call API: its row is amap(max_at_once=8) per platform, each "
        "job timed from its start."
    )
    return [table]
