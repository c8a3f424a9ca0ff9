"""The floor: raw aiohttp + ``json.loads`` with no governance, only a Semaphore bounding
concurrency. What the HTTP round trip itself costs; it breaks the account's limits."""

from __future__ import annotations

import asyncio
from typing import Any

from dfs_async import PLATFORMS

from .._spec import RunResult, RunSpec, Work, work
from . import Peer, Runner
from ._common import Tally, closed_loop, post, run_loop, session


def load() -> Runner:
    """The floor runner."""
    return lambda spec: run_loop(_main(spec), spec.uvloop)


async def _main(spec: RunSpec) -> RunResult:
    bound = asyncio.Semaphore(spec.slots * len(PLATFORMS))  # the same total as the others
    async with session(spec) as http:

        async def one(w: Work) -> tuple[int | str, dict[str, Any] | None]:
            async with bound:
                return await post(http, spec, w)

        async def status(w: Work) -> int | str:
            return (await one(w))[0]

        if spec.mode == "calls":
            return await closed_loop(spec, status)
        # Decoded answers are kept, as gather keeps them, like every other peer's results.
        results = await asyncio.gather(*(one(w) for w in work(spec)))
    tally = Tally()
    for code, _ in results:
        tally.add(code)
    return tally.result()


PEER = Peer(
    name="floor",
    about=(
        "raw aiohttp + json.loads, asyncio.gather over all calls, one asyncio.Semaphore"
        "(4 × slots) bounding concurrency; no rate limit, no per-platform slots, no retries"
    ),
    order=9,
    modes=frozenset({"sweep", "calls"}),
    load=load,
)
