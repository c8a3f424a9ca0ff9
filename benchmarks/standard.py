"""Live against Standard: the same sweep, the same account limits, end to end.

The emulator runs in its own process with the real API's proportions, time divided by 20: a
Live answer takes 0.2–0.3 s (about 5 s on the real API), a Standard task is ready 1.5–6 s
after posting (30–120 s), tasks_ready allows 20 calls per 3 s (20 a minute). The account
allows 1,000 calls per 6 s and 8 Live calls in flight per platform: the rate (167 calls/s) is
a quarter of the time-scaled 2,000 a minute, to fit two shared cores, and the slots are scaled
with it, so that Live's ceiling (8 slots ÷ 0.25 s = 32 calls/s) stays at the same share of the
rate as on the real API (30 slots ÷ 5 s = 6 calls/s against 2,000 a minute = 33/s). The 6 s
window (rather than 3 s) halves what each millisecond of arrival jitter costs (the pacer
leaves `Limits.jitter` seconds per window for it). Both methods get these limits,
and the emulator answers 40202/40209 to any call that breaks them.

Each row is one sweep of N prompts to Claude, started against a fresh emulator: end-to-end
time, calls the server saw per prompt, what the prompts cost, and the limits as the server
measured them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import dfs_async
from dfs_async.testing import EmulatorProcess

from ._report import Table

RATE_LIMIT = 1000
RATE_PERIOD = 6.0
SLOTS = 8
LIVE_LATENCY = (0.2, 0.3)
STANDARD_DELAY = (1.5, 6.0)
READY_LIMIT = 20
READY_PERIOD = 3.0
SIZES = (100, 2000)
QUICK_SIZES = (30,)
QUICK_DELAY = (0.2, 0.5)
MODEL = "claude-sonnet-4-0"

COLUMNS = (
    "method",
    "prompts",
    "end to end",
    "prompts/s",
    "calls per prompt",
    "cost per prompt",
    "cost",
    f"max calls in any {RATE_PERIOD:g} s (≤ {RATE_LIMIT})",
    f"max tasks_ready in any {READY_PERIOD:g} s (≤ {READY_LIMIT})",
    "40202/40209",
)


@dataclass(frozen=True)
class Outcome:
    """One sweep as the client and the server saw it."""

    method: str
    prompts: int
    seconds: float
    answered: int
    calls: int
    cost: float
    max_window: int
    max_ready: int
    refused: int


async def _sweep(
    base_url: str, login: str, password: str, method: str, n: int
) -> tuple[float, float]:
    prompts = [f"which crm suits a {i}-person agency best?" for i in range(n)]
    async with dfs_async.AsyncClient(
        login,
        password,
        base_url=base_url,
        rate_limit=RATE_LIMIT,
        rate_period=RATE_PERIOD,
        live_concurrency=SLOTS,
        tasks_ready_limit=READY_LIMIT,
        tasks_ready_period=READY_PERIOD,
    ) as client:
        started = time.perf_counter()
        results = await dfs_async.gather_prompts(
            client, prompts, platform="claude", model_name=MODEL, method=method
        )
        seconds = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} prompts failed, e.g. {failed[0].error}")
    return seconds, sum(r.cost for r in results)


def measure(method: str, n: int, delay: tuple[float, float]) -> Outcome:
    """Run one sweep against a fresh emulator process and read its record."""
    with EmulatorProcess(
        latency=LIVE_LATENCY,
        standard_delay=delay,
        rate_limit=RATE_LIMIT,
        rate_period=RATE_PERIOD,
        live_concurrency=SLOTS,
        tasks_ready_limit=READY_LIMIT,
        tasks_ready_period=READY_PERIOD,
        seed=7,
    ) as emu:
        seconds, cost = asyncio.run(_sweep(emu.base_url, emu.login, emu.password, method, n))
        record = emu.record()
    codes = record.codes
    return Outcome(
        method=method,
        prompts=n,
        seconds=seconds,
        answered=n,
        calls=len(record.calls),
        cost=cost,
        max_window=record.max_calls_in_window(RATE_PERIOD),
        max_ready=record.standard.max_ready_calls_in_window(READY_PERIOD),
        refused=codes.get(40202, 0) + codes.get(40209, 0),
    )


def run(quick: bool = False, sizes: tuple[int, ...] | None = None) -> list[Table]:
    """Both methods at each size; the table the README quotes."""
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    delay = QUICK_DELAY if quick else STANDARD_DELAY
    table = Table(
        f"Live vs Standard: N prompts to Claude at {RATE_LIMIT} calls / {RATE_PERIOD:g} s, "
        f"{SLOTS} Live slots, Live {LIVE_LATENCY[0]:g}–{LIVE_LATENCY[1]:g} s, "
        f"Standard ready after {delay[0]:g}–{delay[1]:g} s",
        COLUMNS,
    )
    for n in sizes:
        for method in ("live", "standard"):
            o = measure(method, n, delay)
            table.add(
                o.method,
                o.prompts,
                f"{o.seconds:.1f} s",
                f"{o.prompts / o.seconds:.1f}",
                f"{o.calls / o.prompts:.3f}",
                f"${o.cost / o.prompts:.5f}",
                f"${o.cost:.4f}",
                o.max_window,
                o.max_ready,
                o.refused,
            )
    table.notes += [
        "time is the real API's ÷ 20 (Live 5 s → 0.25 s, Standard 30–120 s → 1.5–6 s, "
        "20 tasks_ready a minute → 20 per 3 s); the account's rate and slots are scaled "
        "together, so Live's slot ceiling is the same share of the rate as on the real API",
        "cost: DataForSEO's base price ($0.0006 a Live call, $0.0002 a Standard task) plus "
        "the LLM's cost of the same answers; Standard also takes a $0.01 prepayment per task "
        "at posting, refunded down to the real cost when the task finishes",
        "calls per prompt: every call the server saw (task_post, tasks_ready, task_get / live)",
    ]
    return [table]
