"""Synthesised answers: a realistic Live result, a deterministic function of the request.

The same request (same key) always gets the same text, citations, tokens and price, so tests
and examples can assert on them. Citations come from a fixed pool of sites, weighted per
platform, so that a "which domains does each LLM cite" report shows real differences.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Final

from .._platforms import Platform
from .._wire._requests import LiveRequest
from ._brands import brand_paragraph
from ._catalog import WEB_SEARCH_FEE, CatalogModel, auto_reasoning
from ._sites import SUBREDDITS, YEAR, Site, citation, pick_sites, topic_forms

_CHARS_PER_TOKEN: Final = 4
_CHARS_PER_SENTENCE: Final = 110
_EMPTY_CITATIONS: Final = 0.08
"""Share of web-search answers whose search found nothing to cite (annotations ``[]``)."""


_INTROS: Final = (
    "{Topic} remains a relevant and actively discussed subject in {year}.",
    "Here is a concise overview of {topic} as things stand in {year}.",
    "{Topic} has changed noticeably over the last few years, and the picture in {year} is nuanced.",
)
_BODY: Final = (
    "Demand for {topic} has grown by roughly {pct}% year over year, driven by both new and "
    "returning customers.",
    "Reviewers consistently name reliability, price and after-sales support as the factors that "
    "matter most for {topic}.",
    "Independent tests suggest the leading options differ less in core quality than in long-term "
    "cost of ownership.",
    "For most people, a mid-range choice offers the best balance between features and price.",
    "Analysts estimate the {topic} market at about USD {n} billion, concentrated among a handful "
    "of established brands.",
    "User communities often recommend trying before committing, because personal preferences "
    "vary widely.",
    "Regulation and sustainability expectations increasingly shape how companies approach {topic}.",
    "Premium offerings justify their price mainly through better materials, longer warranties and "
    "stronger ecosystems.",
    "Budget alternatives have closed much of the gap in the last two years, especially in "
    "everyday use.",
    "Experts advise comparing at least three options and reading recent long-term reviews before "
    "deciding.",
    "Customer satisfaction surveys put the top brands within a few points of each other, around "
    "{pct} out of 100.",
    "Online discussions highlight hidden costs such as subscriptions, accessories and maintenance.",
    "Availability differs by country, so local prices and support should be checked before buying.",
    "Newer entrants compete aggressively on price, while incumbents compete on trust and service.",
    "Industry reports expect steady growth of about {pct}% a year through 2030.",
    "Seasonal discounts can lower the effective price by 15 to 30 percent.",
)
_CLOSINGS: Final = (
    "In summary, {topic} is worth considering, provided the choice matches your needs and budget.",
    "Overall, the best option for {topic} depends on how you weigh price, quality and support.",
    "In short, {topic} is a healthy and competitive space with good choices at every price point.",
)
_REASONING: Final = (
    "**Understanding the question**\n\nThe user wants to know about {topic}. I should cover "
    "the current state, the main options and what to weigh when choosing.",
    "**Gathering key facts**\n\nI'll recall market size, growth and the names that come up most "
    "often, and note where sources disagree so the answer stays balanced.",
    "**Structuring the answer**\n\nA short overview first, then the main considerations, then a "
    "one-line summary. Keeping it practical seems best.",
)
_FAN_OUT: Final = (
    "{topic} {year}",
    "best {topic}",
    "{topic} reviews",
    "{topic} market size {year}",
    "{topic} comparison",
    "is {topic} worth it",
)
# Words trimmed from the ends of the topic ("what are the best X for Y?" is about "X for Y").
_STOPWORD_TEXT: Final = (
    "a about an and any are as at be best between by can compare could current currently do does "
    "explain for from give good great how i in information is it its list me most my now of on or "
    "please provide recommend recommended relevant should some tell that the their there these "
    "this those to today top versus vs what when where which who whom why with would you your"
)
_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())
# Words that end the topic once it started ("X is growing", "X in 2025").
_BREAKERS: Final = frozenset(
    ("is", "are", "was", "were", "do", "does", "can", "could", "should", "would", "will", "now")
)
_MAX_TOPIC_WORDS: Final = 6
_WORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+-]*")
_MARKER: Final = re.compile(r"\[\[fault:[^\]]*\]\]")


def topic_of(prompt: str) -> str:
    """What an answer to ``prompt`` is about: its first noun-ish phrase, e.g. "running shoes"."""
    words = _WORD.findall(_MARKER.sub(" ", prompt))
    start = 0
    while start < len(words) and words[start].lower() in _STOPWORDS:
        start += 1
    topic: list[str] = []
    for index in range(start, min(len(words), start + _MAX_TOPIC_WORDS)):
        word = words[index]
        if word.lower() in _BREAKERS:
            break
        # Keep proper nouns and acronyms ("France", "CRM"); lower the rest.
        keep = (word.isupper() and len(word) > 1) or (index > 0 and word[:1].isupper())
        topic.append(word if keep else word.lower())
    while topic and topic[-1].lower() in _STOPWORDS:
        topic.pop()
    return " ".join(topic) or "this topic"


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything random about an answer except its topic, drawn once and reused."""

    paragraphs: tuple[tuple[str, ...], ...]
    """Sentence templates; only ``{topic}`` and ``{Topic}`` are left to fill."""
    cites: tuple[tuple[int, int, Site, str, str], ...]
    """(paragraph, sentence, site, page id, subreddit), in text order."""
    empty_citations: bool
    reasoning_sections: int
    reasoning_tokens: int
    search_tokens: int
    """Tokens of search results fed back to the model."""
    fan_out: tuple[str, ...]


