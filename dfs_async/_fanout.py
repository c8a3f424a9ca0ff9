"""`iter_prompts` / `gather_prompts`: many prompts, several targets, at the governor's full rate.

Memory stays bounded whatever the input size: the input is read lazily into small per-platform
queues, each platform has a fixed crew of workers (its slot limit plus spares, so a freed slot
is refilled at once), and results flow out through a bounded queue. Platforms never wait on
each other: a full chat_gpt queue does not hold back claude's workers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Container,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import aclosing
from typing import Any, Final, TypeAlias

from ._budget import Budget
from ._client import AsyncClient
from ._errors import DFSError, ValidationError
from ._requests import LiveRequest, encode_body
from ._results import PromptResult, Target, body_key, request_key
from ._retry import outcome_unknown
from ._sink import JsonlSink
from ._types import PLATFORMS, Platform, check_platform

PromptInput: TypeAlias = str | LiveRequest
Prompts: TypeAlias = Iterable[PromptInput] | AsyncIterable[PromptInput]

SPARE_WORKERS: Final = 2
"""Workers per platform beyond its slot limit: queued at the slot pool, ready to refill."""
PLATFORM_BUFFER: Final = 256
"""Prompts read ahead per platform, so a slow platform's backlog lets the others run on."""
_DONE: Final = object()
_FAILED: Final = object()


class _Item:
    __slots__ = ("body", "index", "key", "platform", "request", "target")

    def __init__(
        self, index: int, target: int, platform: Platform, request: LiveRequest, body: bytes
    ) -> None:
        self.index = index
        self.target = target
        self.platform = platform
        self.request = request
        self.body = body  # encoded once: it makes the key and it is what gets sent
        self.key = body_key(platform, body)


async def iter_prompts(
    client: AsyncClient,
    prompts: Prompts,
    *,
    platform: str | None = None,
    model_name: str | None = None,
    targets: Sequence[Target] | None = None,
    sink: str | os.PathLike[str] | JsonlSink | None = None,
    retry_failed: bool = False,
    max_cost: float | None = None,
    cost_estimate: float | None = None,
    timeout: float | None = None,
    **fields: Any,
) -> AsyncGenerator[PromptResult, None]:
    """Send every prompt to every target and yield results as they complete.

    Parameters
    ----------
    prompts:
        Strings, or `LiveRequest` objects that may carry their own platform, model and fields;
        any iterable or async iterable, read lazily.
    platform, model_name, **fields:
        The target of string prompts (and defaults for request objects).
    targets:
        Several targets instead: each prompt goes to each (``PromptResult.target`` tells which).
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

    Break out early with ``contextlib.aclosing`` so the sweep stops at once.
    """
    routes = _routes(platform, model_name, targets, fields)
    if isinstance(sink, JsonlSink) and not sink.is_open:
        raise RuntimeError("the JsonlSink is not open; use 'with JsonlSink(path) as sink:'")
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
    slot_total = sum(client.limits.concurrency_for(p) for p in PLATFORMS)
    queues: dict[Platform, asyncio.Queue[_Item | object]] = {}
    results: asyncio.Queue[PromptResult | object] = asyncio.Queue(maxsize=max(64, slot_total))
    workers: list[asyncio.Task[None]] = []
    failure: list[BaseException] = []

    def on_done(task: asyncio.Task[None]) -> None:
        # Any task that dies (a worker or the reader) ends the sweep with its exception at
        # once. Without this, the reader would wait forever on a full queue that no worker
        # drains any more, and the consumer forever on results that never come.
        if task.cancelled() or (exc := task.exception()) is None or failure:
            return
        failure.append(exc)
        if not results.full():  # else the consumer is not waiting: it checks before its next get
            results.put_nowait(_FAILED)

    def queue_for(p: Platform) -> asyncio.Queue[_Item | object]:
        q = queues.get(p)
        if q is None:
            limit = client.limits.concurrency_for(p)
            q = queues[p] = asyncio.Queue(maxsize=max(limit, PLATFORM_BUFFER))
            for _ in range(limit + SPARE_WORKERS):
                worker = asyncio.create_task(_work(client, q, results, budget, out, timeout))
                worker.add_done_callback(on_done)
                workers.append(worker)
        return q

    async def read() -> None:
        async for item in _items(client, prompts, routes):
            if item.key in done or item.key in settled:
                continue
            if isinstance(item, PromptResult):  # invalid: never reaches the network
                if out is not None:
                    out.write(item)
                await results.put(item)
            else:
                await queue_for(item.platform).put(item)
        for p, q in queues.items():
            for _ in range(client.limits.concurrency_for(p) + SPARE_WORKERS):
                await q.put(_DONE)
        await asyncio.gather(*workers)
        await results.put(_DONE)

    reader = asyncio.create_task(read())
    reader.add_done_callback(on_done)
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
    finally:
        for task in (reader, *workers):
            task.cancel()
        # Wait for cancelled calls to unwind: each frees (or holds, if sent) its slot.
        await asyncio.gather(reader, *workers, return_exceptions=True)
        if own_sink and out is not None:
            out.close()


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
    results.sort(key=lambda r: (r.index, r.target))
    return results


