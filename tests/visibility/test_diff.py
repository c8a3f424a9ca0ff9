"""Two snapshots: a real change is flagged, noise is not, unfair comparisons are named."""

from __future__ import annotations

from pathlib import Path

from dfs_async.visibility import Report, parse_brands, score_files

from ._fixtures import config, record, write

PROMPTS = [f"prompt {i}" for i in range(20)]


def snapshot(path: Path, acme: float, globex_shift: int, **kwargs: object) -> Path:
    """20 prompts x 3 samples: Acme named in the first ``acme`` share of answers, Globex in
    half of them (which half moves with ``globex_shift``: same rate, other answers)."""
    records = []
    for i, prompt in enumerate(PROMPTS):
        for s in range(3):
            n = 3 * i + s
            names = []
            if n < acme * 60:
                names.append("Acme")
            if (n + globex_shift) % 2:
                names.append("Globex")
            text = " and ".join(names) or "No brand."
            url = f"https://site{n % 7}.com/" if n % 5 else "https://old-source.org/"
            records.append(record(prompt, text, sample=s, urls=[url], **kwargs))  # type: ignore[arg-type]
    return write(path, records)


def diff(report: Report, brand: str) -> dict[str, object]:
    (row,) = [r for r in report.diff if r["brand"] == brand]
    return row


def test_a_real_change_is_flagged_and_noise_is_not(tmp_path: Path) -> None:
    before = snapshot(tmp_path / "june.jsonl", acme=0.1, globex_shift=0)
    after = snapshot(tmp_path / "july.jsonl", acme=0.8, globex_shift=1)
    report = score_files([before, after], config())
    acme = diff(report, "Acme")
    assert (acme["rate_from"], acme["rate_to"], acme["change"]) == (0.1, 0.8, 0.7)
    assert acme["changed"] is True
    lo, hi = float(str(acme["change_lo"])), float(str(acme["change_hi"]))
    assert 0 < lo < 0.7 < hi
    globex = diff(report, "globex")
    assert globex["change"] == 0.0 and globex["changed"] is False
    assert float(str(globex["q_value"])) > 0.05
    assert acme["flags"] == "" and acme["prompts"] == 20


def test_unfair_comparisons_are_flagged(tmp_path: Path) -> None:
    before = snapshot(tmp_path / "a.jsonl", acme=0.5, globex_shift=0)
    after = write(
        tmp_path / "b.jsonl",
        [
            record(p, "Acme", sample=s, version="gpt-4.1-mini-2026-01-01")
            for p in [*PROMPTS[:15], "a new prompt"]
            for s in range(3)
        ],
    )
    renamed = parse_brands(
        {
            "brands": {
                "acme": {"name": "Acme", "names": ["Acme", "ACME Inc"]},
                "globex": {"names": ["Globex"], "domains": ["globex.com"]},
            }
        }
    )
    report = score_files([before, after], [config(), renamed])
    flags = str(diff(report, "Acme")["flags"])
    assert "model changed (gpt-4.1-mini-2025-04-14 -> gpt-4.1-mini-2026-01-01)" in flags
    assert "prompt set changed (5 dropped, 1 added; not compared)" in flags
    assert "brand config changed" in flags
    assert "brand config changed" not in str(diff(report, "globex")["flags"])
    assert diff(report, "Acme")["prompts"] == 15


def test_new_and_lost_cited_domains(tmp_path: Path) -> None:
    before = snapshot(tmp_path / "a.jsonl", acme=0.5, globex_shift=0)
    after = write(
        tmp_path / "b.jsonl", [record(p, "Acme", urls=["https://fresh.io/x"]) for p in PROMPTS]
    )
    report = score_files([before, after], config())
    status = {r["domain"]: r["status"] for r in report.domain_changes}
    assert status["fresh.io"] == "new" and status["old-source.org"] == "lost"
