"""What the emulator saw of the Standard method: tasks posted, collected, delivered, polled.

Part of `ServerRecord` (as ``record.standard``); tests read it to prove that nothing was posted
twice, that no task_post carried more than the limit, that every result was collected and that
tasks_ready stayed within its own limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import msgspec

from .._platforms import Platform


class PostRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One task that a task_post call created (and charged)."""

    id: str
    platform: Platform
    key: str
    """sha256 of the task as sorted-key JSON, postback/pingback URLs left out (`task_key`)."""
    tag: str | None = None
    posted: float
    """``time.monotonic()`` in the emulator's process."""
    charged: float


def most_in_window(times: Sequence[float], period: float) -> int:
    """The most of the sorted ``times`` that fall in any half-open window of ``period``."""
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


class StandardRecord:
    """The Standard method's side of the record."""

    def __init__(self) -> None:
        self.posts: list[PostRecord] = []
        """Every task created, in order."""
        self.post_sizes: list[int] = []
        """How many tasks each task_post call carried, refused ones included."""
        self.collected: Counter[str] = Counter()
        """Successful task_get answers per task id."""
        self.delivered: Counter[str] = Counter()
        """Postbacks and pingbacks a receiver accepted (2xx), per task id."""
        self.failed_deliveries: Counter[str] = Counter()
        """Postbacks and pingbacks that failed (refused, error status, timeout), per task id."""
        self.ready_calls: list[float] = []
        """Arrival time of every tasks_ready call, those answered 40202 included."""
        self.refunded = 0.0
        """Prepayment given back (or, if negative, charged on top) once tasks finished."""
        self.postback_ids: set[str] = set()
        """Ids of tasks posted with a ``postback_url`` (delivery carries their result)."""

    def _post(self, post: PostRecord, *, postback: bool) -> None:
        self.posts.append(post)
        if postback:
            self.postback_ids.add(post.id)

    # -- read by tests -------------------------------------------------------------------

    def posted_twice(self) -> dict[str, int]:
        """Task keys created more than once, with how many times."""
        counts = Counter(p.key for p in self.posts)
        return {key: n for key, n in counts.items() if n > 1}

    def uncollected(self) -> list[str]:
        """Ids of created tasks never collected (by task_get or an accepted postback)."""
        return [
            p.id for p in self.posts if not self.collected[p.id] and not self.delivered_result(p.id)
        ]

    def delivered_result(self, task_id: str) -> bool:
        """Whether a postback carrying the result was accepted for ``task_id``."""
        return self.delivered[task_id] > 0 and task_id in self.postback_ids

    def max_ready_calls_in_window(self, period: float) -> int:
        """The most tasks_ready calls that arrived in any window of ``period`` seconds."""
        return most_in_window(self.ready_calls, period)

    @property
    def total_charged(self) -> float:
        """USD taken at posting (base price plus prepayment) for every created task."""
        return sum(p.charged for p in self.posts)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able copy, for a record read from another process."""
        return {
            "posts": msgspec.to_builtins(self.posts),
            "post_sizes": list(self.post_sizes),
            "collected": dict(self.collected),
            "delivered": dict(self.delivered),
            "failed_deliveries": dict(self.failed_deliveries),
            "ready_calls": list(self.ready_calls),
            "refunded": self.refunded,
            "postback_ids": sorted(self.postback_ids),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StandardRecord:
        """Rebuild from `to_dict` output."""
        record = cls()
        record.posts = msgspec.convert(data.get("posts", []), list[PostRecord])
        record.post_sizes = msgspec.convert(data.get("post_sizes", []), list[int])
        for name in ("collected", "delivered", "failed_deliveries"):
            counts = msgspec.convert(data.get(name, {}), dict[str, int])
            setattr(record, name, Counter(counts))
        record.ready_calls = msgspec.convert(data.get("ready_calls", []), list[float])
        record.refunded = msgspec.convert(data.get("refunded", 0.0), float)
        record.postback_ids = set(msgspec.convert(data.get("postback_ids", []), list[str]))
        return record

    def __repr__(self) -> str:
        return (
            f"StandardRecord(posts={len(self.posts)}, calls={len(self.post_sizes)}, "
            f"collected={len(self.collected)}, delivered={len(self.delivered)}, "
            f"posted_twice={len(self.posted_twice())})"
        )
