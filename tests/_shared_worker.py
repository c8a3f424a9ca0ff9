"""``python -m tests._shared_worker SPEC_JSON``: one process of a multi-process sweep.

Runs a governed sweep against the emulator with a `RedisGovernor`, tagging each task with
its name so the emulator's record tells the processes apart. Prints ``answered N`` after each
result (the parent waits on these before killing it) and a JSON summary line at the end.
``clock_offset`` shifts this process's wall and monotonic clocks, as on a host whose clock is
off: the shared governor must not care.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

import msgspec


class WorkerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What one worker process does."""

    name: str
    base_url: str
    login: str
    password: str
    redis_url: str
    prompts: int
    platforms: list[str]
    rate_limit: int = 300
    rate_period: float = 6.0
    slots: int = 6
    live_execution_limit: float = 2.0
    lease_margin: float = 0.5
    command_timeout: float = 0.4
    tick: float = 0.3
    redis_wait: float = 10.0
    clock_offset: float = 0.0


MODELS = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-sonnet-4-0",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}


def _skew(offset: float) -> None:
    """Shift this process's clocks by ``offset`` seconds (before any loop exists)."""
    wall, mono = time.time, time.monotonic
    time.time = lambda: wall() + offset
    time.monotonic = lambda: mono() + offset


async def _run(spec: WorkerSpec) -> dict[str, object]:
    from dfs_async import AsyncClient, Limits, RedisGovernor, RetryPolicy, Target, iter_prompts

    limits = Limits(
        rate_limit=spec.rate_limit,
        rate_period=spec.rate_period,
        live_concurrency=spec.slots,
        live_execution_limit=spec.live_execution_limit,
    )
    governor = RedisGovernor(
        spec.redis_url,
        account=spec.login,
        limits=limits,
        lease_margin=spec.lease_margin,
        command_timeout=spec.command_timeout,
        tick=spec.tick,
        redis_wait=spec.redis_wait,
    )
    targets = [Target(p, MODELS[p]) for p in spec.platforms]  # type: ignore[arg-type]
    errors: Counter[str] = Counter()
    ok = 0
    async with AsyncClient(
        spec.login,
        spec.password,
        base_url=spec.base_url,
        rate_limit=spec.rate_limit,
        rate_period=spec.rate_period,
        live_concurrency=spec.slots,
        live_execution_limit=spec.live_execution_limit,
        retry=RetryPolicy(max_retries=6, backoff_base=0.05, backoff_max=0.5),
        governor=governor,
    ) as client:
        prompts = (f"{spec.name}: which CRM would you pick, case {i}?" for i in range(spec.prompts))
        async for result in iter_prompts(client, prompts, targets=targets, tag=spec.name):
            if result.ok:
                ok += 1
            else:
                errors[type(result.error).__name__] += 1
            print(f"answered {ok + sum(errors.values())}", flush=True)
        calls = client.stats.calls_sent
    return {"ok": ok, "errors": dict(errors), "calls": calls, "commands": governor.commands}


def main() -> int:
    """Run the spec given as the first argument; the last stdout line is the summary."""
    spec = msgspec.json.decode(sys.argv[1], type=WorkerSpec)
    if spec.clock_offset:
        _skew(spec.clock_offset)
    summary = asyncio.run(_run(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary["cpu"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
