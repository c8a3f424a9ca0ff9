"""Scoring speed and memory of the visibility report, against a per-brand ``re.search`` loop.

One SYNTHETIC results file (built here, in the exact line format a sweep writes): N answered
records, 4 engines, 5 samples per prompt, answers of ~1.3 KB naming 2–6 of 20 tracked brands
(with aliases) as lists and prose, with markdown links, citation labels and 3–6 citations each.
Each scorer runs in a child process of its own, on one core, reading the file line by line:

- dfs_async: `dfs_async.visibility`'s scorer (every counter of the report: mentions, rank,
  products, exclusions, citations per domain, per-prompt counts), then the tables (brands with
  their bootstrap intervals, domains, cost);
- re.search loop: what a user writes first: ``json.loads`` each line, join the message texts,
  and ``re.search(r"\\b<alias>\\b", text, re.I)`` for every alias of every brand (mentions only:
  no rank, no link stripping, no citations).

Answers/s is records ÷ the child's CPU time (user + sys); peak RSS is the child's VmHWM.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

import msgspec

from ._report import Table

SIZES: Final = (50_000, 200_000)
QUICK_SIZES: Final = (2_000,)
ENGINES: Final = (
    ("chat_gpt", "gpt-4.1-mini"),
    ("claude", "claude-sonnet-4-0"),
    ("gemini", "gemini-2.5-flash"),
    ("perplexity", "sonar"),
)
SAMPLES: Final = 5
# 20 brands, each with 2-3 aliases (and a product for a few), as a brands.toml would list them.
BRANDS: Final = {
    f"b{i}": {
        "name": name,
        "names": [name, f"{name} Inc", f"{name}.io"],
        **({"products": {f"{name} Pro": [f"{name} Pro"]}} if i % 4 == 0 else {}),
        **({"exclude": [f"{name.lower()} of the day"]} if i % 5 == 0 else {}),
        "domains": [f"{name.lower()}.com"],
    }
    for i, name in enumerate(
        [
            "Acme",
            "Globex",
            "Initech",
            "Umbrella",
            "Hooli",
            "Vandelay",
            "Stark",
            "Wayne",
            "Wonka",
            "Tyrell",
            "Cyberdyne",
            "Soylent",
            "Oscorp",
            "Gringotts",
            "Monarch",
            "Nakatomi",
            "Virtucon",
            "Massive",
            "Dynamic",
            "Aperture",
        ]
    )
}
_FILLER: Final = (
    "Reviewers consistently name reliability, price and after-sales support as what matters.",
    "Independent tests suggest the leading options differ less in quality than in cost.",
    "For most people, a mid-range choice offers the best balance between features and price.",
    "User communities often recommend trying before committing, since preferences vary.",
    "Budget alternatives have closed much of the gap in the last two years.",
    "Experts advise comparing at least three options and reading long-term reviews.",
    "Online discussions highlight hidden costs such as subscriptions and maintenance.",
    "Newer entrants compete on price, while incumbents compete on trust and service.",
)
_SITES: Final = (
    "en.wikipedia.org",
    "www.reddit.com",
    "www.forbes.com",
    "www.nytimes.com",
    "www.g2.com",
    "www.capterra.com",
    "www.pcmag.com",
    "news.bbc.co.uk",
)


def _answer(rng: random.Random, brands: list[str]) -> tuple[str, list[str]]:
    named = rng.sample(brands, rng.randint(2, 6))
    urls = [
        f"https://{rng.choice(_SITES)}/{rng.getrandbits(32):x}" for _ in range(rng.randint(3, 5))
    ]
    if rng.random() < 0.3:
        urls.append(f"https://www.{named[0].lower()}.com/pricing")
    listed = [f"[{n}](https://www.{n.lower()}.com/)" if rng.random() < 0.2 else n for n in named]
    if rng.random() < 0.5:
        body = "\n".join(f"{i}. **{n}**: {rng.choice(_FILLER)}" for i, n in enumerate(listed, 1))
    else:
        body = f"Popular choices include {', '.join(listed)}; {named[0]} is named most often."
    prose = " ".join(rng.sample(_FILLER, 6))
    label = f" ([{urls[0].split('/')[2]}]({urls[0]}))" if rng.random() < 0.5 else " [1]"
    return f"{prose[:400]}{label}\n\n{body}\n\n{prose[400:]} [2]", urls


def write_results(path: Path, records: int, seed: int = 19) -> None:
    """A SYNTHETIC results file of ``records`` answered calls (see the module docstring)."""
    rng = random.Random(seed)
    names = [str(b["name"]) for b in BRANDS.values()]
    encoder = msgspec.json.Encoder()
    with path.open("wb") as f:
        for n in range(records):
            platform, model = ENGINES[n % len(ENGINES)]
            prompt = f"synthetic prompt {n // (len(ENGINES) * SAMPLES)}"
            text, urls = _answer(rng, names)
            section = {"type": "text", "text": text, "annotations": [{"url": u} for u in urls]}
            result = {"model_name": model, "items": [{"type": "message", "sections": [section]}]}
            record = {
                "key": f"{n:032x}",
                "index": n // (len(ENGINES) * SAMPLES),
                "platform": platform,
                "model_name": model,
                "prompt": prompt,
                "ok": True,
                "cost": 0.0123,
                "sample": (n // len(ENGINES)) % SAMPLES,
                "response": {"tasks": [{"status_code": 20000, "result": [result]}]},
            }
            f.write(encoder.encode(record) + b"\n")


def _child(kind: str, path: Path, brands: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._visibility_child", kind, str(path), str(brands)],
        capture_output=True,
        check=True,
        text=True,
        timeout=900,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def run(quick: bool = False) -> list[Table]:
    """The visibility scoring table."""
    table = Table(
        "visibility report: scoring recorded answers (20 brands with aliases, one core)",
        ("scorer", "records", "answers / s", "CPU s", "tables s", "peak RSS", "mentions found"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        brands = Path(tmp) / "brands.json"
        brands.write_text(json.dumps({"brands": BRANDS}), encoding="utf-8")
        for records in QUICK_SIZES if quick else SIZES:
            path = Path(tmp) / f"results-{records}.jsonl"
            write_results(path, records)
            size_mb = path.stat().st_size / 1e6
            kinds = (
                ["dfs_async"]
                if records != max(QUICK_SIZES if quick else SIZES)
                else [
                    "dfs_async",
                    "re.search loop",
                ]
            )
            for kind in kinds:
                got = _child(kind, path, brands)
                table.add(
                    kind,
                    f"{records:,} ({size_mb:.0f} MB)",
                    f"{records / got['cpu']:,.0f}",
                    f"{got['cpu']:.1f}",
                    f"{got['tables']:.1f}" if got["tables"] >= 0 else "–",
                    f"{got['peak_kb'] / 1024:.0f} MB",
                    f"{got['mentions']:,.0f}",
                )
            path.unlink()
    table.notes += [
        "SYNTHETIC records (benchmarks/visibility.py): 4 engines × 5 samples per prompt, "
        "~1.3 KB answers naming 2–6 of 20 brands (3 aliases each, 5 products, 4 exclusions), "
        "markdown links, citation labels, 3–6 citations each.",
        "answers / s: records ÷ the child's CPU time (user + sys) reading and scoring the file "
        "(dfs_async: every counter of the report; re.search loop: brand mentions only). "
        "tables s: CPU building the report's tables from the counters (bootstrap included). "
        "Peak RSS: the child's VmHWM, imports included.",
        "mentions found: answers naming each brand, summed over brands. dfs_async does not "
        "count a name inside a link target, URL or citation label, the loop does; in these "
        "answers every brand linked is also named in the text, so the two agree.",
    ]
    return [table]
