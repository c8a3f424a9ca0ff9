"""`iter_prompts` / `gather_prompts`: many prompts, several targets, at the governor's full rate.

A sweep runs in four visible steps (`Sweep`): its arguments are checked (`SweepSpec.check`,
nothing is opened yet), its resources are opened (the results file and the budget), it runs,
and it winds down (calls on the wire answered and recorded when that is worth it, every task
cancelled and awaited, the results file closed) on every path out.

Memory stays bounded whatever the input size: the input is read lazily into small per-platform
queues, each platform has a fixed crew of workers (its slot limit plus spares, so a freed slot
is refilled at once), and results flow out through a bounded queue. Platforms never wait on
each other: a full chat_gpt queue does not hold back claude's workers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Sequence
from contextlib import ExitStack, aclosing
from dataclasses import dataclass
from typing import Any, Final

from .._config import check_priority, check_seconds
from .._errors import BudgetExceededError, DFSError, InvalidRequestError, ValidationError
from .._http._client import BULK, AsyncClient
from .._http._observe import CURRENT_CALL, CallWatch
from .._http._receiver import CallbackReceiver
from .._http._retry import outcome_unknown
from .._http._standard import STANDARD_PLATFORMS
from .._platforms import PLATFORMS, Platform
from .._records._records import PromptResult, Target
from .._records._sink import JsonlSink
from .._wire._validation import unknown_model
from ._budget import Budget
from ._control import SweepControl
from ._items import (
    PLANNING_OPTIONS,
    Disposition,
    ItemFilter,
    Prompts,
    Route,
    SweepItem,
    check_fields,
    check_prompts,
    check_samples,
    plan_items,
    routes_for,
)
from ._standard import DEFAULT_RESOLVE_AFTER, StandardRun

SPARE_WORKERS: Final = 2
"""Workers per platform beyond its slot limit: queued at the slot pool, ready to refill."""
PLATFORM_BUFFER: Final = 256
"""Prompts read ahead per platform, so a slow platform's backlog lets the others run on."""
METHODS: Final = ("live", "standard")
SWEEP_OPTIONS: Final = (
    *PLANNING_OPTIONS,
    "max_cost",
    "timeout",
    "queue_timeout",
    "priority",
    "control",
    "method",
    "receiver",
    "resolve_after",
)
"""`iter_prompts`' own keywords: a misspelled one is refused with the closest of these."""
_DONE: Final = object()
_FAILED: Final = object()


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A sweep's checked arguments; building one opens nothing."""

    routes: list[Route]
    samples: int
    sink: str | os.PathLike[str] | JsonlSink | None
    retry_failed: bool
    max_cost: float | None
    cost_estimate: float | None
    timeout: float | None
    queue_timeout: float | None
    priority: int
    method: str
    receiver: CallbackReceiver | None
    resolve_after: float

    @classmethod
    def check(
        cls,
        prompts: Prompts,
        *,
        platform: str | None,
        model_name: str | None,
        targets: Sequence[Target] | None,
        fields: dict[str, Any],
        **options: Any,
    ) -> SweepSpec:
        """Every argument checked, before any resource is taken or anything is sent."""
        check_prompts(prompts)
        check_fields("iter_prompts", fields, SWEEP_OPTIONS)
        if options["method"] not in METHODS:
            raise ValidationError(
                "method", f"expected 'live' or 'standard', got {options['method']!r}"
            )
        sink = options["sink"]
        if isinstance(sink, JsonlSink) and not sink.is_open:
            raise RuntimeError("the JsonlSink is not open; use 'with JsonlSink(path) as sink:'")
        routes = routes_for(platform, model_name, targets, fields)
        check_samples(options["samples"])
        for name in ("timeout", "queue_timeout", "resolve_after"):
            check_seconds(name, options[name])
        check_priority(options["priority"])
        return cls(routes=routes, **options)


