"""Priority lanes across processes: the Redis governor hands slots, and the account's send
times while the rate binds, out by the local lanes' rule (`Lanes`), whichever process queued
the waiters. Real ``redis-server``, one governor per "process" (each with its own connections
and process id)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from dfs_async import Limits, Platform, RedisGovernor
from dfs_async._governance._lanes import PATIENCE, Lanes
from dfs_async._governance._scripts import HORIZON
from dfs_async.testing import RedisServer

pytestmark = pytest.mark.anyio

ONE_SLOT = Limits(rate_limit=600, rate_period=6.0, live_concurrency=1, live_execution_limit=5.0)
TICK, LEASE_MARGIN, COMMAND_TIMEOUT = 0.2, 0.5, 0.4


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def governor(server: RedisServer, limits: Limits = ONE_SLOT) -> RedisGovernor:
    return RedisGovernor(
        server.url,
        account="someone@example.com",
        limits=limits,
        tick=TICK,
        lease_margin=LEASE_MARGIN,
        command_timeout=COMMAND_TIMEOUT,
    )


async def until_queued(
    gov: RedisGovernor, count: int, platform: Platform = "claude", timeout: float = 5.0
) -> None:
    """Wait (bounded) until Redis reported ``count`` waiters queued for ``platform``'s slots."""
    async with asyncio.timeout(timeout):
        while gov.state().platforms[platform].shared_waiting != count:  # noqa: ASYNC110 - Redis's count
            await asyncio.sleep(0.01)


def local_order(queued: list[tuple[str, int]]) -> list[str]:
    """The order the in-process lanes serve ``queued`` (name, priority) in."""
    lanes = Lanes()
    names = {lanes.push(priority): name for name, priority in queued}
    served = []
    while (f := lanes.pop()) is not None:
        f.cancel()  # only its place matters
        served.append(names[f])
    return served


async def test_slots_go_to_the_higher_lane_of_any_process_by_the_local_lanes_rule(
    redis_server: RedisServer,
) -> None:
    # One slot, held. Bulk waiters (priority -1) of one process queue first, then interactive
    # ones (0) of another; every grant is released at once, so the slot passes from waiter to
    # waiter and the grant order is the account's lane order.
    holder, bulk, interactive = (
        governor(redis_server),
        governor(redis_server),
        governor(redis_server),
    )
    order: list[str] = []

    async def call(gov: RedisGovernor, name: str, priority: int) -> None:
        await gov.acquire("claude", priority=priority)
        order.append(name)
        gov.release("claude")

    queued = [(f"bulk{i}", -1) for i in range(4)] + [(f"ask{i}", 0) for i in range(10)]
    tasks = []
    try:
        await holder.acquire("claude")
        for n, (name, priority) in enumerate(queued):
            gov = bulk if priority < 0 else interactive
            tasks.append(asyncio.create_task(call(gov, name, priority)))
            await until_queued(gov, n + 1)  # queued in Redis in this order
        holder.release("claude")
        await asyncio.wait_for(asyncio.gather(*tasks), 10.0)
    finally:
        for task in tasks:
            task.cancel()
        for g in (holder, bulk, interactive):
            await g.aclose()
    assert order == local_order(queued), order
    # Said plainly: interactive calls first, a bulk one after every PATIENCE of them.
    assert order.index("bulk0") == PATIENCE
    assert order[:PATIENCE] == [f"ask{i}" for i in range(PATIENCE)]


