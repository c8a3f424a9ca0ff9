"""The Standard method inside a sweep: post up to 100 tasks per call, record every task before
anything else, collect results as fast as the account allows, and never post an item twice.

An item's life, as the results file tells it::

    posted (task_id null)   written just before its task_post is sent
    posted (task_id "...")  written as soon as the task_post answer arrives
    the result              written when task_get (or a postback) brings the answer

A re-run collects items with an id by that id; one without (killed mid-post, answer lost) is
looked for by its tag (its key) in tasks_ready, and posted again only when not listed for
``resolve_after`` seconds, by when a task that existed would have finished and been listed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Final

import msgspec

from .._errors import BudgetExceededError, DFSError, NotSentError, TaskPendingError
from .._http._client import AsyncClient
from .._http._observe import CURRENT_CALL, CallWatch
from .._http._receiver import CallbackReceiver, Delivery
from .._http._standard import (
    MAX_TASKS_PER_POST,
    PREPAYMENT,
    STANDARD_BASE_PRICE,
    encode_tasks,
    refused_post,
)
from .._platforms import Platform
from .._records._costs import PriceKey
from .._records._records import PromptResult, ResultRecord
from .._records._sink import JsonlSink
from .._wire._models import LiveResponse
from ._budget import Budget
from ._items import SweepItem

logger: Final = logging.getLogger("dfs_async")

DEFAULT_RESOLVE_AFTER: Final = 900.0
"""Seconds to look for a maybe-posted item's tag in tasks_ready before posting it again."""
DEFAULT_WINDOW: Final = 10_000
"""Items posted and not collected at once: bounds the prepayment out and the resume work."""
GETTERS: Final = 32
"""task_get calls in flight; the governor's rate, not this, sets the pace."""
_POST_REFUSED_AGAIN: Final = 40006


Emit = Callable[[PromptResult], Awaitable[None]]
"""Writes a finished item's result to the sink and hands it to the consumer."""


