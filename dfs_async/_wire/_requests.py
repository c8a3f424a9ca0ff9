"""Live request fields: one frozen Struct for all platforms, built and encoded here.

Per-platform validation of the documented limits lives in `_validation`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._errors import ValidationError
from .._platforms import Platform


class ChainMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One earlier turn of the conversation: ``role`` is ``"user"`` or ``"ai"``."""

    role: str
    message: str


class LiveRequest(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """One Live task. Fields mirror the API; None means "not sent, server default".

    ``platform`` routes the request (fan-out uses it) and is never sent. ``model_name`` may be
    left None when the caller supplies it (``gather_prompts(..., model_name=...)``).
    ``web_search_country_iso_code`` is upper-cased on creation (``'us'`` becomes ``'US'``).
    """

    user_prompt: str
    model_name: str | None = None
    platform: Platform | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    web_search: bool | None = None
    force_web_search: bool | None = None
    web_search_country_iso_code: str | None = None
    web_search_city: str | None = None
    use_reasoning: bool | None = None
    system_message: str | None = None
    message_chain: tuple[ChainMessage, ...] | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        # Country codes are upper case ('US'); 'us' is a harmless slip, not worth a refusal.
        code = self.web_search_country_iso_code
        if isinstance(code, str) and code.isascii() and not code.isupper():
            msgspec.structs.force_setattr(self, "web_search_country_iso_code", code.upper())


REQUEST_FIELDS: frozenset[str] = frozenset(LiveRequest.__struct_fields__)


def build_request(fields: dict[str, Any]) -> LiveRequest:
    """Build a `LiveRequest` from keyword fields, with a `ValidationError` naming a bad one.

    Type errors (a string for ``max_output_tokens``) and unknown names fail here, before any
    network call.
    """
    unknown = sorted(set(fields) - REQUEST_FIELDS)
    if unknown:
        raise ValidationError(
            unknown[0],
            f"unknown field; Live requests accept {', '.join(sorted(REQUEST_FIELDS))}",
        )
    try:
        return msgspec.convert(fields, LiveRequest, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationError(_field_of(str(exc)), str(exc)) from None


def merge(request: LiveRequest, defaults: dict[str, Any]) -> LiveRequest:
    """Fill the fields ``request`` leaves unset (None) from ``defaults``."""
    missing = {k: v for k, v in defaults.items() if getattr(request, k, None) is None}
    if not missing:
        return request
    if unknown := sorted(set(missing) - REQUEST_FIELDS):
        raise ValidationError(unknown[0], "unknown field")
    return msgspec.structs.replace(request, **missing)


_encoder = msgspec.json.Encoder()
_strict_decoder = msgspec.json.Decoder(LiveRequest)


def check_types(request: LiveRequest) -> None:
    """Raise `ValidationError` for a field whose value has the wrong type or cannot be sent.

    A `LiveRequest` built directly (or filled from defaults) is not type-checked by msgspec:
    ``tag=7``, ``web_search="yes"``, a chain turn without ``message`` or a prompt holding a
    lone surrogate would otherwise crash the limit checks, fail the encoder mid-sweep, or
    reach the server as a 40501. Encoding the request and decoding it back with the strict
    decoder checks every field against its declared type, nested ones included.
    """
    try:
        body = _encoder.encode(request)
    except (TypeError, ValueError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        field = _unencodable_field(request)
        raise ValidationError(field, f"cannot be sent as JSON ({exc})") from None
    try:
        _strict_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationError(_field_of(str(exc)), str(exc)) from None


def _unencodable_field(request: LiveRequest) -> str:
    for name in request.__struct_fields__:
        try:
            _encoder.encode(getattr(request, name))
        except (TypeError, ValueError, OverflowError):
            return name
    return "request"


def encode_body(request: LiveRequest) -> bytes:
    """The POST body: a JSON array holding the one task, without the routing-only fields."""
    if request.platform is not None:
        request = msgspec.structs.replace(request, platform=None)
    return _encoder.encode((request,))


def _field_of(message: str) -> str:
    # msgspec ends its messages with "- at `$.field`" or "- at `$.field[0].role`"; a missing
    # top-level field has no path, only "Object missing required field `user_prompt`".
    marker = "at `$."
    at = message.rfind(marker)
    if at >= 0:
        return message[at + len(marker) :].rstrip("`").split("[")[0].split(".")[0] or "request"
    missing = "missing required field `"
    at = message.find(missing)
    if at >= 0:
        return message[at + len(missing) :].split("`")[0] or "request"
    return "request"
