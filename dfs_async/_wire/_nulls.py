"""A ``null`` from the API reads as absent: a second pass, taken only by a body that needs it.

DataForSEO's own schema makes every response field nullable, and the API does send ``null``
where its docs promise a list (``sections: null`` on an item type it added). Failing a charged
answer over that would lose a result that was paid for. The Structs themselves stay strict, so
the common body decodes in one pass at full speed; a body that fails them (`decode_lenient`)
is read again as plain JSON, every ``null`` the type takes no ``None`` for is removed
(`drop_nulls`: a field takes its default, a list or dict drops the element), and the rest is
converted into the same Structs. A field typed ``T | None`` keeps its null (it means
something: ``reasoning_tokens``, ``annotations``); so do free-form values (``data``).

Why not in the Structs: msgspec calls a ``__post_init__`` from C for each Struct it decodes,
and even one per `Item` costs about as much as all the rest of the null handling. Measured on
the real ChatGPT answer: strict Structs 0.38x ``json.loads``, a ``__post_init__`` on `Item`
alone 0.40x, nulls fixed in ``__post_init__`` throughout 0.44x.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import msgspec
from msgspec import inspect as mi

T = TypeVar("T")

Fix = Callable[[Any], Any]
"""Turns a decoded JSON value into one without the nulls its type takes no None for."""

_FIXES: Final[dict[object, Fix]] = {}
"""Per Struct type: its fix."""


def decode_lenient(decoder: msgspec.json.Decoder[T], body: bytes | str) -> T:
    """``decoder.decode(body)``, reading a null its type refuses as absent.

    Raises what msgspec raises (``DecodeError``, ``ValidationError``) when the body is
    unreadable or wrong for another reason than a null.
    """
    try:
        return decoder.decode(body)
    except msgspec.ValidationError:
        tree = msgspec.json.decode(body)
        decoded: T = msgspec.convert(drop_nulls(tree, decoder.type), decoder.type)
        return decoded


def drop_nulls(value: Any, tp: object) -> Any:
    """``value`` (plain JSON) with each null that the Struct type ``tp`` takes no None for
    removed, in place."""
    return _fix_for(tp)(value)


def _fix_for(tp: object) -> Fix:
    """The fix of a Struct type, built once; a Struct that holds itself finds its own entry."""
    try:
        return _FIXES[tp]
    except KeyError:
        _FIXES[tp] = lambda value: _FIXES[tp](value)  # while its own fields are built
        _FIXES[tp] = fix = _struct_fix(mi.type_info(tp))  # type: ignore[arg-type]
        return fix


def _takes_none(info: mi.Type) -> bool:
    if isinstance(info, mi.NoneType | mi.AnyType):
        return True
    return isinstance(info, mi.UnionType) and any(_takes_none(t) for t in info.types)


def _inner_fix(info: mi.Type) -> Fix | None:
    """The fix for a value of ``info`` inside a Struct, or None if nothing in it needs one."""
    if isinstance(info, mi.StructType):
        return _fix_for(info.cls)
    if isinstance(info, mi.UnionType):
        inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return _inner_fix(inner[0]) if len(inner) == 1 else None
    if isinstance(info, mi.ListType):
        return _sequence_fix(info.item_type)
    if isinstance(info, mi.DictType):
        return _mapping_fix(info.value_type)
    return None


def _struct_fix(info: mi.StructType) -> Fix:
    # Per JSON name: drop a null (the field takes its default), and the fix of what it holds.
    # A required field keeps its null, so the error names the field.
    fields = [
        (f.encode_name, not (_takes_none(f.type) or f.required), _inner_fix(f.type))
        for f in info.fields
    ]

    def fix(value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # wrong type: msgspec.convert says so
        for name, drop, inner in fields:
            item = value.get(name)
            if item is None:
                if drop and name in value:
                    del value[name]
            elif inner is not None:
                value[name] = inner(item)
        return value

    return fix


def _sequence_fix(item: mi.Type) -> Fix | None:
    drop = not _takes_none(item)
    inner = _inner_fix(item)
    if not drop and inner is None:
        return None

    def fix(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        kept = [x for x in value if x is not None] if drop else value
        return [x if x is None else inner(x) for x in kept] if inner is not None else kept

    return fix


def _mapping_fix(item: mi.Type) -> Fix | None:
    drop = not _takes_none(item)
    inner = _inner_fix(item)
    if not drop and inner is None:
        return None

    def fix(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        kept = {k: x for k, x in value.items() if x is not None} if drop else value
        return {k: x if x is None else inner(x) for k, x in kept.items()} if inner else kept

    return fix
