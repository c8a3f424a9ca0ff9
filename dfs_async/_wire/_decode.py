"""From ``(http_status, body)`` to a decoded envelope or a typed error, with cached decoders."""

from __future__ import annotations

from typing import Any, Final, TypeVar, overload

import msgspec

from .._errors import (
    HTTP_STATUSES,
    RAW_BODY_LIMIT,
    APIError,
    DecodeError,
    DFSError,
    error_for_code,
    error_for_http,
)
from ._models import LiveResponse, ModelsResponse, StatusEnvelope, UserDataResponse
from ._nulls import decode_lenient
from ._tasks import TaskPostResponse, TasksReadyResponse

SUCCESS_CODES: Final = frozenset({20000, 20100})

EnvelopeT = TypeVar(
    "EnvelopeT",
    LiveResponse,
    ModelsResponse,
    UserDataResponse,
    TaskPostResponse,
    TasksReadyResponse,
)

LIVE_DECODER: Final = msgspec.json.Decoder(LiveResponse)
MODELS_DECODER: Final = msgspec.json.Decoder(ModelsResponse)
USER_DATA_DECODER: Final = msgspec.json.Decoder(UserDataResponse)
TASK_POST_DECODER: Final = msgspec.json.Decoder(TaskPostResponse)
TASKS_READY_DECODER: Final = msgspec.json.Decoder(TasksReadyResponse)
_STATUS_DECODER: Final = msgspec.json.Decoder(StatusEnvelope)
_DECODERS: Final[dict[object, msgspec.json.Decoder[Any]]] = {
    decoder.type: decoder
    for decoder in (
        LIVE_DECODER,
        MODELS_DECODER,
        USER_DATA_DECODER,
        TASK_POST_DECODER,
        TASKS_READY_DECODER,
    )
}


@overload
def decode_response(body: bytes | str) -> LiveResponse: ...
@overload
def decode_response(body: bytes | str, type: type[EnvelopeT]) -> EnvelopeT: ...
def decode_response(body: bytes | str, type: type[Any] = LiveResponse) -> Any:
    """A raw answer body read as the client reads it: a ``null`` where the docs promise a value
    reads as absent (the field's default; a list drops it).

    For bodies kept elsewhere (a queue, a database, a postback endpoint of your own); ``type``
    is one of the envelopes (`LiveResponse` by default). Status codes are not checked: a body
    whose task failed decodes too. Anything unreadable is a `DecodeError` keeping the body,
    taken as the body of an HTTP 200 answer.
    """
    decoder = _DECODERS.get(type) or msgspec.json.Decoder(type)
    try:
        return decode_lenient(decoder, body)
    except Exception as exc:
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
        raise DecodeError(
            f"not a DataForSEO envelope ({exc.__class__.__name__}: {exc})",
            http_status=200,
            body=raw,
        ) from None


def decode_envelope(
    http_status: int,
    body: bytes,
    decoder: msgspec.json.Decoder[EnvelopeT],
    *,
    check_task: bool = True,
) -> EnvelopeT:
    """Decode a successful answer, or raise the `APIError` / `DecodeError` it stands for.

    ``check_task=False`` leaves task-level codes to the caller (task_post answers one task per
    task sent, each accepted or refused on its own).

    Nothing else escapes: a body is untrusted input, and whatever it holds (invalid UTF-8,
    nesting deep enough to exhaust the stack, wrong types anywhere) is a `DecodeError` that
    keeps the raw body, never an exception that would kill a sweep's worker.
    """
    try:
        return _decode(http_status, body, decoder, check_task)
    except DFSError:
        raise
    except Exception as exc:
        raise DecodeError(
            f"unreadable answer ({type(exc).__name__}: {exc})", http_status=http_status, body=body
        ) from None


def _decode(
    http_status: int, body: bytes, decoder: msgspec.json.Decoder[EnvelopeT], check_task: bool
) -> EnvelopeT:
    if http_status != 200:
        raise _http_error(http_status, body)
    try:
        # One pass unless a null needs the second (dfs_async._wire._nulls).
        envelope = decode_lenient(decoder, body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"not a DataForSEO envelope: {exc}", http_status=200, body=body) from None
    if envelope.status_code not in SUCCESS_CODES:
        raise error_for_code(envelope.status_code, envelope.status_message, cost=envelope.cost)
    if not check_task:
        return envelope
    if not envelope.tasks:
        raise DecodeError("the envelope holds no task", http_status=200, body=body)
    task = envelope.tasks[0]
    if task.status_code not in SUCCESS_CODES:
        raise error_for_code(
            task.status_code, task.status_message, task_id=task.id or None, cost=task.cost
        )
    return envelope


def _http_error(http_status: int, body: bytes) -> APIError | DecodeError:
    """A non-200 answer: DataForSEO's own envelope if the body is one, else the HTTP status."""
    try:
        status = decode_lenient(_STATUS_DECODER, body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # HTML from a proxy, or nothing: keep the status and the raw body.
        if http_status >= 500 or http_status in HTTP_STATUSES:
            err = error_for_http(http_status, None, f"HTTP {http_status}")
            err.body = body[:RAW_BODY_LIMIT]
            return err
        return DecodeError("unexpected HTTP status", http_status=http_status, body=body)
    return error_for_http(http_status, status.status_code or None, status.status_message)
