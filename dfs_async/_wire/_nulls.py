"""A ``null`` from the API reads as absent: the field takes its default, a list drops it.

DataForSEO's own schema makes every response field nullable, and the API does send ``null``
where its docs promise a list or a number now and then (``sections: null`` on an item type it
added, ``money_spent: null``). Failing a charged answer over that would lose a result that was
paid for, so the public Structs accept it themselves, and a plain
``msgspec.json.decode(body, type=LiveResponse)`` decodes such a body in one pass.

A field written ``OrNull[T]`` is ``T | None`` to msgspec and plain ``T`` to type checkers; the
`NullTolerant` base gives each subclass a ``__post_init__`` that puts the field's default where
a ``null`` arrived and drops ``null`` elements of lists (``list[OrNull[X]]``) and values of
dicts, so what a user reads always has the type the annotation shows. The check costs one
Python call per Struct that needs it (not per annotation: `Annotation` has only nullable fields
with None defaults and is not a `NullTolerant`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias, TypeVar

import msgspec

if TYPE_CHECKING:
    _T = TypeVar("_T")
    OrNull: TypeAlias = Annotated[_T, "null reads as absent"]
else:

    class _OrNull:
        """``OrNull[T]`` is ``T | None`` at run time, for msgspec to accept ``null``."""

        def __getitem__(self, tp: object) -> object:
            return typing.Optional[tp]  # noqa: UP045 (tp is a runtime value, not syntax)

    OrNull = _OrNull()

_FIELDS: Final[dict[type, dict[str, msgspec.structs.FieldInfo]]] = {}
"""Per Struct class, its fields by attribute name (read only when a null arrived)."""


class NullTolerant(msgspec.Struct, frozen=True):
    """Base of the response Structs whose fields are written ``OrNull[...]``.

    Each subclass gets, as it is created, a ``__post_init__`` written out for its own fields
    (msgspec reads it once, at class creation). It runs for every decoded Struct, so it is one
    frame of straight-line code, as dataclasses generate theirs: a dispatch through a table or
    a loop over a field list cost a quarter of the whole decode of a real answer.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fill = _compile(cls)
        if fill is not None:
            cls.__post_init__ = fill  # type: ignore[attr-defined]


def _compile(cls: type) -> Callable[[object], None] | None:
    """A ``__post_init__`` that fixes the nulls of one ``cls`` instance, or None if none can.

    The defaults are not known yet while the class is being made (msgspec collects them
    after), so a null field calls `_put_default`, which looks them up: the rare path. Lists
    and dicts check ``all()`` first, a C loop on truthiness that clears a list of Structs at
    once; only a list holding a falsy element is searched for ``None``.
    """
    lines = ["def __post_init__(self):"]
    env: dict[str, object] = {"force": msgspec.structs.force_setattr, "put": _put_default}
    for name, tp in typing.get_type_hints(cls).items():
        inner = _strip_none(tp)
        if inner is tp:
            continue  # not nullable: msgspec already refuses a null there
        args = typing.get_args(inner)
        container = typing.get_origin(inner)
        if container not in (list, dict) or not args or _strip_none(args[-1]) is args[-1]:
            container = None  # its elements cannot be null
        lines.append(f"    v = self.{name}")
        lines.append(f"    if v is None: put(self, {name!r})")
        if container is list:
            lines.append("    elif v and not all(v) and None in v:")
            lines.append(f"        force(self, {name!r}, [x for x in v if x is not None])")
        elif container is dict:
            lines.append("    elif v and not all(v.values()) and None in v.values():")
            lines.append(
                f"        force(self, {name!r}, {{k: x for k, x in v.items() if x is not None}})"
            )
    if len(lines) == 1:
        return None
    exec("\n".join(lines), env)
    fill = env["__post_init__"]
    assert callable(fill)
    return fill


def _put_default(self: msgspec.Struct, name: str) -> None:
    """A null arrived in ``name``: put the field's default there (None stays if that is it)."""
    cls = type(self)
    try:
        field = _FIELDS[cls][name]
    except KeyError:
        field = _FIELDS.setdefault(cls, {f.name: f for f in msgspec.structs.fields(cls)})[name]
    if field.default_factory is not msgspec.NODEFAULT:
        msgspec.structs.force_setattr(self, name, field.default_factory())
    elif field.default is not msgspec.NODEFAULT and field.default is not None:
        msgspec.structs.force_setattr(self, name, field.default)


def _strip_none(tp: object) -> object:
    """``tp`` without ``None`` if it is a union with ``None``, else ``tp`` itself."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return tp
    rest = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(rest) == len(typing.get_args(tp)):
        return tp
    return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
