"""What a sweep yields per item, and the stable key that identifies an item across runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .._errors import APIError, DFSError
from .._http._retry import settled
from .._platforms import Platform
from .._wire._keys import ItemId
from .._wire._models import LiveResponse
from .._wire._requests import LiveRequest


@dataclass(frozen=True, slots=True, init=False)
class Target:
    """Where prompts go: a platform, a model, and fields for every prompt sent there.

    Fields go in a mapping or as keywords: ``Target("chat_gpt", "gpt-4.1-mini",
    web_search=True)`` is ``Target("chat_gpt", "gpt-4.1-mini", {"web_search": True})``.
    """

    platform: Platform
    model_name: str
    fields: Mapping[str, object] | None

    def __init__(
        self,
        platform: Platform,
        model_name: str,
        fields: Mapping[str, object] | None = None,
        **more: object,
    ) -> None:
        merged = {**(fields or {}), **more} if more else fields
        object.__setattr__(self, "platform", platform)  # frozen: set once, here
        object.__setattr__(self, "model_name", model_name)
        object.__setattr__(self, "fields", merged)

    def __hash__(self) -> int:
        # Results are grouped by their target (``Counter(r.target for r in results)``); the
        # generated hash would fail on the fields' dict, so only its keys are hashed (equal
        # targets still hash alike).
        return hash((self.platform, self.model_name, frozenset(self.fields or ())))


@dataclass(frozen=True, slots=True)
class PromptResult:
    """The outcome of one prompt on one target: a response or an error, never both."""

    index: int
    """Position of the prompt in the input."""
    platform: Platform | None
    """None only for a request that named no platform (then ``error`` says so)."""
    request: LiveRequest
    key: str
    response: LiveResponse | None = None
    error: DFSError | None = None
    target: Target = field(kw_only=True)
    """The `Target` the prompt was sent to: the caller's own object from ``targets=``, else
    one made of ``platform``, ``model_name`` and the sweep's fields (or, when each request
    names its own, of the request's platform and model). ``request`` is what was sent."""
    target_index: int = 0
    """Position of ``target`` in ``targets`` (0 with a single target); what results files
    call ``target``."""
    cost_estimate: float | None = None
    """Set when the charge is unknown (the answer was lost after the send, so DataForSEO may
    have billed it): the USD a sweep counted for it against ``max_cost``."""
    sample: int = 0
    """Which of the ``samples`` asks of this prompt and target (0-based)."""
    id: ItemId | None = None
    """The caller's id of the input row (`PromptItem`); never sent."""
    metadata: Mapping[str, Any] | None = None
    """The caller's free-form data of the input row (`PromptItem`); never sent."""
    task_id: str | None = None
    """The Standard task that answered (``method="standard"``); None for Live calls."""
    charged: float | None = None
    """USD charged when the answer's own ``cost`` does not say it: a Standard task's base
    price plus the LLM's cost (task_get answers report 0, the prepayment was taken earlier)."""

    @property
    def ok(self) -> bool:
        """True when the prompt was answered."""
        return self.response is not None

    @property
    def answer(self) -> LiveResponse:
        """The response of an answered item; raises the item's error otherwise.

        Typed without ``None``: ``if r.ok: r.answer.result...`` needs no check for mypy.
        """
        if self.response is not None:
            return self.response
        raise self.error if self.error is not None else RuntimeError("no response, no error")

    @property
    def cost(self) -> float:
        """USD known to be charged for this prompt (an error may be charged too); 0.0 when the
        charge is unknown (see ``cost_estimate``)."""
        if self.charged is not None:
            return self.charged
        if self.response is not None:
            return self.response.cost
        return self.error.cost if isinstance(self.error, APIError) else 0.0

    @property
    def status_code(self) -> int | None:
        """DataForSEO's status code of the answer, if there was one."""
        if self.response is not None:
            task = self.response.tasks[0] if self.response.tasks else None
            return task.status_code if task else self.response.status_code
        return self.error.status_code if isinstance(self.error, APIError) else None


class ErrorRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """An error as written to a results file."""

    type: str
    message: str
    status_code: int | None = None
    settled: bool = False
    """True: a re-run does not resend this item unless told to (invalid, or maybe charged)."""


class RecordHead(msgspec.Struct, frozen=True, omit_defaults=True):
    """A results-file line without its ``response``: what a sink reads to resume.

    `ResultRecord` adds only ``response``, so a line the sink accepts on resume is one
    `read_results` reads back, and the sink need not decode every answer's body.
    """

    key: str
    index: int
    platform: str | None
    model_name: str | None
    prompt: str
    ok: bool
    status_code: int | None = None
    cost: float = 0.0
    target_index: int = msgspec.field(default=0, name="target")
    """Position of the item's target in the sweep's ``targets``; written as ``"target"``, as
    since the first results files (its platform and model are the fields above)."""
    cost_estimate: float | None = None
    """USD counted for a call whose charge is unknown (``cost`` is then 0.0)."""
    web_search: bool = False
    """Whether web search was asked for (with platform and model, what the price depends on)."""
    sample: int = 0
    id: ItemId | None = None
    """The input row's own id, to match a record back to its row."""
    metadata: dict[str, Any] | None = None
    task_id: str | None = None
    """The Standard task id: of the task that answered, or of one posted and not collected."""
    posted: bool = False
    """Not a result: the item was posted as a Standard task (``task_id``, or None while the
    task_post answer is awaited or was lost) and will be collected; ``cost`` is what posting
    charged. A later record of the same key supersedes it."""
    error: ErrorRecord | None = None


class ResultRecord(RecordHead, frozen=True, omit_defaults=True):
    """One line of a results file: everything needed to resume and to analyse."""

    response: LiveResponse | None = None

    @classmethod
    def of(cls, result: PromptResult) -> ResultRecord:
        """The record of ``result``."""
        error = result.error
        return cls(
            key=result.key,
            index=result.index,
            platform=_text(result.platform),
            model_name=_text(result.request.model_name),
            prompt=_text(result.request.user_prompt) or "",
            ok=result.ok,
            status_code=result.status_code,
            cost=result.cost,
            target_index=result.target_index,
            cost_estimate=result.cost_estimate,
            web_search=result.request.web_search is True,
            sample=result.sample,
            id=result.id,
            metadata=dict(result.metadata) if result.metadata is not None else None,
            task_id=result.task_id,
            error=None
            if error is None
            else ErrorRecord(
                type=type(error).__name__,
                message=_text(str(error)) or "",
                status_code=error.status_code if isinstance(error, APIError) else None,
                settled=settled(error),
            ),
            response=result.response,
        )


def _text(value: object) -> str | None:
    """A string the record can hold: an invalid item may carry a lone surrogate or a non-string
    (``model_name=5``), and its record must still be written and read back."""
    if value is None:
        return None
    if not isinstance(value, str):
        return repr(value)
    if value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode()
    return value
