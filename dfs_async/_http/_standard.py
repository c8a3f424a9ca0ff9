"""The Standard method's three calls: task_post (up to 100 tasks), tasks_ready, task_get.

Every call goes through the client's governor without taking a Live slot, so Standard traffic
shares the account's rate with Live calls. tasks_ready is also paced by its own documented
limit of 20 calls a minute:
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/tasks_ready/

What may be sent again differs per endpoint. tasks_ready and task_get only read, so any
transient failure is retried. A task_post creates paid tasks: it is resent only when the server
surely created nothing (the connection never opened, or DataForSEO's own envelope refused the
whole call at no cost). When its answer is lost (deadline, dropped connection, a proxy's page)
the error is raised: `outcome_unknown_post` tells the caller to look for the tasks' tags in
tasks_ready rather than post them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import msgspec

from .._config import Limits
from .._errors import (
    APIError,
    DecodeError,
    DFSError,
    NotFoundError,
    OutcomeUnknownError,
    QueueTimeoutError,
    TaskPendingError,
    TransportError,
    ValidationError,
)
from .._governance._window import WindowLimiter
from .._platforms import (
    STANDARD_PLATFORMS,
    Platform,
    check_standard,
    task_get_path,
    task_post_path,
    tasks_ready_path,
)
from .._wire._decode import LIVE_DECODER, TASK_POST_DECODER, TASKS_READY_DECODER, EnvelopeT
from .._wire._keys import request_key
from .._wire._models import LiveResponse, ModelInfo
from .._wire._requests import LiveRequest, build_request
from .._wire._tasks import ReadyTask, TaskPostResponse
from ._retry import Retrier

__all__ = [  # the paths and platforms are re-exported for the modules that import them here
    "MAX_TASKS_PER_POST",
    "PREPAYMENT",
    "STANDARD_BASE_PRICE",
    "STANDARD_PLATFORMS",
    "CallSeam",
    "StandardCalls",
    "check_standard",
    "encode_tasks",
    "outcome_unknown_post",
    "refused_post",
    "task_get_path",
    "task_post_path",
    "tasks_ready_path",
]

# Prices:
#   https://dataforseo.com/help-center/how-the-price-for-using-llm-responses-endpoints-is-calculated
# The prepayment and the 100-task limit:
#   https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/
STANDARD_BASE_PRICE: Final = 0.0002
"""DataForSEO's own price per Standard task; the LLM's cost comes on top."""
PREPAYMENT: Final = 0.01
"""Taken per task at posting; what exceeds the real cost is refunded."""
MAX_TASKS_PER_POST: Final = 100
"""task_post accepts up to 100 tasks per call; the rest get 40006."""
_POLL_MIN: Final = 0.5
_POLL_MAX: Final = 30.0

_encoder: Final = msgspec.json.Encoder()


class Attempt(Protocol):
    """One governed attempt of a call without a Live slot: rate token, send, decode."""

    async def __call__(
        self,
        method: str,
        path: str,
        body: bytes | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float | None,
        *,
        check_task: bool,
    ) -> EnvelopeT:
        """Send once through the governor; raise the call's `DFSError`."""


class CallSeam(Protocol):
    """What the Standard calls use of their client: nothing else of it is reached."""

    @property
    def limits(self) -> Limits:
        """The account's limits (tasks_ready's pace among them)."""

    @property
    def retrier(self) -> Retrier:
        """The client's retry loop."""

    @property
    def attempt(self) -> Attempt:
        """One governed attempt."""

    def prepare(
        self, platform: str, request: LiveRequest | None = None, /, **fields: Any
    ) -> tuple[Platform, LiveRequest]:
        """Validate a request like a Live one."""

    def known_model(self, platform: Platform, model_name: str) -> ModelInfo | None:
        """The model as Models listed it, if the client has listed the platform's models."""


def refused_post(error: DFSError) -> bool:
    """True when a failed task_post surely created no task, so posting again is safe."""
    if not error.sent:
        return True  # never reached DataForSEO (no slot in time, refused, invalid)
    if isinstance(error, APIError):
        # DataForSEO's own envelope (an internal code) refused the whole call and charged
        # nothing; a proxy's 429 never let it through. A proxy's 5xx page hides the outcome.
        return error.cost == 0 and (error.status_code >= 10000 or error.http_status == 429)
    return False


def outcome_unknown_post(error: DFSError) -> bool:
    """True when a failed task_post may have created (and charged) its tasks anyway."""
    return not refused_post(error) and not isinstance(error, ValidationError)


def _post_resendable(error: DFSError) -> bool:
    return refused_post(error) and _transient(error)


def _read_resendable(error: DFSError) -> bool:
    if isinstance(error, QueueTimeoutError):
        return False  # the caller's bound on waiting: waiting again would break it
    if isinstance(error, TransportError | OutcomeUnknownError | DecodeError):
        return True  # reading again costs nothing
    return _transient(error)


def _transient(error: DFSError) -> bool:
    if isinstance(error, TransportError):
        return True
    if isinstance(error, APIError):
        return error.cost == 0 and error.retryable
    return False


