"""The report's tables, computed from a `Scorer`'s counters.

Formulas (also written into the JSON report and the page):

- mention rate = answers naming the brand ÷ answered calls, with a 95 % Wilson interval;
- prompt-balanced rate = mean over prompts of (answers naming it ÷ answers to that prompt),
  with a 95 % bootstrap interval over prompts (all answers of a drawn prompt go together);
- share of voice = answers naming the brand ÷ Σ over tracked brands of answers naming each;
- top-1 rate = answers naming the brand before any other tracked brand ÷ answered calls;
- mean rank = mean over answers naming it of its position among the tracked brands named;
- cited rate = answers citing one of the brand's domains ÷ answered calls;
- per domain: used rate = answers citing it ÷ answered calls, citation share = its cited URLs
  ÷ all cited URLs (a URL counted once per answer).

Failed calls are never in a denominator; they have their own column.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Final

from ._score import Cell, CellKey, Scorer
from ._stats import bootstrap_rates, wilson_interval

TOO_SMALL: Final = 5
"""Cells with fewer answered calls than this are marked too small to read."""
FORMULAS: Final = {
    "mention_rate": "answers naming the brand / answered calls (95% Wilson interval)",
    "prompt_rate": "mean over prompts of each prompt's mention rate "
    "(95% bootstrap interval, prompts resampled with all their answers)",
    "share_of_voice": "answers naming the brand / sum over tracked brands of answers naming each",
    "top1_rate": "answers naming the brand before any other tracked brand / answered calls",
    "mean_rank": "mean position among tracked brands named, over answers naming the brand",
    "cited_rate": "answers citing one of the brand's domains / answered calls",
    "used_rate": "answers citing the domain / answered calls",
    "citation_share": "distinct URLs of the domain cited / all distinct URLs cited "
    "(a URL counted once per answer)",
    "cost_per_answer": "USD charged (answered and failed calls) / answered calls",
}
BRAND_COLUMNS: Final = (
    "snapshot",
    "engine",
    "model",
    "brand",
    "answers",
    "mentioned",
    "mention_rate",
    "mention_rate_lo",
    "mention_rate_hi",
    "share_of_voice",
    "top1_rate",
    "mean_rank",
    "cited",
    "cited_rate",
    "group",
    "kind",
    "parent",
    "failed",
    "prompts",
    "prompt_rate",
    "prompt_rate_lo",
    "prompt_rate_hi",
    "named_and_cited",
    "named_only",
    "cited_only",
    "too_small",
)
DOMAIN_COLUMNS: Final = (
    "snapshot",
    "engine",
    "domain",
    "answers_citing",
    "used_rate",
    "citations",
    "citation_share",
    "owner",
    "answers",
)
COST_COLUMNS: Final = (
    "snapshot",
    "engine",
    "model",
    "group",
    "answers",
    "failed",
    "pending",
    "cost",
    "cost_per_answer",
    "cost_unknown",
)
OVERALL_COLUMNS: Final = (
    "snapshot",
    "brand",
    "answers",
    "mentioned",
    "mention_rate",
    "mention_rate_lo",
    "mention_rate_hi",
    "prompts",
    "share_of_voice",
    "too_small",
)

Row = dict[str, object]


def rate(k: int, n: int) -> float | None:
    """``k / n`` rounded for the tables, or None when n is 0."""
    return round(k / n, 4) if n else None


def _r(value: float) -> float:
    return round(value, 4)


def _rounds(prompts: int, series: int) -> int:
    """Bootstrap rounds: 1000, fewer (at least 200) when a cell is large, to bound the time."""
    return max(200, min(1000, 4_000_000 // max(1, prompts * series)))


def brand_rows(scorer: Scorer) -> list[Row]:
    """One row per cell and brand (then product): the brands table."""
    rows: list[Row] = []
    for key in sorted(scorer.cells):
        cell = scorer.cells[key]
        rows.extend(_cell_brand_rows(scorer, key, cell))
    return rows


def _cell_brand_rows(scorer: Scorer, key: CellKey, cell: Cell) -> Iterable[Row]:
    matcher = scorer.matchers[key.snapshot]
    names = scorer.entity_names(key.snapshot)
    n = cell.answers
    voice = sum(cell.mentioned[: cell.brands])
    counts = list(cell.prompts.values())
    per_prompt = [c[0] for c in counts]
    hits = [[c[1 + e] for c in counts] for e in range(cell.entities)]
    intervals = bootstrap_rates(per_prompt, hits, rounds=_rounds(len(counts), cell.entities))
    for e in range(cell.entities):
        k = cell.mentioned[e]
        lo, hi = wilson_interval(k, n)
        is_brand = e < cell.brands
        parent = "" if is_brand else names[matcher.products[e - cell.brands][0]]
        cited = cell.cited[e] if is_brand else None
        both = cell.named_cited[e] if is_brand else None
        balanced = [h / a for h, a in zip(hits[e], per_prompt, strict=True) if a]
        yield {
            "snapshot": scorer.snapshots[key.snapshot],
            "engine": key.engine,
            "model": key.model,
            "brand": names[e],
            "answers": n,
            "mentioned": k,
            "mention_rate": rate(k, n),
            "mention_rate_lo": _r(lo) if n else None,
            "mention_rate_hi": _r(hi) if n else None,
            "share_of_voice": rate(k, voice) if voice else (0.0 if n else None),
            "top1_rate": rate(cell.top1[e], n),
            "mean_rank": rate(cell.rank_sum[e], k),
            "cited": cited,
            "cited_rate": rate(cited, n) if cited is not None else None,
            "group": key.group,
            "kind": "brand" if is_brand else "product",
            "parent": parent,
            "failed": cell.failed,
            "prompts": len(balanced),
            "prompt_rate": _r(sum(balanced) / len(balanced)) if balanced else None,
            "prompt_rate_lo": _r(intervals[e][2]) if balanced else None,
            "prompt_rate_hi": _r(intervals[e][3]) if balanced else None,
            "named_and_cited": both,
            "named_only": k - both if both is not None else None,
            "cited_only": cited - both if cited is not None and both is not None else None,
            "too_small": n < TOO_SMALL,
        }


def domain_rows(scorer: Scorer, top: int | None = None) -> list[Row]:
    """Per snapshot and engine, each cited domain, most used first (``top`` per engine)."""
    merged: dict[tuple[int, str], tuple[int, int, dict[str, list[int]]]] = {}
    for key, cell in sorted(scorer.cells.items()):
        answers, citations, domains = merged.get((key.snapshot, key.engine), (0, 0, {}))
        for domain, (citing, urls) in cell.domains.items():
            counts = domains.setdefault(domain, [0, 0])
            counts[0] += citing
            counts[1] += urls
        merged[key.snapshot, key.engine] = (
            answers + cell.answers,
            citations + cell.citations,
            domains,
        )
    rows: list[Row] = []
    for (snapshot, engine), (answers, citations, domains) in sorted(merged.items()):
        ranked = sorted(domains.items(), key=lambda d: (-d[1][0], -d[1][1], d[0]))
        for domain, (citing, urls) in ranked[:top]:
            rows.append(
                {
                    "snapshot": scorer.snapshots[snapshot],
                    "engine": engine,
                    "domain": domain,
                    "answers_citing": citing,
                    "used_rate": rate(citing, answers),
                    "citations": urls,
                    "citation_share": rate(urls, citations),
                    "owner": scorer.domain_owner(snapshot, domain),
                    "answers": answers,
                }
            )
    return rows


def cost_rows(scorer: Scorer) -> list[Row]:
    """Per cell: answered, failed and pending calls, and what they cost."""
    return [
        {
            "snapshot": scorer.snapshots[key.snapshot],
            "engine": key.engine,
            "model": key.model,
            "group": key.group,
            "answers": cell.answers,
            "failed": cell.failed,
            "pending": cell.pending,
            "cost": round(cell.cost, 6),
            "cost_per_answer": round(cell.cost / cell.answers, 6) if cell.answers else None,
            "cost_unknown": round(cell.cost_unknown, 6),
        }
        for key, cell in sorted(scorer.cells.items())
    ]


def overall_rows(scorer: Scorer) -> list[Row]:
    """Per snapshot and brand, over every engine: the headline mention rate, its interval a
    bootstrap over prompts (a prompt's answers on every engine drawn together)."""
    rows: list[Row] = []
    for snapshot, label in enumerate(scorer.snapshots):
        names = scorer.entity_names(snapshot)
        brands = len(scorer.configs[snapshot].brands)
        prompts: dict[str, list[int]] = {}
        for key, cell in scorer.cells.items():
            if key.snapshot != snapshot:
                continue
            for prompt, counts in cell.prompts.items():
                total = prompts.setdefault(prompt, [0] * len(counts))
                for i, c in enumerate(counts):
                    total[i] += c
        merged = list(prompts.values())
        per_prompt = [c[0] for c in merged]
        hits = [[c[1 + b] for c in merged] for b in range(brands)]
        n = sum(per_prompt)
        voice = sum(sum(h) for h in hits)
        intervals = bootstrap_rates(per_prompt, hits, rounds=_rounds(len(merged), brands))
        for b in range(brands):
            k = sum(hits[b])
            rows.append(
                {
                    "snapshot": label,
                    "brand": names[b],
                    "answers": n,
                    "mentioned": k,
                    "mention_rate": rate(k, n),
                    "mention_rate_lo": _r(intervals[b][0]) if n else None,
                    "mention_rate_hi": _r(intervals[b][1]) if n else None,
                    "prompts": len(merged),
                    "share_of_voice": rate(k, voice),
                    "too_small": n < TOO_SMALL,
                }
            )
    return rows


def candidate_rows(scorer: Scorer, top: int = 50) -> list[Row]:
    """Capitalised names recurring across answers that no tracked brand matches."""
    if scorer.candidates is None:
        return []
    answers = sum(c.answers for c in scorer.cells.values())
    floor = max(3, answers // 100)
    common: Counter[str] = scorer.candidates
    # Ties by name: the counter's order follows sets of names, which the hash seed shuffles,
    # and the same file must give the same table.
    ranked = sorted(common.items(), key=lambda pair: (-pair[1], pair[0]))[:top]
    return [
        {"name": name, "answers": count, "share": rate(count, answers)}
        for name, count in ranked
        if count >= floor
    ]
