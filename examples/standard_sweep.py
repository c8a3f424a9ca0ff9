"""A bulk sweep on the Standard method: tasks posted 100 per call, collected when ready.

ChatGPT, Claude and Gemini take the Standard method (no Live slot limit, a lower base price,
results kept 30 days); Perplexity has none and stays on Live in the same sweep. Every task is
recorded in the results file as soon as it is posted, so a re-run after a crash collects it
instead of paying for it again. Uses the real API when DATAFORSEO_LOGIN and
DATAFORSEO_PASSWORD are set, else the embedded emulator.

    python examples/standard_sweep.py [--prompts N] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from _connect import open_client

import dfs_async

TARGETS = [
    dfs_async.Target("chat_gpt", "gpt-4.1-mini"),
    dfs_async.Target("claude", "claude-sonnet-4-0"),
    dfs_async.Target("perplexity", "sonar"),
]


async def run(prompts: int, out: Path) -> None:
    """Sweep ``prompts`` questions to every target and print what went where."""
    questions = [f"Which project management tool suits a team of {n + 2}?" for n in range(prompts)]
    async with AsyncExitStack() as stack:
        client = await open_client(stack)
        results = await dfs_async.gather_prompts(
            client, questions, targets=TARGETS, method="standard", sink=out
        )
    by_method = Counter("standard" if r.task_id else "live" for r in results)
    print(f"{len(results)} results: {by_method['standard']} Standard, {by_method['live']} Live")
    for t in TARGETS:
        mine = [r for r in results if r.target == t and r.ok]
        cost = sum(r.cost for r in mine)
        print(f"  {t.platform:<10} {len(mine)} answered, ${cost:.4f}")
    first = next(r for r in results if r.task_id and r.response)
    assert first.response is not None and first.response.result is not None
    print(f"task {first.task_id}: {first.response.result.text[:70]}...")
    print(f"results in {out}; run again and nothing is posted twice")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the sweep."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=20, help="questions per target (20)")
    parser.add_argument("--out", type=Path, help="results file (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp()) / "standard.jsonl"
    asyncio.run(run(args.prompts, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
