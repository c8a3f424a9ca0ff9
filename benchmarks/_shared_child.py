"""``python -m benchmarks._shared_child SPEC_JSON``: one process of a multi-process sweep.

Runs a governed sweep against the emulator, each task tagged with the process's name so the
emulator's record tells the processes apart, through a `RedisGovernor` (or, for comparison,
the in-process `LocalGovernor`). Prints ``answered N`` after each result (a parent may wait on
these before killing it) and a JSON summary as the last line: answers, errors, Redis commands,
each Live call's wait for its slot and send time, and the CPU spent from the first call on.
``clock_offset`` shifts this process's wall and monotonic clocks, as on a host whose clock is
off: the shared governor must not care. The tests of shared governance run it too.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from typing import Literal

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
    governor: Literal["redis", "local"] = "redis"
    rate_limit: int = 300
    rate_period: float = 6.0
    slots: int = 6
    live_execution_limit: float = 2.0
    lease_margin: float = 0.5
    command_timeout: float = 0.4
    tick: float = 0.3
    redis_wait: float = 10.0
    clock_offset: float = 0.0
    jitter: float | None = None
    """`Limits.jitter`; None: its default."""


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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run(spec: WorkerSpec) -> dict[str, object]:
    from dfs_async import (
        AsyncClient,
        Governor,
        Limits,
        LocalGovernor,
        RedisGovernor,
        RetryPolicy,
        Target,
        iter_prompts,
    )

    limits = Limits(
        rate_limit=spec.rate_limit,
        rate_period=spec.rate_period,
        live_concurrency=spec.slots,
        live_execution_limit=spec.live_execution_limit,
        jitter=Limits.jitter if spec.jitter is None else spec.jitter,
    )
    shared = RedisGovernor(
        spec.redis_url,
        account=spec.login,
        limits=limits,
        lease_margin=spec.lease_margin,
        command_timeout=spec.command_timeout,
        tick=spec.tick,
        redis_wait=spec.redis_wait,
    )
    governor: Governor = shared if spec.governor == "redis" else LocalGovernor(limits)
    if spec.governor == "redis":
        import redis.asyncio  # noqa: F401 - setup: imported before the clock starts
    waits: list[float] = []
    acquire = governor.acquire

    async def timed(platform: str | None, *, priority: int = 0) -> None:
        start = time.perf_counter()
        await acquire(platform, priority=priority)  # type: ignore[arg-type]
        if platform is not None:
            waits.append(time.perf_counter() - start)

    setattr(governor, "acquire", timed)  # noqa: B010 - wrap this one instance
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
        cpu0 = _cpu()
        prompts = (f"{spec.name}: which CRM would you pick, case {i}?" for i in range(spec.prompts))
        async for result in iter_prompts(client, prompts, targets=targets, tag=spec.name):
            if result.ok:
                ok += 1
            else:
                errors[type(result.error).__name__] += 1
            print(f"answered {ok + sum(errors.values())}", flush=True)
        calls = client.stats.calls_sent
        cpu = _cpu() - cpu0
    return {
        "ok": ok,
        "errors": dict(errors),
        "calls": calls,
        "commands": shared.commands,
        "waits": waits,
        "cpu": cpu,
    }


def main() -> int:
    """Run the spec given as the first argument; the last stdout line is the summary."""
    spec = msgspec.json.decode(sys.argv[1], type=WorkerSpec)
    if spec.clock_offset:
        _skew(spec.clock_offset)
    print(json.dumps(asyncio.run(_run(spec))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