class StandardCalls:
    """The Standard endpoints of one client, and the pace of its tasks_ready calls."""

    def __init__(self, seam: CallSeam) -> None:
        self._seam = seam
        limits = seam.limits
        self.tasks_ready_limiter = WindowLimiter(
            limits.tasks_ready_limit, limits.tasks_ready_period
        )

    def prepare(
        self, platform: Platform, request: LiveRequest | Mapping[str, Any]
    ) -> tuple[Platform, LiveRequest]:
        """Validate one task for task_post; a task without a tag gets its request key."""
        if not isinstance(request, LiveRequest):
            request = build_request(dict(request))
        checked, request = self._seam.prepare(platform, request)
        known = self._seam.known_model(checked, request.model_name or "")
        if known is not None and not known.task_post_supported:
            raise ValidationError(
                "model_name",
                f"{request.model_name!r} has no Standard method on {checked} "
                "(task_post_supported is false in Models); use Live",
            )
        if request.tag is None:
            request = msgspec.structs.replace(request, tag=request_key(checked, request))
        return checked, request

    async def post(
        self,
        platform: str,
        requests: Sequence[LiveRequest | Mapping[str, Any]],
        *,
        postback_url: str | None = None,
        pingback_url: str | None = None,
        timeout: float | None = None,
    ) -> TaskPostResponse:
        """Validate and post up to 100 tasks; see `AsyncClient.task_post`."""
        checked = check_standard(platform)
        if not requests:
            raise ValidationError("requests", "task_post needs at least one task")
        if len(requests) > MAX_TASKS_PER_POST:
            raise ValidationError(
                "requests",
                f"{len(requests)} tasks; task_post takes at most {MAX_TASKS_PER_POST} per call",
            )
        extra = _callbacks(postback_url, pingback_url)
        prepared = [self.prepare(checked, r)[1] for r in requests]
        return await self.post_body(checked, encode_tasks(prepared, extra), timeout=timeout)

    async def post_body(
        self, platform: Platform, body: bytes, *, timeout: float | None = None
    ) -> TaskPostResponse:
        """Post tasks already prepared and encoded by `encode_tasks`."""
        return await self._call(
            "POST",
            task_post_path(platform),
            body,
            TASK_POST_DECODER,
            timeout,
            check_task=False,
            resend=_post_resendable,
        )

    async def ready(self, platform: str) -> list[ReadyTask]:
        """The finished tasks not collected yet (up to 1000); paced at tasks_ready's limit."""
        checked = check_standard(platform)
        envelope = await self._call(
            "GET",
            tasks_ready_path(checked),
            None,
            TASKS_READY_DECODER,
            None,
            check_task=True,
            resend=_read_resendable,
            ready_limit=True,
        )
        return [item for task in envelope.tasks for item in task.result or ()]

    async def get(
        self, platform: str, task_id: str, *, wait: float = 0.0, timeout: float | None = None
    ) -> LiveResponse:
        """One task's result; with ``wait``, poll (backing off) while it is not ready."""
        checked = check_standard(platform)
        if not task_id:
            raise ValidationError("task_id", "empty task id")
        path = task_get_path(checked, task_id)
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        delay = _POLL_MIN
        while True:
            try:
                return await self._call(
                    "GET",
                    path,
                    None,
                    LIVE_DECODER,
                    timeout,
                    check_task=True,
                    resend=_read_resendable,
                )
            except (TaskPendingError, NotFoundError) as exc:
                # 40401 right after posting may only mean the task is not registered yet.
                pending = isinstance(exc, TaskPendingError) or exc.status_code == 40401
                left = until - loop.time()
                if not pending or left <= 0:
                    raise
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2.0, _POLL_MAX)

    async def _call(
        self,
        method: str,
        path: str,
        body: bytes | None,
        decoder: msgspec.json.Decoder[EnvelopeT],
        timeout: float | None,
        *,
        check_task: bool,
        resend: Callable[[DFSError], bool],
        ready_limit: bool = False,
    ) -> EnvelopeT:
        """One call with this endpoint's resend rule; every attempt goes through the governor."""
        attempt = self._seam.attempt

        async def once() -> EnvelopeT:
            if ready_limit:
                async with self.tasks_ready_limiter.slot():
                    return await attempt(
                        method, path, body, decoder, timeout, check_task=check_task
                    )
            return await attempt(method, path, body, decoder, timeout, check_task=check_task)

        return await self._seam.retrier.run(
            once,
            f"{method} {path}",
            resend=resend,
            on_rate_limit=self._ready_paused if ready_limit else None,
        )

    def _ready_paused(self) -> float:
        """A 40202 on tasks_ready is taken as its own limit: hold tasks_ready, not the account;
        the limiter's next slot does the waiting."""
        self.tasks_ready_limiter.pause(self.tasks_ready_limiter.period)
        return 0.0


def encode_tasks(requests: Sequence[LiveRequest], extra: Mapping[str, str]) -> bytes:
    """The task_post body: a JSON array of tasks, routing fields left out."""
    tasks = []
    for request in requests:
        task = msgspec.to_builtins(request)
        task.pop("platform", None)
        task.update(extra)
        tasks.append(task)
    return _encoder.encode(tasks)


def _callbacks(postback_url: str | None, pingback_url: str | None) -> dict[str, str]:
    extra: dict[str, str] = {}
    for name, url in (("postback_url", postback_url), ("pingback_url", pingback_url)):
        if url is None:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(name, f"expected an http(s):// URL, got {url!r}")
        extra[name] = url
    return extra
