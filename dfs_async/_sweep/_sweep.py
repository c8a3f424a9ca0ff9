"""`iter_prompts` / `gather_prompts`: many prompts, several targets, at the governor's full rate.

Memory stays bounded whatever the input size: the input is read lazily into small per-platform
queues, each platform has a fixed crew of workers (its slot limit plus spares, so a freed slot
is refilled at once), and results flow out through a bounded queue. Platforms never wait on
each other: a full chat_gpt queue does not hold back claude's workers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Container, Sequence
from contextlib import aclosing
from typing import Any, Final

from .._errors import DFSError, ValidationError
from .._http._client import AsyncClient
from .._http._observe import CURRENT_CALL, CallWatch
from .._http._receiver import CallbackReceiver
from .._http._retry import outcome_unknown
from .._http._standard import STANDARD_PLATFORMS
from .._platforms import PLATFORMS, Platform
from .._records._keyset import KeySet
from .._records._records import PromptResult, Target
from .._records._sink import JsonlSink
from ._budget import Budget
from ._control import SweepControl
from ._items import Prompts, SweepItem, check_samples, plan_items, routes_for
from ._standard import DEFAULT_RESOLVE_AFTER, StandardRun

SPARE_WORKERS: Final = 2
"""Workers per platform beyond its slot limit: queued at the slot pool, ready to refill."""
PLATFORM_BUFFER: Final = 256
"""Prompts read ahead per platform, so a slow platform's backlog lets the others run on."""
_DONE: Final = object()
_FAILED: Final = object()


