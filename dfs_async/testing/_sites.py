"""The pool of sites synthesised answers cite, weighted per platform.

Each platform favours different sites (Gemini leans on YouTube, Perplexity on Reddit and review
sites, Claude on established publishers), so a "which domains does each LLM cite" report run
against the emulator shows the kind of differences the real engines show.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from .._platforms import PLATFORMS, Platform

YEAR: Final = 2025


@dataclass(frozen=True, slots=True)
class Site:
    """A citable site: where its pages live and how their titles read."""

    domain: str
    path: str
    title: str
    weights: tuple[float, ...]
    """How often each platform cites it, in `PLATFORMS` order."""
    personal: bool
    """Whether its pages need a page id or a subreddit, not just the topic."""


# domain | path template | title template | weights for chat_gpt claude gemini perplexity
_TABLE: Final = """
en.wikipedia.org | /wiki/{under} | {Topic} - Wikipedia | 8 5 6 4
www.reddit.com | /r/{sub}/comments/{id}/{slug}/ | r/{sub} on Reddit: Thoughts on {topic}? | 3 1 4 9
www.forbes.com | /advisor/{slug}/ | The Best {Topic} Of {year} - Forbes Advisor | 5 2 3 3
www.nytimes.com | /wirecutter/reviews/{slug}/ | The Best {Topic} | Reviews by Wirecutter | 4 3 2 2
www.theverge.com | /{id}/{slug} | {Topic}: what you need to know - The Verge | 3 2 2 3
www.techradar.com | /best/{slug} | The best {topic} in {year}: tested and rated | 4 1 5 3
www.cnet.com | /tech/{slug}/ | Best {Topic} for {year} - CNET | 3 2 4 2
www.pcmag.com | /picks/{slug} | The Best {Topic} for {year} - PCMag | 3 2 3 2
www.wired.com | /story/{slug}/ | {Topic}, Explained - WIRED | 2 3 1 2
www.tomsguide.com | /best-picks/{slug} | Best {topic} {year} - Tom's Guide | 3 1 4 3
www.rtings.com | /{slug}/reviews/best | The 6 Best {Topic} - RTINGS.com | 2 2 2 5
www.consumerreports.org | /{slug}/buying-guide/ | {Topic} Buying Guide - Consumer Reports | 2 5 2 2
www.trustpilot.com | /categories/{slug} | Best {Topic} - Trustpilot | 1 1 2 4
www.g2.com | /categories/{slug} | Best {Topic} Reviews {year} - G2 | 2 3 2 4
www.capterra.com | /{slug}-software/ | Best {Topic} {year} - Capterra | 1 2 2 3
www.gartner.com | /en/insights/{slug} | {Topic} Insights - Gartner | 1 4 1 1
www.statista.com | /outlook/{slug}/worldwide | {Topic} - Statista Market Forecast | 4 2 2 2
www.investopedia.com | /terms/{slug}.asp | {Topic}: Definition and How It Works | 3 3 3 2
www.nerdwallet.com | /article/{slug} | {Topic}: A Beginner's Guide - NerdWallet | 2 2 3 3
www.healthline.com | /health/{slug} | {Topic}: Benefits, Risks and More | 2 2 3 2
www.mayoclinic.org | /healthy-lifestyle/{slug} | {Topic} - Mayo Clinic | 1 4 2 1
www.youtube.com | /watch?v={vid} | {Topic} - Full Review ({year}) - YouTube | 0.5 0.1 7 3
medium.com | /@{sub}/{slug}-{id} | A Practical Guide to {Topic} - Medium | 1 1 1 3
www.quora.com | /What-is-the-best-{dash} | What is the best {topic}? - Quora | 0.5 0.1 1 3
www.bbc.com | /news/articles/{id} | {Topic}: what is changing - BBC News | 2 4 2 1
www.theguardian.com | /business/{year}/{slug} | {Topic}: winners and losers - The Guardian | 2 4 1 1
www.reuters.com | /business/{slug}-{year}/ | {Topic} market update - Reuters | 3 4 2 2
www.bloomberg.com | /news/articles/{year}/{slug} | {Topic} Is Having a Moment - Bloomberg | 2 3 1 1
www.amazon.com | /s?k={plus} | Amazon.com: {topic} | 1 0.5 3 2
www.bestbuy.com | /site/searchpage.jsp?st={plus} | {Topic} - Best Buy | 1 0.5 2 2
www.zdnet.com | /article/best-{slug}/ | The best {topic} of {year} - ZDNET | 2 2 2 2
www.grandviewresearch.com | /industry-analysis/{slug}-market | {Topic} Market Report, 2030 | 3 1 1 1
"""


def _parse(table: str) -> tuple[Site, ...]:
    sites = []
    for line in table.strip().splitlines():
        domain, path, *title, weights = (part.strip() for part in line.split(" | "))
        heading = " | ".join(title)
        personal = any(f"{{{k}}}" in path + heading for k in ("sub", "id", "vid"))
        sites.append(Site(domain, path, heading, tuple(map(float, weights.split())), personal))
    return tuple(sites)


SITES: Final = _parse(_TABLE)
_CUM_WEIGHTS: Final[dict[Platform, list[float]]] = {}
for _i, _platform in enumerate(PLATFORMS):
    _total = 0.0
    _CUM_WEIGHTS[_platform] = [_total := _total + site.weights[_i] for site in SITES]

SUBREDDITS: Final = ("BuyItForLife", "personalfinance", "technology", "AskEurope", "gadgets")


def pick_sites(rng: random.Random, platform: Platform, count: int) -> list[Site]:
    """Up to ``count`` distinct sites, drawn with ``platform``'s weights."""
    sites: list[Site] = []
    for _ in range(4 * count):  # the bound keeps a platform with few heavy sites from looping
        site = rng.choices(SITES, cum_weights=_CUM_WEIGHTS[platform])[0]
        if site not in sites:
            sites.append(site)
            if len(sites) == count:
                break
    return sites


def topic_forms(topic: str) -> dict[str, object]:
    """The spellings of ``topic`` that page paths and titles use (and the year)."""
    words = topic.split()
    lower = [w.lower() for w in words]
    capital = [w.capitalize() for w in words]
    return {
        "topic": topic,
        "Topic": topic[:1].upper() + topic[1:],
        "slug": "-".join(lower),
        "dash": "-".join(capital),
        "under": "_".join(capital),
        "plus": "+".join(lower),
        "year": YEAR,
    }


GROUNDING_REDIRECT: Final = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"
"""Where Gemini's ``url`` points: a Vertex AI redirect; ``direct_url`` is the page itself."""


def citation(
    platform: Platform, site: Site, forms: dict[str, object], ident: str, sub: str
) -> tuple[str, str, str | None]:
    """A plausible (title, url, direct_url) of a page of ``site`` about a topic.

    ``forms`` comes from `topic_forms`. Only Gemini sends a ``direct_url``: its ``url`` is a
    grounding redirect to the page, as the official schema describes.
    """
    if site.personal:
        forms = {**forms, "sub": sub, "id": ident[:7], "vid": ident + "Q"}
    url = f"https://{site.domain}{site.path.format_map(forms)}"
    title = site.title.format_map(forms)
    if platform == "chat_gpt":  # as in the fixture: OpenAI tags the links it cites
        url += ("&" if "?" in url else "?") + "utm_source=openai"
    elif platform == "gemini":
        return title, f"{GROUNDING_REDIRECT}AUZIYQ{ident.upper()}{len(url):03d}", url
    return title, url, None
