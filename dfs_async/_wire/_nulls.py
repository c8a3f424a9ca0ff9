"""A ``null`` from the API reads as absent: the field takes its default, a list drops it.

DataForSEO's own schema makes every response field nullable, and the API does send ``null``
where its docs promise a list or a number now and then (``sections: null`` on an item type it
added, ``money_spent: null``). Failing a charged answer over that would lose a result that was
paid for, so the public Structs accept it themselves, and a plain
``msgspec.json.decode(body, type=LiveResponse)`` decodes such a body in one pass.

A field written ``OrNull[T]`` is ``T | None`` to msgspec and plain ``T`` to type checkers; the
`NullTolerant` base gives each subclass a ``__post_init__`` that puts the field's default where
a ``null`` arrived and drops ``null`` elements of lists (``list[OrNull[X]]``) and values of
dicts, so what a user reads always has the type the annotation shows. A field written plain
``T | None`` keeps its null (it means something: ``reasoning_tokens``, ``annotations``). The
small parts of an answer (`Item`, `Section`) are fixed by the `LiveResult` that holds them, in
one loop; `Annotation` has only fields whose default is None and needs nothing.

Cost, counted with callgrind on the real ChatGPT answer (instructions per decode): 102 k for
the Structs without any null handling, 118 k with a ``__post_init__`` per Struct, 112 k as
here; ``json.loads`` takes 246 k.
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, TypeAlias, TypeVar

import msgspec

NULL_IS_ABSENT: Final = "null reads as absent"
"""The mark ``OrNull`` leaves on a field's annotation (plain ``T | None`` keeps its nulls)."""

if TYPE_CHECKING:
    _T = TypeVar("_T")
    OrNull: TypeAlias = Annotated[_T, "null reads as absent"]
else:

    class _OrNull:
        """``OrNull[T]`` is ``T | None`` at run time, for msgspec to accept ``null``, marked so
        that `NullTolerant` knows to put the default there."""

        def __getitem__(self, tp: object) -> object:
            return Annotated[typing.Optional[tp], NULL_IS_ABSENT]  # noqa: UP045 (a runtime value)

    OrNull = _OrNull()

_FIELDS: Final[dict[type, dict[str, msgspec.structs.FieldInfo]]] = {}
"""Per Struct class, its fields by attribute name (read only when a null arrived)."""


class NullTolerant(msgspec.Struct, frozen=True):
    """Base of the response Structs whose fields are written ``OrNull[...]``.

    Each subclass gets, as it is created, a ``__post_init__`` written out for its fields
    (msgspec reads it once, at class creation), unless it sets ``held = True``: then the
    Struct that holds it fixes it, inline, in its own ``__post_init__``. msgspec calls a
    ``__post_init__`` from C for every Struct it decodes, which costs more than the fixing
    itself: for the many small parts of an answer (items, sections) one loop in their holder
    is several times cheaper than a call each. So a part decoded alone (``type=Item``) keeps
    its nulls; decoded within a `LiveResult` (or a `LiveResponse`) it never does.
    """

    held: ClassVar[bool] = False
    """Fixed by the Struct that holds it, not by a ``__post_init__`` of its own."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("held", False):
            return
        lines = _fix_lines("self", cls, depth=0, env=(env := _env()))
        if lines:
            exec("\n".join(["def __post_init__(self):", *lines]), env)
            cls.__post_init__ = env["__post_init__"]  # type: ignore[attr-defined]


def _env() -> dict[str, object]:
    return {"force": msgspec.structs.force_setattr, "put": _put_defaults}


def _fix_lines(var: str, cls: type, *, depth: int, env: dict[str, object]) -> list[str]:
    """Straight-line code fixing the nulls of the ``cls`` instance in ``var``.

    A null in an ``OrNull`` field takes the field's default (`_put_defaults` looks it up:
    msgspec collects defaults after this runs, at class creation); the common path is one
    chain of ``is None`` tests. Lists and dicts whose elements may be null check ``all()``
    first, a C loop on truthiness that clears a list of Structs at once; only a list holding
    a falsy element is searched. The elements of a list of ``held`` Structs are fixed here.
    """
    pad = "    " * (depth + 1)
    hints = typing.get_type_hints(cls, include_extras=True)
    lines: list[str] = []
    absent = [name for name, tp in hints.items() if _marked(tp)]
    if absent:
        test = " or ".join(f"{var}.{name} is None" for name in absent)
        lines.append(f"{pad}if {test}: put({var}, {tuple(absent)!r})")
    for name, tp in hints.items():
        container, element = _container_of(tp)
        if container is None:
            continue
        nullable = _strip_none(element) is not element
        held = _held(_strip_none(element))
        if not (nullable or held):
            continue
        v = f"v{depth}"
        lines.append(f"{pad}{v} = {var}.{name}")
        if container is list:
            if nullable:
                lines.append(f"{pad}if {v} and not all({v}) and None in {v}:")
                lines.append(f"{pad}    {v} = [x for x in {v} if x is not None]")
                lines.append(f"{pad}    force({var}, {name!r}, {v})")
            if held is not None:
                item = f"x{depth}"
                inner = _fix_lines(item, held, depth=depth + 1, env=env)
                if inner:
                    lines.append(f"{pad}for {item} in {v} or ():")
                    lines += inner
        elif nullable:
            lines.append(f"{pad}if {v} and not all({v}.values()) and None in {v}.values():")
            kept = f"{{k: x for k, x in {v}.items() if x is not None}}"
            lines.append(f"{pad}    force({var}, {name!r}, {kept})")
    return lines


def _container_of(tp: object) -> tuple[type | None, object]:
    """``(list or dict, element type)`` if ``tp`` (maybe nullable) is one, else (None, None)."""
    inner = _strip_none(_unmark(tp))
    args = typing.get_args(inner)
    container = typing.get_origin(inner)
    if container not in (list, dict) or not args:
        return None, None
    return container, _unmark(args[-1])


def _held(tp: object) -> type | None:
    """``tp`` if it is a `NullTolerant` Struct fixed by its holder."""
    if isinstance(tp, type) and issubclass(tp, NullTolerant) and tp.__dict__.get("held"):
        return tp
    return None


def _marked(tp: object) -> bool:
    """Whether ``tp`` was written ``OrNull[...]``."""
    return typing.get_origin(tp) is Annotated and NULL_IS_ABSENT in typing.get_args(tp)[1:]


def _unmark(tp: object) -> object:
    """``tp`` without an ``Annotated`` wrapper."""
    return typing.get_args(tp)[0] if typing.get_origin(tp) is Annotated else tp


def _put_defaults(self: msgspec.Struct, names: tuple[str, ...]) -> None:
    """A null arrived in some of ``names``: put each such field's default there."""
    cls = type(self)
    try:
        fields = _FIELDS[cls]
    except KeyError:
        fields = _FIELDS.setdefault(cls, {f.name: f for f in msgspec.structs.fields(cls)})
    for name in names:
        if getattr(self, name) is not None:
            continue
        field = fields[name]
        if field.default_factory is not msgspec.NODEFAULT:
            msgspec.structs.force_setattr(self, name, field.default_factory())
        elif field.default is not msgspec.NODEFAULT:
            msgspec.structs.force_setattr(self, name, field.default)


def _strip_none(tp: object) -> object:
    """``tp`` without ``None`` if it is a union with ``None``, else ``tp`` itself."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return tp
    rest = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(rest) == len(typing.get_args(tp)):
        return tp
    return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
