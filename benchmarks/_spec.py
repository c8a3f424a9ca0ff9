"""What a benchmark child is asked to do (`RunSpec`) and what it reports back (`RunResult`).

Both cross a process boundary as JSON. The work itself is the same for every peer: call ``i``
sends prompt ``i // 4`` to target ``i % 4``, so a four-platform sweep of N calls is N/4
prompts, each to chat_gpt, claude, gemini and perplexity in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Literal, NamedTuple, TypeAlias

import msgspec

from dfs_async import PLATFORMS, Platform

Mode: TypeAlias = Literal["sweep", "stream", "calls"]
"""sweep: every call at once through the peer's governance, results kept (as ``gather`` does);
stream: a lazily read input with results written to a file (memory suite);
calls: closed-loop callers, each timing its own calls one after another (overhead suite)."""

TARGETS: Final[tuple[tuple[Platform, str], ...]] = (
    ("chat_gpt", "gpt-4.1-mini"),
    ("claude", "claude-sonnet-4-0"),
    ("gemini", "gemini-2.5-flash"),
    ("perplexity", "sonar"),
)
assert tuple(p for p, _ in TARGETS) == PLATFORMS

LIFTED_RATE: Final = 1_000_000_000
"""Calls per second given to a peer's rate limiter when the limits are lifted: the limiter
still runs (its cost is part of the peer), it just never has to wait."""


class RunSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One peer, one run, against one emulator."""

    peer: str
    mode: Mode
    base_url: str
    login: str
    password: str
    calls: int
    """Live calls in all; a multiple of 4 (one per target)."""
    slots: int
    """Live calls in flight per platform the client allows (the floor: 4 x slots in all)."""
    rate_limit: int | None = None
    """Calls per ``rate_period`` the client allows; None lifts the limit."""
    rate_period: float = 60.0
    workers: int = 0
    """Calls mode: closed-loop callers per platform."""
    uvloop: bool = False
    sink: str | None = None
    """Stream mode: the results file."""

    @property
    def rate(self) -> float:
        """Calls per second the client allows (`LIFTED_RATE` when lifted)."""
        if self.rate_limit is None:
            return float(LIFTED_RATE)
        return self.rate_limit / self.rate_period


class RunResult(msgspec.Struct, kw_only=True):
    """What the child measured; ``unavailable`` says why there is nothing else."""

    ok: int = 0
    """Calls answered with task status 20000."""
    outcomes: dict[str, int] = {}
    """Every other outcome: a DataForSEO status code, ``HTTP nnn`` or an exception name."""
    wall: float = 0.0
    cpu: float = 0.0
    """User + system seconds of the child (every thread) during the run alone."""
    rss_before_kb: int = 0
    """Peak RSS (the child's own, VmHWM) after imports and setup, before the run."""
    rss_peak_kb: int = 0
    """Peak RSS (VmHWM) at the end of the run."""
    rtts: dict[str, float] = {}
    """Calls mode: seconds per call, by tag."""
    unavailable: str | None = None


class Work(NamedTuple):
    """One Live call of a run."""

    number: int
    platform: Platform
    model: str
    prompt: str
    tag: str | None


def prompt_text(n: int) -> str:
    """The text of prompt ``n``."""
    return f"benchmark prompt {n}: which project management tool suits a small agency?"


def work(spec: RunSpec) -> Iterator[Work]:
    """The calls of ``spec`` in order, made lazily (the memory suite reads 100k of them)."""
    tagged = spec.mode == "calls"
    for i in range(spec.calls):
        platform, model = TARGETS[i % len(TARGETS)]
        yield Work(i, platform, model, prompt_text(i // len(TARGETS)), f"c{i}" if tagged else None)
