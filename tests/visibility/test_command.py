"""``dfs-async report`` end to end, on a sweep run against the embedded emulator."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from dfs_async._cli import _common as _cli_common
from dfs_async._cli import main

from ._fixtures import record
from ._page import outside_addresses, read_tables

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BRANDS = EXAMPLES / "brands.toml"
PROMPTS = [
    "Which CRM do small agencies use?",
    "best VPN for streaming and privacy",
    "What are the best running shoes for beginners?",
    "best project management tool for remote teams",
]
TARGETS = [
    *("--platform", "chat_gpt", "--model", "gpt-4.1-mini"),
    *("--platform", "perplexity", "--model", "sonar"),
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results file: 4 prompts x 2 engines x 3 samples, from the emulator."""
    folder = tmp_path_factory.mktemp("sweep")
    prompts = folder / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    out = folder / "results.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_cli_common, "EMULATOR_LATENCY", (0.0, 0.02))
        argv = ["sweep", str(prompts), "--emulator", "--web-search", "--samples", "3"]
        assert main([*argv, *TARGETS, "--out", str(out)]) == 0
    return out


def test_report_end_to_end(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = set(tmp_path.iterdir())
    out = tmp_path / "report"
    assert (
        main(["report", str(sweep), "--brands", str(BRANDS), "--out", str(out), "--candidates"])
        == 0
    )
    assert set(tmp_path.iterdir()) - before == {out}  # nothing written outside --out
    printed = capsys.readouterr().out
    assert "all engines (95% CI)" in printed and "Open the page: file://" in printed
    with (out / "brands.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["engine"] for r in rows} == {"chat_gpt", "perplexity"}
    assert {r["model"] for r in rows} == {"gpt-4.1-mini", "sonar"}
    assert all(r["answers"] == "12" for r in rows)
    # The emulator names real brands of each prompt's category.
    named = {r["brand"] for r in rows if r["mentioned"] != "0"}
    assert {"NordVPN", "Brooks"} <= named or {"ExpressVPN", "Hoka"} <= named
    assert (out / "candidates.csv").exists()
    page = (out / "report.html").read_text("utf-8")
    assert outside_addresses(page) == set()
    assert read_tables(page).tables["brands"][1:] == rows


def test_two_snapshots_write_a_diff(sweep: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again.jsonl"
    shutil.copy(sweep, copy)
    out = tmp_path / "report"
    assert main(["report", str(sweep), str(copy), "--brands", str(BRANDS), "--out", str(out)]) == 0
    with (out / "diff.csv").open(encoding="utf-8", newline="") as f:
        diff = list(csv.DictReader(f))
    assert diff and all(r["change"] == "0.0" and r["changed"] == "false" for r in diff)
    assert (out / "domain_changes.csv").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["MISSING", "--brands", "GOOD"], "missing.jsonl: no such results file"),
        (["RESULTS", "--brands", "BAD"], "brands.x.names: must be a list of strings"),
        (["RESULTS", "--brands", "GOOD", "--brands", "GOOD"], "--brands given 2 times"),
        (["NOT_RESULTS", "--brands", "GOOD"], "not_results.txt: is not a results file"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    sweep: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[brands.x]\nnames = 'X'\n", encoding="utf-8")
    (tmp_path / "not_results.txt").write_text("just\nsome text\n", encoding="utf-8")
    swap = {
        "NOT_RESULTS": str(tmp_path / "not_results.txt"),
        "RESULTS": str(sweep),
        "MISSING": str(tmp_path / "missing.jsonl"),
        "BAD": str(bad),
        "GOOD": str(BRANDS),
    }
    out = tmp_path / "out"
    assert main(["report", *(swap.get(a, a) for a in argv), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium on PATH")
def test_headless_chromium_renders_the_charts(sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", str(sweep), "--brands", str(BRANDS), "--out", str(out)]) == 0
    profile = tmp_path / "profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    page = (out / "report.html").resolve().as_uri()
    shot = tmp_path / "page.png"
    dom = subprocess.run(
        ["chromium", *flags, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # The browser parsed every chart as SVG: each holds drawn paths and the axis text.
    assert dom.count('<div class="chart"') == 4
    assert dom.count("<svg") >= 4 and "<path" in dom and "chat_gpt" in dom
    subprocess.run(
        ["chromium", *flags, f"--screenshot={shot}", "--window-size=1200,2400", page],
        capture_output=True,
        timeout=120,
        check=True,
    )
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a blank page is far smaller


def test_the_same_file_gives_the_same_tables_whatever_the_hash_seed(
    sweep: Path, tmp_path: Path
) -> None:
    # Sets of names are ordered by string hashes, which Python seeds per process: no table may
    # follow that order. Four answers added to the sweep name five untracked names together,
    # tied on their count: their order in candidates.csv once followed a set's.
    text = "also consider Zeta Systems, Ypsilon Labs, Xeno Corp, Wave Works and Alpha Soft."
    results = tmp_path / "results.jsonl"
    tied = b"".join(msgspec.json.encode(record(f"tied {i}", text)) + b"\n" for i in range(4))
    results.write_bytes(sweep.read_bytes() + tied)
    written = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        command = ["report", str(results), "--brands", str(BRANDS), "--out", str(out)]
        subprocess.run(
            [sys.executable, "-c", "import sys; from dfs_async._cli import main; "
             "sys.exit(main(sys.argv[1:]))", *command, "--candidates"],
            env={**os.environ, "PYTHONHASHSEED": seed}, check=True, capture_output=True,
        )  # fmt: skip
        written.append({p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))})
    assert b"Alpha Soft,4," in written[0]["candidates.csv"]
    assert written[0] == written[1]
