"""Per-platform validation of Live request fields against the documented limits.

The limits are the request fields of each platform's Live page, e.g.
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/live/.

Choices where the docs disagree with themselves:

* temperature with top_p: chat_gpt allows both (the official example sends both and the
  official example response echoes that request with status 20000); claude rejects the pair
  (both claude field docs forbid it and Anthropic rejects it); gemini and perplexity allow it
  (no exclusivity documented, and their examples send both).
* Which fields need ``web_search=True`` follows each official field description, per
  platform: chat_gpt's ``force_web_search`` and ``web_search_country_iso_code`` (not its
  ``web_search_city``, whose description has no such note); claude's ``force_web_search`` only.
* chat_gpt ``o3-mini``, ``o1`` and ``o1-pro`` (and their dated versions) take no country or
  city: both descriptions say so.
* A country code in lower case is not refused: `LiveRequest` upper-cases it (``'us'`` is sent
  as ``'US'``).
* perplexity's chain alternates strictly user, ai, user, ... from a user turn. It may end on
  either role: the docs require the alternation only, not which turn comes last.
* "Reasoning" means ``model.reasoning is True`` for chat_gpt (automatic there),
  ``use_reasoning=True`` for claude and gemini, and for gemini also a Pro model (``-pro`` in
  its name: the docs say Pro models set ``use_reasoning`` automatically) unless the Models
  endpoint says it cannot reason; an unknown model (None) is given the benefit of the doubt.
* Blank (whitespace-only) ``model_name``, ``user_prompt`` and chain messages count as missing.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from .._errors import ValidationError
from .._platforms import Platform, check_platform
from ._models import ModelInfo
from ._requests import LiveRequest, build_request, check_types, merge

MAX_TEXT: Final = 500
MAX_TAG: Final = 255
MAX_CHAIN: Final = 10
MAX_TOKENS: Final = 4096
_ROLES: Final = frozenset({"user", "ai"})
_LOCATION_FIELDS: Final = ("web_search_country_iso_code", "web_search_city")

# Anthropic's web-search locations, verbatim from the claude field doc.
_CLAUDE_CODES: Final = (
    "AR AT AU BE BR CA CH CL CN DE DK ES FI FR GB HK ID IN IT JP KR MX MY NL NO NZ PH PL PT RU SA "
    "SE TR TW US ZA"
)
CLAUDE_COUNTRIES: Final = frozenset(_CLAUDE_CODES.split())


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    """The documented request limits of one platform."""

    unsupported: tuple[str, ...]
    """Fields the platform does not accept at all."""
    min_tokens: int
    reasoning_min_tokens: int
    max_temperature: float
    reasoning_by_model: bool
    """True: reasoning comes from the model (chat_gpt); False: from ``use_reasoning``."""
    reasoning_forbids: tuple[str, ...] = ()
    """Fields that must be unset (or False) when reasoning."""
    exclusive_sampling: bool = False
    """``temperature`` and ``top_p`` cannot be sent together."""
    needs_web_search: tuple[str, ...] = ()
    """Fields that may only be set together with ``web_search=True``."""
    countries: frozenset[str] | None = None
    """Accepted ``web_search_country_iso_code`` values; None means any 2-letter code."""
    alternating_chain: bool = False
    no_location: re.Pattern[str] | None = None
    """Models that take neither ``web_search_country_iso_code`` nor ``web_search_city``."""
    auto_reasoning: re.Pattern[str] | None = None
    """Models that reason whether or not ``use_reasoning`` is set."""


LIMITS: Final[dict[Platform, PlatformLimits]] = {
    "chat_gpt": PlatformLimits(
        unsupported=("use_reasoning",),
        min_tokens=16,
        reasoning_min_tokens=1024,
        max_temperature=2.0,
        reasoning_by_model=True,
        reasoning_forbids=("temperature", "force_web_search"),
        needs_web_search=("force_web_search", "web_search_country_iso_code"),
        no_location=re.compile(r"(o3-mini|o1-pro|o1)(-\d{4}-\d{2}-\d{2})?"),
    ),
    "claude": PlatformLimits(
        unsupported=(),
        min_tokens=1,
        reasoning_min_tokens=1025,
        max_temperature=1.0,
        reasoning_by_model=False,
        reasoning_forbids=("temperature", "top_p", "force_web_search"),
        exclusive_sampling=True,
        needs_web_search=("force_web_search",),
        countries=CLAUDE_COUNTRIES,
    ),
    "gemini": PlatformLimits(
        unsupported=("force_web_search", *_LOCATION_FIELDS),
        min_tokens=1,
        reasoning_min_tokens=1024,
        max_temperature=2.0,
        reasoning_by_model=False,
        auto_reasoning=re.compile(r".*-pro(-.*)?"),
    ),
    "perplexity": PlatformLimits(
        unsupported=("web_search", "force_web_search", "web_search_city", "use_reasoning"),
        min_tokens=1,
        reasoning_min_tokens=1,
        max_temperature=1.9,
        reasoning_by_model=False,
        alternating_chain=True,
    ),
}


def prepare_request(
    platform: str,
    request: LiveRequest | None = None,
    /,
    *,
    models: Mapping[Platform, Mapping[str, ModelInfo]] | None = None,
    **fields: Any,
) -> tuple[Platform, LiveRequest]:
    """Build and validate a Live request without a client or credentials; nothing is sent.

    ``fields`` fill what ``request`` leaves unset (or make the request); ``models`` (as
    ``client.models()`` returns them, per platform and name) adds the model's own limits.
    Raises `ValidationError` naming the field.
    """
    checked = check_platform(platform)
    if request is None:
        request = build_request(fields)
    elif fields:
        request = merge(request, fields)
    check_types(request)
    if checked == "perplexity" and request.web_search is True:
        # Perplexity's Sonar models search the web by default and the API takes no web_search
        # field: asking for it is granted by leaving it out (as the CLI's --web-search does).
        request = msgspec.structs.replace(request, web_search=None)
    if request.platform is not None and request.platform != checked:
        raise ValidationError(
            "platform", f"the request is for {request.platform!r}, sent to {checked!r}"
        )
    listed = (models or {}).get(checked)
    known = (listed or {}).get(request.model_name or "")
    if listed and known is None and request.model_name:
        raise unknown_model(checked, request.model_name, listed)
    validate_request(checked, request, known)
    return checked, request


def unknown_model(platform: Platform, name: str, listed: Iterable[str]) -> ValidationError:
    """The error for a model name that ``platform``'s Models list does not hold."""
    close = difflib.get_close_matches(name, list(listed), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return ValidationError(
        "model_name", f"{name!r} is not one of {platform}'s models (its Models list){hint}"
    )


def _check_unsupported(platform: Platform, request: LiveRequest, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(request, name) is not None:
            hint = " (it always searches the web)" if name == "web_search" else ""
            raise ValidationError(
                name, f"{platform} does not accept this field{hint}; leave it unset"
            )


def validate_request(
    platform: Platform, request: LiveRequest, model: ModelInfo | None = None
) -> None:
    """Raise `ValidationError` for the first field of ``request`` that ``platform`` rejects."""
    limits = LIMITS[platform]
    if not request.model_name or request.model_name.isspace():
        raise ValidationError(
            "model_name", f"is required; pick one from {platform}'s Models endpoint"
        )
    _check_text("user_prompt", request.user_prompt, platform, required=True)
    _check_unsupported(platform, request, limits.unsupported)
    if request.system_message is not None:
        _check_text("system_message", request.system_message, platform)
    if request.tag is not None and len(request.tag) > MAX_TAG:
        raise ValidationError(
            "tag", f"{len(request.tag)} characters is above {platform}'s limit of {MAX_TAG}"
        )
    if request.message_chain is not None:
        _check_chain(platform, request, limits.alternating_chain)

    if limits.reasoning_by_model:
        reasoning = model is not None and model.reasoning is True
        why = "reasoning model"
    else:
        reasoning = request.use_reasoning is True
        why = "use_reasoning=True"
        auto = limits.auto_reasoning
        if not reasoning and auto is not None and auto.fullmatch(request.model_name):
            # A Pro model reasons on its own, unless the Models endpoint says it cannot.
            reasoning = model is None or model.reasoning is not False
            why = f"{request.model_name} (a Pro model reasons automatically)"
    _check_tokens(platform, request.max_output_tokens, limits, reasoning, why)
    _check_sampling(platform, request, limits)

    if request.web_search is not True:
        for name in limits.needs_web_search:
            value = getattr(request, name)
            if value is not None and value is not False:
                raise ValidationError(name, f"needs web_search=True on {platform}; set it too")
    if limits.no_location is not None and limits.no_location.fullmatch(request.model_name):
        for name in _LOCATION_FIELDS:
            if getattr(request, name) is not None:
                raise ValidationError(
                    name, f"{platform} model {request.model_name!r} does not support it"
                )
    country = request.web_search_country_iso_code
    if country is not None:
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise ValidationError(
                "web_search_country_iso_code",
                f"{country!r} is not a 2-letter ISO code like 'US' ({platform})",
            )
        country = country.upper()  # LiveRequest upper-cases it; one built otherwise is too
        if limits.countries is not None and country not in limits.countries:
            raise ValidationError(
                "web_search_country_iso_code",
                f"{country!r} is not one of {platform}'s countries: "
                f"{' '.join(sorted(limits.countries))}",
            )

    if reasoning:
        for name in limits.reasoning_forbids:
            value = getattr(request, name)
            if value is not None and value is not False:
                raise ValidationError(
                    name, f"{platform} does not support it with {why}; leave it unset"
                )
    if model is not None:
        if request.use_reasoning is True and model.reasoning is False:
            raise ValidationError(
                "use_reasoning",
                f"{platform} model {model.model_name!r} cannot reason; drop use_reasoning",
            )
        if request.web_search is True and not model.web_search_supported:
            raise ValidationError(
                "web_search",
                f"{platform} model {model.model_name!r} does not support web search; drop it",
            )


def _check_text(field: str, value: str, platform: Platform, *, required: bool = False) -> None:
    if required and (not value or value.isspace()):
        raise ValidationError(field, "is required and must not be blank")
    if len(value) > MAX_TEXT:
        raise ValidationError(
            field, f"{len(value)} characters is above {platform}'s limit of {MAX_TEXT}; shorten it"
        )


def _check_chain(platform: Platform, request: LiveRequest, alternating: bool) -> None:
    chain = request.message_chain or ()
    if len(chain) > MAX_CHAIN:
        raise ValidationError(
            "message_chain", f"{len(chain)} turns is above {platform}'s limit of {MAX_CHAIN}"
        )
    for i, turn in enumerate(chain):
        if turn.role not in _ROLES:
            raise ValidationError(
                "message_chain", f"turn {i} has role {turn.role!r}; expected 'user' or 'ai'"
            )
        if not turn.message or turn.message.isspace():
            raise ValidationError("message_chain", f"turn {i} has a blank message")
        if len(turn.message) > MAX_TEXT:
            raise ValidationError(
                "message_chain",
                f"turn {i} message has {len(turn.message)} characters, above {platform}'s "
                f"limit of {MAX_TEXT}",
            )
        # Perplexity: user, ai, user, ... so even turns are user and odd turns are ai.
        if alternating and turn.role != ("user" if i % 2 == 0 else "ai"):
            raise ValidationError(
                "message_chain",
                f"turn {i} is {turn.role!r}; {platform} needs turns alternating user, ai, ...",
            )


def _check_tokens(
    platform: Platform, tokens: int | None, limits: PlatformLimits, reasoning: bool, why: str
) -> None:
    if tokens is None:
        return
    if type(tokens) is not int:  # bool is an int subclass; a Struct built directly is unchecked
        raise ValidationError("max_output_tokens", f"expected an integer, got {tokens!r}")
    if tokens > MAX_TOKENS:
        raise ValidationError(
            "max_output_tokens", f"{tokens} is above {platform}'s maximum of {MAX_TOKENS}"
        )
    low, note = limits.min_tokens, ""
    if reasoning and limits.reasoning_min_tokens > low:
        low, note = limits.reasoning_min_tokens, f" with {why}"
    if tokens < low:
        raise ValidationError(
            "max_output_tokens", f"{tokens} is below {platform}'s minimum of {low}{note}"
        )


def _check_sampling(platform: Platform, request: LiveRequest, limits: PlatformLimits) -> None:
    for name, value, high in (
        ("temperature", request.temperature, limits.max_temperature),
        ("top_p", request.top_p, 1.0),
    ):
        if value is None:
            continue
        if type(value) is bool or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError(name, f"expected a finite number, got {value!r}")
        if not 0.0 <= value <= high:
            raise ValidationError(name, f"{value} is outside {platform}'s range of 0 to {high:g}")
    if limits.exclusive_sampling and request.temperature is not None and request.top_p is not None:
        raise ValidationError(
            "top_p", f"{platform} cannot combine temperature and top_p; send only one"
        )
