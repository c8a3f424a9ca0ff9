"""Each metric on a small fixture whose every figure is computed by hand below."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.visibility import Report, score_files

from ._fixtures import config, record, write

# Two prompts on chat_gpt, three answers each, and one failed call:
#   p1 s0: "Acme then Globex"          cites acme.com/a, globex.com/x, globex.com/x (same URL)
#   p1 s1: "Globex, later AcmeFlow"    cites news.acme.com/b
#   p1 s2: "Initech only"              cites wikipedia.org
#   p2 s0: "Globex"                    no citation
#   p2 s1: "nothing tracked"           cites globex.com/y
#   p2 s2: "Acme Corp and Initech"     cites acme.com/a
#   p2 s3: failed
RECORDS = [
    record(
        "p1",
        "Acme then Globex.",
        urls=["https://acme.com/a", "https://www.globex.com/x", "https://www.globex.com/x"],
    ),
    record("p1", "Globex, later AcmeFlow.", sample=1, urls=["https://news.acme.com/b"]),
    record("p1", "Initech only.", sample=2, urls=["https://en.wikipedia.org/wiki/I"]),
    record("p2", "Globex.", cost=0.02),
    record("p2", "Nothing tracked here.", sample=1, urls=["https://globex.com/y"]),
    record("p2", "Acme Corp and Initech.", sample=2, urls=["https://acme.com/a"]),
    record("p2", None, sample=3, cost=0.005),
]


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return score_files([write(tmp_path / "r.jsonl", RECORDS)], config())


def row(report: Report, brand: str) -> dict[str, object]:
    (found,) = [r for r in report.brands if r["brand"] == brand]
    return found


def test_mention_rate_counts_answers_and_leaves_failures_apart(report: Report) -> None:
    acme = row(report, "Acme")
    # Acme is named in p1s0, p1s1 (through its product) and p2s2: 3 of 6 answers.
    assert (acme["answers"], acme["mentioned"], acme["mention_rate"]) == (6, 3, 0.5)
    assert acme["failed"] == 1
    assert (acme["mention_rate_lo"], acme["mention_rate_hi"]) == (0.1876, 0.8124)  # Wilson 3/6


def test_prompt_balanced_rate(report: Report) -> None:
    # Initech: p1 1/3, p2 1/3 -> 1/3; Globex: p1 2/3, p2 1/3 -> 0.5.
    assert row(report, "Initech")["prompt_rate"] == 0.3333
    assert row(report, "globex")["prompt_rate"] == 0.5
    assert row(report, "globex")["prompts"] == 2


def test_share_of_voice(report: Report) -> None:
    # Brand mentions: Acme 3, Globex 3, Initech 2 -> 8.
    assert row(report, "Acme")["share_of_voice"] == 0.375
    assert row(report, "Initech")["share_of_voice"] == 0.25


def test_top1_and_mean_rank(report: Report) -> None:
    # Acme first in p1s0 and p2s2, second in p1s1: top-1 2/6, mean rank (1+2+1)/3.
    acme = row(report, "Acme")
    assert acme["top1_rate"] == 0.3333 and acme["mean_rank"] == 1.3333
    # Globex first in p1s1 and p2s0, second in p1s0.
    assert row(report, "globex")["top1_rate"] == 0.3333
    assert row(report, "globex")["mean_rank"] == 1.3333
    # The product is named second in p1s1 (after Globex).
    flow = row(report, "Acme Flow")
    assert (flow["kind"], flow["parent"], flow["mentioned"], flow["mean_rank"]) == (
        "product",
        "Acme",
        1,
        2.0,
    )


def test_cited_rate_and_named_and_cited(report: Report) -> None:
    acme = row(report, "Acme")
    # acme.com (or a subdomain) cited in p1s0, p1s1, p2s2: all three also name Acme.
    assert (acme["cited"], acme["cited_rate"]) == (3, 0.5)
    assert (acme["named_and_cited"], acme["named_only"], acme["cited_only"]) == (3, 0, 0)
    globex = row(report, "globex")
    # globex.com cited in p1s0 and p2s1; named in p1s0, p1s1, p2s0.
    assert (globex["cited"], globex["named_and_cited"], globex["named_only"]) == (2, 1, 2)
    assert globex["cited_only"] == 1
    assert row(report, "Initech")["cited"] == 0  # no domains configured


def test_domains_count_a_url_once_per_answer(report: Report) -> None:
    domains = {r["domain"]: r for r in report.domains}
    # URLs counted once per answer: acme.com/a (p1s0), news.acme.com/b, acme.com/a (p2s2);
    # globex.com/x once in p1s0, globex.com/y; wikipedia.org. 6 URLs in all.
    acme, globex, wiki = domains["acme.com"], domains["globex.com"], domains["wikipedia.org"]
    assert (acme["answers_citing"], acme["citations"], acme["used_rate"]) == (3, 3, 0.5)
    assert (acme["citation_share"], acme["owner"]) == (0.5, "primary")
    assert (globex["answers_citing"], globex["citation_share"], globex["owner"]) == (
        2,
        0.3333,
        "competitor",
    )
    assert (wiki["citations"], wiki["owner"]) == (1, "")


def test_cost_total_and_per_answer(report: Report) -> None:
    (cost,) = report.costs
    # 5 x 0.01 + 0.02 + the failed call's 0.005, over 6 answers.
    assert (cost["cost"], cost["answers"], cost["failed"]) == (0.075, 6, 1)
    assert cost["cost_per_answer"] == 0.0125


def test_small_cells_are_marked(tmp_path: Path) -> None:
    small = score_files([write(tmp_path / "s.jsonl", RECORDS[:4])], config())
    assert all(r["too_small"] for r in small.brands)
    assert not any(
        r["too_small"] for r in score_files([write(tmp_path / "b.jsonl", RECORDS)], config()).brands
    )


def test_by_splits_cells_by_a_metadata_key(tmp_path: Path) -> None:
    records = [
        record("p1", "Acme", metadata={"topic": "crm"}),
        record("p2", "Globex", metadata={"topic": "vpn"}),
    ]
    report = score_files([write(tmp_path / "m.jsonl", records)], config(), by="topic")
    groups = {(r["group"], r["brand"]): r["mentioned"] for r in report.brands}
    assert groups["crm", "Acme"] == 1 and groups["vpn", "Acme"] == 0


def test_candidates_tied_on_their_count_are_listed_by_name(tmp_path: Path) -> None:
    # Five untracked names in the same four answers: tied, first seen together. Their order
    # must not be that of a set of strings (seeded per process), so ties go by name.
    text = "also consider Zeta Systems, Ypsilon Labs, Xeno Corp, Wave Works and Alpha Soft."
    path = write(tmp_path / "r.jsonl", [record(f"p{i}", text) for i in range(4)])
    report = score_files([path], config(), candidates=True)
    assert report.candidates is not None
    names = [str(row["name"]) for row in report.candidates]
    assert names == sorted(names) and len(names) == 5
    assert {row["answers"] for row in report.candidates} == {4}
