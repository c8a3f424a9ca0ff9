"""The arrival jitter of loopback, the figure `LOOPBACK_JITTER` is set from.

Not a suite of ``python -m benchmarks``: run it alone, ``python -m benchmarks.arrival_jitter
[calls/s] [seconds]``. Calls start on a fixed schedule (the client's limits lifted, so nothing
else delays them), 0.2–0.4 s of service at the emulator in its own process; each call's delay
is its arrival on the emulator's clock minus its start in the client (both ``time.monotonic``,
one clock per machine). What the pacer must allow for is the spread of that delay between
calls; the largest delays are listed with when they came, to tell the first calls (opening
connections) from stalls later on.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import dfs_async
from dfs_async.testing import EmulatorProcess

from ._spec import TARGETS


async def _starts(emulator: EmulatorProcess, rate: float, seconds: float) -> dict[str, float]:
    starts: dict[str, float] = {}
    client = dfs_async.AsyncClient(
        emulator.login,
        emulator.password,
        base_url=emulator.base_url,
        rate_limit=10**6,
        rate_period=1.0,
        live_concurrency=30,
    )
    async with client:
        loop = asyncio.get_running_loop()
        first = loop.time() + 0.5

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, first + i / rate - loop.time()))
            platform, model = TARGETS[i % len(TARGETS)]
            starts[f"c{i}"] = time.monotonic()
            await client.live(platform, user_prompt=f"case {i}", model_name=model, tag=f"c{i}")

        await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    return starts


def main(argv: list[str]) -> None:
    """Print the delay's distribution and its largest values."""
    rate = float(argv[0]) if argv else 50.0
    seconds = float(argv[1]) if len(argv) > 1 else 40.0
    with EmulatorProcess(latency=(0.2, 0.4)) as emulator:
        starts = asyncio.run(_starts(emulator, rate, seconds))
        calls = [c for c in emulator.record().calls if c.tag in starts]
    origin = min(c.arrived for c in calls)
    delays = sorted(((c.arrived - starts[c.tag or ""]) * 1000, c.arrived - origin) for c in calls)
    ms = [d for d, _ in delays]

    def pick(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))]

    print(f"load {os.getloadavg()[0]:.2f}, {len(ms)} calls at {rate:g}/s")
    print(
        f"delay ms: min {ms[0]:.2f} p50 {pick(0.5):.2f} p99 {pick(0.99):.2f} "
        f"p99.9 {pick(0.999):.2f} max {ms[-1]:.2f}; spread {ms[-1] - ms[0]:.1f}"
    )
    print("largest:", ", ".join(f"{d:.0f} ms at {t:.2f} s" for d, t in delays[-6:]))


if __name__ == "__main__":
    main(sys.argv[1:])
