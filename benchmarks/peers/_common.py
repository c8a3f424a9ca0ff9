"""Code every peer shares: tallying outcomes, the event loop, closed-loop callers, raw HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

import aiohttp

from .._spec import RunResult, RunSpec, Work, work

T = TypeVar("T")
OK = 20000


class Tally:
    """Counts calls answered 20000 and every other outcome by name."""

    def __init__(self) -> None:
        self.ok = 0
        self.outcomes: Counter[str] = Counter()

    def add(self, outcome: int | str) -> None:
        """Count one call: a status code or an error's name."""
        if outcome == OK:
            self.ok += 1
        else:
            self.outcomes[str(outcome)] += 1

    def result(self, rtts: dict[str, float] | None = None) -> RunResult:
        """The tally as a `RunResult` (the child fills in the measurements)."""
        return RunResult(ok=self.ok, outcomes=dict(self.outcomes), rtts=rtts or {})


def run_loop(main: Coroutine[Any, Any, T], use_uvloop: bool) -> T:
    """Run ``main`` on a fresh asyncio loop, or on uvloop's."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if use_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def by_platform(spec: RunSpec) -> dict[str, list[Work]]:
    """The run's calls grouped by platform, each group in order."""
    groups: dict[str, list[Work]] = {}
    for w in work(spec):
        groups.setdefault(w.platform, []).append(w)
    return groups


async def closed_loop(spec: RunSpec, call: Callable[[Work], Awaitable[int | str]]) -> RunResult:
    """``spec.workers`` callers per platform, each sending its next call when the last ends.

    Each call is timed from the moment its caller starts it to the moment its decoded answer
    is back: what a web backend calling the client one request at a time would see.
    """
    tally = Tally()
    rtts: dict[str, float] = {}

    async def caller(calls: Iterator[Work]) -> None:
        for w in calls:
            start = time.perf_counter()
            outcome = await call(w)
            rtts[w.tag or str(w.number)] = time.perf_counter() - start
            tally.add(outcome)

    callers = []
    for calls in by_platform(spec).values():
        shared = iter(calls)  # the platform's callers take turns at one queue of calls
        callers += [caller(shared) for _ in range(spec.workers)]
    await asyncio.gather(*callers)
    return tally.result(rtts)


Outcome = tuple[int | str, dict[str, Any] | None]
"""A raw-aiohttp call's status (code, ``HTTP nnn`` or exception name) and decoded body."""


async def gather_or_loop(
    spec: RunSpec, one: Callable[[Work], Awaitable[Outcome]]
) -> tuple[RunResult, list[Outcome]]:
    """Calls mode: a `closed_loop` over ``one``; else every call gathered at once, tallied.

    The gathered outcomes are returned too (empty in calls mode), for peers that write them.
    """
    if spec.mode == "calls":

        async def status(w: Work) -> int | str:
            return (await one(w))[0]

        return await closed_loop(spec, status), []
    outcomes = await asyncio.gather(*(one(w) for w in work(spec)))
    tally = Tally()
    for code, _ in outcomes:
        tally.add(code)
    return tally.result(), outcomes


# -- raw aiohttp + json.loads: the naive, aiometer and floor peers ---------------------------


def session(spec: RunSpec) -> aiohttp.ClientSession:
    """An aiohttp session as a careful user makes one: no connection cap, Basic auth."""
    token = base64.b64encode(f"{spec.login}:{spec.password}".encode()).decode()
    return aiohttp.ClientSession(
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=120),
    )


def body(w: Work) -> bytes:
    """The Live POST body of ``w``: a JSON array holding one task."""
    task: dict[str, object] = {"user_prompt": w.prompt, "model_name": w.model}
    if w.tag is not None:
        task["tag"] = w.tag
    return json.dumps([task]).encode()


def live_url(spec: RunSpec, w: Work) -> str:
    """The Live endpoint of ``w``'s platform."""
    return f"{spec.base_url}/v3/ai_optimization/{w.platform}/llm_responses/live"


def status_of(envelope: Any) -> int | str:
    """The task's status code, or the envelope's when it failed before the task."""
    if not isinstance(envelope, dict):
        return "not an envelope"
    code = envelope.get("status_code")
    tasks = envelope.get("tasks") or ()
    if code == OK and tasks and isinstance(tasks[0], dict):
        code = tasks[0].get("status_code")
    return code if isinstance(code, int) else "no status"


async def post(
    http: aiohttp.ClientSession, spec: RunSpec, w: Work
) -> tuple[int | str, dict[str, Any] | None]:
    """Send ``w`` and decode the answer with json.loads: (status, envelope)."""
    try:
        async with http.post(live_url(spec, w), data=body(w)) as response:
            raw = await response.read()
            if response.status != 200:
                return f"HTTP {response.status}", None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return type(exc).__name__, None
    envelope = json.loads(raw)
    return status_of(envelope), envelope


def write_jsonl(path: str, rows: Iterable[object]) -> None:
    """Write ``rows`` to ``path`` as JSON lines."""
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row))
            f.write("\n")
