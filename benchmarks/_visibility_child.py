"""Child of the visibility suite: score one results file, print CPU time and peak RSS as JSON.

``python -m benchmarks._visibility_child KIND RESULTS BRANDS_JSON``; KIND is ``dfs_async`` or
``re.search loop`` (see `benchmarks.visibility`).
"""

from __future__ import annotations

import json
import re
import sys
import time

from dfs_async.visibility import parse_brands
from dfs_async.visibility._metrics import brand_rows, cost_rows, domain_rows
from dfs_async.visibility._score import Scorer

from ._child import _peak_rss_kb


def _cpu() -> float:
    return time.process_time()


def score_dfs(path: str, brands: dict[str, object]) -> tuple[float, float, int]:
    """CPU seconds scoring, CPU seconds building the tables, mentions counted."""
    config = parse_brands(brands)
    started = _cpu()
    scorer = Scorer([config], ["bench"])
    scorer.score_file(0, path)
    scored = _cpu()
    brand_rows(scorer)
    domain_rows(scorer)
    cost_rows(scorer)
    tables = _cpu() - scored
    mentions = sum(sum(c.mentioned[: c.brands]) for c in scorer.cells.values())
    return scored - started, tables, mentions


def score_loop(path: str, brands: dict[str, object]) -> tuple[float, float, int]:
    """The straightforward loop: json.loads, then re.search per alias of each brand."""
    table = brands["brands"]
    assert isinstance(table, dict)
    started = _cpu()
    mentions = 0
    counts: dict[str, int] = {}
    with open(path, "rb") as f:
        for line in f:
            record = json.loads(line)
            result = record["response"]["tasks"][0]["result"][0]
            text = "\n\n".join(
                s["text"]
                for item in result["items"]
                if item["type"] == "message"
                for s in item["sections"]
            )
            for key, brand in table.items():
                if any(re.search(rf"\b{re.escape(a)}\b", text, re.I) for a in brand["names"]):
                    counts[key] = counts.get(key, 0) + 1
                    mentions += 1
    return _cpu() - started, -1.0, mentions


def main() -> int:
    kind, path, brands_path = sys.argv[1:4]
    with open(brands_path, encoding="utf-8") as f:
        brands = json.load(f)
    score = score_dfs if kind == "dfs_async" else score_loop
    cpu, tables, mentions = score(path, brands)
    print(
        json.dumps({"cpu": cpu, "tables": tables, "mentions": mentions, "peak_kb": _peak_rss_kb()})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