async def test_a_lone_lower_lane_is_plain_fifo_and_a_withdrawn_waiter_leaves_its_lane(
    redis_server: RedisServer,
) -> None:
    holder, other = governor(redis_server), governor(redis_server)
    order: list[str] = []

    async def call(name: str, priority: int) -> None:
        await other.acquire("claude", priority=priority)
        order.append(name)
        other.release("claude")

    try:
        await holder.acquire("claude")
        tasks = {}
        for n, name in enumerate(["b0", "b1", "b2", "top"]):
            priority = 5 if name == "top" else -3
            tasks[name] = asyncio.create_task(call(name, priority))
            await until_queued(other, n + 1)
        tasks["top"].cancel()  # withdrawn: the lane it leaves must not hold up the others
        await asyncio.gather(tasks["top"], return_exceptions=True)
        await until_queued(other, 3)  # its withdrawal reached Redis
        holder.release("claude")
        await asyncio.wait_for(asyncio.gather(*(tasks[n] for n in ("b0", "b1", "b2"))), 10.0)
    finally:
        await holder.aclose()
        await other.aclose()
    assert order == ["b0", "b1", "b2"]


async def test_token_only_calls_beyond_the_horizon_ask_again_and_all_go_at_the_rate(
    redis_server: RedisServer,
) -> None:
    # Calls without a platform (Standard, metadata) hold no slot: beyond the schedule's horizon
    # they are told when it has room and ask again then. 40 of them from two processes at
    # once: every one goes, no faster than the account's rate, without polling Redis.
    limits = Limits(rate_limit=60, rate_period=1.0)
    govs = [governor(redis_server, limits) for _ in range(2)]
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    async def call(gov: RedisGovernor) -> None:
        await gov.acquire(None)
        sent.append(loop.time())

    try:
        for gov in govs:
            await gov.check_health()  # connected, a first start's freeze paid
        start = loop.time()
        calls = [call(govs[n % 2]) for n in range(40)]
        await asyncio.wait_for(asyncio.gather(*calls), 40 * limits.interval + 2.0)
        elapsed = loop.time() - start
        commands = sum(gov.commands for gov in govs)
    finally:
        for gov in govs:
            await gov.aclose()
    sent.sort()
    # The rate: after the burst (capacity 2), one send time per interval (the loop's clock
    # reads up to a millisecond late).
    assert sent[-1] - start >= (40 - limits.capacity) * limits.interval - 0.002
    # Asking again when told, not spinning: a process's refused calls ask again together, and
    # the processes are told turns an interval apart, so about one script goes per send time
    # (at most one per process per interval), besides the health checks and ticks.
    rounds = elapsed / limits.interval + 1
    assert commands <= len(govs) * (rounds + elapsed / TICK + 2), (commands, elapsed)


RATE_BOUND = Limits(rate_limit=10, rate_period=1.0, live_concurrency=20)
"""The rate binds (a send time every 0.14 s), slots to spare: the send times are what the
lanes compete for. With send times an interval apart, a grant a busy loop reads some tens of
milliseconds late is still sent in the order Redis granted it."""
PAUSE = 1.5
"""Seconds the account is held while the backlogs queue in Redis (a script or two a call)."""
Call = tuple[str, int, Platform, int]
"""A call to queue: its name, process (a governor's index), platform and priority."""


async def sent_at_the_rate(server: RedisServer, calls: list[Call]) -> list[str]:
    """Queue ``calls`` in Redis, in this order, while the account is paused; their names in
    the order the rate then sends them."""
    holder = governor(server, RATE_BOUND)
    govs = [governor(server, RATE_BOUND) for _ in range(1 + max(c[1] for c in calls))]
    loop = asyncio.get_running_loop()
    order: list[str] = []

    async def call(gov: RedisGovernor, name: str, platform: Platform, priority: int) -> None:
        await gov.acquire(platform, priority=priority)
        order.append(name)
        gov.release(platform)

    tasks = []
    try:
        for gov in (holder, *govs):
            await gov.check_health()  # connected, a first start's freeze paid
        # Held as after a 40202: no send time until every call is queued in its lane. The
        # health check's settle carries the pause (the writer yields to it).
        paused = loop.time()
        holder.pause(PAUSE)
        await holder.check_health()
        queued: Counter[Platform] = Counter()
        for name, n, platform, priority in calls:
            tasks.append(asyncio.create_task(call(govs[n], name, platform, priority)))
            queued[platform] += 1
            await until_queued(govs[n], queued[platform], platform)  # in this order
        room = PAUSE - HORIZON * RATE_BOUND.interval  # when a first send time may be handed out
        assert loop.time() - paused < room, "the backlogs queued too late to test the order"
        timeout = PAUSE + len(calls) * RATE_BOUND.interval + 5.0
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    finally:
        for task in tasks:
            task.cancel()
        for gov in (holder, *govs):
            await gov.aclose()
    return order


