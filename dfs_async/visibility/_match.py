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
from collections.abc import Iterable, Sequence
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


def _trie_pattern(aliases: Iterable[str], order: list[str] | None = None) -> str:
    """One regex alternative per alias, merged into a trie; longer continuations tried first.

    With ``order``, each alias ends in an empty group and ``order`` gets the aliases in the
    order of their groups: a match's ``lastindex`` then says which alias matched, without
    reading the matched text back.
    """
    trie: dict[str, Any] = {}  # char -> subtrie; "" -> the alias ending here
    for alias in aliases:
        node = trie
        for char in alias:
            node = node.setdefault(char, {})
        node[""] = alias

    def emit(node: dict[str, Any]) -> str:
        branches = []
        for char, child in sorted(node.items()):
            if char:
                atom = r"\s+" if char.isspace() else re.escape(char)
                branches.append(atom + emit(child))
        end = ""
        if "" in node and order is not None:
            order.append(node[""])  # after the aliases it prefixes: their groups come first
            end = "()"
        if not branches:
            return end
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" not in node:
            return body
        # The longer alias is tried before the one ending here.
        return f"(?:{body}|{end})" if end else f"(?:{body})?"

    return emit(trie)


_WORD = re.compile(r"\w+")
_MARK: Final = (
    bytes(c if chr(c).isalnum() or chr(c) == "_" else 32 for c in range(128)) + b" " * 128
)
"""Bytes table keeping ASCII word characters and making every other byte a space."""


_Spans = list[tuple[int, int, int]]
"""(start, end, index of the phrase) of matches."""


class _Group(NamedTuple):
    """Phrases sharing a first word (or all those beginning with punctuation): one regex, and
    the index of the phrase each of its groups ends (``lastindex``; 0 is never one)."""

    pattern: re.Pattern[str]
    ids: tuple[int, ...]


class _Finder:
    """Finds a set of phrases (aliases), and a second set (exclusions) apart, in a text, on
    word boundaries, each set as one regex scanning the text would: leftmost first, and at a
    position the longest phrase. A match is given as its offsets and the phrase's index in the
    sequence the finder was built from.

    One regex trying every phrase at every position costs ~50 ns a character. Instead the
    phrases are grouped by their first word, and the text is copied to ASCII bytes where every
    character that is not an ASCII word character becomes a space (a C table lookup per
    character, offsets kept). A phrase can then begin only where a space is followed by one of
    the first words and a space: one regex finds those places (the engine jumps from space to
    space) for both sets at once, and each group's own regex, run there on the real text, says
    which phrase matches and how far. A first word with a non-ASCII character is looked for
    with ``str.find``, and a phrase that begins with punctuation (".NET") by its own regex.
    """

    def __init__(self, phrases: Sequence[str], exclusions: Sequence[str] = ()) -> None:
        layers = [_group(phrases), _group(exclusions)]
        words = sorted(set(layers[0][0]) | set(layers[1][0]))
        # first word -> (its phrases, its exclusions), None where it has none
        pairs = {w: (layers[0][0].get(w), layers[1][0].get(w)) for w in words}
        self._by_word = {w.encode(): p for w, p in pairs.items() if w.isascii()}
        ascii_words = [w for w in words if w.isascii()]
        self._starts = _starts(ascii_words) if ascii_words else None
        self._slow = tuple((w, *p) for w, p in pairs.items() if not w.isascii())
        self._always = (layers[0][1], layers[1][1])
        self._merge = bool(self._slow) or self._always != (None, None)
        """Matches come from more than the scan: sorted and kept apart once all are found."""

    def __bool__(self) -> bool:
        return self._starts is not None or self._merge

    def spans(self, text: str) -> tuple[_Spans, _Spans]:
        """Matches of the phrases, and of the exclusions: leftmost-longest, not overlapping."""
        found: _Spans = []
        excluded: _Spans = []
        if self._starts is not None:
            self._scan(text, found, excluded)
        if not self._merge:
            return found, excluded
        for word, phrase, exclusion in self._slow:
            at = text.find(word)
            while at >= 0:
                _match_at(phrase, text, at, found)
                _match_at(exclusion, text, at, excluded)
                at = text.find(word, at + 1)
        for alias, into in zip(self._always, (found, excluded), strict=True):
            if alias is None:
                continue
            match = alias.pattern.search(text)
            while match is not None:
                _match_at(alias, text, match.start(), into)
                match = alias.pattern.search(text, match.start() + 1)
        # Each offset has at most one (longest) match, so this is leftmost first.
        found.sort()
        excluded.sort()
        return _apart(found), _apart(excluded)

    def _scan(self, text: str, found: _Spans, excluded: _Spans) -> None:
        """Append the matches of the phrases with an ASCII first word, in text order; when they
        are all there is, those overlapping an earlier match are left out here (as `_apart`
        would), and the regex is not even run where one begins inside the last match."""
        by_word = self._by_word
        # One byte per character ("?" for a non-ASCII one), so offsets are the text's.
        marked = b" " + text.encode("ascii", "replace").translate(_MARK) + b" "
        ascii = text.isascii()
        apart = not self._merge
        last = last_excluded = 0  # ends of the last match kept, while apart
        for start in self._starts.finditer(marked):  # type: ignore[union-attr]
            at = start.start()  # the space before the word is the text's offset - 1
            # That space may stand for a non-ASCII letter: then no word begins here.
            if not ascii and at and text[at - 1].isalnum():
                continue
            pair = by_word.get(start.group(1))
            if pair is None:
                continue  # one first word's letter before another's rest: a rare word
            phrase, exclusion = pair
            if phrase is not None and at >= last:
                match = phrase.pattern.match(text, at)
                if match is not None:
                    end = match.end()
                    # Every phrase ends in a group: lastindex is never None.
                    found.append((at, end, phrase.ids[match.lastindex or 0]))
                    if apart:
                        last = end
            if exclusion is not None and at >= last_excluded:
                match = exclusion.pattern.match(text, at)
                if match is not None:
                    excluded.append((at, match.end(), exclusion.ids[match.lastindex or 0]))
                    if apart:
                        last_excluded = match.end()


