"""Response shapes: msgspec Structs whose field names mirror DataForSEO's JSON.

Every field has a default, because the API adds fields over time and omits others on errors;
unknown keys are ignored (msgspec's default). Item ``type`` is a plain string rather than a
tagged union, so an item type DataForSEO adds tomorrow decodes instead of failing. A field
typed ``T | None`` keeps a ``null``; the others are strict, and the client reads a ``null``
there as absent on a second pass (`dfs_async._wire._nulls`), so the common body decodes fast.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeAlias

import msgspec

if TYPE_CHECKING:
    JSONValue: TypeAlias = object
else:
    # msgspec decodes an ``object`` field through its custom-type path (an isinstance check
    # per value); ``Any`` takes the plain path. Type checkers still see ``object``.
    JSONValue = Any


class Annotation(msgspec.Struct, frozen=True, gc=False):
    """A cited source inside a message section."""

    title: str | None = None
    url: str | None = None
    """The link as the platform gives it; for Gemini a Vertex AI grounding redirect."""
    direct_url: str | None = None
    """The cited page itself, where ``url`` is a redirect to it (Gemini)."""
    start_index: int | None = None
    end_index: int | None = None
    text: str | None = None

    @property
    def source_url(self) -> str | None:
        """The cited page: ``direct_url`` when present, else ``url``; count domains on this."""
        return self.direct_url or self.url


# gc=False on the Structs of a Live answer: a decoded JSON tree holds no reference cycle, and
# untracked Structs cost the collector nothing (fewer allocations counted towards a collection).
class Section(msgspec.Struct, frozen=True, gc=False):
    """A part of an item: ``summary_text`` for reasoning, ``text`` for a message."""

    type: str = ""
    text: str = ""
    annotations: list[Annotation] | None = None
    """None when web search was off; empty when it found nothing to cite."""


class Item(msgspec.Struct, frozen=True, gc=False):
    """A response item; ``type`` is ``"reasoning"``, ``"message"``, or one added later."""

    type: str = ""
    sections: list[Section] = msgspec.field(default_factory=list)


class LiveResult(msgspec.Struct, frozen=True, gc=False):
    """The model's answer to one Live task."""

    model_name: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int | None = None
    web_search: bool = False
    money_spent: float = 0.0
    datetime: str = ""
    items: list[Item] = msgspec.field(default_factory=list)
    fan_out_raw: JSONValue = msgspec.field(default=None, name="fan_out_queries")
    """``fan_out_queries`` exactly as sent: the official schema types Perplexity's as anything."""

    @property
    def fan_out_queries(self) -> list[str] | None:
        """The related searches the model ran: the strings of ``fan_out_queries``, or None."""
        raw = self.fan_out_raw
        if raw is None:
            return None
        if isinstance(raw, str):
            return [raw]
        if isinstance(raw, list):
            return [q for q in raw if isinstance(q, str)]
        return []

    @property
    def text(self) -> str:
        """The answer's text: every message section, joined by blank lines."""
        return "\n\n".join(
            s.text for item in self.items if item.type == "message" for s in item.sections
        )

    def annotations(self) -> list[Annotation]:
        """Every cited source of the answer, in order."""
        return [
            annotation
            for item in self.items
            if item.type == "message"
            for section in item.sections
            for annotation in section.annotations or ()
        ]


class ModelInfo(msgspec.Struct, frozen=True):
    """One model a platform offers."""

    model_name: str = ""
    web_search_supported: bool = False
    task_post_supported: bool = False
    reasoning: bool | None = None
    """Referenced by the request docs but missing from the official schema; None if absent."""


class UserData(msgspec.Struct, frozen=True):
    """The account: limits, usage and money (``/v3/appendix/user_data``)."""

    login: str = ""
    timezone: str = ""
    rates: dict[str, dict[str, object]] = msgspec.field(default_factory=dict)
    money: dict[str, object] = msgspec.field(default_factory=dict)
    price: dict[str, object] = msgspec.field(default_factory=dict)
    backlinks_subscription_expiry_date: str | None = None
    llm_mentions_subscription_expiry_date: str | None = None

    @property
    def minute_limit(self) -> int | None:
        """The account's calls-per-minute limit (``rates.limits.minute.total``), if reported.

        The official schema types it as a number (``2000.0``); a fraction rounds down, since
        the limit is a count of calls.
        """
        limits = self.rates.get("limits") or {}
        minute = limits.get("minute") if isinstance(limits, dict) else None
        total = minute.get("total") if isinstance(minute, dict) else minute
        if isinstance(total, bool) or not isinstance(total, int | float):
            return None
        return int(total) if math.isfinite(total) and total >= 1 else None

    @property
    def balance(self) -> float | None:
        """The account's balance in USD, if reported."""
        value = self.money.get("balance")
        return float(value) if isinstance(value, int | float) else None


class _TaskBase(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str = ""
    status_code: int = 0
    status_message: str = ""
    time: str = ""
    cost: float = 0.0
    result_count: int = 0
    path: list[str] = msgspec.field(default_factory=list)
    data: dict[str, JSONValue] | None = None


class LiveTask(_TaskBase, frozen=True, kw_only=True):
    """One task of a Live answer; ``result`` is None when the task failed."""

    result: list[LiveResult] | None = None


class ModelsTask(_TaskBase, frozen=True, kw_only=True):
    """The task of a Models answer."""

    result: list[ModelInfo] | None = None


class UserDataTask(_TaskBase, frozen=True, kw_only=True):
    """The task of a user_data answer."""

    result: list[UserData] | None = None


class _EnvelopeBase(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    version: str = ""
    status_code: int = 0
    status_message: str = ""
    time: str = ""
    cost: float = 0.0
    tasks_count: int = 0
    tasks_error: int = 0


class LiveResponse(_EnvelopeBase, frozen=True, kw_only=True):
    """The whole envelope of a Live call."""

    tasks: list[LiveTask] = msgspec.field(default_factory=list)

    @property
    def result(self) -> LiveResult | None:
        """The first task's first result, or None when there is none."""
        if self.tasks and self.tasks[0].result:
            return self.tasks[0].result[0]
        return None


class ModelsResponse(_EnvelopeBase, frozen=True, kw_only=True):
    """The whole envelope of a Models call."""

    tasks: list[ModelsTask] = msgspec.field(default_factory=list)


class UserDataResponse(_EnvelopeBase, frozen=True, kw_only=True):
    """The whole envelope of a user_data call."""

    tasks: list[UserDataTask] = msgspec.field(default_factory=list)


class StatusEnvelope(_EnvelopeBase, frozen=True, kw_only=True):
    """Just the status fields of any envelope; used to read error bodies."""

    tasks: list[_TaskBase] | None = None