async def iter_prompts(
    client: AsyncClient,
    prompts: Prompts,
    *,
    platform: str | None = None,
    model_name: str | None = None,
    targets: Sequence[Target] | None = None,
    samples: int = 1,
    sink: str | os.PathLike[str] | JsonlSink | None = None,
    retry_failed: bool = False,
    max_cost: float | None = None,
    cost_estimate: float | None = None,
    timeout: float | None = None,
    control: SweepControl | None = None,
    method: str = "live",
    receiver: CallbackReceiver | None = None,
    resolve_after: float = DEFAULT_RESOLVE_AFTER,
    **fields: Any,
) -> AsyncGenerator[PromptResult, None]:
    """Send every prompt to every target and yield results as they complete.

    Parameters
    ----------
    prompts:
        Strings, `LiveRequest` objects that may carry their own platform, model and fields,
        or `PromptItem` rows (a prompt with the caller's ``id`` and ``metadata``); any
        iterable or async iterable, read lazily.
    platform, model_name, **fields:
        The target of string prompts (and defaults for request objects).
    targets:
        Several targets instead: each prompt goes to each (``PromptResult.target`` tells which).
    samples:
        Ask each prompt of each target this many times (answers vary from run to run); the
        sample number (``PromptResult.sample``, 0-based) is part of the item's key.
    sink:
        A results file (JSONL) or `JsonlSink`: each result is written as it arrives, and items
        already answered in it are skipped, so a re-run resumes without paying twice.
    retry_failed:
        With a sink, also resend earlier failures that are skipped by default: invalid
        requests and calls that may have been charged (deadline passed, body cut off).
        Other failures (never sent, over budget, transient errors) are always resent.
    max_cost, cost_estimate:
        Spend up to ``max_cost`` USD and not past it. Each call in flight reserves an estimate
        of its cost: the dearest answer of its target (platform, model, web search) seen so
        far plus a quarter, or before the first one ``cost_estimate`` (default: the platform's
        entry in `DEFAULT_COSTS`). A call that does not fit because of calls in flight waits
        for them; one that would cross the cap whatever they cost ends with
        `BudgetExceededError`, unsent. A call whose charge is unknown (answer lost after the
        send) counts at its estimate, kept in ``PromptResult.cost_estimate``. With a sink, the
        cap covers the whole results file: what its records already cost counts against it,
        and their costs seed the estimates.
    control:
        A `SweepControl` to stop the sweep gracefully (``control.stop()``) and watch it.
    method:
        ``"live"`` (default), or ``"standard"``: ChatGPT, Claude and Gemini items are posted
        as Standard tasks, up to 100 per call, and collected when ready (Perplexity has no
        Standard method and stays on Live). Each task is recorded in the sink just before
        and as soon as it is posted, so a re-run collects it instead of posting it again
        (whatever its ``method``). Each task's ``tag`` is the item's key. A stop (or Ctrl-C)
        ends a Standard sweep at once: what was posted is in the sink, collected by a re-run.
    receiver, resolve_after:
        With ``method="standard"``: a running `CallbackReceiver` to post with its
        ``postback_url`` (results arrive without a task_get each); and how long to look for
        a maybe-posted item (answer lost, run killed mid-post) in tasks_ready before posting
        it again.

    Identical items (same key) are sent once; the repeats are skipped and counted in
    ``control.duplicates``. Ending early, with calls in flight:

    - ``control.stop()``: nothing more is sent; calls already sent are awaited, recorded and
      yielded, then the stream ends.
    - ``break`` (inside ``async with contextlib.aclosing(stream)``) or ``await
      stream.aclose()``: with a sink, the same as a stop, but the awaited results go only to
      the sink; ``aclose()`` returns once they are recorded (at most the call deadline).
      Without a sink there is nothing to keep them in: calls in flight are abandoned. A
      ``break`` without ``aclosing`` does the same later, when Python finalizes the stream.
    - An unexpected error (a bug below the sweep, a results file that cannot be written)
      ends the sweep with that error; with a sink, after the calls on the wire are answered
      and recorded.
    - Cancelling the task that iterates: calls in flight are abandoned at once; DataForSEO
      may still run and bill them, their answers are lost, and a re-run sends them again
      (counted in ``control.abandoned``).
    """
    routes = routes_for(platform, model_name, targets, fields)
    check_samples(samples)
    if isinstance(sink, JsonlSink) and not sink.is_open:
        raise RuntimeError("the JsonlSink is not open; use 'with JsonlSink(path) as sink:'")
    control = control if control is not None else SweepControl()
    control._claim()
    own_sink = sink is not None and not isinstance(sink, JsonlSink)
    out = sink if isinstance(sink, JsonlSink) or sink is None else JsonlSink(sink)
    if own_sink and out is not None:
        out.open()
    done: Container[str] = out.done if out is not None else set()
    settled: Container[str] = out.settled if out is not None and not retry_failed else set()
    # The cap covers the whole results file: what its records already cost counts.
    budget = Budget(
        max_cost,
        spent=out.spent if out is not None else 0.0,
        default=cost_estimate,
        seen=out.costs if out is not None else None,
    )
    if method not in ("live", "standard"):
        raise ValidationError("method", f"expected 'live' or 'standard', got {method!r}")
    posted = out.posted if out is not None else {}
    slot_total = sum(client.limits.concurrency_for(p) for p in PLATFORMS)
    queues: dict[Platform, asyncio.Queue[SweepItem | object]] = {}
    results: asyncio.Queue[PromptResult | object] = asyncio.Queue(maxsize=max(64, slot_total))
    crew: list[tuple[asyncio.Task[None], CallWatch]] = []
    failure: list[BaseException] = []
    finishing: list[asyncio.Task[None]] = []
    lanes = _Lanes()
    engine: list[tuple[StandardRun, asyncio.Task[None]]] = []

    async def emit(result: PromptResult) -> None:
        if out is not None:
            out.write(result)  # durable before anything else can go wrong
        if not lanes.closing:
            await results.put(result)

    def standard_run() -> StandardRun:
        if not engine:
            run = StandardRun(
                client,
                sink=out,
                budget=budget,
                emit=emit,
                receiver=receiver,
                resolve_after=resolve_after,
            )
            task = asyncio.create_task(run.run())
            task.add_done_callback(on_done)
            engine.append((run, task))
        return engine[0][0]

    def on_done(task: asyncio.Task[None]) -> None:
        # Any task that dies (a worker or the reader) ends the sweep with its exception at
        # once. Without this, the reader would wait forever on a full queue that no worker
        # drains any more, and the consumer forever on results that never come.
        if task.cancelled() or (exc := task.exception()) is None or failure:
            return
        failure.append(exc)
        if not results.full():  # else the consumer is not waiting: it checks before its next get
            results.put_nowait(_FAILED)

    def queue_for(p: Platform) -> asyncio.Queue[SweepItem | object]:
        q = queues.get(p)
        if q is None:
            limit = client.limits.concurrency_for(p)
            q = queues[p] = asyncio.Queue(maxsize=max(limit, PLATFORM_BUFFER))
            for _ in range(limit + SPARE_WORKERS):
                watch = control._watch()
                worker = asyncio.create_task(
                    _work(client, q, results, budget, out, timeout, watch, lanes)
                )
                worker.add_done_callback(on_done)
                crew.append((worker, watch))
        return q

    async def read() -> None:
        seen = KeySet()  # 8 bytes a key: identical items in one sweep are sent once
        async for item in plan_items(prompts, routes, samples, client.prepare):
            if item.key in done or item.key in settled:
                continue
            if item.key in seen:
                control.duplicates += 1
                continue
            seen.add(item.key)
            if isinstance(item, PromptResult):  # invalid: never reaches the network
                if out is not None:
                    out.write(item)
                await results.put(item)
            elif item.key in posted:  # an earlier run posted it: collect it, never repost
                standard_run().adopt(item, posted[item.key])
            elif method == "standard" and item.platform in STANDARD_PLATFORMS:
                await standard_run().inbox.put(item)
            else:
                await queue_for(item.platform).put(item)
        for p, q in queues.items():
            for _ in range(client.limits.concurrency_for(p) + SPARE_WORKERS):
                await q.put(_DONE)
        if engine:
            await engine[0][0].close_input()
        # wait(), not gather(): cancelling the reader (a graceful stop) must not cancel them.
        if crew or engine:
            await asyncio.wait([w for w, _ in crew] + [t for _, t in engine])
        for _, task in engine:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        for worker, _ in crew:
            if not worker.cancelled() and (exc := worker.exception()) is not None:
                raise exc
        await results.put(_DONE)

    reader = asyncio.create_task(read())
    reader.add_done_callback(on_done)

    def stop() -> None:
        # Read no more input and drop every call not on the wire; the rest finish, are
        # recorded and handed on, then the stream ends.
        reader.cancel()
        for _, task in engine:
            task.cancel()  # posted tasks are in the sink: a re-run collects them
        for worker, watch in crew:
            if not watch.sending and not watch.delivering:
                worker.cancel()
        finishing.append(asyncio.get_running_loop().create_task(finish()))

    async def finish() -> None:
        if crew:
            await asyncio.wait([w for w, _ in crew])
        await results.put(_DONE)

    control._attach(budget, stop)
    if control.stopping:  # stopped before the first item was asked for: send nothing
        stop()
    graceful = False
    try:
        while True:
            if failure:
                # Results already written stay in the sink; the rest of the sweep stops here.
                raise failure[0]
            got = await results.get()
            if got is _DONE:
                break
            if isinstance(got, PromptResult):
                yield got
    except GeneratorExit:
        # Closed early (break, aclose): with a sink, calls already sent are still worth
        # waiting for, since each answer is billed and recorded there.
        graceful = out is not None and not failure
        raise
    except BaseException as exc:
        # A worker's unexpected error ends the sweep; with a sink, the calls already on the
        # wire are answered and recorded first (a re-run would pay for them again).
        graceful = out is not None and bool(failure) and exc is failure[0]
        raise
    finally:
        try:
            if graceful:
                await _wind_down(control, lanes, results, crew)
        finally:
            control.abandoned += sum(1 for w, watch in crew if watch.sending and not w.done())
            control.posted = sum(run.outstanding for run, _ in engine)
            tasks = [reader, *finishing, *(w for w, _ in crew), *(t for _, t in engine)]
            for task in tasks:
                task.cancel()
            # Wait for cancelled calls to unwind: each frees (or holds, if sent) its slot.
            await asyncio.gather(*tasks, return_exceptions=True)
            if own_sink and out is not None:
                out.close()


