"""AI visibility: ask every prompt of four LLMs and count which domains each one cites.

Uses the real API when DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD are set, else the embedded
emulator.

    python examples/visibility.py [PROMPTS] [--limit N] [--top N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

from _connect import open_client

import dfs_async

PROMPTS = Path(__file__).with_name("prompts.txt")
WEB_SEARCH: dict[str, object] = {"web_search": True}
# Perplexity always searches the web and rejects the web_search field, so it gets none.
TARGETS = (
    dfs_async.Target("chat_gpt", "gpt-4.1-mini", WEB_SEARCH),
    dfs_async.Target("claude", "claude-sonnet-4-0", WEB_SEARCH),
    dfs_async.Target("gemini", "gemini-2.5-flash", WEB_SEARCH),
    dfs_async.Target("perplexity", "sonar"),
)


def read_prompts(path: Path, limit: int | None) -> Iterator[str]:
    """Non-blank lines of ``path``, read lazily."""
    with path.open(encoding="utf-8") as f:
        lines = (line.strip() for line in f)
        yield from itertools.islice((line for line in lines if line), limit)


def domain(url: str) -> str:
    """``https://www.example.com/a`` -> ``example.com``."""
    return (urlsplit(url).hostname or url).removeprefix("www.")


def count_citations(results: Sequence[dfs_async.PromptResult]) -> dict[str, Counter[str]]:
    """Per platform, how many answers cite each domain (a domain counts once per answer)."""
    counts: dict[str, Counter[str]] = {t.platform: Counter() for t in TARGETS}
    for r in results:
        answer = r.response.result if r.response is not None else None
        if answer is not None and r.platform is not None:
            counts[r.platform].update(
                {domain(a.source_url) for a in answer.annotations() if a.source_url}
            )
    return counts


def table(counts: dict[str, Counter[str]], answers: Counter[str], top: int) -> str:
    """Domains cited most overall, one column per LLM: answers citing it / answers."""
    overall: Counter[str] = Counter()
    for c in counts.values():
        overall.update(c)
    platforms = list(counts)
    width = max([len("domain"), *(len(d) for d, _ in overall.most_common(top))])
    lines = [f"{'domain':<{width}}  " + "  ".join(f"{p:>10}" for p in platforms)]
    for d, _ in overall.most_common(top):
        cells = (f"{counts[p][d]}/{answers[p]}" for p in platforms)
        lines.append(f"{d:<{width}}  " + "  ".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


async def run(prompts: Path, limit: int | None, top: int) -> None:
    """Every prompt to every target, then the citation table."""
    async with AsyncExitStack() as stack:
        client = await open_client(stack)

        results = await dfs_async.gather_prompts(
            client, read_prompts(prompts, limit), targets=TARGETS
        )
    answers: Counter[str] = Counter(r.platform for r in results if r.ok and r.platform)
    failed = [r for r in results if not r.ok]
    print(f"{len(results)} answers, {len(failed)} failed, ${sum(r.cost for r in results):.4f}")
    for r in failed[:5]:
        print(f"  failed: {r.platform} #{r.index}: {r.error}")
    print()
    print(table(count_citations(results), answers, top))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and print the visibility table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("prompts", nargs="?", type=Path, default=PROMPTS)
    parser.add_argument("--limit", type=int, help="use only the first N prompts")
    parser.add_argument("--top", type=int, default=15, help="domains to show (15)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.prompts, args.limit, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