async def test_send_times_go_to_the_higher_lane_on_any_platform_and_a_lower_lane_is_not_starved(
    redis_server: RedisServer,
) -> None:
    # One process's interactive calls on Claude (priority 1) and another's bulk sweep on
    # ChatGPT (-1), both with a backlog. Slots are plenty: each send time of the account goes
    # to the highest lane waiting on any platform, except that the bulk lane, passed over
    # PATIENCE times, is served next.
    asks: list[Call] = [(f"ask{i}", 0, "claude", 1) for i in range(2 * PATIENCE + 1)]
    bulk: list[Call] = [(f"bulk{i}", 1, "chat_gpt", -1) for i in range(3)]
    calls = bulk + asks  # the lower lane queued first: the order is the lanes', not FIFO
    order = await sent_at_the_rate(redis_server, calls)
    # The local lanes' rule, over the account's send times.
    assert order == local_order([(name, priority) for name, _, _, priority in calls]), order
    # Said plainly: the higher lane first, and while both wait, a bulk call in every
    # PATIENCE + 1 sends.
    assert order[:PATIENCE] == [f"ask{i}" for i in range(PATIENCE)]
    both_wait = order[: order.index(asks[-1][0]) + 1]
    for k in range(len(both_wait) - PATIENCE):
        window = both_wait[k : k + PATIENCE + 1]
        assert any(name.startswith("bulk") for name in window), (k, order)


async def test_platforms_of_one_lane_take_turns_at_the_accounts_send_times(
    redis_server: RedisServer,
) -> None:
    # Three platforms, one lane, two processes, each platform with a backlog queued one after
    # the other: the send times go round the platforms, whichever queued first or most.
    calls: list[Call] = [
        *((f"claude{i}", 0, "claude", 0) for i in range(4)),
        *((f"chat_gpt{i}", 1, "chat_gpt", 0) for i in range(4)),
        *((f"gemini{i}", 0, "gemini", 0) for i in range(4)),
    ]
    order = await sent_at_the_rate(redis_server, calls)
    platforms = [name.rstrip("0123456789") for name in order]
    assert sorted(platforms[:3]) == ["chat_gpt", "claude", "gemini"], order
    assert platforms[3:] == platforms[:-3], order  # the same turn, round after round
    for p in ("claude", "chat_gpt", "gemini"):
        assert [name for name in order if name.startswith(p)] == [f"{p}{i}" for i in range(4)]


async def test_two_lanes_of_one_platform_beside_another_platform_keep_the_lanes_rule(
    redis_server: RedisServer,
) -> None:
    # One process's interactive (1) and bulk (-1) calls on Claude, another's calls (0) on
    # ChatGPT, all with a backlog: the account's send times still follow the lanes' rule over
    # every lane waiting, as if all were queued in one place: the interactive calls are never
    # held up by the middle lane unless it was passed over PATIENCE times.
    calls: list[Call] = [
        *((f"ask{i}", 0, "claude", 1) for i in range(8)),
        *((f"bulk{i}", 0, "claude", -1) for i in range(2)),
        *((f"mid{i}", 1, "chat_gpt", 0) for i in range(6)),
    ]
    order = await sent_at_the_rate(redis_server, calls)
    expected = local_order([(name, priority) for name, _, _, priority in calls])
    assert order == expected, " ".join(order)