class StandardRun:
    """Posts, tracks and collects the Standard items of one sweep."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        sink: JsonlSink | None,
        budget: Budget,
        emit: Emit,
        receiver: CallbackReceiver | None = None,
        resolve_after: float = DEFAULT_RESOLVE_AFTER,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.client = client
        self.sink = sink
        self.budget = budget
        self._emit = emit
        self.receiver = receiver
        self.resolve_after = resolve_after
        self.window = window
        self.inbox: asyncio.Queue[SweepItem | None] = asyncio.Queue(maxsize=4 * MAX_TASKS_PER_POST)
        self._pending: dict[str, SweepItem] = {}
        """Task id -> item: posted, not collected."""
        self._queued: set[str] = set()
        """Ids handed to the getters and not answered yet."""
        self._unknown: dict[Platform, dict[str, tuple[SweepItem, float]]] = defaultdict(dict)
        self._unlisted: dict[str, float] = {}
        """Task id -> since when it waits for tasks_ready to list it."""
        """Tag (= key) -> item and since when: maybe posted, id unknown."""
        self._reserved: dict[str, tuple[PriceKey, float]] = {}
        """Key -> budget reservation of an item posted in this run."""
        self._repost: list[SweepItem] = []
        self._gets: asyncio.Queue[str] = asyncio.Queue()
        self._changed = asyncio.Event()
        self.posted = self.resolved = self.reposted = 0
        """Tasks this run created; maybe-posted items found by tag; and those posted again."""

    @property
    def outstanding(self) -> int:
        """Items posted (or being posted) and not finished."""
        unknown = sum(len(by_tag) for by_tag in self._unknown.values())
        return len(self._pending) + unknown + len(self._repost)

    def adopt(self, item: SweepItem, task_id: str | None) -> None:
        """Take over an item an earlier run posted: by its id, or by its tag if none."""
        if task_id is None:
            self._unknown[item.platform][item.key] = (item, time.monotonic())
        else:
            self._pending[task_id] = item
            self._get(task_id)  # it may already have been collected by the run that died
        self._changed.set()

    async def close_input(self) -> None:
        """No more items will come."""
        await self.inbox.put(None)

    async def run(self) -> None:
        """Post and collect until the input is done and every item finished."""
        receiver = self.receiver
        before = receiver.handler if receiver is not None else None
        accepted = receiver.accept if receiver is not None else None
        if receiver is not None:
            receiver.handler = self._delivered
            receiver.accept = self._expects
        try:
            async with asyncio.TaskGroup() as group:
                poster = group.create_task(self._post_loop())
                helpers = [group.create_task(self._ready_loop())]
                helpers += [group.create_task(self._get_loop()) for _ in range(GETTERS)]
                await poster
                while self.outstanding:
                    self._changed.clear()
                    await self._changed.wait()
                for helper in helpers:
                    helper.cancel()
        finally:
            if receiver is not None:
                receiver.handler = before  # later deliveries go where they went before
                receiver.accept = accepted

    # -- posting ---------------------------------------------------------------------------

    async def _post_loop(self) -> None:
        buffers: dict[Platform, list[SweepItem]] = defaultdict(list)
        more = True
        while more or any(buffers.values()) or self._repost or any(self._unknown.values()):
            if self._repost:
                for item in self._repost:
                    buffers[item.platform].append(item)
                self._repost.clear()
            if more and not any(buffers.values()):
                got = await self.inbox.get()
                if got is None:
                    more = False
                else:
                    buffers[got.platform].append(got)
            while more and all(len(b) < MAX_TASKS_PER_POST for b in buffers.values()):
                try:
                    got = self.inbox.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if got is None:
                    more = False
                else:
                    buffers[got.platform].append(got)
            for platform, batch in list(buffers.items()):
                while batch:
                    await self._room()
                    room = max(1, self.window - self.outstanding)
                    take = min(MAX_TASKS_PER_POST, room, len(batch))
                    chunk, batch[:] = batch[:take], batch[take:]
                    await self._post(platform, chunk)
            if not more and not any(buffers.values()) and not self._repost:
                # Nothing left to post, but maybe-posted items may still come back.
                if not any(self._unknown.values()):
                    return
                self._changed.clear()
                await self._changed.wait()

    async def _room(self) -> None:
        while self.outstanding >= self.window:
            self._changed.clear()
            await self._changed.wait()

    async def _post(self, platform: Platform, batch: list[SweepItem]) -> None:
        """Reserve each item's cost and post; items waiting for room go in a later call, after
        those already reserved are posted (their answers are what frees the room)."""
        sending: list[SweepItem] = []
        floor = STANDARD_BASE_PRICE + PREPAYMENT
        for item in batch:
            price = item.price
            try:
                reserved = self.budget.try_admit(price, floor=floor)
                if reserved is None:
                    if sending:
                        await self._send(platform, sending)
                        sending = []
                    reserved = await self.budget.admit(price, floor=floor)
            except BudgetExceededError as exc:
                await self._finish(item, item.result(error=exc))
                continue
            self._reserved[item.key] = (price, reserved)
            sending.append(item)
        if sending:
            await self._send(platform, sending)

    async def _send(self, platform: Platform, sending: list[SweepItem]) -> None:
        for item in sending:  # durable before the call: a kill now leaves a trail to follow
            self._record(item, None, 0.0)
            self._unknown[platform][item.key] = (item, float("inf"))
        extra = {}
        if self.receiver is not None:
            extra["postback_url"] = self.receiver.postback_url
        requests = [msgspec.structs.replace(item.request, tag=item.key) for item in sending]
        watch = CallWatch()  # the client marks here whether the post left when cancelled
        token = CURRENT_CALL.set(watch)
        try:
            answer = await self.client.send_task_post_body(platform, encode_tasks(requests, extra))
        except asyncio.CancelledError:
            if not watch.left:
                self._unpost(platform, sending)
            raise
        except DFSError as exc:
            if refused_post(exc):
                for item in sending:
                    self._unknown[platform].pop(item.key, None)
                    await self._finish(item, item.result(error=exc))
            else:
                logger.warning(
                    "task_post answer lost (%s): looking for its %d tasks in tasks_ready",
                    exc,
                    len(sending),
                )
                now = time.monotonic()
                for item in sending:
                    self._unknown[platform][item.key] = (item, now)
            self._changed.set()
            return
        finally:
            CURRENT_CALL.reset(token)
        by_tag = {item.key: item for item in sending}
        for position, task in enumerate(answer.tasks):
            match = by_tag.get(task.tag or "")
            if match is None and len(answer.tasks) == len(sending):
                match = sending[position]
            if match is None:
                continue
            item = match
            self._unknown[platform].pop(item.key, None)
            if task.ok:
                self._record(item, task.id, task.cost)
                self._pending[task.id] = item
                self._unlisted[task.id] = time.monotonic()
                self.posted += 1
            elif task.status_code == _POST_REFUSED_AGAIN:
                # Beyond the server's per-call limit: not created, so posted again later.
                self._settle(item, 0.0)
                self._repost.append(item)
            else:
                await self._finish(item, item.result(error=task.error))
        self._changed.set()

    def _unpost(self, platform: Platform, sending: list[SweepItem]) -> None:
        """The sweep stopped before this task_post left: its items are not maybe posted (a
        re-run would look for their tags in tasks_ready for ``resolve_after`` first) but not
        sent, and recorded so, which a re-run sends again at once."""
        error = NotSentError("the sweep stopped before its task_post was sent")
        for item in sending:
            self._unknown[platform].pop(item.key, None)
            self._settle(item, 0.0)
            if self.sink is not None:
                self.sink.write(item.result(error=error))

    def _record(self, item: SweepItem, task_id: str | None, cost: float) -> None:
        """Write the item's "posted" record (its row's id, metadata and sample included)."""
        if self.sink is not None:
            record = ResultRecord.of(item.result())
            posted = msgspec.structs.replace(record, posted=True, task_id=task_id, cost=cost)
            self.sink.write_record(posted)

    # -- collecting ------------------------------------------------------------------------

    def _get(self, task_id: str) -> None:
        if task_id not in self._queued:
            self._queued.add(task_id)
            self._gets.put_nowait(task_id)

    async def _ready_loop(self) -> None:
        client = self.client
        limits = client.limits
        # Evenly spaced, not in bursts: a burst while nothing is finished yet would spend the
        # period's allowance and leave finished tasks unlisted until the window rolls over.
        spacing = limits.tasks_ready_period / limits.tasks_ready_limit
        next_at = 0.0
        while True:
            waiting = {i.platform for t, i in self._pending.items() if t not in self._queued}
            waiting |= {p for p, by_tag in self._unknown.items() if by_tag}
            if not waiting:
                self._changed.clear()
                await self._changed.wait()
                continue
            for platform in sorted(waiting):
                if (wait := next_at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                next_at = time.monotonic() + spacing
                try:
                    ready = await client.tasks_ready(platform)
                except DFSError as exc:
                    logger.warning("tasks_ready %s failed: %s", platform, exc)
                    continue
                unknown = self._unknown[platform]
                for listed in ready:
                    if listed.id in self._pending:
                        self._get(listed.id)
                    elif listed.tag is not None and listed.tag in unknown:
                        self._resolve(unknown.pop(listed.tag)[0], listed.id)
            self._expire_unknowns()
            self._poll_unlisted()

    def _resolve(self, item: SweepItem, task_id: str) -> None:
        """A maybe-posted item found: record its id, then collect it."""
        self._record(item, task_id, 0.0)
        self._pending[task_id] = item
        self.resolved += 1
        self._get(task_id)

    def _poll_unlisted(self) -> None:
        """Ask task_get directly for tasks tasks_ready has not listed for ``resolve_after``
        (it lists 1000 tasks at most, and may be failing): no task waits forever."""
        now = time.monotonic()
        for task_id, since in list(self._unlisted.items()):
            if task_id not in self._queued and now - since >= self.resolve_after:
                self._unlisted[task_id] = now
                self._get(task_id)

    def _expire_unknowns(self) -> None:
        now = time.monotonic()
        for by_tag in self._unknown.values():
            for tag, (item, since) in list(by_tag.items()):
                if now - since >= self.resolve_after:
                    logger.warning(
                        "item %s: no task tagged with it listed for %g s; posting it again",
                        tag,
                        self.resolve_after,
                    )
                    del by_tag[tag]
                    self._repost.append(item)
                    self.reposted += 1
                    self._changed.set()

    async def _get_loop(self) -> None:
        while True:
            task_id = await self._gets.get()
            item = self._pending.get(task_id)
            if item is None:
                continue
            try:
                response = await self.client.task_get(item.platform, task_id)
            except TaskPendingError:
                self._queued.discard(task_id)  # tasks_ready will list it once finished
                self._unlisted[task_id] = time.monotonic()
                self._changed.set()
                continue
            except DFSError as exc:
                result = item.result(error=exc, task_id=task_id)
            else:
                result = _answered(item, response, task_id)
            await self._finish(item, result, task_id)

    def _expects(self, task_id: str, tag: str | None) -> bool:
        """Whether a delivery is for a task this sweep posted (its id known), with that task's
        own tag. A task whose id is not known yet is refused: the receiver's URL may have
        leaked, and only tasks_ready (authenticated) may tell which id an item got; a refused
        delivery is listed there by DataForSEO."""
        item = self._pending.get(task_id)
        return item is not None and tag == item.key

    async def _delivered(self, delivery: Delivery) -> None:
        """A postback or pingback from the receiver."""
        item = self._pending.get(delivery.task_id)
        if item is None or delivery.tag != item.key:
            return  # not this sweep's task (or a forged one), or finished already
        if delivery.kind == "pingback":
            self._get(delivery.task_id)
            return
        if delivery.response is not None:
            result = _answered(item, delivery.response, delivery.task_id)
        else:
            result = item.result(error=delivery.error, task_id=delivery.task_id)
        await self._finish(item, result, delivery.task_id)

    def _settle(self, item: SweepItem, cost: float) -> None:
        """Replace the item's budget reservation (if this run made one) by its cost."""
        reservation = self._reserved.pop(item.key, None)
        if reservation is not None:
            price, reserved = reservation
            self.budget.settle(price, reserved, cost)

    async def _finish(
        self, item: SweepItem, result: PromptResult, task_id: str | None = None
    ) -> None:
        if task_id is not None:
            if self._pending.pop(task_id, None) is None:
                return  # finished already (a postback and a task_get crossed)
            self._queued.discard(task_id)
            self._unlisted.pop(task_id, None)
        self._settle(item, result.cost)
        self._changed.set()
        await self._emit(result)


def _answered(item: SweepItem, response: LiveResponse, task_id: str) -> PromptResult:
    result = response.result
    money = result.money_spent if result is not None else 0.0
    # task_get reports cost 0: the charge is the base price plus the LLM's cost, the rest of
    # the prepayment having been refunded
    # (https://dataforseo.com/help-center/how-the-price-for-using-llm-responses-endpoints-is-calculated).
    return item.result(
        response=response,
        task_id=task_id,
        charged=round(STANDARD_BASE_PRICE + money, 7),
    )
