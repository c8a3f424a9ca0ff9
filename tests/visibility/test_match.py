"""Matching: aliases, word boundaries, links and labels, exclusions, case, products, Unicode."""

from __future__ import annotations

import pytest

from dfs_async.visibility import Matcher, blank_links, parse_brands

from ._fixtures import BRANDS


def named(text: str, matcher: Matcher | None = None) -> list[str]:
    """Brand keys named in ``text``, in order of first mention."""
    m = matcher or Matcher(BRANDS)
    brands, _ = m.first_mentions(text)
    return [m.brands[b] for b in brands]


def test_aliases_count_for_their_brand_in_order_of_first_mention() -> None:
    assert named("Try Globex, then Acme Corp, then Globex again.") == ["globex", "acme"]
    assert named("acme corp and ACME CORP") == ["acme"]


def test_longest_alias_wins() -> None:
    m = Matcher(BRANDS)
    mentions = m.find("We moved to Acme Corp last year.")
    assert [(m.start, m.end) for m in mentions] == [(12, 21)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme's pricing", ["acme"]),
        ("Acmeville is a town", []),
        ("the Globexian empire", []),
        ("(Globex)", ["globex"]),
        ("NotAcme and Globex", ["globex"]),
    ],
)
def test_word_boundaries(text: str, expected: list[str]) -> None:
    assert named(text) == expected


def test_link_targets_bare_urls_and_citation_labels_are_not_mentions() -> None:
    assert named("See https://globex.com/pricing for details.") == []
    assert named("Read more ([globex.com](https://www.globex.com/x?utm_source=openai)).") == []
    assert named("A review says so [globex.com] and [3].") == []
    assert named("www.globex.com lists prices") == []
    # A link whose label is prose names the brand; its target does not.
    assert named("Try [Acme](https://globex.com/acme) today.") == ["acme"]


def test_blanking_keeps_offsets() -> None:
    text = "Use [Acme](https://acme.com) now [2]."
    removed: list[tuple[int, int]] = []
    clean = blank_links(text, removed)
    assert len(clean) == len(text)
    assert clean.split() == ["Use", "Acme", "now", "."]
    assert all(clean[s:e].strip() == "" for s, e in removed)


def test_exclusions_drop_only_matches_inside_the_phrase() -> None:
    assert named("This is the acme of perfection.") == []
    assert named("The acme of perfection? No, Acme the company.") == ["acme"]


def test_case_sensitive_aliases_match_only_as_written() -> None:
    config = parse_brands({"brands": {"on": {"names": ["On Running"], "case_sensitive": ["On"]}}})
    m = Matcher(config)
    assert named("Brooks, Hoka and On are popular.", m) == ["on"]
    assert named("Put on your shoes and run on grass.", m) == []
    assert named("on running shoes", m) == ["on"]  # the case-insensitive alias
    assert named("ACME builds things", Matcher(BRANDS)) == ["acme"]


def test_products_roll_up_to_their_brand_and_are_reported_alone() -> None:
    m = Matcher(BRANDS)
    brands, products = m.first_mentions("Globex is fine, but AcmeFlow is better.")
    assert [m.brands[b] for b in brands] == ["globex", "acme"]
    assert [m.products[p][1] for p in products] == ["Acme Flow"]
    brands, products = m.first_mentions("Acme Flow, by Acme.")
    assert [m.brands[b] for b in brands] == ["acme"] and len(products) == 1


def test_unicode_is_normalised_and_case_folded() -> None:
    config = parse_brands(
        {"brands": {"strasse": {"names": ["Straße Bikes"]}, "cafe": {"names": ["Café Co"]}}}
    )
    m = Matcher(config)
    assert named("STRASSE BIKES is great", m) == ["strasse"]
    assert named("Ｇｌｏｂｅｘ (full width)") == ["globex"]  # NFKC
    assert named("Cafe\u0301 Co opened", m) == ["cafe"]  # combining accent, composed by NFKC
    assert named("Acme\u00a0Corp") == ["acme"]  # a no-break space is a space
