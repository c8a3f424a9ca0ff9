"""Finding the tracked brands and products an answer names, and in which order.

Aliases sharing their first word share one regular expression shaped as a trie, so at each
position the longest alias is tried first: "Acme Flow" wins over "Acme" (see `_Finder` for how
an answer is scanned quickly whatever the number of brands). Aliases match on word boundaries
(no word character just before or after), after NFKC normalisation, case-insensitively except
the brand's ``case_sensitive`` aliases; a match inside one of the brand's ``exclude`` phrases
does not count, nor one inside a link target, a bare URL or a citation label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from ._config import BrandConfig
from ._text import fold, in_link, nfkc

_BOUNDARY_AFTER: Final = r"(?!\w)"


class Mention(NamedTuple):
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


_WORD = re.compile(r"\w+")
_SUBSTRING_GROUPS: Final = 64
"""Up to this many first words, testing each as a substring beats listing the text's words."""


class _Finder:
    """Finds a set of phrases (aliases or exclusions) in a text, on word boundaries.

    One regex scanning every position costs ~60 ns a character whatever the phrases. Instead
    the phrases are grouped by their first word: a substring test per group (or, with many
    groups, the set of the text's words) says which groups can match at all, and only those
    groups' regexes run, each beginning with a literal word that the regex engine finds by
    fast substring search. Matches are then resolved as one regex would: leftmost first, and
    at a position the longest phrase.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        groups: dict[str, list[str]] = {}
        always: list[str] = []
        for phrase in set(phrases):
            word = _WORD.match(phrase)
            if word is None:
                always.append(phrase)  # begins with punctuation (".NET"): scanned every time
            else:
                groups.setdefault(word.group(), []).append(phrase)
        self._groups = {word: _compile(group) for word, group in groups.items()}
        self._always = _compile(always) if always else None

    def __bool__(self) -> bool:
        return bool(self._groups) or self._always is not None

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, phrase key) of every match, leftmost-longest, not overlapping."""
        if len(self._groups) <= _SUBSTRING_GROUPS:
            patterns = [p for word, p in self._groups.items() if word in text]
        else:
            words = set(_WORD.findall(text))
            patterns = [self._groups[w] for w in self._groups.keys() & words]
        if self._always is not None:
            patterns.append(self._always)
        found = [hit for p in patterns for hit in _hits(p, text)]
        if len(patterns) > 1:
            found.sort()
        spans: list[tuple[int, int, str]] = []
        last = 0
        for start, neg_end, matched in found:
            if start >= last:
                spans.append((start, -neg_end, matched))
                last = -neg_end
        return spans


def _compile(phrases: Iterable[str]) -> re.Pattern[str]:
    # No lookbehind in the regex: it would stop the engine from finding the literal first
    # word by fast search; `_hits` checks the boundary before a match instead.
    return re.compile("(?:" + _trie_pattern(sorted(phrases)) + ")" + _BOUNDARY_AFTER)


def _hits(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, str]]:
    """(start, -end, text) of each match of ``pattern`` that begins on a word boundary."""
    found = []
    pos = 0
    while True:
        for match in pattern.finditer(text, pos):
            start = match.start()
            if start and _is_word_char(text[start - 1]):
                pos = start + 1  # inside a word ("notacme"): look again just after its start
                break
            found.append((start, -match.end(), match.group()))
        else:
            return found


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


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
        self._folded_finder = _Finder(folded)
        self._exact_finder = _Finder(exact)
        self._exclude_finder = _Finder(excludes)

    def find(self, text: str) -> list[Mention]:
        """Every mention in ``text`` (links and citation labels ignored), in text order.

        Offsets are into ``text``; where normalisation changes the length of the text (rare:
        ligatures, "ß"), they are offsets into its normalised form instead.
        """
        folded = fold(text)
        mentions = self._mentions(self._folded_finder.spans(folded), self._folded, folded)
        if self._exact_finder:
            exact = nfkc(text)
            spans = self._exact_finder.spans(exact)
            if spans and len(exact) != len(folded):
                shift = _shift_map(exact)
                spans = [(shift[s], shift[e], key) for s, e, key in spans]
            for m in self._mentions(spans, self._exact, folded):
                if not any(o.start <= m.start < o.end for o in mentions):
                    mentions.append(m)
            mentions.sort(key=lambda m: m.start)
        if self._exclude_finder and mentions:
            excluded = [
                (s, e, self._excludes[_key(key)])
                for s, e, key in self._exclude_finder.spans(folded)
            ]
            mentions = [
                m
                for m in mentions
                if not any(s <= m.start and m.end <= e and b == m.brand for s, e, b in excluded)
            ]
        return mentions

    def first_mentions(self, text: str) -> tuple[dict[int, int], dict[int, int]]:
        """First offset of each brand named (in order of first mention) and of each product."""
        brands: dict[int, int] = {}
        products: dict[int, int] = {}
        for m in self.find(text):
            if m.brand not in brands:
                brands[m.brand] = m.start
            if m.product is not None and m.product not in products:
                products[m.product] = m.start
        return brands, products

    @staticmethod
    def _mentions(
        spans: list[tuple[int, int, str]], table: dict[str, tuple[int, int]], text: str
    ) -> list[Mention]:
        """Mentions of ``spans``, those inside a link target, URL or citation label left out
        (checked at each match, cheaper than blanking every link of every answer first)."""
        mentions = []
        for start, end, matched in spans:
            if in_link(text, start):
                continue
            brand, product = table.get(matched) or table[_key(matched)]
            mentions.append(Mention(start, end, brand, None if product < 0 else product))
        return mentions


def _key(alias: str) -> str:
    """An alias with its whitespace runs made single spaces (the regex takes any run)."""
    return " ".join(alias.split())


def _shift_map(text: str) -> list[int]:
    """Offset in ``fold(text)`` of each offset of ``text`` (for case-folding that grows "ß")."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.casefold()))
    return offsets