def _starts(words: list[str]) -> re.Pattern[bytes]:
    """The scan's regex: a space, then a word made of one of the words' first letters and one
    of their rests, then a space.

    A few words that are none of ``words`` pass too, and are looked up in vain; in exchange
    the engine rejects a space followed by any other letter with one character-set test, where
    the trie of the words would try each first letter in turn.
    """
    firsts = "".join(sorted({w[0] for w in words}))
    rests = _trie_pattern(sorted({w[1:] for w in words}))
    return re.compile(f" ([{re.escape(firsts)}]{rests})(?= )".encode())


def _group(phrases: Sequence[str]) -> tuple[dict[str, _Group], _Group | None]:
    """One regex per first word of ``phrases``, and one for those beginning with punctuation
    (".NET"), which are looked for everywhere."""
    groups: dict[str, list[int]] = {}
    always: list[int] = []
    for i, phrase in enumerate(phrases):
        word = _WORD.match(phrase)
        if word is None:
            always.append(i)
        else:
            groups.setdefault(word.group(), []).append(i)
    return (
        {w: _compile(phrases, g) for w, g in groups.items()},
        _compile(phrases, always) if always else None,
    )


def _apart(found: _Spans) -> _Spans:
    """The leftmost of overlapping matches (sorted by start), as one regex keeps them."""
    spans: _Spans = []
    last = 0
    for span in found:
        if span[0] >= last:
            spans.append(span)
            last = span[1]
    return spans


def _match_at(alias: _Group | None, text: str, at: int, found: _Spans) -> None:
    """Append the longest match of ``alias`` beginning at ``at`` on a word boundary."""
    if alias is None or (at and _is_word_char(text[at - 1])):
        return
    match = alias.pattern.match(text, at)
    if match is not None:
        found.append((at, match.end(), alias.ids[match.lastindex or 0]))


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _compile(phrases: Sequence[str], ids: Iterable[int]) -> _Group:
    """The regex of the phrases at ``ids`` (distinct texts), each ending in a group."""
    index = {phrases[i]: i for i in ids}
    order: list[str] = []
    body = _trie_pattern(sorted(index), order)
    pattern = re.compile("(?:" + body + ")" + _BOUNDARY_AFTER)
    return _Group(pattern, (-1, *(index[p] for p in order)))


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
        # What each phrase of the finders names, by the phrase's index.
        self._folded = tuple(folded.values())
        self._exact = tuple(exact.values())
        self._excludes = tuple(excludes.values())
        # Exclusions share the aliases' scan: their first words are mostly the brand's own.
        self._folded_finder = _Finder(tuple(folded), tuple(excludes))
        self._exact_finder = _Finder(tuple(exact))
        self._has_exact = bool(self._exact_finder)
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
        folded = fold(text)
        spans, excluded = self._folded_finder.spans(folded)
        if excluded or self._has_exact:
            for start, _, brand, product in self._resolve(text, folded, spans, excluded):
                brands.setdefault(brand, start)
                if product >= 0:
                    products.setdefault(product, start)
            return brands, products
        # Most answers: the mentions are the spans outside links, in order; a name counted
        # already needs no link check (whether it counts again changes nothing).
        targets = self._folded
        for start, _, phrase in spans:
            brand, product = targets[phrase]
            if brand in brands and (product < 0 or product in products):
                continue
            if start and folded[start - 1] not in " \n\t" and in_link(folded, start):
                continue
            brands.setdefault(brand, start)
            if product >= 0:
                products.setdefault(product, start)
        return brands, products

    def _found(self, text: str) -> list[_Found]:
        """`find` as plain tuples, product -1 for a brand alias (scoring makes no `Mention`)."""
        folded = fold(text)
        return self._resolve(text, folded, *self._folded_finder.spans(folded))

    def _resolve(self, text: str, folded: str, spans: _Spans, excluded: _Spans) -> list[_Found]:
        """The mentions of the folded finder's spans, with those of the case-sensitive aliases,
        less those in links or excluded."""
        found = _found(spans, self._folded, folded)
        if self._has_exact:
            exact = nfkc(text)
            spans = self._exact_finder.spans(exact)[0]
            if spans and len(exact) != len(folded):
                shift = _shift_map(exact)
                spans = [(shift[s], shift[e], i) for s, e, i in spans]
            for m in _found(spans, self._exact, folded):
                if not any(o[0] <= m[0] < o[1] for o in found):
                    found.append(m)
            found.sort(key=_start)
        # Exclusions only ever drop a mention of their own brand.
        if excluded and not self._excluding.isdisjoint([m[2] for m in found]):
            excluded_by = [(s, e, self._excludes[i]) for s, e, i in excluded]
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


def _found(spans: _Spans, targets: Sequence[tuple[int, int]], text: str) -> list[_Found]:
    """The mentions of ``spans``, those inside a link target, URL or citation label left out
    (checked at each match, cheaper than blanking every link of every answer first)."""
    found = []
    for start, end, phrase in spans:
        # After a space or at the start a match begins a word of its own, never one inside a
        # link (what `in_link` would find out more slowly).
        if start and text[start - 1] not in " \n\t" and in_link(text, start):
            continue
        brand, product = targets[phrase]
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
