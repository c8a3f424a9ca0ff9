"""The brand config: which brands to track, their aliases, products and domains (TOML).

Read with the standard library (`tomllib`). Every problem is one line naming the key, so a user
editing the file by hand can fix it without reading a traceback.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec


class BrandConfigError(ValueError):
    """The brand config cannot be used; the message names the key and the problem."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """A product of a brand: its mentions count for the brand and are also reported alone."""

    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Brand:
    """One tracked brand."""

    key: str
    """The brand's table key in the config (``[brands.<key>]``)."""
    name: str
    """How tables show it."""
    names: tuple[str, ...]
    """Aliases matched case-insensitively."""
    case_sensitive: tuple[str, ...] = ()
    """Aliases matched only as written (common words in lower case)."""
    products: tuple[Product, ...] = ()
    exclude: tuple[str, ...] = ()
    """Phrases a match inside of does not count ("acme of perfection")."""
    domains: tuple[str, ...] = ()
    """Domains (subdomains included) whose citation counts as citing the brand."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrandConfig:
    """Tracked brands, in config order, and which one is the user's own."""

    brands: tuple[Brand, ...]
    primary: str | None = None
    """Key of the user's own brand."""
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    """Per brand key, a digest of its definition: tells a diff that a brand's config changed."""

    def brand(self, key: str) -> Brand:
        """The brand of ``key``."""
        for brand in self.brands:
            if brand.key == key:
                return brand
        raise KeyError(key)


_BRAND_KEYS = frozenset(("name", "names", "products", "case_sensitive", "exclude", "domains"))


def load_brands(path: str | os.PathLike[str]) -> BrandConfig:
    """Read a brand config file; `BrandConfigError` (one line) if it is unusable."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BrandConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BrandConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_brands(data)
    except BrandConfigError as exc:
        raise BrandConfigError(f"{path}: {exc}") from None


def parse_brands(data: Mapping[str, object]) -> BrandConfig:
    """A `BrandConfig` from already parsed TOML (a mapping); `BrandConfigError` if unusable."""
    unknown = sorted(set(data) - {"settings", "brands"})
    if unknown:
        raise BrandConfigError(f"{unknown[0]}: unknown table (expected [settings] and [brands.*])")
    settings = _table(data.get("settings", {}), "settings")
    bad = sorted(set(settings) - {"primary"})
    if bad:
        raise BrandConfigError(f"settings.{bad[0]}: unknown setting (expected primary)")
    tables = _table(data.get("brands"), "brands")
    if not tables:
        raise BrandConfigError("brands: no brand defined (add a [brands.<key>] table)")
    brands = tuple(_brand(key, _table(value, f"brands.{key}")) for key, value in tables.items())
    primary = settings.get("primary")
    if primary is not None and (not isinstance(primary, str) or primary not in tables):
        raise BrandConfigError(
            f"settings.primary: {primary!r} is not one of the brands ({', '.join(tables)})"
        )
    _check_unique(brands)
    encoder = msgspec.json.Encoder()
    prints = {
        key: hashlib.sha256(encoder.encode(value)).hexdigest()[:12] for key, value in tables.items()
    }
    return BrandConfig(brands=brands, primary=primary, fingerprints=prints)


def _table(value: object, where: str) -> dict[str, object]:
    if value is None:
        raise BrandConfigError(f"{where}: missing")
    if not isinstance(value, dict):
        raise BrandConfigError(f"{where}: must be a table, not {type(value).__name__}")
    return value


def _strings(value: object, where: str, *, required: bool = False) -> tuple[str, ...]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BrandConfigError(f"{where}: must be a list of strings")
    cleaned = tuple(v.strip() for v in value)
    if any(not v for v in cleaned):
        raise BrandConfigError(f"{where}: holds an empty string")
    if required and not cleaned:
        raise BrandConfigError(f"{where}: needs at least one name")
    return cleaned


def _brand(key: str, table: dict[str, object]) -> Brand:
    where = f"brands.{key}"
    unknown = sorted(set(table) - _BRAND_KEYS)
    if unknown:
        raise BrandConfigError(
            f"{where}.{unknown[0]}: unknown key (expected {', '.join(sorted(_BRAND_KEYS))})"
        )
    name = table.get("name", key)
    if not isinstance(name, str) or not name.strip():
        raise BrandConfigError(f"{where}.name: must be a non-empty string")
    case_sensitive = _strings(table.get("case_sensitive"), f"{where}.case_sensitive")
    names = _strings(table.get("names", [name]), f"{where}.names")
    if not names and not case_sensitive:
        raise BrandConfigError(f"{where}.names: needs at least one name")
    products = table.get("products", {})
    if not isinstance(products, dict):
        raise BrandConfigError(f"{where}.products: must be a table of name = [aliases]")
    return Brand(
        key=key,
        name=name.strip(),
        names=names,
        case_sensitive=case_sensitive,
        products=tuple(
            Product(
                name=product,
                aliases=_strings(aliases, f"{where}.products.{product}", required=True),
            )
            for product, aliases in products.items()
        ),
        exclude=_strings(table.get("exclude"), f"{where}.exclude"),
        domains=tuple(
            _domain(d, f"{where}.domains")
            for d in _strings(table.get("domains"), f"{where}.domains")
        ),
    )


def _domain(text: str, where: str) -> str:
    domain = text.lower().removeprefix("https://").removeprefix("http://").strip("/")
    if not domain or "/" in domain or " " in domain or "." not in domain:
        raise BrandConfigError(f"{where}: {text!r} is not a domain (write e.g. acme.com)")
    return domain.removeprefix("www.")


def _check_unique(brands: tuple[Brand, ...]) -> None:
    """An alias naming two brands would make every count of both wrong: refuse it."""
    owner: dict[str, str] = {}
    for brand in brands:
        aliases = [*brand.names, *(a for p in brand.products for a in p.aliases)]
        for alias in aliases:
            folded = alias.casefold()
            other = owner.setdefault(folded, brand.key)
            if other != brand.key:
                raise BrandConfigError(
                    f"brands.{brand.key}.names: {alias!r} is also an alias of brands.{other}"
                )