async def _wind_down(
    control: SweepControl,
    lanes: _Lanes,
    results: asyncio.Queue[PromptResult | object],
    crew: list[tuple[asyncio.Task[None], CallWatch]],
) -> None:
    """Stop, then wait until every call on the wire is answered and recorded."""
    lanes.closing = True  # nobody reads the stream any more: results go to the sink only
    control.stop()

    async def drain() -> None:  # workers blocked on a full queue must get through
        while True:
            await results.get()

    drainer = asyncio.create_task(drain())
    try:
        if crew:
            await asyncio.wait([w for w, _ in crew])
    finally:
        drainer.cancel()


async def gather_prompts(
    client: AsyncClient,
    prompts: Prompts,
    *,
    platform: str | None = None,
    model_name: str | None = None,
    targets: Sequence[Target] | None = None,
    **options: Any,
) -> list[PromptResult]:
    """Run `iter_prompts` to the end and return the results in input order.

    Order is by prompt, then by target. Items skipped because a sink already holds them are
    not in the list.
    """
    async with aclosing(
        iter_prompts(
            client, prompts, platform=platform, model_name=model_name, targets=targets, **options
        )
    ) as stream:
        results = [r async for r in stream]
    results.sort(key=lambda r: (r.index, r.target, r.sample))
    return results


class _Lanes:
    """What workers of one sweep share besides their queues."""

    __slots__ = ("closing",)

    def __init__(self) -> None:
        self.closing = False
        """The stream was closed: record results, hand none on."""


async def _work(
    client: AsyncClient,
    queue: asyncio.Queue[SweepItem | object],
    results: asyncio.Queue[PromptResult | object],
    budget: Budget,
    sink: JsonlSink | None,
    timeout: float | None,
    watch: CallWatch,
    lanes: _Lanes,
) -> None:
    """Take items until told to stop; record and pass on each result."""
    CURRENT_CALL.set(watch)  # this task's own context: the client marks the call's state
    while not watch.stopping:
        item = await queue.get()
        if not isinstance(item, SweepItem):
            return
        price = item.price
        try:
            reserved = await budget.admit(price)
        except DFSError as exc:
            result = item.result(error=exc)
        else:
            try:
                response = await client.send_live_body(item.platform, item.body, timeout=timeout)
            except DFSError as exc:
                # An answer lost after the send may still be billed: count its estimate.
                unknown = reserved if outcome_unknown(exc) else None
                result = item.result(error=exc, cost_estimate=unknown)
            except BaseException:
                budget.settle(price, reserved, 0.0)  # the sweep is over
                raise
            else:
                result = item.result(response=response)
            known = result.cost_estimate is None
            budget.settle(price, reserved, result.cost if known else None)
        watch.delivering = True
        if sink is not None:
            sink.write(result)  # durable before anything else can go wrong
        if not lanes.closing:
            await results.put(result)
        watch.delivering = False
