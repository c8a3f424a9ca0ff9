"""Comparing snapshots: what changed beyond noise between one results file and the next.

Only matched cells are compared: the same prompt, on the same engine and model (and group),
in both snapshots; prompts in one snapshot only are left out and flagged. For each brand, the
change of mention rate over the matched prompts gets a standard error that is the larger of a
paired bootstrap over prompts (samples of a prompt are not independent) and the Agresti–Caffo
binomial one (so that a cell of one prompt still has an honest, non-zero error), a 95 %
interval, and a two-sided p-value; Benjamini–Hochberg then corrects for the many cells tested
at once, and a change is flagged when its q-value is below 0.05.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from ._metrics import TOO_SMALL, Row, rate
from ._score import Cell, CellKey, Scorer
from ._stats import Z95, benjamini_hochberg, bootstrap_se, two_sided_p

FDR: Final = 0.05
"""The false discovery rate Benjamini–Hochberg controls."""
DIFF_COLUMNS: Final = (
    "from_snapshot",
    "to_snapshot",
    "engine",
    "model",
    "group",
    "brand",
    "prompts",
    "answers_from",
    "mentioned_from",
    "rate_from",
    "answers_to",
    "mentioned_to",
    "rate_to",
    "change",
    "change_lo",
    "change_hi",
    "p_value",
    "q_value",
    "changed",
    "flags",
)
DOMAIN_CHANGE_COLUMNS: Final = (
    "from_snapshot",
    "to_snapshot",
    "engine",
    "domain",
    "status",
    "answers_citing_from",
    "answers_citing_to",
)


def diff_rows(scorer: Scorer) -> list[Row]:
    """Each snapshot against the one before it, per matched cell and brand."""
    rows: list[Row] = []
    p_values: list[float] = []
    for before in range(len(scorer.snapshots) - 1):
        for row, p in _pair(scorer, before, before + 1):
            rows.append(row)
            p_values.append(p)
    for row, q in zip(rows, benjamini_hochberg(p_values), strict=True):
        row["q_value"] = round(q, 4)
        row["changed"] = q < FDR
    return rows


def _pair(scorer: Scorer, a: int, b: int) -> Iterable[tuple[Row, float]]:
    cells_b = {(k.engine, k.model, k.group): c for k, c in scorer.cells.items() if k.snapshot == b}
    names_a = scorer.entity_names(a)
    names_b = scorer.entity_names(b)
    prints_a, prints_b = scorer.configs[a].fingerprints, scorer.configs[b].fingerprints
    keys_a = [c.key for c in scorer.configs[a].brands]
    keys_b = [c.key for c in scorer.configs[b].brands]
    for key, cell_a in sorted(scorer.cells.items()):
        if key.snapshot != a:
            continue
        cell_b = cells_b.get((key.engine, key.model, key.group))
        if cell_b is None or not cell_a.answers or not cell_b.answers:
            continue
        matched = sorted(set(cell_a.prompts) & set(cell_b.prompts))
        flags = _cell_flags(cell_a, cell_b, len(matched))
        for e, name in enumerate(names_a):
            if name not in names_b:
                continue
            f = names_b.index(name)
            brand_flags = list(flags)
            if e < len(keys_a) and f < len(keys_b):
                if prints_a.get(keys_a[e]) != prints_b.get(keys_b[f]):
                    brand_flags.append("brand config changed")
            elif e < len(keys_a) or f < len(keys_b):
                continue  # a brand in one config is a product in the other
            yield _compare(scorer, key, b, name, cell_a, cell_b, e, f, matched, brand_flags)


def _cell_flags(cell_a: Cell, cell_b: Cell, matched: int) -> list[str]:
    """What makes comparing these two cells unfair, in words."""
    flags = []
    if set(cell_a.models) != set(cell_b.models):
        flags.append(
            f"model changed ({', '.join(sorted(cell_a.models))} -> "
            f"{', '.join(sorted(cell_b.models))})"
        )
    only_a = len(cell_a.prompts) - matched
    only_b = len(cell_b.prompts) - matched
    if only_a or only_b:
        flags.append(f"prompt set changed ({only_a} dropped, {only_b} added; not compared)")
    return flags


def _compare(
    scorer: Scorer,
    key: CellKey,
    b: int,
    name: str,
    cell_a: Cell,
    cell_b: Cell,
    e: int,
    f: int,
    matched: list[str],
    flags: list[str],
) -> tuple[Row, float]:
    answers = [(cell_a.prompts[p][0], cell_b.prompts[p][0]) for p in matched]
    hits = [(cell_a.prompts[p][1 + e], cell_b.prompts[p][1 + f]) for p in matched]
    na = sum(x for x, _ in answers)
    nb = sum(y for _, y in answers)
    ka = sum(x for x, _ in hits)
    kb = sum(y for _, y in hits)
    change = (kb / nb if nb else 0.0) - (ka / na if na else 0.0)
    se = _standard_error(answers, hits, na, ka, nb, kb)
    p = two_sided_p(change / se) if se > 0 else (1.0 if change == 0 else 0.0)
    if min(na, nb) < TOO_SMALL:
        flags = [*flags, "too small"]
    row: Row = {
        "from_snapshot": scorer.snapshots[key.snapshot],
        "to_snapshot": scorer.snapshots[b],
        "engine": key.engine,
        "model": key.model,
        "group": key.group,
        "brand": name,
        "prompts": len(matched),
        "answers_from": na,
        "mentioned_from": ka,
        "rate_from": rate(ka, na),
        "answers_to": nb,
        "mentioned_to": kb,
        "rate_to": rate(kb, nb),
        "change": round(change, 4),
        "change_lo": round(max(-1.0, change - Z95 * se), 4),
        "change_hi": round(min(1.0, change + Z95 * se), 4),
        "p_value": round(p, 4),
        "q_value": None,
        "changed": False,
        "flags": "; ".join(flags),
    }
    return row, p


def _standard_error(
    answers: list[tuple[int, int]], hits: list[tuple[int, int]], na: int, ka: int, nb: int, kb: int
) -> float:
    if not na or not nb:
        return 0.0
    # Agresti–Caffo: one success and one failure added to each side.
    pa, pb = (ka + 1) / (na + 2), (kb + 1) / (nb + 2)
    binomial = pa * (1 - pa) / (na + 2) + pb * (1 - pb) / (nb + 2)
    clustered = bootstrap_se(answers, hits) ** 2
    return math.sqrt(max(binomial, clustered))


def domain_change_rows(scorer: Scorer) -> list[Row]:
    """Per engine, cited domains new in a snapshot, and those it no longer cites."""
    rows: list[Row] = []
    for a in range(len(scorer.snapshots) - 1):
        before = _domains_by_engine(scorer, a)
        after = _domains_by_engine(scorer, a + 1)
        for engine in sorted(set(before) & set(after)):
            old, new = before[engine], after[engine]
            for domain in sorted(set(old) | set(new)):
                if (domain in old) == (domain in new):
                    continue
                rows.append(
                    {
                        "from_snapshot": scorer.snapshots[a],
                        "to_snapshot": scorer.snapshots[a + 1],
                        "engine": engine,
                        "domain": domain,
                        "status": "new" if domain in new else "lost",
                        "answers_citing_from": old.get(domain, 0),
                        "answers_citing_to": new.get(domain, 0),
                    }
                )
    return rows


def _domains_by_engine(scorer: Scorer, snapshot: int) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for key, cell in scorer.cells.items():
        if key.snapshot == snapshot:
            domains = found.setdefault(key.engine, {})
            for domain, (citing, _) in cell.domains.items():
                domains[domain] = domains.get(domain, 0) + citing
    return found
