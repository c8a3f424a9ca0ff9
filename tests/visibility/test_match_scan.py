"""The matcher's scan (first words found on an ASCII copy of the text, each group's regex run
where one begins) against one regex scanning the text, and the edge cases it could break."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dfs_async.visibility import Matcher, parse_brands
from dfs_async.visibility._domains import host_of, registrable_domain
from dfs_async.visibility._match import _Finder
from dfs_async.visibility._score import Scorer

from ._fixtures import BRANDS, record, write

PHRASES = (
    "acme",
    "acme corp",
    "acme corp international",
    "corp international",
    "corp",
    "north star",
    "star star",
    "star",
    "café zürich",
    "café",
    "straße",
    "ünïcode",
    ".net",
    "c++",
    "at&t",
    "node.js",
    "acme_x",
)
PIECES = (
    *PHRASES,
    "zürich",
    "international",
    "é",
    "ß",
    "x",
    "_",
    "1",
    " ",
    " ",
    "  ",
    "\n",
    ".",
    ",",
    "-",
    "(",
    "«",
    "—",
    "ﬁ",
)


def one_regex(phrases: list[str], text: str) -> list[tuple[int, int, str]]:
    """What the scan must equal: one regex, leftmost first, the longest phrase at a place."""
    longest_first = sorted(phrases, key=len, reverse=True)
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in longest_first)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
    return [(m.start(), m.end(), m.group()) for m in pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(PHRASES), min_size=1, max_size=8, unique=True),
    st.lists(st.sampled_from(PHRASES), max_size=4, unique=True),
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
)
def test_the_scan_finds_what_one_regex_finds(
    phrases: list[str], exclusions: list[str], text: str
) -> None:
    # The exclusions share the phrases' scan and are resolved apart.
    found, excluded = _Finder(phrases, exclusions).spans(text)
    assert as_text(found, phrases, text) == one_regex(phrases, text)
    assert as_text(excluded, exclusions, text) == (
        one_regex(exclusions, text) if exclusions else []
    )


def as_text(
    spans: list[tuple[int, int, int]], phrases: list[str], text: str
) -> list[tuple[int, int, str]]:
    """Spans with the text they cover, each checked to be a match of the phrase it names."""
    for start, end, phrase in spans:
        assert " ".join(text[start:end].split()) == phrases[phrase]
    return [(start, end, text[start:end]) for start, end, _ in spans]


def named(config: Mapping[str, object], text: str) -> list[str]:
    m = Matcher(parse_brands(config))
    brands, _ = m.first_mentions(text)
    return [m.brands[b] for b in brands]


def test_overlapping_aliases_leftmost_then_longest() -> None:
    config = {
        "brands": {
            "acme": {"names": ["Acme", "Acme Corp"]},
            "corp": {"names": ["Corp International", "Corp"]},
        }
    }
    assert named(config, "Acme Corp International") == ["acme"]
    assert named(config, "Corp International and Acme") == ["corp", "acme"]
    m = Matcher(parse_brands(config))
    assert [(x.start, x.end) for x in m.find("Acme Corp International")] == [(0, 9)]


def test_a_match_dropped_for_overlapping_does_not_hide_a_later_one() -> None:
    # "North Star" wins at 0; "Star Star" at 6 overlaps it, and the "Star" at 11 still counts,
    # as one regex scanning the text finds it.
    config = {
        "brands": {"north": {"names": ["North Star"]}, "star": {"names": ["Star Star", "Star"]}}
    }
    assert named(config, "North Star Star") == ["north", "star"]


def test_word_boundaries_with_unicode() -> None:
    config = {
        "brands": {"acme": {"names": ["Acme"]}, "cafe": {"names": ["Café Zürich", "Ünïcode"]}}
    }
    assert named(config, "caféacme") == []
    assert named(config, "Acmeé") == []
    assert named(config, "«Acme» — Café Zürich") == ["acme", "cafe"]
    assert named(config, "Acme—ÜNÏCODE") == ["acme", "cafe"]
    assert named(config, "xünïcode, Café Zürichs") == []
    assert named(config, "ﬁ Acme") == ["acme"]  # a ligature before: offsets of the folded text


def test_exclusions_drop_only_their_own_brand() -> None:
    config = {
        "brands": {
            "acme": {"names": ["Acme"], "exclude": ["hooli acme"]},
            "hooli": {"names": ["Hooli"]},
        }
    }
    assert named(config, "Hooli Acme") == ["hooli"]
    assert named(config, "Hooli, Acme") == ["hooli", "acme"]


def test_case_sensitive_aliases_beside_unicode_and_ligatures() -> None:
    config = {"brands": {"on": {"names": ["On Running"], "case_sensitive": ["On"]}}}
    assert named(config, "«On» is light") == ["on"]
    assert named(config, "Éon and on") == []
    m = Matcher(parse_brands(config))
    # NFKC makes "ﬁ" two letters: offsets are into the normalised text.
    assert [(x.start, x.end) for x in m.find("ﬁne On")] == [(5, 7)]


def test_domains_cached_per_origin_match_each_url_read_alone(tmp_path: Path) -> None:
    # Scoring caches a URL's domain by its "scheme://authority"; URLs whose part before the
    # first "/" is not the host alone (a query, a bracketed host) must not share an entry.
    urls = [
        "https://www.acme.com/a",
        "https://www.acme.com/b",
        "HTTPS://Shop.Acme.com/c",
        "https://user@globex.com/d",
        "https://news.bbc.co.uk/e",
        "https://example.org?next=/x",
        "https://example.org?next=/y",
        "https://[::1/x]/z",
        "https://[::1/y]/z",
        "https://[::1]/z",
        "https://initech.com",
        "https://initech.com?x",
        "notaurl",
    ]
    path = write(tmp_path / "r.jsonl", [record("p", "Acme", urls=urls, sample=i) for i in range(2)])
    scorer = Scorer([BRANDS], ["s"])
    scorer.score_file(0, path)
    (cell,) = scorer.cells.values()
    expected: dict[str, list[int]] = {}
    for url in urls:
        host = host_of(url)
        if host is not None:
            counts = expected.setdefault(registrable_domain(host), [0, 0])
            counts[1] += 2
    for counts in expected.values():
        counts[0] = 2
    assert cell.domains == expected
    assert cell.cited == [2, 2, 0]  # acme.com and globex.com, in both answers


def test_words_the_scan_lets_through_that_are_no_first_word() -> None:
    # The scan takes one first word's letter with another's rest ("c" + "orp"): looked up,
    # such a word is none, and it hides no first word after it.
    found, _ = _Finder(["acme", "corp"]).spans("aorp ccme acorp ccorp corp acme")
    assert [(s, e) for s, e, _ in found] == [(22, 26), (27, 31)]
