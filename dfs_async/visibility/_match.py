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
_MARK: Final = (
    bytes(c if chr(c).isalnum() or chr(c) == "_" else 32 for c in range(128)) + b" " * 128
)
"""Bytes table keeping ASCII word characters and making every other byte a space."""


_Spans = list[tuple[int, int, str]]
"""(start, end, phrase key) of matches."""


class _Finder:
    """Finds a set of phrases (aliases), and a second set (exclusions) apart, in a text, on
    word boundaries, each set as one regex scanning the text would: leftmost first, and at a
    position the longest phrase.

    One regex trying every phrase at every position costs ~50 ns a character. Instead the
    phrases are grouped by their first word, and the text is copied to ASCII bytes where every
    character that is not an ASCII word character becomes a space (a C table lookup per
    character, offsets kept). A phrase can then begin only where a space is followed by one of
    the first words and a space: one regex finds those places (the engine jumps from space to
    space) for both sets at once, and each group's own regex, run there on the real text, says
    which phrase matches and how far. A first word with a non-ASCII character is looked for
    with ``str.find``, and a phrase that begins with punctuation (".NET") by its own regex.
    """

    def __init__(self, phrases: Iterable[str], exclusions: Iterable[str] = ()) -> None:
        layers = [_group(phrases), _group(exclusions)]
        words = sorted(set(layers[0][0]) | set(layers[1][0]))
        # first word -> (its phrases' regex, its exclusions' regex), None where it has none
        pairs = {w: (layers[0][0].get(w), layers[1][0].get(w)) for w in words}
        self._by_word = {w.encode(): p for w, p in pairs.items() if w.isascii()}
        ascii_words = [w for w in words if w.isascii()]
        self._starts = (
            re.compile(b" (" + _trie_pattern(ascii_words).encode() + b")(?= )")
            if ascii_words
            else None
        )
        self._slow = tuple((w, *p) for w, p in pairs.items() if not w.isascii())
        self._always = (layers[0][1], layers[1][1])

    def __bool__(self) -> bool:
        return self._starts is not None or bool(self._slow) or self._always != (None, None)

    def spans(self, text: str) -> tuple[_Spans, _Spans]:
        """Matches of the phrases, and of the exclusions: leftmost-longest, not overlapping."""
        found: _Spans = []
        excluded: _Spans = []
        if self._starts is not None:
            by_word = self._by_word
            # One byte per character ("?" for a non-ASCII one), so offsets are the text's.
            marked = b" " + text.encode("ascii", "replace").translate(_MARK) + b" "
            ascii = text.isascii()
            for start in self._starts.finditer(marked):
                at = start.start()  # the space before the word is the text's offset - 1
                # That space may stand for a non-ASCII letter: then no word begins here.
                if not ascii and at and text[at - 1].isalnum():
                    continue
                phrase, exclusion = by_word[start.group(1)]
                if phrase is not None and (match := phrase.match(text, at)) is not None:
                    found.append((at, match.end(), match.group()))
                if exclusion is not None and (match := exclusion.match(text, at)) is not None:
                    excluded.append((at, match.end(), match.group()))
        if self._slow or self._always != (None, None):
            for word, phrase, exclusion in self._slow:
                at = text.find(word)
                while at >= 0:
                    _match_at(phrase, text, at, found)
                    _match_at(exclusion, text, at, excluded)
                    at = text.find(word, at + 1)
            for pattern, into in zip(self._always, (found, excluded), strict=True):
                if pattern is None:
                    continue
                match = pattern.search(text)
                while match is not None:
                    _match_at(pattern, text, match.start(), into)
                    match = pattern.search(text, match.start() + 1)
            # Each offset has at most one (longest) match, so this is leftmost first.
            found.sort()
            excluded.sort()
        return _apart(found), _apart(excluded)


def _group(phrases: Iterable[str]) -> tuple[dict[str, re.Pattern[str]], re.Pattern[str] | None]:
    """One regex per first word of ``phrases``, and one for those beginning with punctuation
    (".NET"), which are looked for everywhere."""
    groups: dict[str, list[str]] = {}
    always: list[str] = []
    for phrase in set(phrases):
        word = _WORD.match(phrase)
        if word is None:
            always.append(phrase)
        else:
            groups.setdefault(word.group(), []).append(phrase)
    return {w: _compile(g) for w, g in groups.items()}, _compile(always) if always else None


