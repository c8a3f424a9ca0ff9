"""What ``make demo`` runs: a four-LLM sweep against the embedded emulator, a readout, and
the visibility report.

The sweep is the ``dfs-async sweep`` command itself, called in-process (each prompt asked three
times: answers vary); the readout reads the results file back with `dfs_async.read_results`;
the report is ``dfs-async report`` with ``examples/brands.toml``. No credentials, no network.

    python examples/demo.py
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import dfs_async
from dfs_async._cli._main import main as cli

PROMPTS = Path(__file__).with_name("prompts.txt")
OUT = Path(__file__).resolve().parents[1] / "demo-output"
"""Where the demo keeps its results and report (untracked): a second run resumes from it."""
BRANDS = Path(__file__).with_name("brands.toml")
SAMPLES = 3
TARGETS = (
    ("chat_gpt", "gpt-4.1-mini"),
    ("claude", "claude-sonnet-4-0"),
    ("gemini", "gemini-2.5-flash"),
    ("perplexity", "sonar"),
)


def domain(url: str) -> str:
    """``https://www.example.com/a`` -> ``example.com``."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def readout(records: Sequence[dfs_async.ResultRecord]) -> str:
    """Per platform: answers, cost, and the domains cited most."""
    ok: Counter[str] = Counter()
    cost: dict[str, float] = {}
    cited: dict[str, Counter[str]] = {}
    for rec in records:
        platform = rec.platform or "?"
        cost[platform] = cost.get(platform, 0.0) + rec.cost
        result = rec.response.result if rec.response is not None else None
        if not rec.ok or result is None:
            continue
        ok[platform] += 1
        domains = cited.setdefault(platform, Counter())
        domains.update(domain(a.source_url) for a in result.annotations() if a.source_url)
    lines = [f"{'platform':<11} {'ok':>3} {'cost':>8}  top cited domains"]
    for platform, _ in TARGETS:
        top = ", ".join(f"{d} ({n})" for d, n in cited.get(platform, Counter()).most_common(3))
        lines.append(
            f"{platform:<11} {ok[platform]:>3} {cost.get(platform, 0.0):>8.4f}  {top or '-'}"
        )
    return "\n".join(lines)


def command() -> str:
    """How to run ``dfs-async`` as printed: the venv's own, so it works without activating it."""
    script = Path(sys.executable).with_name("dfs-async")
    return os.path.relpath(script) if script.exists() else "dfs-async"


def main(argv: Sequence[str] | None = None) -> int:
    """Sweep examples/prompts.txt over four LLMs on the emulator and summarise the results."""
    # Kept after the run, so the page can be opened and the command re-run to resume.
    OUT.mkdir(exist_ok=True)
    out = OUT / "results.jsonl"
    args = ["sweep", os.path.relpath(PROMPTS), "--emulator", "--web-search", "--out", str(out)]
    args += ["--samples", str(SAMPLES)]
    for platform, model in TARGETS:
        args += ["--platform", platform, "--model", model]
    print(f"$ {command()} " + " ".join(args), flush=True)
    code = cli([*args, *(argv or ())])
    if out.exists():
        print()
        print(readout(dfs_async.read_results(out)))
        print("\nRun the command again: it resumes from the file and sends nothing twice.")
        report = ["report", str(out), "--brands", os.path.relpath(BRANDS)]
        report += ["--out", str(out.parent / "report")]
        print(f"\n$ {command()} " + " ".join(report), flush=True)
        code = max(code, cli(report))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