class Sweep:
    """One running sweep: its queues, its crew of workers, its results file and budget."""

    def __init__(
        self, client: AsyncClient, prompts: Prompts, spec: SweepSpec, control: SweepControl
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.spec = spec
        self.control = control
        self.sink: JsonlSink | None = None
        self._resources = ExitStack()
        self.budget: Budget  # made by open(), seeded by the results file
        slot_total = sum(client.limits.concurrency_for(p) for p in PLATFORMS)
        self.results: asyncio.Queue[PromptResult | object] = asyncio.Queue(
            maxsize=max(64, slot_total)
        )
        self.queues: dict[Platform, asyncio.Queue[SweepItem | object]] = {}
        self.crew: list[tuple[asyncio.Task[None], CallWatch]] = []
        self.failure: BaseException | None = None
        """The first unexpected error of a worker, the reader or the Standard run."""
        self.closing = False
        """The stream was closed: results go to the sink only."""
        self._reader: asyncio.Task[None] | None = None
        self._finishing: list[asyncio.Task[None]] = []
        self._standard: tuple[StandardRun, asyncio.Task[None]] | None = None
        self._model_checks: dict[Platform, asyncio.Task[None]] = {}
        self._listed: dict[Platform, frozenset[str]] = {}
        """Model names of the platforms listed after a refusal: other names are not sent."""

    # -- open, run, wind down ---------------------------------------------------------------

    def open(self) -> None:
        """Take the sweep's resources: the results file (locked, held for this sweep alone)
        and the budget it seeds; `close` gives back whatever was taken, in reverse order."""
        spec = self.spec
        if isinstance(spec.sink, JsonlSink):
            self.sink = spec.sink
        elif spec.sink is not None:
            sink = JsonlSink(spec.sink)
            sink.open()
            self._resources.callback(sink.close)
            self.sink = sink
        if self.sink is not None:
            # A second sweep on this sink at once would pay for the first one's calls in flight.
            self._resources.enter_context(self.sink.sweeping())
        # The cap covers the whole results file: what its records already cost counts.
        self.budget = Budget(
            spec.max_cost,
            spent=self.sink.spent if self.sink is not None else 0.0,
            default=spec.cost_estimate,
            seen=self.sink.costs if self.sink is not None else None,
        )

    def start(self) -> None:
        """Start reading the input; a stop asked for before this sends nothing."""
        self._reader = self._spawn(self._read())
        self.control._attach(self.budget, self.stop)
        if self.control.stopping:
            self.stop()

    async def next_result(self) -> PromptResult | None:
        """The next result, or None once the sweep is done; raises the sweep's failure."""
        while True:
            if self.failure is not None:
                # Results already written stay in the sink; the rest of the sweep stops here.
                raise self.failure
            got = await self.results.get()
            if got is _DONE:
                return None
            if isinstance(got, PromptResult):
                return got

    def stop(self) -> None:
        """Read no more input and drop every call not on the wire; the rest finish."""
        if self._reader is not None:
            self._reader.cancel()
        if self._standard is not None:
            self._standard[1].cancel()  # posted tasks are in the sink: a re-run collects them
        for worker, watch in self.crew:
            if not watch.sending and not watch.delivering:
                worker.cancel()
        self._finishing.append(asyncio.get_running_loop().create_task(self._finish()))

    async def close(self, graceful: bool) -> None:
        """Wind down on every path: wait for calls on the wire if ``graceful``, then release."""
        try:
            if graceful:
                await self._drain_calls_on_the_wire()
        finally:
            control = self.control
            for _, watch in self.crew:
                watch.stopping = True  # a call scheduled but not begun never leaves now
            tasks = [*self._tasks()]
            for task in tasks:
                task.cancel()
            # Wait for cancelled calls to unwind: each frees (or holds, if sent) its slot, and
            # one whose request had started to leave is counted as left on the wire (a
            # task_post that had not is no longer counted as posted).
            await asyncio.gather(*tasks, return_exceptions=True)
            control.abandoned += sum(watch.left for _, watch in self.crew)
            control.posted = self._standard[0].outstanding if self._standard is not None else 0
            self._resources.close()

    def _tasks(self) -> list[asyncio.Task[None]]:
        tasks = [*self._finishing, *(w for w, _ in self.crew)]
        if self._reader is not None:
            tasks.append(self._reader)
        if self._standard is not None:
            tasks.append(self._standard[1])
        return tasks

    async def _drain_calls_on_the_wire(self) -> None:
        """Stop, then wait until every call on the wire is answered and recorded."""
        self.closing = True  # nobody reads the stream any more
        self.control.stop()

        async def drain() -> None:  # workers blocked on a full queue must get through
            while True:
                await self.results.get()

        drainer = asyncio.create_task(drain())
        try:
            if self.crew:
                await asyncio.wait([w for w, _ in self.crew])
        finally:
            drainer.cancel()

    async def _finish(self) -> None:
        if self.crew:
            await asyncio.wait([w for w, _ in self.crew])
        await self.results.put(_DONE)

    # -- the reader: input to queues ---------------------------------------------------------

    async def _read(self) -> None:
        """Plan every item, send each where it goes, then wait for the crew to finish."""
        sink, spec = self.sink, self.spec
        done = sink.done if sink is not None else set[str]()
        settled = sink.settled if sink is not None and not spec.retry_failed else set[str]()
        posted = sink.posted if sink is not None else {}
        items = ItemFilter(done, settled, posted)
        row: list[SweepItem] = []  # one prompt's Live calls, admitted together
        async for item in plan_items(self.prompts, spec.routes, spec.samples, self.client.prepare):
            if row and item.index != row[0].index:
                await self._send_row(row)
                row = []
            match items.sort(item):
                case Disposition.HELD:
                    pass
                case Disposition.DUPLICATE:
                    self.control.duplicates += 1
                case Disposition.INVALID:  # never reaches the network
                    assert isinstance(item, PromptResult)
                    await self._emit(item)
                case Disposition.COLLECT:  # an earlier run posted it: collect it, never repost
                    assert isinstance(item, SweepItem)
                    self._standard_run().adopt(item, posted[item.key])
                case Disposition.SEND if self._is_standard(item):
                    assert isinstance(item, SweepItem)
                    await self._standard_run().inbox.put(item)  # it reserves per post
                case Disposition.SEND:
                    assert isinstance(item, SweepItem)
                    row.append(item)
        if row:
            await self._send_row(row)
        await self._end_input()

    def _is_standard(self, item: SweepItem | PromptResult) -> bool:
        return self.spec.method == "standard" and item.platform in STANDARD_PLATFORMS

    async def _send_row(self, row: list[SweepItem]) -> None:
        """Queue one prompt's Live calls, their cost reserved together: at the cap, a prompt
        is answered by all its targets and samples or by none (an engine comparison stays
        even)."""
        try:
            reserved = await self.budget.admit_all([item.price for item in row])
        except BudgetExceededError as exc:
            for item in row:
                await self._emit(item.result(error=exc))
            return
        for item, amount in zip(row, reserved, strict=True):
            item.reserved = amount
            await self._queue_for(item.platform).put(item)

    async def _end_input(self) -> None:
        for p, q in self.queues.items():
            for _ in range(self.client.limits.concurrency_for(p) + SPARE_WORKERS):
                await q.put(_DONE)
        waited = [w for w, _ in self.crew]
        if self._standard is not None:
            await self._standard[0].close_input()
            waited.append(self._standard[1])
        # wait(), not gather(): cancelling the reader (a graceful stop) must not cancel them.
        if waited:
            await asyncio.wait(waited)
        for task in waited:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        await self.results.put(_DONE)

    def _queue_for(self, platform: Platform) -> asyncio.Queue[SweepItem | object]:
        q = self.queues.get(platform)
        if q is None:
            limit = self.client.limits.concurrency_for(platform)
            q = self.queues[platform] = asyncio.Queue(maxsize=max(limit, PLATFORM_BUFFER))
            for _ in range(limit + SPARE_WORKERS):
                watch = self.control._watch()
                self.crew.append((self._spawn(self._work(q, watch)), watch))
        return q

    def _standard_run(self) -> StandardRun:
        if self._standard is None:
            run = StandardRun(
                self.client,
                sink=self.sink,
                budget=self.budget,
                emit=self._emit,
                receiver=self.spec.receiver,
                resolve_after=self.spec.resolve_after,
            )
            self._standard = (run, self._spawn(run.run()))
        return self._standard[0]

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        task.add_done_callback(self._on_done)
        return task

    def _on_done(self, task: asyncio.Task[None]) -> None:
        # Any task that dies (a worker or the reader) ends the sweep with its exception at
        # once. Without this, the reader would wait forever on a full queue that no worker
        # drains any more, and the consumer forever on results that never come.
        if task.cancelled() or (exc := task.exception()) is None or self.failure is not None:
            return
        self.failure = exc
        if not self.results.full():  # else the consumer is not waiting: it checks before get
            self.results.put_nowait(_FAILED)

    # -- the workers: one call at a time -----------------------------------------------------

    async def _emit(self, result: PromptResult) -> None:
        if self.sink is not None:
            self.sink.write(result)  # durable before anything else can go wrong
        if not self.closing:
            await self.results.put(result)

    async def _work(self, queue: asyncio.Queue[SweepItem | object], watch: CallWatch) -> None:
        """Take items until told to stop; record and pass on each result."""
        CURRENT_CALL.set(watch)  # this task's own context: the client marks the call's state
        while not watch.stopping:
            item = await queue.get()
            if not isinstance(item, SweepItem):
                return
            result = await self._call(item)
            watch.delivering = True
            await self._emit(result)
            watch.delivering = False

    async def _check_model(self, platform: Platform) -> None:
        """After a refused field, list the platform's models (free, once): a target whose model
        is not there gets nothing more sent, and later items fail validation before the send."""
        check = self._model_checks.get(platform)
        if check is None:
            check = self._model_checks[platform] = asyncio.create_task(self._list(platform))
        await asyncio.shield(check)

    async def _list(self, platform: Platform) -> None:
        try:
            models = await self.client.models(platform)  # the client checks later items too
        except DFSError:
            return  # the list is unavailable: each item keeps its own answer
        self._listed[platform] = frozenset(m.model_name for m in models)

    async def _call(self, item: SweepItem) -> PromptResult:
        """One item's call within the budget: its result, an error result if it failed."""
        budget, price = self.budget, item.price
        listed, model = self._listed.get(item.platform), item.request.model_name
        if listed is not None and model not in listed:  # refused already: never sent again
            if item.reserved is not None:
                budget.settle(price, item.reserved, 0.0)
            return item.result(error=unknown_model(item.platform, model or "", listed))
        reserved = item.reserved
        assert reserved is not None  # reserved with its prompt's row (_send_row)
        try:
            response = await self.client.send_live_body(
                item.platform,
                item.body,
                timeout=self.spec.timeout,
                queue_timeout=self.spec.queue_timeout,
                priority=self.spec.priority,
            )
        except DFSError as exc:
            # An answer lost after the send may still be billed: count its estimate.
            unknown = reserved if outcome_unknown(exc) else None
            result = item.result(error=exc, cost_estimate=unknown)
            if isinstance(exc, InvalidRequestError):
                await self._check_model(item.platform)
        except BaseException:
            budget.settle(price, reserved, 0.0)  # the sweep is over (abandoned calls counted)
            raise
        else:
            result = item.result(response=response)
        known = result.cost_estimate is None
        budget.settle(price, reserved, result.cost if known else None)
        return result


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
    queue_timeout: float | None = None,
    priority: int = BULK,
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
        iterable or async iterable, read lazily. A string prompt's trailing line ending is
        dropped (lines read from a file and the CLI's prompts get the same keys). A single
        string is refused (`TypeError`): wrap it in a list.
    platform, model_name, **fields:
        The target of string prompts (and defaults for request objects). ``**fields`` takes
        request fields only (``max_output_tokens=``, ``web_search=``...): any other keyword is
        refused with a `TypeError` naming the closest option, before anything is opened.
    targets:
        Several targets instead: each prompt goes to each (``PromptResult.target`` is the one).
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
        `BudgetExceededError`, unsent; a prompt's Live calls (targets × samples) are admitted
        together, so the cap never leaves a prompt partly answered. A call whose charge is
        unknown (answer lost after the send) counts at its estimate, kept in
        ``PromptResult.cost_estimate``. With a sink, the cap covers the whole results file:
        what its records already cost counts against it, and their costs seed the estimates.
    timeout, queue_timeout:
        Each call's deadline from its send, and how long it may wait for a slot and a rate
        token before it ends with `QueueTimeoutError`, unsent (default: the client's).
    priority:
        The lane of the sweep's calls at the governor: -1 by default, below a plain
        ``client.live()`` (0), so a user waiting goes ahead of bulk work; the lower lane is
        still served at least once every few turns.
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
    spec = SweepSpec.check(
        prompts,
        platform=platform,
        model_name=model_name,
        targets=targets,
        fields=fields,
        samples=samples,
        sink=sink,
        retry_failed=retry_failed,
        max_cost=max_cost,
        cost_estimate=cost_estimate,
        timeout=timeout,
        queue_timeout=queue_timeout,
        priority=priority,
        method=method,
        receiver=receiver,
        resolve_after=resolve_after,
    )
    control = control if control is not None else SweepControl()
    control._claim()
    sweep = Sweep(client, prompts, spec, control)
    graceful = False
    try:
        sweep.open()
        sweep.start()
        while (result := await sweep.next_result()) is not None:
            yield result
    except GeneratorExit:
        # Closed early (break, aclose): with a sink, calls already sent are still worth
        # waiting for, since each answer is billed and recorded there.
        graceful = sweep.sink is not None and sweep.failure is None
        raise
    except BaseException as exc:
        # A worker's unexpected error ends the sweep; with a sink, the calls already on the
        # wire are answered and recorded first (a re-run would pay for them again).
        graceful = sweep.sink is not None and exc is sweep.failure
        raise
    finally:
        await sweep.close(graceful)


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
    not in the list. Takes `iter_prompts`' options and request fields.
    """
    async with aclosing(
        iter_prompts(
            client, prompts, platform=platform, model_name=model_name, targets=targets, **options
        )
    ) as stream:
        results = [r async for r in stream]
    results.sort(key=lambda r: (r.index, r.target_index, r.sample))
    return results