async def _work(
    client: AsyncClient,
    queue: asyncio.Queue[_Item | object],
    results: asyncio.Queue[PromptResult | object],
    budget: Budget,
    sink: JsonlSink | None,
    timeout: float | None,
) -> None:
    """Take items until told to stop; record and pass on each result."""
    while True:
        item = await queue.get()
        if not isinstance(item, _Item):
            return
        price = (item.platform, item.request.model_name, item.request.web_search is True)
        try:
            reserved = await budget.admit(price)
        except DFSError as exc:
            result = _result(item, error=exc)
        else:
            try:
                response = await client.send_live_body(item.platform, item.body, timeout=timeout)
            except DFSError as exc:
                # An answer lost after the send may still be billed: count its estimate.
                unknown = reserved if outcome_unknown(exc) else None
                result = _result(item, error=exc, cost_estimate=unknown)
            except BaseException:
                budget.settle(price, reserved, None)  # cancelled: it may have been sent
                raise
            else:
                result = _result(item, response=response)
            known = result.cost_estimate is None
            budget.settle(price, reserved, result.cost if known else None)
        if sink is not None:
            sink.write(result)  # durable before anything else can go wrong
        await results.put(result)


def _result(item: _Item, **outcome: Any) -> PromptResult:
    return PromptResult(
        index=item.index,
        platform=item.platform,
        request=item.request,
        key=item.key,
        target=item.target,
        **outcome,
    )


class _Route:
    """A resolved target: platform (None: the request names it), model and field defaults."""

    __slots__ = ("defaults", "platform")

    def __init__(self, platform: Platform | None, defaults: dict[str, Any]) -> None:
        self.platform = platform
        self.defaults = defaults


def _routes(
    platform: str | None,
    model_name: str | None,
    targets: Sequence[Target] | None,
    fields: Mapping[str, Any],
) -> list[_Route]:
    if targets:
        if platform is not None or model_name is not None:
            raise ValidationError("targets", "give either platform/model_name or targets")
        return [
            _Route(
                check_platform(t.platform),
                {**fields, **(t.fields or {}), "model_name": t.model_name},
            )
            for t in targets
        ]
    defaults = dict(fields)
    if model_name is not None:
        defaults["model_name"] = model_name
    return [_Route(check_platform(platform) if platform is not None else None, defaults)]


async def _items(
    client: AsyncClient, prompts: Prompts, routes: list[_Route]
) -> AsyncIterator[_Item | PromptResult]:
    """Turn the input into validated items, or into error results for invalid ones."""
    index = 0
    async for prompt in _aiter(prompts):
        own = prompt.platform if isinstance(prompt, LiveRequest) else None
        if own is None:
            for t_index, route in enumerate(routes):
                yield _prepare(client, index, t_index, prompt, route)
        else:
            # A request that names its platform goes there once, taking defaults only from
            # a target of that platform (never another platform's model or fields).
            match = next(
                ((i, r) for i, r in enumerate(routes) if r.platform in (own, None)),
                (0, _Route(own, {})),
            )
            yield _prepare(client, index, match[0], prompt, match[1])
        index += 1


def _prepare(
    client: AsyncClient, index: int, t_index: int, prompt: PromptInput, route: _Route
) -> _Item | PromptResult:
    """Validate one prompt for one route; a bad one becomes an error result, never a call."""
    request = prompt if isinstance(prompt, LiveRequest) else None
    platform = (request.platform if request else None) or route.platform
    try:
        if platform is None:
            raise ValidationError("platform", "pass platform= or set it on each LiveRequest")
        if request is None:
            platform, request = client.prepare(platform, user_prompt=prompt, **route.defaults)
        else:
            platform, request = client.prepare(platform, request, **route.defaults)
    except DFSError as exc:
        failed = request or LiveRequest(user_prompt=str(prompt))
        known = platform if platform in PLATFORMS else None
        return PromptResult(
            index=index,
            platform=known,
            request=failed,
            key=_invalid_key(known, failed),
            error=exc,
            target=t_index,
        )
    return _Item(index, t_index, platform, request, encode_body(request))


def _invalid_key(platform: Platform | None, request: LiveRequest) -> str:
    """The key of an invalid item, which may hold values the encoder refuses."""
    try:
        return request_key(platform, request)
    except (TypeError, ValueError, OverflowError):  # a lone surrogate, a foreign object
        # The repr is as stable across runs as the values it shows.
        return body_key(platform, repr(request).encode("utf-8", "backslashreplace"))


async def _aiter(prompts: Prompts) -> AsyncIterator[PromptInput]:
    if isinstance(prompts, AsyncIterable):
        async for p in prompts:
            yield p
    else:
        for p in prompts:
            yield p
