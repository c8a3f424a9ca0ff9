"""aiometer: ``aiometer.run_all`` with ``max_at_once`` and ``max_per_second``, over aiohttp +
``json.loads``.

aiometer meters one batch at a time and knows no per-key limits, so the per-platform slot
limit is kept by one ``run_all`` per platform (``max_at_once=slots``), gathered, each given a
quarter of the account's rate (``max_per_second=rate/4``); no retries.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from dfs_async import PLATFORMS

from .._spec import RunResult, RunSpec, Work
from . import Peer, Runner
from ._common import Tally, by_platform, post, run_loop, session


def load() -> Runner:
    """The aiometer runner."""
    import aiometer  # noqa: F401  (fail here, before the run, if it is missing)

    return lambda spec: run_loop(_main(spec), spec.uvloop)


async def _main(spec: RunSpec) -> RunResult:
    import aiometer

    per_platform = spec.rate / len(PLATFORMS)
    tally = Tally()
    rtts: dict[str, float] = {}
    async with session(spec) as http:

        async def one(w: Work) -> tuple[int | str, dict[str, Any] | None]:
            return await post(http, spec, w)

        async def timed(w: Work) -> int | str:
            # Calls mode: aiometer starts a job when one of its `workers` slots frees up, so
            # timing the job from its start is a closed loop of `workers` callers.
            start = time.perf_counter()
            code, _ = await one(w)
            rtts[w.tag or str(w.number)] = time.perf_counter() - start
            return code

        async def platform_sweep(calls: list[Work]) -> list[Any]:
            if spec.mode == "calls":
                async with aiometer.amap(
                    timed, calls, max_at_once=spec.workers, max_per_second=per_platform
                ) as codes:
                    return [code async for code in codes]
            jobs = [functools.partial(one, w) for w in calls]
            results: list[Any] = await aiometer.run_all(
                jobs, max_at_once=spec.slots, max_per_second=per_platform
            )
            return results

        groups = await asyncio.gather(*(platform_sweep(c) for c in by_platform(spec).values()))
    for group in groups:
        for outcome in group:
            tally.add(outcome if spec.mode == "calls" else outcome[0])
    return tally.result(rtts)


PEER = Peer(
    name="aiometer",
    about=(
        "one aiometer.run_all per platform (max_at_once=slots, max_per_second=rate/4), "
        "gathered; aiohttp + json.loads; no retries"
    ),
    order=3,
    modes=frozenset({"sweep", "calls"}),
    load=load,
    requires=("aiometer",),
)