_POOL_SIZE: Final = 256
_FORMS_CACHE: Final = 4096
_forms: dict[str, dict[str, object]] = {}
"""Topic spellings by prompt: benchmarks send the same prompts to every peer and platform."""
_pools: dict[tuple[int, Platform], tuple[_Plan, ...]] = {}


def synthesise(
    platform: Platform,
    model: CatalogModel,
    request: LiveRequest,
    key: str,
    seed: int,
    now: str,
    *,
    repeat: int = 0,
) -> tuple[dict[str, object], float]:
    """The Live ``result`` item for ``request``, and the vendor's money_spent for it.

    ``repeat`` > 0 (the same task asked again, as samples of a prompt are) draws another
    answer, as deterministic as the first: a function of the key and the repeat number.
    """
    if repeat:
        key = hashlib.sha256(f"{key}:{repeat}".encode()).hexdigest()
    # Drawing a whole answer per call costs ~300 us of random.Random; picking one of a pool
    # of plans drawn once, by the key's hash, keeps answers deterministic and calls cheap.
    pool = _pools.get((seed, platform)) or _pool(seed, platform)
    plan = pool[int(key[:8], 16) % _POOL_SIZE]
    forms = _forms.get(request.user_prompt)
    if forms is None:
        if len(_forms) >= _FORMS_CACHE:
            _forms.clear()
        forms = _forms[request.user_prompt] = topic_forms(topic_of(request.user_prompt))
    topic, title = str(forms["topic"]), str(forms["Topic"])
    web = platform == "perplexity" or request.web_search is True
    reasoning = auto_reasoning(platform, model, request.use_reasoning)

    budget = _CHARS_PER_TOKEN * (request.max_output_tokens or 2048)
    fitted = _fit(plan.paragraphs, budget // _CHARS_PER_SENTENCE)
    if fitted is None:
        # A tight max_output_tokens: one sentence, cut to the budget like a capped model's.
        intro = plan.paragraphs[0][0]
        paragraphs = [[intro.replace("{topic}", topic).replace("{Topic}", title)[:budget]]]
    else:
        paragraphs = [
            [t.replace("{topic}", topic).replace("{Topic}", title) for t in para] for para in fitted
        ]
    cited: dict[tuple[int, int], tuple[str, str, str | None]] = {}
    if web and not plan.empty_citations:
        for p, s, site, ident, sub in plan.cites:
            if p < len(paragraphs) and s < len(paragraphs[p]):
                cited[p, s] = citation(platform, site, forms, ident, sub)
    if fitted is not None:
        # The paragraph naming brands goes second, after the introduction.
        named, brand_site = brand_paragraph(platform, key, request.user_prompt)
        cited = {(p + (p >= 1), s): c for (p, s), c in cited.items()}
        paragraphs.insert(1, [named])
        if brand_site is not None and web and not plan.empty_citations:
            cited[1, 0] = citation(platform, brand_site, forms, "", "")
    text, annotations = _render(platform, paragraphs, cited)

    items: list[dict[str, object]] = []
    reasoning_tokens = 0
    if reasoning:
        sections = [
            {"type": "summary_text", "text": t.format_map(forms)}
            for t in _REASONING[: plan.reasoning_sections]
        ]
        items.append({"type": "reasoning", "sections": sections})
        reasoning_tokens = plan.reasoning_tokens
    section = {"type": "text", "text": text, "annotations": annotations if web else None}
    items.append({"type": "message", "sections": [section]})

    input_tokens, output_tokens = _tokens(request, text, plan.search_tokens if web else 0)
    money = input_tokens * model.price_in + (output_tokens + reasoning_tokens) * model.price_out
    money = round(money + (WEB_SEARCH_FEE[platform] if web else 0.0), 7)

    result: dict[str, object] = {
        "model_name": model.version,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning_tokens,
        "web_search": web,
        "money_spent": money,
        "datetime": now,
        "items": items,
        "fan_out_queries": [q.replace("{topic}", topic) for q in plan.fan_out] if web else [],
    }
    return result, money


def _tokens(request: LiveRequest, text: str, search_tokens: int) -> tuple[int, int]:
    """Input and output tokens of an answer, at the catalog's characters per token."""
    chain = request.message_chain or ()
    prompt_chars = len(request.user_prompt) + len(request.system_message or "")
    prompt_chars += sum(len(turn.message) for turn in chain)
    input_tokens = prompt_chars // _CHARS_PER_TOKEN + 9 + 4 * len(chain) + search_tokens
    return input_tokens, max(1, -(-len(text) // _CHARS_PER_TOKEN))


def _pool(seed: int, platform: Platform) -> tuple[_Plan, ...]:
    rng = random.Random(f"{seed}:{platform}")
    pool = tuple(_plan(rng, platform) for _ in range(_POOL_SIZE))
    _pools[seed, platform] = pool
    return pool


def _plan(rng: random.Random, platform: Platform) -> _Plan:
    keep = {"topic": "{topic}", "Topic": "{Topic}", "year": YEAR}
    body = [
        t.format(pct=rng.randint(3, 24), n=rng.randint(2, 90), **keep)
        for t in rng.sample(_BODY, rng.randint(3, 8))
    ]
    paragraphs = [[rng.choice(_INTROS).format(**keep), *body[:2]]]
    rest = body[2:]
    while rest:
        take = rng.randint(2, 3)
        paragraphs.append(rest[:take])
        rest = rest[take:]
    paragraphs.append([rng.choice(_CLOSINGS).format(**keep)])

    spots = [(p, s) for p, para in enumerate(paragraphs) for s in range(len(para))]
    sites = pick_sites(rng, platform, min(len(spots), rng.randint(2, 5)))
    cites = tuple(
        (p, s, site, f"{rng.getrandbits(40):010x}", rng.choice(SUBREDDITS))
        for (p, s), site in zip(sorted(rng.sample(spots, len(sites))), sites, strict=True)
    )
    return _Plan(
        paragraphs=tuple(tuple(para) for para in paragraphs),
        cites=cites,
        empty_citations=rng.random() < _EMPTY_CITATIONS,
        reasoning_sections=rng.randint(2, 3),
        reasoning_tokens=rng.randint(128, 1024),
        search_tokens=rng.randint(2500, 9000),
        fan_out=tuple(q.format(**keep) for q in rng.sample(_FAN_OUT, rng.randint(1, 3))),
    )


def _fit(paragraphs: tuple[tuple[str, ...], ...], sentences: int) -> list[tuple[str, ...]] | None:
    """The plan's paragraphs cut to ``sentences``, closing kept; None if three do not fit."""
    total = sum(len(para) for para in paragraphs)
    if total <= sentences:
        return list(paragraphs)
    if sentences < 3:
        return None
    body = [list(para) for para in paragraphs[:-1]]
    while total > sentences:
        body[-1].pop()
        total -= 1
        if not body[-1]:
            body.pop()
    return [*map(tuple, body), paragraphs[-1]]


def _render(
    platform: Platform,
    paragraphs: list[list[str]],
    cited: dict[tuple[int, int], tuple[str, str, str | None]],
) -> tuple[str, list[dict[str, object]]]:
    """The message text with its citation markers, and the annotations pointing into it."""
    if not cited:
        return "\n\n".join(" ".join(para) for para in paragraphs), []
    indexed = platform in ("chat_gpt", "gemini")  # only these report the cited spans
    parts: list[str] = []
    annotations: list[dict[str, object]] = []
    pos = 0
    for p, para in enumerate(paragraphs):
        if p:
            parts.append("\n\n")
            pos += 2
        for s, sentence in enumerate(para):
            if s:
                parts.append(" ")
                pos += 1
            start = pos
            parts.append(sentence)
            pos += len(sentence)
            cite = cited.get((p, s))
            if cite is None:
                continue
            title, url, direct_url = cite
            note: dict[str, object] = {"title": title, "url": url}
            if direct_url is not None:
                note["direct_url"] = direct_url
            if indexed:
                note.update(start_index=start, end_index=pos, text=sentence)
            annotations.append(note)
            if platform == "chat_gpt":
                marker = f" ([{url.split('/')[2].removeprefix('www.')}]({url}))"
            elif platform == "perplexity":
                marker = f"[{len(annotations)}]"
            else:
                marker = ""
            parts.append(marker)
            pos += len(marker)
    return "".join(parts), annotations
