"""Which calls a sweep makes: input rows × targets × samples, each validated and keyed.

Nothing here needs a client or credentials: the same planning serves `iter_prompts` and
`plan_sweep` (``dfs-async sweep --dry-run`` / ``--estimate``).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Collection,
    Container,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, cast

import msgspec

from .._errors import DFSError, ValidationError
from .._platforms import PLATFORMS, Platform, check_platform
from .._records._costs import PriceKey, price_key
from .._records._keyset import KeySet
from .._records._records import PromptResult, Target
from .._wire._keys import ItemId, body_key
from .._wire._requests import REQUEST_FIELDS, LiveRequest, build_request, encode_body, merge
from .._wire._validation import prepare_request


@dataclass(frozen=True, slots=True)
class PromptItem:
    """An input row: a prompt or `LiveRequest`, with the caller's own ``id`` and ``metadata``.

    Both flow to `PromptResult` and the results record and are never sent. The id is part of
    the item's key (two rows with different ids are two items); the metadata is not.
    """

    prompt: str | LiveRequest
    id: ItemId | None = None
    metadata: Mapping[str, Any] | None = None


PromptInput: TypeAlias = (
    str
    | LiveRequest
    | PromptItem
    | tuple[str | LiveRequest, ItemId | None]
    | tuple[str | LiveRequest, ItemId | None, Mapping[str, Any] | None]
)
"""A prompt, a request, or a row: `PromptItem` or the tuple ``(prompt, id[, metadata])``."""
Prompts: TypeAlias = Iterable[PromptInput] | AsyncIterable[PromptInput]
Prepare: TypeAlias = Callable[..., tuple[Platform, LiveRequest]]
"""`prepare_request`, or a client's ``prepare`` (which also knows the models it listed)."""


class SweepItem:
    """One call to make: a validated request for one target and sample, encoded once."""

    __slots__ = (
        "body",
        "id",
        "index",
        "key",
        "metadata",
        "platform",
        "request",
        "reserved",
        "sample",
        "target",
        "target_index",
    )

    def __init__(
        self,
        index: int,
        target: tuple[int, Target],
        platform: Platform,
        request: LiveRequest,
        row: PromptItem,
        sample: int,
    ) -> None:
        self.index = index
        self.target_index, self.target = target
        self.platform = platform
        self.request = request
        self.sample = sample
        self.id = row.id
        self.metadata = row.metadata
        self.reserved: float | None = None
        """The budget reservation made for this call before it was queued, if any."""
        self.body = encode_body(request)  # encoded once: it makes the key and it is sent
        self.key = body_key(platform, self.body, sample=sample, item_id=row.id)

    @property
    def price(self) -> PriceKey:
        """What the call's cost depends on: platform, model, web search."""
        return price_key(self.platform, self.request)

    def result(self, **outcome: Any) -> PromptResult:
        """This item's `PromptResult` with ``response=`` or ``error=``."""
        return PromptResult(
            index=self.index,
            platform=self.platform,
            request=self.request,
            key=self.key,
            target=self.target,
            target_index=self.target_index,
            sample=self.sample,
            id=self.id,
            metadata=self.metadata,
            **outcome,
        )


class Route:
    """A resolved target: platform (None: the request names it), model and field defaults."""

    __slots__ = ("defaults", "platform", "target")

    def __init__(
        self, platform: Platform | None, defaults: dict[str, Any], target: Target | None = None
    ) -> None:
        self.platform = platform
        self.defaults = defaults
        self.target = target
        """The `Target` its results name; None when each request names its own."""

    def target_of(self, platform: Platform | None, request: LiveRequest) -> Target:
        """The `Target` of an item sent to ``platform`` with ``request`` by this route."""
        if self.target is not None:
            return self.target
        fields = {k: v for k, v in self.defaults.items() if k != "model_name"} or None
        model = request.model_name
        # A request that named no platform has none to show (its error says so): "".
        named = platform if platform is not None else cast(Platform, "")
        return Target(named, model if isinstance(model, str) else "", fields)


def routes_for(
    platform: str | None,
    model_name: str | None,
    targets: Sequence[Target] | None,
    fields: Mapping[str, Any],
) -> list[Route]:
    """The targets of a sweep, from either ``platform``/``model_name`` or ``targets``."""
    if targets:
        if platform is not None or model_name is not None:
            raise ValidationError("targets", "give either platform/model_name or targets")
        for t in targets:
            if unknown := sorted(set(t.fields or {}) - REQUEST_FIELDS):
                raise ValidationError("targets", f"{unknown[0]!r} is not a request field")
        return [
            Route(
                check_platform(t.platform),
                {**fields, **(t.fields or {}), "model_name": t.model_name},
                t,
            )
            for t in targets
        ]
    defaults = dict(fields)
    if model_name is not None:
        defaults["model_name"] = model_name
    checked = check_platform(platform) if platform is not None else None
    # The sweep's one target, shared by its results, when platform and model say it whole.
    target = (
        Target(checked, model_name, dict(fields) or None)
        if checked is not None and model_name is not None
        else None
    )
    return [Route(checked, defaults, target)]


