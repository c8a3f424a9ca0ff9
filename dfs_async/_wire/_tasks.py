"""Answers of the Standard method's task_post and tasks_ready endpoints.

task_get answers the same envelope as Live and decodes into `LiveResponse`; only the two
endpoints below have shapes of their own, documented on
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/ and
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/tasks_ready/.
As everywhere, every field has a default, unknown keys are ignored and the client reads a
``null`` as absent (`dfs_async._wire._nulls`).
"""

from __future__ import annotations

import msgspec

from .._errors import APIError, error_for_code
from ._models import _EnvelopeBase, _TaskBase

TASK_CREATED = 20100
"""The task-level code of a task that task_post accepted ("Task Created.")."""


class PostedTask(_TaskBase, frozen=True, kw_only=True):
    """One task of a task_post answer: its ``id`` when created, or the error that refused it.

    ``result`` is always null on task_post; ``cost`` is the prepayment taken for the task.
    """

    result: list[dict[str, object]] | None = None

    @property
    def ok(self) -> bool:
        """True when DataForSEO created the task (20100)."""
        return self.status_code == TASK_CREATED

    @property
    def error(self) -> APIError | None:
        """The typed error that refused the task (40006 over the limit, 40501, ...), if any."""
        if self.ok:
            return None
        return error_for_code(
            self.status_code, self.status_message, task_id=self.id or None, cost=self.cost
        )

    @property
    def tag(self) -> str | None:
        """The ``tag`` the task was posted with, as echoed in ``data``."""
        tag = (self.data or {}).get("tag")
        return tag if isinstance(tag, str) else None


class TaskPostResponse(_EnvelopeBase, frozen=True, kw_only=True):
    """The whole envelope of a task_post call: one `PostedTask` per task sent, in order."""

    tasks: list[PostedTask] = msgspec.field(default_factory=list)

    @property
    def ids_by_tag(self) -> dict[str, str]:
        """Task id of every created task that carries a tag, by tag."""
        return {t.tag: t.id for t in self.tasks if t.ok and t.tag is not None and t.id}


class ReadyTask(msgspec.Struct, frozen=True, kw_only=True):
    """A finished task not collected yet, as tasks_ready lists it."""

    id: str = ""
    se: str | None = None
    se_type: str | None = None
    date_posted: str | None = None
    tag: str | None = None
    endpoint: str | None = None
    """The path that collects the result (``.../task_get/{id}``)."""


class TasksReadyTask(_TaskBase, frozen=True, kw_only=True):
    """The task of a tasks_ready answer: up to 1000 `ReadyTask` items."""

    result: list[ReadyTask] | None = None


class TasksReadyResponse(_EnvelopeBase, frozen=True, kw_only=True):
    """The whole envelope of a tasks_ready call."""

    tasks: list[TasksReadyTask] = msgspec.field(default_factory=list)

    @property
    def ready(self) -> list[ReadyTask]:
        """Every listed task, across the envelope's tasks."""
        return [item for task in self.tasks for item in task.result or ()]
