"""``dfs-async report``: results files in, visibility tables and a page out; no network.

It reads through `dfs_async.visibility`; this module is only the command line around it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from .._errors import ResultsFileError
from ..visibility._config import BrandConfig, BrandConfigError, load_brands
from ..visibility._metrics import Row
from ..visibility._records import check_results_file
from ..visibility._report import write_report
from ..visibility._tables import Report
from ._usage import EXIT_OK, EXIT_USAGE, Subcommands, UsageError

_DESCRIPTION: Final = """\
Score one or more results files (each one snapshot, in the order given) against a
brand config: mention rates with 95% intervals, share of voice, rank, citations
per brand and per domain, cost per engine, and with two or more files, what
changed beyond noise. Reads the files only: no network, nothing is paid for.
Writes CSV tables, report.json and report.html into --out DIR."""

_EPILOG: Final = """\
example:
  dfs-async report results.jsonl --brands brands.toml --out report/
  dfs-async report june.jsonl july.jsonl --brands brands.toml --out report/ --by topic

exit status: 0 written, 2 usage error (bad config, unreadable file)"""


def add_report(commands: Subcommands, parent: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's parser."""
    parser = commands.add_parser(
        "report",
        parents=[parent],
        help="score results files for brand visibility and write tables and a page",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_DESCRIPTION,
        epilog=_EPILOG,
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="results files (JSONL)")
    parser.add_argument(
        "--brands",
        action="append",
        required=True,
        metavar="TOML",
        help="the brand config; give it once, or once per RESULTS file (in the same order)",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder to write into (created if missing)"
    )
    parser.add_argument(
        "--by", metavar="KEY", help="also split every table by this metadata key of the inputs"
    )
    parser.add_argument(
        "--candidates",
        action="store_true",
        help="list capitalised names that recur across answers and are not tracked",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dfs-async report`` with parsed ``args``; the exit status."""
    try:
        configs = _configs(args.brands, len(args.results))
        results = [_readable(path) for path in args.results]
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        report, written = write_report(
            results, configs, out, by=args.by, candidates=args.candidates
        )
    except (UsageError, BrandConfigError, ResultsFileError) as exc:
        print(f"dfs-async: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"dfs-async: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(summary(report))
    print()
    for path in written:
        print(f"  {path}")
    charts = next((p for p in written if p.suffix == ".html"), None)
    if charts is not None:
        print(f"\nOpen the page: {charts.resolve().as_uri()}")
    return EXIT_OK


def _readable(path: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{path}: no such results file")
    check_results_file(file)  # before --out is touched
    return file


def _configs(paths: Sequence[str], snapshots: int) -> list[BrandConfig]:
    if len(paths) not in (1, snapshots):
        raise UsageError(
            f"--brands given {len(paths)} times: give it once, or once per results file "
            f"({snapshots})"
        )
    loaded = {path: load_brands(path) for path in dict.fromkeys(paths)}
    return [loaded[paths[0]]] * snapshots if len(paths) == 1 else [loaded[p] for p in paths]


def _fmt_rate(row: Row, key: str = "mention_rate") -> str:
    value = row.get(key)
    if value is None:
        return "-"
    mark = "*" if row.get("too_small") else ""
    return f"{100 * float(str(value)):.0f}% {row['mentioned']}/{row['answers']}{mark}"


def summary(report: Report) -> str:
    """The terminal table: per brand of the last snapshot, mention rate over all engines with
    its interval, then per engine; then answers, failures and cost per engine."""
    last = report.snapshots[-1]
    overall = [r for r in report.overall if r["snapshot"] == last]
    by_engine = [r for r in report.brands if r["snapshot"] == last and r["kind"] == "brand"]
    engines = sorted({str(r["engine"]) for r in by_engine})
    cells: dict[tuple[str, str], list[Row]] = {}
    for row in by_engine:
        cells.setdefault((str(row["brand"]), str(row["engine"])), []).append(row)
    overall.sort(key=lambda r: -float(str(r["mention_rate"] or 0)))
    width = max([5, *(len(str(r["brand"])) for r in overall)])
    head = f"{'brand':<{width}}  {'all engines (95% CI)':<26} {'SoV':>4}"
    lines = [f"snapshot {last}", head + "".join(f"  {e:>15}" for e in engines)]
    for row in overall:
        interval = (
            f"[{100 * float(str(row['mention_rate_lo'])):.0f}-"
            f"{100 * float(str(row['mention_rate_hi'])):.0f}%]"
            if row["mention_rate"] is not None
            else ""
        )
        sov = row["share_of_voice"]
        line = f"{row['brand']!s:<{width}}  {_fmt_rate(row) + ' ' + interval:<26} "
        line += f"{100 * float(str(sov)):>3.0f}%" if sov is not None else f"{'-':>4}"
        for engine in engines:
            found = cells.get((str(row["brand"]), engine), [])
            line += f"  {_fmt_rate(found[0]) if len(found) == 1 else '-':>15}"
        lines.append(line)
    lines.append("")
    lines.append(
        f"{'engine':<11} {'model':<22} {'answers':>7} {'failed':>6} {'cost $':>9} {'$/answer':>9}"
    )
    for row in report.costs:
        if row["snapshot"] == last:
            per = row["cost_per_answer"]
            lines.append(
                f"{row['engine']!s:<11} {row['model']!s:<22} {row['answers']!s:>7} "
                f"{row['failed']!s:>6} {float(str(row['cost'])):>9.4f} "
                f"{float(str(per)) if per is not None else 0.0:>9.5f}"
            )
    changed = [r for r in report.diff if r["changed"]]
    if len(report.snapshots) > 1:
        lines.append("")
        lines.append(
            f"{len(changed)} of {len(report.diff)} matched cells changed beyond noise "
            "(Benjamini-Hochberg, q < 0.05); see diff.csv"
        )
    lines.append("* fewer than 5 answers: too small to read")
    return "\n".join(lines)
