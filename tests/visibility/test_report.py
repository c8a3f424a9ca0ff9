"""The written report: its files, failures counted apart, and a page that equals the CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from dfs_async.visibility import write_report

from ._fixtures import config, record, write
from ._page import outside_addresses, read_tables

BRAND_HEAD = (
    "snapshot,engine,model,brand,answers,mentioned,mention_rate,mention_rate_lo,"
    "mention_rate_hi,share_of_voice,top1_rate,mean_rank,cited,cited_rate"
)
DOMAIN_HEAD = "snapshot,engine,domain,answers_citing,used_rate,citations,citation_share,owner"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def results(tmp_path: Path) -> Path:
    records = [
        record(f"p{i}", text, sample=s, platform=platform, model=model, urls=urls)
        for i in range(4)
        for s in range(2)
        for platform, model, text, urls in (
            ("chat_gpt", "gpt-4.1-mini", "Acme, then Globex", ["https://acme.com/x"]),
            ("perplexity", "sonar", "Globex [1]", ["https://www.globex.com/y"]),
        )
    ]
    records += [
        record("p9", None, platform="perplexity", model="sonar", sample=s) for s in range(3)
    ]
    return write(tmp_path / "results.jsonl", records)


def test_files_columns_and_failures(tmp_path: Path) -> None:
    out = tmp_path / "report"
    report, written = write_report([results(tmp_path)], config(), out)
    assert {p.name for p in written} == {
        "answers.csv",
        "report.json",
        "brands.csv",
        "overall.csv",
        "domains.csv",
        "costs.csv",
        "report.html",
    }
    assert all(p.parent == out for p in written)
    brands = (out / "brands.csv").read_text("utf-8").splitlines()
    assert brands[0].startswith(BRAND_HEAD + ",")
    assert (out / "domains.csv").read_text("utf-8").startswith(DOMAIN_HEAD + ",")
    rows = read_csv(out / "brands.csv")
    sonar = [r for r in rows if r["engine"] == "perplexity" and r["brand"] == "globex"]
    # Three failed calls: never "not mentioned", counted apart.
    assert [(r["answers"], r["mentioned"], r["failed"]) for r in sonar] == [("8", "8", "3")]
    answers = read_csv(out / "answers.csv")
    assert len(answers) == 19 and sum(a["status"] == "failed" for a in answers) == 3
    assert {a["brands"] for a in answers if a["engine"] == "chat_gpt"} == {"Acme; globex"}
    data = json.loads((out / "report.json").read_text("utf-8"))
    assert len(data["answers"]) == 19 and data["answers"][0]["brands"] == ["Acme", "globex"]
    assert [str(r["mention_rate"]) for r in data["brands"]] == [r["mention_rate"] for r in rows]
    assert "share_of_voice" in data["formulas"]
    assert report.failed == 3


def test_the_page_shows_the_csv_numbers_and_names_no_outside_host(tmp_path: Path) -> None:
    out = tmp_path / "report"
    write_report([results(tmp_path)], config(), out)
    page = (out / "report.html").read_text("utf-8")
    tables = read_tables(page).tables
    for name, table in (("brands", "brands"), ("domains", "domains"), ("costs", "costs")):
        expected = read_csv(out / f"{name}.csv")
        assert tables[table][1:] == expected, name  # row 0 is the header
    assert outside_addresses(page) == set()
    assert "<svg" in page and 'data-chart="Mention rate by engine"' in page
    assert "<mark" in page  # the drill-down highlights mentions


def test_charts_sum_over_groups(tmp_path: Path) -> None:
    """With --by, the charts show each brand and engine once, its counts summed over groups."""
    from dfs_async.visibility._html import _over_groups

    out = tmp_path / "report"
    records = [
        record(f"p{i}", "Acme" if i % 2 else "Globex", metadata={"topic": f"t{i % 3}"})
        for i in range(12)
    ]
    report, _ = write_report([write(tmp_path / "r.jsonl", records)], config(), out, by="topic")
    rows = [r for r in report.brands if r["kind"] == "brand"]
    assert len(rows) == 9  # 3 groups x 3 brands
    merged = {r["brand"]: r for r in _over_groups(rows)}
    assert (merged["Acme"]["answers"], merged["Acme"]["mentioned"]) == (12, 6)
    assert merged["Acme"]["share_of_voice"] == 0.5
