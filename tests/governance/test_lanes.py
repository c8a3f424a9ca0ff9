"""Priority lanes: higher first, FIFO within a lane, and a lower lane never starved (in
`Lanes`, the slot pool and the pacer)."""

from __future__ import annotations

import asyncio

import pytest

from dfs_async._governance._lanes import PATIENCE, Lanes
from dfs_async._governance._pacer import Pacer
from dfs_async._governance._slots import SlotPool

from .._virtual_time import run_virtual


def test_higher_first_fifo_within_a_lane_and_the_lower_lane_served_every_patience_turns() -> None:
    async def main() -> list[str]:
        lanes = Lanes()
        names: dict[asyncio.Future[None], str] = {}
        for i in range(12):
            names[lanes.push(1)] = f"high{i}"
        for i in range(3):
            names[lanes.push(0)] = f"low{i}"
        served = []
        while (f := lanes.pop()) is not None:
            served.append(names[f])
        return served

    served = asyncio.run(main())
    assert [s for s in served if s.startswith("high")] == [f"high{i}" for i in range(12)]
    assert [s for s in served if s.startswith("low")] == ["low0", "low1", "low2"]
    # While both wait, the low lane is served once every PATIENCE + 1 turns, no later.
    assert served.index("low0") == PATIENCE
    assert served.index("low1") == 2 * PATIENCE + 1


def test_a_lone_lane_is_fifo_and_cancelled_waiters_are_skipped() -> None:
    async def main() -> list[int]:
        lanes = Lanes()
        futures = [lanes.push(0) for _ in range(4)]
        futures[1].cancel()
        assert len(lanes) == 3
        order = []
        while (f := lanes.pop()) is not None:
            order.append(futures.index(f))
        assert not lanes
        return order

    assert asyncio.run(main()) == [0, 2, 3]


@pytest.mark.anyio
async def test_slots_go_to_the_higher_lane_first_without_starving_the_lower() -> None:
    pool = SlotPool(1)
    await pool.acquire()
    order: list[str] = []

    async def call(name: str, priority: int) -> None:
        await pool.acquire(priority)
        order.append(name)
        pool.release()

    tasks = [asyncio.create_task(call("low", 0))]
    tasks += [asyncio.create_task(call(f"high{i}", 5)) for i in range(2 * PATIENCE)]
    await asyncio.sleep(0)
    pool.release()
    await asyncio.gather(*tasks)
    # The low call asked first but goes after PATIENCE high ones, not after all of them.
    assert order.index("low") == PATIENCE
    assert pool.in_use == 0


def test_the_pacer_admits_the_higher_lane_first_at_the_paced_rate() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(0.1, 2, loop.time)
        await pacer.acquire()
        await pacer.acquire()  # the bucket is full: everyone below waits in line
        admitted: list[tuple[str, float]] = []

        async def call(name: str, priority: int) -> None:
            await pacer.acquire(priority)
            admitted.append((name, loop.time()))

        async with asyncio.TaskGroup() as tg:
            tg.create_task(call("first", 0))  # takes the turn at once, waits in the bucket
            await asyncio.sleep(0)
            for i in range(3):
                tg.create_task(call(f"low{i}", 0))
            await asyncio.sleep(0)
            for i in range(2 * PATIENCE):
                tg.create_task(call(f"high{i}", 1))
        return admitted

    admitted = run_virtual(main)
    names = [name for name, _ in admitted]
    assert names[0] == "first"
    assert names[1 : 1 + PATIENCE] == [f"high{i}" for i in range(PATIENCE)]
    assert names[1 + PATIENCE] == "low0"  # served after PATIENCE high ones
    times = [t for _, t in admitted]
    assert times == pytest.approx([0.1 * (k + 1) for k in range(len(times))], abs=1e-6)
