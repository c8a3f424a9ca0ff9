"""A whole report: score the snapshots, then write its tables (CSV, JSON) and page (HTML).

The per-answer table is written while scoring (to ``answers.csv`` and into the JSON's
``answers`` array), so no answer is held in memory; every other table is small (cells × brands).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Final

import msgspec

from ._config import BrandConfig
from ._diff import DIFF_COLUMNS, DOMAIN_CHANGE_COLUMNS, diff_rows, domain_change_rows
from ._metrics import (
    BRAND_COLUMNS,
    COST_COLUMNS,
    DOMAIN_COLUMNS,
    OVERALL_COLUMNS,
    Row,
    brand_rows,
    candidate_rows,
    cost_rows,
    domain_rows,
    overall_rows,
)
from ._score import AnswerRow, Scorer, snapshot_names
from ._tables import Report, format_cell

ANSWER_COLUMNS: Final = (
    "snapshot",
    "engine",
    "model",
    "answer_model",
    "group",
    "prompt",
    "id",
    "sample",
    "status",
    "brands",
    "products",
    "domains",
    "cited_brands",
    "cost",
    "key",
)
CANDIDATE_COLUMNS: Final = ("name", "answers", "share")
_LIST_SEP: Final = "; "


def score_files(
    paths: Sequence[str | os.PathLike[str]],
    brands: BrandConfig | Sequence[BrandConfig],
    *,
    by: str | None = None,
    candidates: bool = False,
    on_answer: Callable[[AnswerRow], None] | None = None,
) -> Report:
    """Score results files (one snapshot each, in order) against a brand config (or one per
    file) and return the report's tables; no network, one record in memory at a time.

    Parameters
    ----------
    paths:
        Results files written by a sweep (`dfs_async.JsonlSink`, ``dfs-async sweep --out``).
    brands:
        The brands to track: one `BrandConfig` for every file, or one per file.
    by:
        A metadata key of the input rows: every table is split by its value too.
    candidates:
        Also count capitalised names that recur across answers and are not tracked.
    on_answer:
        Called with each answer's row, as it is scored.
    """
    if not paths:
        raise ValueError("no results file given")
    configs = [brands] * len(paths) if isinstance(brands, BrandConfig) else list(brands)
    names = snapshot_names(paths)
    scorer = Scorer(configs, names, by=by, candidates=candidates, on_answer=on_answer)
    for i, path in enumerate(paths):
        scorer.score_file(i, path)
    return Report(
        snapshots=tuple(names),
        configs=tuple(configs),
        brands=brand_rows(scorer),
        overall=overall_rows(scorer),
        domains=domain_rows(scorer),
        costs=cost_rows(scorer),
        diff=diff_rows(scorer),
        domain_changes=domain_change_rows(scorer),
        candidates=candidate_rows(scorer) if candidates else None,
        drilldown=scorer.drilldown,
        entity_names=tuple(tuple(scorer.entity_names(i)) for i in range(len(names))),
        by=by,
    )


class _AnswerWriter:
    """Writes each answer's row to ``answers.csv`` and into the JSON's ``answers`` array."""

    def __init__(self, csv_file: IO[str], json_file: IO[bytes]) -> None:
        self._csv = csv.writer(csv_file, lineterminator="\n")
        self._csv.writerow(ANSWER_COLUMNS)
        self._json = json_file
        self._encoder = msgspec.json.Encoder()
        self._first = True

    def __call__(self, row: AnswerRow) -> None:
        values = [
            format_cell(getattr(row, c))
            if not isinstance(getattr(row, c), tuple)
            else _LIST_SEP.join(getattr(row, c))
            for c in ANSWER_COLUMNS
        ]
        self._csv.writerow(values)
        record = {
            c: list(v) if isinstance(v := getattr(row, c), tuple) else v for c in ANSWER_COLUMNS
        }
        self._json.write((b"" if self._first else b",\n") + self._encoder.encode(record))
        self._first = False


def write_report(
    paths: Sequence[str | os.PathLike[str]],
    brands: BrandConfig | Sequence[BrandConfig],
    out: str | os.PathLike[str],
    *,
    by: str | None = None,
    candidates: bool = False,
    html: bool = True,
) -> tuple[Report, list[Path]]:
    """Score ``paths`` and write the report into the folder ``out`` (created if missing):
    CSV tables, ``report.json`` and, with ``html``, ``report.html``. Returns the report and
    the files written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "answers.csv", folder / "report.json"]
    with (
        written[0].open("w", encoding="utf-8", newline="") as answers_csv,
        written[1].open("wb") as json_file,
    ):
        json_file.write(b'{"answers": [\n')
        report = score_files(
            paths,
            brands,
            by=by,
            candidates=candidates,
            on_answer=_AnswerWriter(answers_csv, json_file),
        )
        json_file.write(b"\n],\n")
        json_file.write(_json_tail(report))
    tables: list[tuple[str, Sequence[str], list[Row] | None]] = [
        ("brands.csv", BRAND_COLUMNS, report.brands),
        ("overall.csv", OVERALL_COLUMNS, report.overall),
        ("domains.csv", DOMAIN_COLUMNS, report.domains),
        ("costs.csv", COST_COLUMNS, report.costs),
    ]
    if len(report.snapshots) > 1:
        tables.append(("diff.csv", DIFF_COLUMNS, report.diff))
        tables.append(("domain_changes.csv", DOMAIN_CHANGE_COLUMNS, report.domain_changes))
    if report.candidates is not None:
        tables.append(("candidates.csv", CANDIDATE_COLUMNS, report.candidates))
    for name, columns, rows in tables:
        written.append(_write_csv(folder / name, columns, rows or []))
    if html:
        from ._html import render_html  # the page's charts need the optional extra

        page = folder / "report.html"
        page.write_text(render_html(report), encoding="utf-8")
        written.append(page)
    return report, written


def _json_tail(report: Report) -> bytes:
    """The JSON report after its ``answers`` array (its opening brace written before)."""
    body = {
        "snapshots": list(report.snapshots),
        "by": report.by,
        "formulas": dict(report.formulas),
        "brands": report.brands,
        "overall": report.overall,
        "domains": report.domains,
        "costs": report.costs,
        "diff": report.diff,
        "domain_changes": report.domain_changes,
        "candidates": report.candidates,
    }
    return msgspec.json.encode(body)[1:]  # drop the '{': the object is already open


def _write_csv(path: Path, columns: Sequence[str], rows: list[Row]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([format_cell(row.get(c)) for c in columns])
    return path
