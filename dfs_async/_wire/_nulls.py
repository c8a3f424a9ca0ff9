"""A ``null`` from the API reads as absent: the field takes its default, a list drops it.

DataForSEO's own schema makes every response field nullable, and the API does send ``null``
where its docs promise a list or a number now and then (``sections: null`` on an item type it
added, ``money_spent: null``). Failing a charged answer over that would lose a result that was
paid for, so the public Structs accept it themselves, and a plain
``msgspec.json.decode(body, type=LiveResponse)`` decodes such a body in one pass.

A field written ``OrNull[T]`` is ``T | None`` to msgspec and plain ``T`` to type checkers; the
`NullTolerant` base's ``__post_init__`` then puts the field's default where a ``null`` arrived
and drops ``null`` elements of lists (``list[OrNull[X]]``) and values of dicts, so what a user
reads always has the type the annotation shows. The check costs one Python call per Struct that
needs it (not per annotation: `Annotation` has only nullable fields and skips it).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Final, TypeAlias, TypeVar

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

_FILLERS: Final[dict[type, Callable[[object], None]]] = {}
"""Per Struct class, the function that puts defaults where nulls arrived (see `_compile`)."""


class NullTolerant(msgspec.Struct, frozen=True):
    """Base of the response Structs whose fields are written ``OrNull[...]``."""

    def __post_init__(self) -> None:
        try:
            fill = _FILLERS[type(self)]
        except KeyError:
            fill = _FILLERS[type(self)] = _compile(type(self))
        fill(self)


def _compile(cls: type[msgspec.Struct]) -> Callable[[object], None]:
    """A function that fixes the nulls of one ``cls`` instance, written out field by field.

    It runs for every decoded Struct, so it is straight-line code (as dataclasses generate
    theirs): a loop over a field list costs several times more per answer. Lists and dicts
    check ``all()`` first, a C loop on truthiness that clears a list of Structs at once; only
    a list holding a falsy element is searched for ``None``.
    """
    lines = ["def fill(self):"]
    env: dict[str, object] = {"force": msgspec.structs.force_setattr}
    for field in msgspec.structs.fields(cls):
        inner = _strip_none(field.type)
        if inner is field.type:
            continue  # not nullable: msgspec already refuses a null there
        name = field.name
        factory = None if field.default_factory is msgspec.NODEFAULT else field.default_factory
        default = None if field.default is msgspec.NODEFAULT else field.default
        args = typing.get_args(inner)
        container = typing.get_origin(inner)
        if container not in (list, dict) or not args or _strip_none(args[-1]) is args[-1]:
            container = None  # its elements cannot be null
        if factory is None and default is None and container is None:
            continue  # null already means "absent" for this field
        lines.append(f"    v = self.{name}")
        if factory is not None:
            env[f"new_{name}"] = factory
            lines.append(f"    if v is None: force(self, {name!r}, new_{name}())")
        elif default is not None:
            env[f"default_{name}"] = default
            lines.append(f"    if v is None: force(self, {name!r}, default_{name})")
        if container is list:
            lines.append("    if v and not all(v) and None in v:")
            lines.append(f"        force(self, {name!r}, [x for x in v if x is not None])")
        elif container is dict:
            lines.append("    if v and not all(v.values()) and None in v.values():")
            lines.append(
                f"        force(self, {name!r}, {{k: x for k, x in v.items() if x is not None}})"
            )
    lines.append("    return None")
    exec("\n".join(lines), env)
    fill = env["fill"]
    assert callable(fill)
    return fill


def _strip_none(tp: object) -> object:
    """``tp`` without ``None`` if it is a union with ``None``, else ``tp`` itself."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return tp
    rest = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(rest) == len(typing.get_args(tp)):
        return tp
    return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