PLANNING_OPTIONS: Final = (
    "platform",
    "model_name",
    "targets",
    "samples",
    "sink",
    "retry_failed",
    "cost_estimate",
)
"""Keywords that say which calls a sweep makes, taken by `iter_prompts` and `plan_sweep`."""


def check_prompts(prompts: object) -> None:
    """Refuse a single string (or bytes) given as the prompts: it would be one call per letter."""
    if isinstance(prompts, str | bytes | bytearray):
        raise TypeError(
            "prompts must be an iterable of prompts, not a single "
            f"{type(prompts).__name__}; wrap it in a list: [{str(prompts)[:30]!r}]"
        )


def check_fields(caller: str, fields: Mapping[str, Any], options: Collection[str]) -> None:
    """Refuse a keyword that is neither a request field nor one of ``options``.

    ``**fields`` is where request fields go (``max_output_tokens=``, ``web_search=``), so a
    misspelled option (``max_costs=``) would otherwise become a field of every request and
    fail every item; it is refused before anything opens or is sent.
    """
    for name in fields:
        if name in REQUEST_FIELDS:
            continue
        close = difflib.get_close_matches(name, [*options, *REQUEST_FIELDS], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}{hint}")


def check_samples(samples: int) -> int:
    """``samples`` if it is a whole number ≥ 1, else `ValidationError`."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValidationError("samples", f"must be a whole number >= 1, got {samples!r}")
    return samples


class Disposition(enum.Enum):
    """What a sweep does with one planned item."""

    HELD = "held"
    """The results file already holds it: answered, or a failure that is not resent."""
    DUPLICATE = "duplicate"
    """Identical (same key) to an earlier item of this sweep: sent once."""
    INVALID = "invalid"
    """It failed validation: recorded as its error, never sent."""
    COLLECT = "collect"
    """An earlier run posted it as a Standard task: collected, never paid again."""
    SEND = "send"


class ItemFilter:
    """The one rule for which items a sweep sends, shared by the sweep and its estimate."""

    __slots__ = ("_done", "_posted", "_seen", "_settled")

    def __init__(
        self, done: Container[str], settled: Container[str], posted: Container[str]
    ) -> None:
        self._done = done
        self._settled = settled
        self._posted = posted
        self._seen = KeySet()  # 8 bytes a key, whatever the sweep's size

    def sort(self, item: SweepItem | PromptResult) -> Disposition:
        """Where ``item`` goes; each key is sent (or recorded invalid) once."""
        key = item.key
        if key in self._done or key in self._settled:
            return Disposition.HELD
        if key in self._seen:
            return Disposition.DUPLICATE
        self._seen.add(key)
        if isinstance(item, PromptResult):
            return Disposition.INVALID
        if key in self._posted:
            return Disposition.COLLECT
        return Disposition.SEND


async def plan_items(
    prompts: Prompts, routes: list[Route], samples: int, prepare: Prepare = prepare_request
) -> AsyncIterator[SweepItem | PromptResult]:
    """Every call of the sweep in input order, or an error result for an invalid one."""
    index = 0
    async for given in _aiter(prompts):
        row = _row(given)
        prompt = row.prompt
        own = prompt.platform if isinstance(prompt, LiveRequest) else None
        if own is None:
            chosen = list(enumerate(routes))
        else:
            # A request that names its platform goes there once, taking defaults only from
            # a target of that platform (never another platform's model or fields).
            chosen = [
                next(
                    ((i, r) for i, r in enumerate(routes) if r.platform in (own, None)),
                    (0, Route(own, {})),
                )
            ]
        for t_index, route in chosen:
            first = _prepare(prepare, index, t_index, row, route)
            for sample in range(samples):
                yield first if sample == 0 else _again(first, sample)
        index += 1


def _row(given: object) -> PromptItem:
    if isinstance(given, PromptItem):
        return given
    if isinstance(given, tuple) and 1 <= len(given) <= 3:
        return PromptItem(*given)
    return PromptItem(given)  # type: ignore[arg-type]  # a wrong type fails validation below


def _again(first: SweepItem | PromptResult, sample: int) -> SweepItem | PromptResult:
    if isinstance(first, SweepItem):
        row = PromptItem(first.request, first.id, first.metadata)
        target = (first.target_index, first.target)
        return SweepItem(first.index, target, first.platform, first.request, row, sample)
    return PromptResult(
        index=first.index,
        platform=first.platform,
        request=first.request,
        key=_invalid_key(first.platform, first.request, first.id, sample),
        error=first.error,
        target=first.target,
        target_index=first.target_index,
        sample=sample,
        id=first.id,
        metadata=first.metadata,
    )


def _prepare(
    prepare: Prepare, index: int, t_index: int, row: PromptItem, route: Route
) -> SweepItem | PromptResult:
    """Validate one row for one route; a bad one becomes an error result, never a call."""
    prompt = row.prompt
    if isinstance(prompt, str):
        # A line read from a file keeps its line ending; the same prompt must have one key
        # whichever way it was read (the CLI strips them too).
        prompt = prompt.rstrip("\r\n")
    given = prompt if isinstance(prompt, LiveRequest) else None
    platform = (given.platform if given else None) or route.platform
    merged: LiveRequest | None = None
    try:
        if row.id is not None and (isinstance(row.id, bool) or not isinstance(row.id, str | int)):
            raise ValidationError("id", f"must be a string or an integer, got {row.id!r}")
        if not _writable(row.id):  # a lone surrogate: it could be neither keyed nor recorded
            raise ValidationError("id", f"{row.id!r} cannot be written as UTF-8")
        if row.metadata is not None:
            _check_metadata(row.metadata)
        if not isinstance(prompt, str | LiveRequest):
            raise ValidationError(
                "prompt", f"expected a string or a LiveRequest, got {type(prompt).__name__}"
            )
        merged = _merged(prompt, route.defaults)
        if platform is None:
            raise ValidationError("platform", "pass platform= or set it on each LiveRequest")
        platform, request = prepare(platform, merged)
    except DFSError as exc:
        # Keyed and recorded as the request that was meant, target's model and fields included,
        # so request_key() of that request finds it.
        failed = merged or _lenient(prompt, route.defaults)
        known = platform if platform in PLATFORMS else None
        return PromptResult(
            index=index,
            platform=known,
            request=failed,
            key=_invalid_key(known, failed, row.id, 0),
            error=exc,
            target=route.target_of(known, failed),
            target_index=t_index,
            # Only what the results file can hold: a bad id or metadata is the error itself.
            id=row.id if isinstance(row.id, str | int) and _writable(row.id) else None,
            metadata=row.metadata
            if isinstance(row.metadata, Mapping) and _writable(row.metadata)
            else None,
        )
    return SweepItem(
        index, (t_index, route.target_of(platform, request)), platform, request, row, 0
    )


def _merged(prompt: str | LiveRequest, defaults: dict[str, Any]) -> LiveRequest:
    if isinstance(prompt, str):
        return build_request({**defaults, "user_prompt": prompt})
    return merge(prompt, defaults) if defaults else prompt


def _lenient(prompt: object, defaults: dict[str, Any]) -> LiveRequest:
    """The request as meant, for the record of one that failed to build (no type checks)."""
    known = {k: v for k, v in defaults.items() if k in REQUEST_FIELDS}
    if isinstance(prompt, LiveRequest):
        missing = {k: v for k, v in known.items() if getattr(prompt, k, None) is None}
        return msgspec.structs.replace(prompt, **missing)
    return LiveRequest(**{**known, "user_prompt": str(prompt)})


def _writable(value: object) -> bool:
    """Whether ``value`` can go into a results record (JSON, UTF-8)."""
    try:
        msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
        return False
    return True


def _check_metadata(metadata: object) -> None:
    if not isinstance(metadata, Mapping):
        raise ValidationError("metadata", f"must be a mapping, got {type(metadata).__name__}")
    try:
        msgspec.json.encode(metadata)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError("metadata", f"cannot be written as JSON ({exc})") from None


def _invalid_key(
    platform: Platform | None, request: LiveRequest, item_id: object, sample: int
) -> str:
    """The key of an invalid item, which may hold values the encoder refuses."""
    row_id = item_id if isinstance(item_id, str | int) and not isinstance(item_id, bool) else None
    if not _writable(row_id):
        row_id = repr(row_id)  # a lone surrogate: keyed by its repr, as stable across runs
    try:
        body = encode_body(request)
    except (TypeError, ValueError, OverflowError):  # a lone surrogate, a foreign object
        # The repr is as stable across runs as the values it shows.
        body = repr(request).encode("utf-8", "backslashreplace")
    return body_key(platform, body, sample=sample, item_id=row_id)


async def _aiter(prompts: Prompts) -> AsyncIterator[PromptInput]:
    if isinstance(prompts, AsyncIterable):
        async for p in prompts:
            yield p
    else:
        for p in prompts:
            yield p
