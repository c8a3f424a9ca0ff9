"""`SweepControl`: stop a running sweep gracefully, and watch what it is doing.

A graceful stop sends nothing more but waits for every call already sent, so that each answer
DataForSEO bills is recorded; only calls still queued (waiting for a slot, a rate token, the
budget, or a retry's backoff) are dropped, and a re-run sends those. The client marks each
worker's call while its request is on the wire (`CallWatch`, through a context variable), so
the sweep can tell the calls it must wait for from the ones it can drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

from .._http._observe import CallWatch

if TYPE_CHECKING:
    from ._budget import Budget


STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, and what Docker, Kubernetes and systemd send to stop a service (and a closed
terminal)."""


class SweepControl:
    """Steers and watches one sweep: ``iter_prompts(..., control=control)``.

    ``control.stop()`` asks for a graceful stop: nothing more is sent, calls already sent are
    awaited and their results recorded and yielded, then the stream ends. Counters tell what
    the sweep is doing (``in_flight``, ``duplicates``, money spent) and, once it ended, what
    it left behind (``abandoned``).
    """

    def __init__(self) -> None:
        self.stopping = False
        """True once `stop` was called."""
        self.duplicates = 0
        """Items skipped because an identical one (same key) came earlier in this sweep."""
        self.abandoned = 0
        """Calls in flight when the sweep was cancelled or closed without waiting: DataForSEO
        may run and bill them, and their answers are lost (a re-run sends them again)."""
        self.posted = 0
        """Standard tasks posted and not collected when the sweep ended: recorded in the sink,
        they are collected (never posted again) by a re-run."""
        self.signal: int | None = None
        """The first signal that stopped the sweep (`stop_on_signals`), e.g. ``signal.SIGTERM``."""
        self._watches: list[CallWatch] = []
        self._budget: Budget | None = None
        self._on_stop: Callable[[], None] | None = None
        self._used = False

    def stop(self) -> None:
        """Send nothing more; finish and record the calls already sent, then end the sweep."""
        if self.stopping:
            return
        self.stopping = True
        for watch in self._watches:
            watch.stopping = True
        if self._on_stop is not None:
            self._on_stop()

    @contextlib.contextmanager
    def stop_on_signals(self, *signals: int) -> Iterator[SweepControl]:
        """While the block runs, the first signal stops the sweep gracefully, a second abandons.

        ``with control.stop_on_signals(): async for r in iter_prompts(..., control=control)``:
        the first SIGINT, SIGTERM or SIGHUP (or ``signals``) is `stop`: nothing more is sent,
        calls on the wire are answered and recorded, the stream ends and the block carries on
        (``control.signal`` says which signal came, for an exit status of 128 + its number).
        A second one cancels the task that entered the block: calls in flight are abandoned.
        The previous handlers are back when the block ends. Needs a running loop (Unix).
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        chosen = signals or STOP_SIGNALS
        previous = {sig: signal.getsignal(sig) for sig in chosen}

        def handle(sig: int) -> None:
            if self.signal is None:
                self.signal = sig
                self.stop()
            elif task is not None:
                task.cancel()

        for sig in chosen:
            loop.add_signal_handler(sig, handle, sig)
        try:
            yield self
        finally:
            for sig, before in previous.items():
                loop.remove_signal_handler(sig)
                if before is not None:  # None: set outside Python, nothing to put back
                    signal.signal(sig, before)  # remove_signal_handler leaves the default

    @property
    def in_flight(self) -> int:
        """Calls whose request is on the wire now."""
        return sum(1 for w in self._watches if w.sending)

    @property
    def spent(self) -> float:
        """USD spent by the results file and this sweep, unknown charges at their estimate."""
        return self._budget.spent if self._budget is not None else 0.0

    @property
    def unknown(self) -> int:
        """Calls of this sweep whose charge is unknown (answer lost after the send)."""
        return self._budget.unknown if self._budget is not None else 0

    @property
    def unknown_cost(self) -> float:
        """The estimates counted for those calls, USD."""
        return self._budget.unknown_cost if self._budget is not None else 0.0

    @property
    def refused(self) -> int:
        """Items not sent because they would have crossed ``max_cost``."""
        return self._budget.refused if self._budget is not None else 0

    def _claim(self) -> None:
        if self._used:
            raise RuntimeError("a SweepControl steers one sweep; make a new one")
        self._used = True

    def _attach(self, budget: Budget, on_stop: Callable[[], None]) -> None:
        self._budget = budget
        self._on_stop = on_stop

    def _watch(self) -> CallWatch:
        watch = CallWatch()
        watch.stopping = self.stopping
        self._watches.append(watch)
        return watch

    def __repr__(self) -> str:
        state = "stopping" if self.stopping else "running" if self._used else "not started"
        return (
            f"<SweepControl {state}: {self.in_flight} in flight, {self.duplicates} duplicates, "
            f"${self.spent:.4f} spent>"
        )