def _apart(found: _Spans) -> _Spans:
    """The leftmost of overlapping matches (sorted by start), as one regex keeps them."""
    spans: _Spans = []
    last = 0
    for span in found:
        if span[0] >= last:
            spans.append(span)
            last = span[1]
    return spans


def _match_at(pattern: re.Pattern[str] | None, text: str, at: int, found: _Spans) -> None:
    """Append the longest match of ``pattern`` beginning at ``at`` on a word boundary."""
    if pattern is None or (at and _is_word_char(text[at - 1])):
        return
    match = pattern.match(text, at)
    if match is not None:
        found.append((at, match.end(), match.group()))


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _compile(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile("(?:" + _trie_pattern(sorted(phrases)) + ")" + _BOUNDARY_AFTER)


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
        # Exclusions share the aliases' scan: their first words are mostly the brand's own.
        self._folded_finder = _Finder(folded, excludes)
        self._exact_finder = _Finder(exact)
        self._excluding = frozenset(excludes.values())

    def find(self, text: str) -> list[Mention]:
        """Every mention in ``text`` (links and citation labels ignored), in text order.

        Offsets are into ``text``; where normalisation changes the length of the text (rare:
        ligatures, "ß"), they are offsets into its normalised form instead.
        """
        return [Mention(s, e, b, None if p < 0 else p) for s, e, b, p in self._found(text)]

    def first_mentions(self, text: str) -> tuple[dict[int, int], dict[int, int]]:
        """First offset of each brand named (in order of first mention) and of each product."""
        brands: dict[int, int] = {}
        products: dict[int, int] = {}
        for start, _, brand, product in self._found(text):
            brands.setdefault(brand, start)
            if product >= 0:
                products.setdefault(product, start)
        return brands, products

    def _found(self, text: str) -> list[_Found]:
        """`find` as plain tuples, product -1 for a brand alias (scoring makes no `Mention`)."""
        folded = fold(text)
        spans, excluded = self._folded_finder.spans(folded)
        found = _found(spans, self._folded, folded)
        if self._exact_finder:
            exact = nfkc(text)
            spans = self._exact_finder.spans(exact)[0]
            if spans and len(exact) != len(folded):
                shift = _shift_map(exact)
                spans = [(shift[s], shift[e], key) for s, e, key in spans]
            for m in _found(spans, self._exact, folded):
                if not any(o[0] <= m[0] < o[1] for o in found):
                    found.append(m)
            found.sort(key=_start)
        # Exclusions only ever drop a mention of their own brand.
        if excluded and not self._excluding.isdisjoint([m[2] for m in found]):
            excluded_by = [(s, e, self._excludes[_key(key)]) for s, e, key in excluded]
            found = [
                m
                for m in found
                if not any(s <= m[0] and m[1] <= e and b == m[2] for s, e, b in excluded_by)
            ]
        return found


_Found = tuple[int, int, int, int]
"""(start, end, brand, product or -1): a `Mention` before it is made one."""


def _start(found: _Found) -> int:
    return found[0]


def _found(
    spans: list[tuple[int, int, str]], table: dict[str, tuple[int, int]], text: str
) -> list[_Found]:
    """The mentions of ``spans``, those inside a link target, URL or citation label left out
    (checked at each match, cheaper than blanking every link of every answer first)."""
    found = []
    for start, end, matched in spans:
        # After a space or at the start a match begins a word of its own, never one inside a
        # link (what `in_link` would find out more slowly).
        if start and text[start - 1] not in " \n\t" and in_link(text, start):
            continue
        brand, product = table.get(matched) or table[_key(matched)]
        found.append((start, end, brand, product))
    return found


def _key(alias: str) -> str:
    """An alias with its whitespace runs made single spaces (the regex takes any run)."""
    return " ".join(alias.split())


def _shift_map(text: str) -> list[int]:
    """Offset in ``fold(text)`` of each offset of ``text`` (for case-folding that grows "ß")."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.casefold()))
    return offsets
