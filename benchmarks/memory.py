"""Peak RSS of a streaming sweep against the input size.

dfs_async reads a generator of prompts and writes each result to a JSONL file as it arrives
(`iter_prompts` with ``sink=``); the naive baseline gathers every call at once and writes the
file at the end. Zero latency, limits lifted; each run is a fresh child, and its peak RSS
after imports and setup is reported beside the peak at the end, so the growth shows. The
child reads its own peak (``VmHWM``): Linux carries ``ru_maxrss`` across ``exec``, so a
child's ``ru_maxrss`` starts at its parent's peak.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from dfs_async.testing import EmulatorProcess

from ._report import Table
from ._runner import run_child, spec_for, warm_up
from .peers import all_peers

SLOTS = 16
SIZES: dict[str, tuple[int, ...]] = {
    "dfs_async": (10_000, 50_000, 200_000),
    "naive": (10_000, 100_000),
}
"""Calls per run. 1M calls for dfs_async would take about 6 minutes at this machine's
~2,700 calls/s, over the whole suite's 10-minute budget; 200k is the largest that fits."""
DEFAULT_SIZES = (10_000, 100_000)
QUICK_SIZES = (400, 2_000)
RESUME_SIZES = (100_000, 1_000_000)
"""Records in the results file a resumed sweep opens."""
QUICK_RESUME_SIZES = (2_000,)


def run(quick: bool = False, dfs_sizes: tuple[int, ...] | None = None) -> list[Table]:
    """The memory table; ``dfs_sizes`` replaces dfs_async's calls per run (``--stream-sizes``)."""
    sizes = dict(SIZES)
    if dfs_sizes:
        sizes["dfs_async"] = dfs_sizes
    table = Table(
        "peak RSS of a streaming sweep: zero latency, limits lifted, results to a JSONL file",
        (
            "client",
            "calls",
            "RSS after setup",
            "peak RSS",
            "growth",
            "per 1k calls",
            "answered",
            "wall",
        ),
    )
    peers = [p for p in all_peers() if "stream" in p.modes]
    with EmulatorProcess(latency=(0.0, 0.0)) as emulator, tempfile.TemporaryDirectory() as tmp:
        warm_up(emulator)
        for peer in peers:
            for calls in QUICK_SIZES if quick else sizes.get(peer.name, DEFAULT_SIZES):
                emulator.reset()
                sink = Path(tmp) / f"{peer.name}-{calls}.jsonl"
                spec = spec_for(emulator, peer.name, "stream", calls, SLOTS, sink=str(sink))
                result = run_child(spec)
                sink.unlink(missing_ok=True)
                if result.unavailable:
                    table.unavailable(peer.name, result.unavailable)
                    continue
                growth = (result.rss_peak_kb - result.rss_before_kb) / 1024
                table.add(
                    peer.name,
                    f"{calls:,}",
                    f"{result.rss_before_kb / 1024:.0f} MB",
                    f"{result.rss_peak_kb / 1024:.0f} MB",
                    f"{growth:.0f} MB",
                    f"{growth * 1024 / (calls / 1000):.0f} KB",
                    f"{result.ok:,}",
                    f"{result.wall:.0f} s",
                )
    table.notes += [
        "One run per size (a 200k run takes over a minute). Peak RSS is the VmHWM of the child "
        "that runs only the client (its ru_maxrss would include the parent's peak, which Linux "
        "carries across exec); 'growth' is the peak at the end minus the peak after imports "
        "and setup.",
        "dfs_async: iter_prompts(generator, targets=4 platforms, sink=file). naive: "
        "asyncio.gather over every call (Semaphore per platform + AsyncLimiter), then the "
        "decoded answers written to the file.",
        "A 1M-call dfs_async run takes about 6 minutes at ~2.7k calls/s, more than the whole "
        "suite's budget; `python -m benchmarks memory --stream-sizes 10000,1000000` runs it.",
    ]
    return [table, resume_table(quick)]


def resume_table(quick: bool = False) -> Table:
    """Peak RSS of opening a results file of N records to resume it."""
    table = Table(
        "peak RSS of resuming: opening a results file of N records (its key sets)",
        ("key sets", "records", "RSS after imports", "peak RSS", "growth", "per record", "wall"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        for records in QUICK_RESUME_SIZES if quick else RESUME_SIZES:
            path = Path(tmp) / f"resume-{records}.jsonl"
            _write_results(path, records)
            for kind in ("dfs_async", "set[str]"):
                child = subprocess.run(
                    [sys.executable, "-m", "benchmarks._resume_child", kind, str(path)],
                    capture_output=True,
                    check=True,
                    text=True,
                    timeout=600,
                )
                got = json.loads(child.stdout)
                assert got["keys"] == records
                growth = (got["peak_kb"] - got["before_kb"]) / 1024
                table.add(
                    kind,
                    f"{records:,}",
                    f"{got['before_kb'] / 1024:.0f} MB",
                    f"{got['peak_kb'] / 1024:.0f} MB",
                    f"{growth:.0f} MB",
                    f"{growth * 1024 * 1024 / records:.0f} B",
                    f"{got['wall']:.1f} s",
                )
            path.unlink()
    table.notes += [
        "dfs_async: JsonlSink keeps 64-bit digests of the keys (KeySet, an open-addressing "
        "table of unsigned ints at most half full). set[str]: the same file read into plain "
        "sets of key strings, as the sink did before; both in the same run, each in a fresh "
        "child (peak RSS is its VmHWM).",
        "Records are answered items without the response body (a real file's bodies make it "
        "bigger on disk, not in memory: lines are read one at a time).",
    ]
    return table


def _write_results(path: Path, records: int) -> None:
    """A results file of ``records`` answered items with distinct keys."""
    with path.open("wb") as f:
        for i in range(records):
            key = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()[:32]
            f.write(
                b'{"key":"%s","index":%d,"platform":"claude","model_name":"claude-sonnet-4-0",'
                b'"prompt":"prompt number %d","ok":true,"status_code":20000,"cost":0.0037}\n'
                % (key.encode(), i, i)
            )
