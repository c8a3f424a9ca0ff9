"""The floor: raw aiohttp + ``json.loads`` with no governance, only a Semaphore bounding
concurrency. What the HTTP round trip itself costs; it breaks the account's limits."""

from __future__ import annotations

import asyncio

from dfs_async import PLATFORMS

from .._spec import RunResult, RunSpec, Work
from . import Peer, Runner
from ._common import Outcome, gather_or_loop, post, run_loop, session


def load() -> Runner:
    """The floor runner."""
    return lambda spec: run_loop(_main(spec), spec.uvloop)


async def _main(spec: RunSpec) -> RunResult:
    bound = asyncio.Semaphore(spec.slots * len(PLATFORMS))  # the same total as the others
    async with session(spec) as http:

        async def one(w: Work) -> Outcome:
            async with bound:
                return await post(http, spec, w)

        # Decoded answers are kept, as gather keeps them, like every other peer's results.
        result, _ = await gather_or_loop(spec, one)
    return result


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
