"""A bulk sweep into a results file, interrupted and resumed: nothing answered is sent again.

Run 1 stops halfway (as a crash or Ctrl-C would), run 2 resumes and sends only the rest, run 3
finds everything answered and sends nothing. Uses the real API when DATAFORSEO_LOGIN and
DATAFORSEO_PASSWORD are set, else the embedded emulator.

    python examples/bulk_sweep.py [PROMPTS] [--out FILE] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, aclosing
from pathlib import Path

from _connect import open_client

import dfs_async

PROMPTS = Path(__file__).with_name("prompts.txt")


def read_prompts(path: Path, limit: int | None) -> Iterator[str]:
    """Non-blank lines of ``path``, read lazily: a million-line file is never held in memory."""
    with path.open(encoding="utf-8") as f:
        lines = (line.strip() for line in f)
        yield from itertools.islice((line for line in lines if line), limit)


async def sweep(
    client: dfs_async.AsyncClient,
    prompts: Path,
    out: Path,
    limit: int | None,
    stop_after: int | None = None,
) -> tuple[int, int, float]:
    """One run: (results received, HTTP calls sent, USD spent)."""
    sent_before, received, cost = client.stats.calls_sent, 0, 0.0
    results = dfs_async.iter_prompts(
        client,
        read_prompts(prompts, limit),
        platform="chat_gpt",
        model_name="gpt-4.1-mini",
        sink=out,  # each result is appended as it arrives; answered keys are skipped
    )
    async with aclosing(results):  # leaving the block early stops the sweep at once
        async for result in results:
            received += 1
            cost += result.cost
            if received == stop_after:
                break  # as if the process died here: what arrived is already in the file
    return received, client.stats.calls_sent - sent_before, cost


def answered_in(out: Path) -> int:
    """Items answered in the results file so far (a small local read)."""
    return sum(r.ok for r in dfs_async.read_results(out)) if out.exists() else 0


async def run(prompts: Path, out: Path, limit: int | None) -> None:
    """Three runs over the same input and results file."""
    async with AsyncExitStack() as stack:
        client = await open_client(stack)

        total = sum(1 for _ in read_prompts(prompts, limit))
        print(f"{total} prompts from {prompts}, results in {out}")
        for label, stop_after in (
            ("run 1 (stops halfway)", total // 2),
            ("run 2", None),
            ("run 3", None),
        ):
            before = answered_in(out)
            received, sent, cost = await sweep(client, prompts, out, limit, stop_after)
            after = answered_in(out)
            print(
                f"{label:<22} {received:>3} results, {sent:>3} calls sent, ${cost:.4f}; "
                f"{after}/{total} answered in the file"
            )
            if lost := sent - (after - before):
                # Calls cut off when a sweep stops lose their answers, and the real API may
                # still charge them; the next run sends those items again.
                print(f"{'':<22} ({lost} calls were cut off in flight)")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the three sweeps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("prompts", nargs="?", type=Path, default=PROMPTS)
    parser.add_argument("--out", type=Path, help="results file (default: a new temporary file)")
    parser.add_argument("--limit", type=int, help="use only the first N prompts")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="dfs-async-bulk-")) / "results.jsonl"
    asyncio.run(run(args.prompts, out, args.limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
