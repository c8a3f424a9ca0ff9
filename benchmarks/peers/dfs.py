"""dfs_async itself: `gather_prompts` / `iter_prompts` on an `AsyncClient`, as its README shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dfs_async
from dfs_async._wire._decode import LIVE_DECODER

from .._spec import LIFTED_RATE, TARGETS, RunResult, RunSpec, Work, prompt_text
from . import Decoder, Peer, Runner
from ._common import Tally, closed_loop, run_loop

GovernorFactory = Callable[[dfs_async.Limits], dfs_async.Governor]


def load() -> Runner:
    """The dfs_async runner."""
    return lambda spec: run_loop(_main(spec), spec.uvloop)


def runner_with(make_governor: GovernorFactory) -> Runner:
    """The dfs_async runner with another governor in place of its `LocalGovernor`."""
    return lambda spec: run_loop(_main(spec, make_governor), spec.uvloop)


async def _main(spec: RunSpec, make_governor: GovernorFactory | None = None) -> RunResult:
    lifted = spec.rate_limit is None
    options: dict[str, Any] = {
        "base_url": spec.base_url,
        "rate_limit": LIFTED_RATE if spec.rate_limit is None else spec.rate_limit,
        "rate_period": 1.0 if lifted else spec.rate_period,
        "live_concurrency": spec.slots,
    }
    client = dfs_async.AsyncClient(spec.login, spec.password, **options)
    if make_governor is not None:
        # The same limits as the client's own governor would get (its jitter allowance is
        # chosen by the host), so the two governors are compared on equal terms.
        governor = make_governor(client.limits)
        client = dfs_async.AsyncClient(spec.login, spec.password, governor=governor, **options)
    targets = [dfs_async.Target(platform, model) for platform, model in TARGETS]
    prompts = (prompt_text(n) for n in range(spec.calls // len(TARGETS)))
    tally = Tally()
    async with client:
        if spec.mode == "calls":

            async def one(w: Work) -> int | str:
                try:
                    response = await client.live(
                        w.platform, user_prompt=w.prompt, model_name=w.model, tag=w.tag
                    )
                except dfs_async.DFSError as exc:
                    return _error_name(exc)
                return response.tasks[0].status_code

            return await closed_loop(spec, one)
        if spec.mode == "stream":
            async for r in dfs_async.iter_prompts(client, prompts, targets=targets, sink=spec.sink):
                tally.add(_outcome(r))
            return tally.result()
        for r in await dfs_async.gather_prompts(client, prompts, targets=targets):
            tally.add(_outcome(r))
    return tally.result()


def _outcome(result: dfs_async.PromptResult) -> int | str:
    if result.error is not None:
        return _error_name(result.error)
    return result.status_code or "no status"


def _error_name(error: dfs_async.DFSError) -> int | str:
    if isinstance(error, dfs_async.APIError) and error.status_code:
        return error.status_code
    return type(error).__name__


def live_decoder() -> tuple[str, Decoder]:
    """dfs_async's cached msgspec decoder of Live answers."""
    return "msgspec → dfs_async.LiveResponse Structs (dfs_async)", LIVE_DECODER.decode


PEER = Peer(
    name="dfs_async",
    about=(
        "gather_prompts (sweeps), iter_prompts with a JSONL sink (memory), client.live "
        "(overhead) on AsyncClient(rate_limit, rate_period, live_concurrency=slots); "
        "smooth-bucket pacing (aiolimiter), headroom of burst + 1 calls and 20 ms of arrivals "
        "on loopback (0.1 s to a remote host), "
        "priority lanes over slots per platform, retries on 40202/40209"
    ),
    order=0,
    modes=frozenset({"sweep", "stream", "calls"}),
    load=load,
    decoder=live_decoder,
    primary=True,
)
