"""Naive asyncio: ``asyncio.gather`` over every call, a Semaphore per platform, one AsyncLimiter.

What most people write first: aiohttp, ``json.loads``, ``aiolimiter.AsyncLimiter(rate,
period)`` for the account and ``asyncio.Semaphore(slots)`` per platform; no retries.
"""

from __future__ import annotations

import asyncio
import json

from dfs_async import PLATFORMS

from .._spec import LIFTED_RATE, RunResult, RunSpec, Work
from . import Decoder, Peer, Runner
from ._common import Outcome, gather_or_loop, post, run_loop, session, write_jsonl


def load() -> Runner:
    """The naive runner (aiohttp and aiolimiter are dfs_async dependencies already)."""
    return lambda spec: run_loop(_main(spec), spec.uvloop)


async def _main(spec: RunSpec) -> RunResult:
    from aiolimiter import AsyncLimiter

    if spec.rate_limit is None:
        limiter = AsyncLimiter(LIFTED_RATE, 1.0)
    else:
        limiter = AsyncLimiter(spec.rate_limit, spec.rate_period)
    slots = {p: asyncio.Semaphore(spec.slots) for p in PLATFORMS}
    async with session(spec) as http:

        async def one(w: Work) -> Outcome:
            async with slots[w.platform], limiter:
                return await post(http, spec, w)

        result, outcomes = await gather_or_loop(spec, one)
    if spec.mode == "stream" and spec.sink is not None:
        write_jsonl(spec.sink, (envelope for _, envelope in outcomes))
    return result


def json_loads() -> tuple[str, Decoder]:
    """The decoder of the raw-aiohttp peers (naive, aiometer, floor)."""
    return "json.loads → dicts (naive, aiometer, floor)", json.loads


PEER = Peer(
    name="naive",
    about=(
        "asyncio.gather over all calls + asyncio.Semaphore(slots) per platform + "
        "aiolimiter.AsyncLimiter(rate, period) + aiohttp + json.loads; no retries"
    ),
    order=2,
    modes=frozenset({"sweep", "stream", "calls"}),
    load=load,
    decoder=json_loads,
    primary=True,
)
