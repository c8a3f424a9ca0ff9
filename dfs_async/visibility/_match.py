"""Finding the tracked brands and products an answer names, and in which order.

Every alias of every brand goes into one regular expression shaped as a trie (aliases sharing a
prefix share a branch), so an answer is scanned once whatever the number of brands, and at each
position the longest alias is tried first: "Acme Flow" wins over "Acme". Aliases match on word
boundaries (``(?<!\\w)`` and ``(?!\\w)``), after NFKC normalisation, case-insensitively except
the brand's ``case_sensitive`` aliases; a match inside one of the brand's ``exclude`` phrases
does not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from ._config import BrandConfig
from ._text import blank_links, fold, nfkc

_BOUNDARY_BEFORE: Final = r"(?<!\w)"
_BOUNDARY_AFTER: Final = r"(?!\w)"


@dataclass(frozen=True, slots=True)
class Mention:
    """One match in an answer: offsets into the answer's text, and whom it names."""

    start: int
    end: int
    brand: int
    """Index of the brand in `Matcher.brands`."""
    product: int | None
    """Index of the product in `Matcher.products`, or None for a brand alias."""


def _trie_pattern(aliases: Iterable[str]) -> str:
    """One regex alternative per alias, merged into a trie; longer continuations tried first."""
    trie: dict[str, Any] = {}  # char -> subtrie; "" marks the end of an alias
    for alias in aliases:
        node = trie
        for char in alias:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = []
        for char, child in sorted(node.items()):
            if char:
                atom = r"\s+" if char.isspace() else re.escape(char)
                branches.append(atom + emit(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # A greedy optional: the longer alias is tried before the one ending here.
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def _compile(aliases: Iterable[str]) -> re.Pattern[str] | None:
    listed = sorted(set(aliases))
    if not listed:
        return None
    return re.compile(_BOUNDARY_BEFORE + "(?:" + _trie_pattern(listed) + ")" + _BOUNDARY_AFTER)


class Matcher:
    """Finds the brands (and products) of a `BrandConfig` in answer texts."""

    def __init__(self, config: BrandConfig) -> None:
        self.config = config
        self.brands: tuple[str, ...] = tuple(b.key for b in config.brands)
        """Brand keys, in config order."""
        self.products: tuple[tuple[int, str], ...] = tuple(
            (i, p.name) for i, b in enumerate(config.brands) for p in b.products
        )
        """(brand index, product name) of every product, in config order."""
        # alias as the regex sees it -> (brand, product or -1)
        folded: dict[str, tuple[int, int]] = {}
        exact: dict[str, tuple[int, int]] = {}
        excludes: dict[str, int] = {}
        product = 0
        for i, brand in enumerate(config.brands):
            for alias in brand.names:
                folded[_key(fold(alias))] = (i, -1)
            for alias in brand.case_sensitive:
                exact[_key(nfkc(alias))] = (i, -1)
            for p in brand.products:
                for alias in p.aliases:
                    folded[_key(fold(alias))] = (i, product)
                product += 1
            for phrase in brand.exclude:
                excludes[_key(fold(phrase))] = i
        self._folded = folded
        self._exact = exact
        self._excludes = excludes
        self._folded_re = _compile(folded)
        self._exact_re = _compile(exact)
        self._exclude_re = _compile(excludes)

    def find(self, text: str) -> list[Mention]:
        """Every mention in ``text`` (links and citation labels ignored), in text order.

        Offsets are into ``text``; where normalisation changes the length of the text (rare:
        ligatures, "ß"), they are offsets into its normalised form instead.
        """
        clean = blank_links(text)
        folded = fold(clean)
        mentions = list(self._scan(self._folded_re, self._folded, folded, folded))
        if self._exact_re is not None:
            exact = nfkc(clean)
            shift = _shift_map(exact) if len(exact) != len(folded) else None
            for m in self._scan(self._exact_re, self._exact, exact, folded, shift):
                if not any(o.start <= m.start < o.end for o in mentions):
                    mentions.append(m)
        mentions.sort(key=lambda m: m.start)
        return mentions

    def first_mentions(self, text: str) -> tuple[dict[int, int], dict[int, int]]:
        """First offset of each brand named (in order of first mention) and of each product."""
        brands: dict[int, int] = {}
        products: dict[int, int] = {}
        for m in self.find(text):
            brands.setdefault(m.brand, m.start)
            if m.product is not None:
                products.setdefault(m.product, m.start)
        return brands, products

    def _scan(
        self,
        pattern: re.Pattern[str] | None,
        table: dict[str, tuple[int, int]],
        text: str,
        folded: str,
        shift: list[int] | None = None,
    ) -> Iterable[Mention]:
        if pattern is None:
            return
        excluded: list[tuple[int, int, int]] | None = None
        for match in pattern.finditer(text):
            brand, product = table[_key(match.group())]
            start, end = match.span()
            if shift is not None:
                start, end = shift[start], shift[end]
            if self._exclude_re is not None:
                if excluded is None:
                    excluded = [
                        (*e.span(), self._excludes[_key(e.group())])
                        for e in self._exclude_re.finditer(folded)
                    ]
                if any(s <= start and end <= e and b == brand for s, e, b in excluded):
                    continue
            yield Mention(start, end, brand, None if product < 0 else product)


def _key(alias: str) -> str:
    """An alias with its whitespace runs made single spaces (the regex takes any run)."""
    return " ".join(alias.split())


def _shift_map(text: str) -> list[int]:
    """Offset in ``fold(text)`` of each offset of ``text`` (for case-folding that grows "ß")."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.casefold()))
    return offsets
