"""Per-platform slots: FIFO hand-over, cancellation, and delayed release of abandoned calls."""

from __future__ import annotations

import asyncio

import pytest

from dfs_async._governance._slots import SlotPool

pytestmark = pytest.mark.anyio


async def test_slots_are_handed_over_in_arrival_order() -> None:
    pool = SlotPool(2)
    await pool.acquire()
    await pool.acquire()
    order: list[int] = []

    async def wait(i: int) -> None:
        await pool.acquire()
        order.append(i)

    tasks = [asyncio.create_task(wait(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert pool.waiting == 3
    for _ in range(3):
        pool.release()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert pool.in_use == 2  # a release hands the slot on instead of freeing it


async def test_a_cancelled_waiter_leaks_nothing() -> None:
    pool = SlotPool(1)
    await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    pool.release()
    assert pool.in_use == 0
    assert pool.waiting == 0


async def test_cancelled_in_the_tick_it_was_granted_gives_the_slot_back() -> None:
    pool = SlotPool(1)
    await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.release()  # grants the waiter ...
    waiter.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert pool.in_use == 0


async def test_release_at_keeps_the_slot_until_the_server_must_be_done() -> None:
    pool = SlotPool(1)
    loop = asyncio.get_running_loop()
    await pool.acquire()
    pool.release_at(loop.time() + 0.1)
    assert (pool.in_use, pool.held) == (1, 1)
    started = loop.time()
    await pool.acquire()  # waits for the held slot
    assert loop.time() - started >= 0.09
    assert pool.held == 0
    pool.release_at(loop.time() - 1)  # already past: freed at once
    assert pool.in_use == 0


async def test_close_drops_pending_releases() -> None:
    pool = SlotPool(1)
    await pool.acquire()
    pool.release_at(asyncio.get_running_loop().time() + 10)
    pool.close()
    assert pool.held == 1  # nothing fires after close


async def test_a_slot_is_not_tied_to_the_task_that_took_it() -> None:
    # One task may hold several slots, and any code (here a callback, with no task at all)
    # may free them: an abandoned call's slot is freed by a timer.
    pool = SlotPool(2)
    await pool.acquire()
    await pool.acquire()
    loop = asyncio.get_running_loop()
    freed: asyncio.Future[None] = loop.create_future()

    def free() -> None:
        pool.release()
        freed.set_result(None)

    loop.call_soon(free)
    await freed
    assert pool.in_use == 1


async def test_a_newcomer_cannot_take_a_slot_handed_to_a_waiter() -> None:
    # The newcomer runs before the woken waiter can resume; the slot is the waiter's already.
    pool = SlotPool(1)
    await pool.acquire()
    go = asyncio.Event()
    order: list[str] = []

    async def newcomer() -> None:
        await go.wait()
        await pool.acquire()
        order.append("newcomer")

    async def waiter() -> None:
        await pool.acquire()
        order.append("waiter")

    tasks = [asyncio.create_task(newcomer()), asyncio.create_task(waiter())]
    await asyncio.sleep(0)
    go.set()  # the newcomer's wake-up is queued first ...
    pool.release()  # ... then the waiter is handed the slot
    await asyncio.sleep(0)
    assert (order, pool.in_use, pool.waiting) == (["waiter"], 1, 1)
    pool.release()
    await asyncio.gather(*tasks)
    assert order == ["waiter", "newcomer"]


async def test_release_at_a_past_time_frees_the_slot_once() -> None:
    # Freed now, and no timer frees it a second time later (that would hand out a slot the
    # server still counts, or drive in_use below zero).
    pool = SlotPool(1)
    loop = asyncio.get_running_loop()
    await pool.acquire()
    pool.release_at(loop.time() - 1)
    assert (pool.in_use, pool.held) == (0, 0)
    await pool.acquire()  # the next call takes the freed slot
    for _ in range(3):  # a timer due in the past would fire within these passes of the loop
        await asyncio.sleep(0)
    assert (pool.in_use, pool.held) == (1, 0)
    third = asyncio.ensure_future(pool.acquire())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not third.done()  # still waiting: one slot, one call holding it
    third.cancel()
