"""Intervals and the multiple-testing correction against known values."""

from __future__ import annotations

import pytest

from dfs_async.visibility import benjamini_hochberg, registrable_domain, wilson_interval
from dfs_async.visibility._stats import bootstrap_rates


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (8, 10, 0.4902, 0.9433),  # the textbook example
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 3, 0.0615, 0.7923),
    ],
)
def test_wilson_interval_matches_known_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_wilson_of_nothing_is_everything() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_benjamini_hochberg_matches_a_hand_computation() -> None:
    # p sorted: 0.01, 0.02, 0.03, 0.5 with m=4 -> 0.04, 0.04, 0.04, 0.5
    assert benjamini_hochberg([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.04, 0.5, 0.04, 0.04])
    assert benjamini_hochberg([]) == []


def test_bootstrap_is_seeded_and_respects_prompts() -> None:
    answers = [3] * 20
    clustered = [[3 if p < 10 else 0 for p in range(20)]]  # all or nothing per prompt
    spread = [[2 if p % 2 else 1 for p in range(20)]]  # every prompt about half
    first = bootstrap_rates(answers, clustered)
    assert first == bootstrap_rates(answers, clustered)  # fixed seed
    width_clustered = first[0][1] - first[0][0]
    width_spread = bootstrap_rates(answers, spread)[0][1] - bootstrap_rates(answers, spread)[0][0]
    # The same 50 % rate is far less certain when it comes from 10 prompts out of 20.
    assert width_clustered > 2 * width_spread


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.nytimes.com", "nytimes.com"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("en.wikipedia.org", "wikipedia.org"),
        ("foo.github.io", "foo.github.io"),
        ("a.b.kawasaki.jp", "a.b.kawasaki.jp"),
        ("city.kawasaki.jp", "city.kawasaki.jp"),
        ("localhost", "localhost"),
        ("10.0.0.1", "10.0.0.1"),
    ],
)
def test_registrable_domain_uses_the_public_suffix_list(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_large_cells_get_cluster_robust_intervals_close_to_the_bootstrap() -> None:
    """Past 500 prompts the normal interval replaces the bootstrap; both agree near 500."""
    answers = [3] * 600
    hits = [[(p * 7) % 4 for p in range(600)]]  # 0 to 3 of each prompt's 3 answers: rate 0.5
    normal = bootstrap_rates(answers, hits)[0]
    boot = bootstrap_rates(answers[:500], [hits[0][:500]])[0]
    assert normal[0] < 0.5 < normal[1]
    assert abs((normal[1] - normal[0]) - (boot[1] - boot[0]) * (500 / 600) ** 0.5) < 0.01
