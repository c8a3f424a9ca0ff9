"""The emulator's answers name real brands of the prompt's category, differently per engine."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from dfs_async import PLATFORMS, LiveRequest
from dfs_async.testing._answers import synthesise
from dfs_async.testing._brands import CATEGORIES, brand_paragraph, category_of
from dfs_async.testing._catalog import MODELS


def key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()[:32]


@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("Which CRM do small agencies use?", "CRM"),
        ("best VPN for streaming", "VPN"),
        ("What are the best running shoes for beginners?", "running shoes"),
        ("Which web hosting provider has the best uptime?", "web hosting"),
        ("best project management tool for remote teams", "project management"),
        ("What is the best email marketing platform?", "email marketing"),
        ("How do tides work?", "*"),
    ],
)
def test_prompts_pick_their_category(prompt: str, category: str) -> None:
    assert category_of(prompt).name == category


def test_answers_name_brands_of_the_category_deterministically() -> None:
    crm = {name for name, _ in category_of("CRM").brands}
    for n in range(20):
        text, _ = brand_paragraph("claude", key(n), "best CRM")
        named = {b for b in crm if b in text}
        assert len(named) >= 3, text
        assert brand_paragraph("claude", key(n), "best CRM")[0] == text


def test_lists_prose_links_and_brand_citations_all_occur() -> None:
    texts = [brand_paragraph("perplexity", key(n), "best VPN") for n in range(60)]
    assert any("\n1. **" in t for t, _ in texts) and any("include" in t for t, _ in texts)
    assert any("](https://" in t for t, _ in texts)
    assert any(site is not None for _, site in texts)


def test_engines_prefer_different_brands() -> None:
    firsts = {
        p: Counter(
            brand_paragraph(p, key(n), "best CRM")[0].split("**")[1]
            for n in range(400)
            if "**" in brand_paragraph(p, key(n), "best CRM")[0]
        )
        for p in PLATFORMS
    }
    leaders = {p: c.most_common(1)[0][0] for p, c in firsts.items()}
    assert len(set(leaders.values())) > 1, leaders


def test_repeats_vary_only_when_asked() -> None:
    model = MODELS["chat_gpt"][0]
    request = LiveRequest(
        user_prompt="best CRM for agencies", model_name=model.name, web_search=True
    )
    one = synthesise("chat_gpt", model, request, key(1), 0, "now")
    assert synthesise("chat_gpt", model, request, key(1), 0, "now") == one
    others = [synthesise("chat_gpt", model, request, key(1), 0, "now", repeat=r) for r in (1, 2)]
    assert others[0] != one and others[1] != others[0]
    assert synthesise("chat_gpt", model, request, key(1), 0, "now", repeat=1) == others[0]


def test_every_category_has_brands_with_domains() -> None:
    assert len(CATEGORIES) >= 20
    for category in CATEGORIES:
        assert len(category.brands) >= 5
        assert all("." in domain for _, domain in category.brands)
