"""The report as one self-contained HTML page: inline CSS, SVG and a few lines of JS.

The page makes no request to any host: no link, script, font or image points outside it, and
cited URLs are shown without their scheme. Every number in its tables is the CSV's text for the
same cell (`format_cell`), carried in a ``data-v`` attribute too, so a test can hold one
against the other. Without matplotlib (the ``report`` extra) the page has no charts and says so.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from . import _charts
from ._diff import DIFF_COLUMNS, DOMAIN_CHANGE_COLUMNS
from ._domains import host_of
from ._metrics import (
    BRAND_COLUMNS,
    COST_COLUMNS,
    DOMAIN_COLUMNS,
    FORMULAS,
    TOO_SMALL,
    Row,
    rate,
)
from ._score import DrillAnswer
from ._stats import wilson_interval
from ._tables import Report, format_cell
from ._text import fold

_CSS: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;
color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ddd;border-radius:6px;
padding:.6em 1em;min-width:12em}.card b{font-size:1.6em;display:block}.muted{color:#777}
table{border-collapse:collapse;font-size:12px;margin:.5em 0}td,th{border:1px solid #e3e3e3;
padding:2px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.small td{color:#999}tr.yes td{background:#fff4e5}.chart svg{max-width:100%;height:auto}
mark{background:#ffe08a;padding:0 2px;border-radius:3px}mark.primary{background:#ffb3b3}
.cite{font-size:.8em;color:#06c;background:#eef5ff;border-radius:3px;padding:0 3px}
details{margin:.3em 0}.answer{white-space:pre-wrap;border-left:3px solid #ddd;padding-left:1em;
margin:.5em 0}.scroll{overflow-x:auto}code{background:#f4f4f4;padding:0 3px}
"""
_JS: Final = """
document.getElementById('engine-filter').addEventListener('change', function (e) {
  var engine = e.target.value;
  document.querySelectorAll('.drill [data-engine]').forEach(function (el) {
    el.style.display = !engine || el.dataset.engine === engine ? '' : 'none';
  });
});
"""
_TOP_DOMAINS: Final = 40


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(rows: Sequence[Row], columns: Sequence[str], table_id: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cls = []
        if row.get("too_small"):
            cls.append("small")
        if row.get("changed") is True:
            cls.append("yes")
        cells = "".join(
            f'<td data-c="{_e(c)}" data-v="{_e(format_cell(row.get(c)))}">'
            f"{_e(format_cell(row.get(c)))}</td>"
            for c in columns
        )
        body.append(f'<tr class="{" ".join(cls)}">{cells}</tr>')
    return (
        f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _pct(value: object) -> str:
    return f"{100 * float(str(value)):.1f}%" if value is not None else "-"


def _headline(report: Report) -> str:
    last = report.snapshots[-1]
    config = report.configs[-1]
    primary = config.brand(config.primary).name if config.primary else None
    rows = [r for r in report.overall if r["snapshot"] == last]
    rows.sort(key=lambda r: (r["brand"] != primary, -float(str(r["mention_rate"] or 0))))
    costs = [r for r in report.costs if r["snapshot"] == last]
    answers = sum(int(str(r["answers"])) for r in costs)
    failed = sum(int(str(r["failed"])) for r in costs)
    cost = sum(float(str(r["cost"])) for r in costs)
    cards = [
        f'<div class="card"><span class="muted">answers (failed apart)</span>'
        f"<b>{answers}</b>{failed} failed, ${cost:.4f} charged</div>"
    ]
    for row in rows[:4]:
        tag = " (yours)" if row["brand"] == primary else ""
        cards.append(
            f'<div class="card" data-brand="{_e(row["brand"])}">'
            f'<span class="muted">{_e(row["brand"])}{tag}: mention rate</span>'
            f"<b>{_pct(row['mention_rate'])}</b>95% CI {_pct(row['mention_rate_lo'])} – "
            f"{_pct(row['mention_rate_hi'])}, {row['mentioned']}/{row['answers']} answers; "
            f"share of voice {_pct(row['share_of_voice'])}</div>"
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _charts_html(report: Report) -> str:
    if not _charts.available():
        return (
            '<p class="muted" id="no-charts">Charts need the optional extra: '
            "<code>pip install 'dfs_async[report]'</code> (matplotlib). The tables below hold "
            "every figure.</p>"
        )
    last = report.snapshots[-1]
    rows = _over_groups(
        [r for r in report.brands if r["snapshot"] == last and r["kind"] == "brand"]
    )
    brands = list(dict.fromkeys(str(r["brand"]) for r in rows))
    engines = sorted({str(r["engine"]) for r in rows})
    parts = [
        ("Mention rate by engine", _charts.mention_rates(rows, brands, engines)),
        ("Share of voice per engine", _charts.share_of_voice(rows, brands, engines)),
        ("Brand × engine", _charts.heatmap(rows, brands, engines)),
        ("Top cited domains, all engines", _charts.top_domains(_all_engine_domains(report))),
    ]
    if len(report.snapshots) > 1:
        parts.append(
            ("Trend over snapshots", _charts.trends(report.overall, brands, report.snapshots))
        )
    return "".join(
        f'<h3>{_e(title)}</h3><div class="chart" data-chart="{_e(title)}">{svg}</div>'
        for title, svg in parts
    )


def _over_groups(rows: list[Row]) -> list[Row]:
    """Brand rows summed over ``--by`` groups (and models), one per brand and engine: what the
    charts show. Rates and Wilson bounds are recomputed from the summed counts."""
    if len({(r["brand"], r["engine"]) for r in rows}) == len(rows):
        return rows
    sums: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = sums.setdefault((str(row["brand"]), str(row["engine"])), [0, 0])
        counts[0] += int(str(row["answers"]))
        counts[1] += int(str(row["mentioned"]))
    voice: dict[str, int] = {}
    for (_, engine), (_, k) in sums.items():
        voice[engine] = voice.get(engine, 0) + k
    merged: list[Row] = []
    for (brand, engine), (n, k) in sums.items():
        lo, hi = wilson_interval(k, n)
        merged.append(
            {
                "brand": brand,
                "engine": engine,
                "answers": n,
                "mentioned": k,
                "mention_rate": rate(k, n),
                "mention_rate_lo": round(lo, 4) if n else None,
                "mention_rate_hi": round(hi, 4) if n else None,
                "share_of_voice": rate(k, voice[engine]) if voice[engine] else 0.0,
                "too_small": n < TOO_SMALL,
            }
        )
    return merged


def _all_engine_domains(report: Report) -> list[Row]:
    """The last snapshot's domains over every engine, most used first."""
    last = report.snapshots[-1]
    merged: dict[str, list[int]] = {}
    owners: dict[str, object] = {}
    answers: dict[str, int] = {}
    for row in report.domains:
        if row["snapshot"] != last:
            continue
        counts = merged.setdefault(str(row["domain"]), [0, 0])
        counts[0] += int(str(row["answers_citing"]))
        owners[str(row["domain"])] = row["owner"]
        answers[str(row["engine"])] = int(str(row["answers"]))
    total = sum(answers.values()) or 1
    ranked = sorted(merged.items(), key=lambda d: (-d[1][0], d[0]))
    return [
        {"domain": d, "used_rate": round(c[0] / total, 4), "owner": owners[d]}
        for d, c in ranked[:_TOP_DOMAINS]
    ]


def _highlight(answer: DrillAnswer, names: Sequence[str], primary: str | None) -> str:
    """The answer's text, mentions marked, link targets and citation labels as chips."""
    text = answer.text
    if len(fold(text)) != len(text):
        return _e(text) + '<p class="muted">(not highlighted: normalisation changes offsets)</p>'
    events: list[tuple[int, int, str]] = [(s, e, "cut") for s, e in answer.removed]
    events += [(m.start, m.end, f"m{m.brand}") for m in answer.mentions]
    events.sort()
    out: list[str] = []
    pos = 0
    for start, end, kind in events:
        if start < pos:
            continue
        out.append(_e(text[pos:start]))
        piece = text[start:end]
        if kind == "cut":
            label = piece.strip("[]() ")
            if "://" in piece or piece.startswith("www."):
                inner = piece[piece.find("[") + 1 : piece.find("]")] if "[" in piece else ""
                label = inner or host_of(piece.strip("()")) or ""
            out.append(f'<span class="cite">{_e(label)}</span>' if label else "")
        else:
            brand = names[int(kind[1:])]
            cls = ' class="primary"' if brand == primary else ""
            out.append(f'<mark{cls} title="{_e(brand)}">{_e(piece)}</mark>')
        pos = end
    out.append(_e(text[pos:]))
    return "".join(out)


def _drilldown(report: Report) -> str:
    config = report.configs[-1]
    primary = config.brand(config.primary).name if config.primary else None
    names = report.entity_names[-1]
    engines = sorted({a.engine for a in report.drilldown})
    options = "".join(f'<option value="{_e(e)}">{_e(e)}</option>' for e in engines)
    by_prompt: dict[str, list[DrillAnswer]] = {}
    for answer in report.drilldown:
        by_prompt.setdefault(answer.prompt, []).append(answer)
    blocks = []
    for prompt, answers in by_prompt.items():
        items = []
        for a in sorted(answers, key=lambda a: (a.engine, a.sample)):
            named = list(dict.fromkeys(names[m.brand] for m in a.mentions))
            cites = "".join(
                f"<li><b>{_e(d)}</b> {_e(t)} <span class='muted'>{_e(u)}</span></li>"
                for d, t, u in a.citations
            )
            items.append(
                f'<div data-engine="{_e(a.engine)}"><h4>{_e(a.engine)} · {_e(a.model)} · '
                f"sample {a.sample}: {_e(', '.join(named) or 'no tracked brand')}</h4>"
                f'<div class="answer">{_highlight(a, names, primary)}</div>'
                f"<ul>{cites or '<li class=muted>no citation</li>'}</ul></div>"
            )
        blocks.append(f"<details><summary>{_e(prompt)}</summary>{''.join(items)}</details>")
    return (
        f'<p>Engine: <select id="engine-filter"><option value="">all</option>{options}'
        f'</select></p><div class="drill">{"".join(blocks)}</div>'
    )


def render_html(report: Report) -> str:
    """The whole page for ``report``."""
    last = report.snapshots[-1]
    sections = [
        f"<h1>AI visibility report</h1><p class='muted'>snapshots: "
        f"{_e(', '.join(report.snapshots))}"
        + (f"; split by <code>{_e(report.by)}</code>" if report.by else "")
        + "</p>",
        _headline(report),
        "<h2>Charts</h2>",
        _charts_html(report),
        "<h2>Brands</h2><p class='muted'>Grey rows: fewer than 5 answers, too small to read.</p>",
        _table(report.brands, BRAND_COLUMNS, "brands"),
        "<h2>Cited domains</h2>",
        _table(report.domains[:2000], DOMAIN_COLUMNS, "domains"),
        "<h2>Cost</h2>",
        _table(report.costs, COST_COLUMNS, "costs"),
    ]
    if len(report.snapshots) > 1:
        sections += [
            "<h2>Changes between snapshots</h2><p class='muted'>Matched cells only (same "
            "prompt, engine, model); highlighted rows changed beyond noise (Benjamini–Hochberg "
            "q &lt; 0.05).</p>",
            _table(report.diff, DIFF_COLUMNS, "diff"),
            "<h3>New and lost cited domains</h3>",
            _table(report.domain_changes, DOMAIN_CHANGE_COLUMNS, "domain-changes"),
        ]
    if report.candidates is not None:
        sections += [
            "<h2>Candidates: untracked names that recur</h2>",
            _table(report.candidates, ("name", "answers", "share"), "candidates"),
        ]
    sections += [
        f"<h2>Answers of {_e(last)}</h2><p class='muted'>Up to 3 answers per engine for the "
        "first 40 prompts; every answer is in answers.csv.</p>",
        _drilldown(report),
        "<h2>Formulas</h2><ul>"
        + "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in FORMULAS.items())
        + "</ul>",
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>AI visibility report</title><style>{_CSS}</style></head><body>"
        + "".join(sections)
        + f"<script>{_JS}</script></body></html>\n"
    )
