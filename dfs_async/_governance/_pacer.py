"""The account's pacing: `aiolimiter.AsyncLimiter` as a smooth bucket, served in arrival order.

The account limit is "N calls in any window of P seconds", measured at the server.
``AsyncLimiter(N, P)``, the usual configuration, holds N units: it admits N calls at once and
then N/P per second, so a cold start can put nearly 2N calls in the first window. Here the
bucket is small and refilled smoothly instead: ``AsyncLimiter(C, C·T)`` with capacity
``C = Limits.capacity`` (the burst, one late-wake credit, see below) and one unit refilled
every ``T = Limits.interval``. A call may go when the bucket's level is at most ``C - 1`` and
adds one unit; the level drains at ``1/T`` per second down to zero.

**The window bound, with the headroom in calls and seconds.** Let the server see a call ``d``
seconds after the pacer admitted it, with ``d`` anywhere in ``[d0, d0 + J]`` (``J`` =
``Limits.jitter``). The calls arriving in a server window ``[t, t + P]`` were admitted in
``[t - d0 - J, t + P - d0]``, a span of ``P + J``. Over any span ``S`` the bucket admits at
most the free room at its start (at most ``C`` units) plus what drains during it
(``S / T``). So a window holds at most ``(P + J) / T + C`` calls. `Limits` sets
``T = (P + J + s) / (N - burst - credit)`` and ``C = burst + credit + floor(s / T)`` with
``s`` = one step of uvloop's clock (1 ms), which makes it ``N - x`` with
``x = s/T - floor(s/T)``, above 0 unless ``T`` divides a millisecond: at most ``N - 1`` whole
calls. Nothing of the rate is set aside beyond this: ``J / P`` of it, 0.17 % at 2000 calls /
60 s with the default ``J`` = 0.1 s, 0.33 % at 300 / 6 s with loopback's 20 ms.

**A stall of the client's own process needs no allowance.** While the event loop is held (a
garbage collection, the process descheduled) the pacer admits nothing; only calls already
admitted but not yet written leave late, normally the one admitted just before (admission to
write takes ~0.2 ms). The other calls in a window holding such a call were admitted after the
stall, within a span of ``P + J``: at most ``N - 1`` of them, so the window holds at most N.
What ``J`` must cover is bunching after the client has written: the network, and the server's
own stalls, which let the calls of a whole stall in together. Measured on loopback
(benchmarks/README.md, "The pacer"): the spikes were Python's full garbage collections,
30–180 ms as the machine's load grows, in the client (harmless, as above) and in the emulator
(calls 35–52 ms apart let in together at a load of 3–4, 282 ms at 9–11). The emulator now
freezes its start-up objects out of the collector (a real server's edge stamps arrivals
whatever its application does), and the spread left is 0.4–8 ms at a load of 1.5, 12 ms for the
first calls while connections open: `AsyncClient` allows 20 ms to a loopback host, 0.1 s to
any other (``Limits.jitter``). Under steady demand the late-wake credit below is unused, so a
window's count stays under N for bunches up to ``J + T`` (40 ms at 300 / 6 s, 26 ms at
500 / 3 s with 20 ms); the proof covers ``J``. A host loaded to several times its cores
stalls the server's process for longer and sets more.

**Why one unit more than the burst: the late-wake credit.** Under sustained demand the level
sits between ``burst`` and ``burst + 1``. A waiter the event loop wakes δ late finds the level
δ/T lower, adds its unit, and the next waiter's turn comes δ sooner: the schedule keeps its
place instead of slipping by δ per call (a millisecond per call at 50 calls/s would cost 5 % of
the rate). Only a spell long enough to drain the bucket empty loses time, which is idle time.
It costs one call per window, so `Limits` drops it for intervals of a second or more (there a
late wake costs under 0.5 % of the rate), which lets ``Limits(rate_limit=2)`` work. With the
credit this is exactly the GCRA the client used before (a call may go at ``t >= tat - tau``
and sets ``tat = max(tat, t - T) + T``, ``tau = (C - 2)·T``): with ``level = (tat - t)/T + 1``
the two admit the same calls at the same times (benchmarks/gcra_governor.py keeps it as the
reference; the Redis governor's scripts run it with the same ``tau``).

**The clock.** `AsyncLimiter` reads ``loop.time()``. On uvloop that advances once a
millisecond and reads up to a millisecond behind: the bucket then drains later than it could
(safe), and at rates above ``C`` calls per millisecond it could admit only ``C`` per tick; the
``floor(s / T)`` units in ``C`` (zero below 1,000 calls a second) let a tick's calls through.

**What is added around `AsyncLimiter`, through its public API only** (``has_capacity``,
``acquire``):

- *Arrival order, in priority lanes.* When room frees, AsyncLimiter wakes its first waiter,
  but a newcomer that runs before that waiter resumes takes the room, and the robbed waiter
  queues again. Here one call at a time waits in the bucket; the others wait their turn in
  `Lanes` (higher priority first, first come first served within a lane, and a lower lane
  passed over `PATIENCE` times is served next), and the turn is handed straight on.
- *The pause after a 40202.* `pause` makes every call wait until the server's window has
  emptied; a call that was already waiting in the bucket when the pause began spends its unit
  on nothing (conservative) and takes a fresh one after the pause.
- *Giving back a token granted to a call cancelled before it was sent.* AsyncLimiter adds a
  call's unit only when the call resumes; one cancelled after being woken never adds it, and
  the lock passes the turn to the next call in line. Nothing is taken, so nothing is given back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiolimiter import AsyncLimiter

from ._lanes import Lanes


class Pacer:
    """Admits calls at one per ``interval``, ``capacity`` back to back, in arrival order.

    ``clock`` reads the event loop's time (the bucket reads ``loop.time()``); None: the running
    loop's, read at each call.
    """

    def __init__(
        self, interval: float, capacity: int = 2, clock: Callable[[], float] | None = None
    ) -> None:
        self.interval = interval
        self.capacity = capacity
        self._bucket = AsyncLimiter(capacity, capacity * interval)
        self._clock = clock or _loop_time
        self._line = Lanes()
        self._turn_taken = False
        """A call holds the turn (it waits in the bucket, or is about to)."""
        self._paused_until = float("-inf")
        self._queued = 0

    @property
    def waiting(self) -> int:
        """Calls queued for a rate token."""
        return self._queued

    async def acquire(self, priority: int = 0) -> None:
        """Wait for this call's turn (in its ``priority`` lane); a cancelled wait takes nothing."""
        if not self._queued and self._paused_until <= self._clock() and self._bucket.has_capacity():
            # Nobody in line, no pause, room in the bucket: acquire() takes the unit at once
            # (no await between the check and its own, so nothing can take the room first).
            await self._bucket.acquire()
            return

        self._queued += 1
        try:
            await self._take_turn(priority)
            try:
                while True:
                    wait = self._paused_until - self._clock()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    await self._bucket.acquire()
                    if self._paused_until <= self._clock():
                        return
                    # Paused while this call waited in the bucket: its unit is spent on
                    # nothing; wait the pause out and take a fresh one.
            finally:
                self._pass_turn()
        finally:
            self._queued -= 1

    async def _take_turn(self, priority: int) -> None:
        if not self._turn_taken and not self._line:
            self._turn_taken = True
            return
        turn = self._line.push(priority)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn()  # handed the turn in the tick it was cancelled: pass it on
            raise

    def _pass_turn(self) -> None:
        following = self._line.pop()
        if following is None:
            self._turn_taken = False
        else:
            following.set_result(None)  # the turn passes on; it stays taken

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (the server said its window is full)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def close(self) -> None:
        """Nothing to drop: every timer the pacer sets belongs to a call waiting in it."""


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
