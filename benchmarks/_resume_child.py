"""Child of the memory suite's resume table: open one results file, print peak RSS as JSON.

``python -m benchmarks._resume_child KIND PATH``: ``dfs_async`` opens a `JsonlSink` (compact
key digests); ``set[str]`` reads the same keys into three plain sets of strings, the way the
sink kept them before, so both are measured on the same file in the same run.
"""

from __future__ import annotations

import json
import sys
import time

import msgspec

from dfs_async import JsonlSink

from ._child import _peak_rss_kb


class _Status(msgspec.Struct):
    key: str
    ok: bool


def main() -> int:
    kind, path = sys.argv[1], sys.argv[2]
    before = _peak_rss_kb()
    started = time.perf_counter()
    if kind == "dfs_async":
        with JsonlSink(path) as sink:
            keys = len(sink.done) + len(sink.failed)
    else:
        done: set[str] = set()
        failed: set[str] = set()
        settled: set[str] = set()
        decoder = msgspec.json.Decoder(_Status)
        with open(path, "rb") as f:
            for line in f:
                rec = decoder.decode(line)
                (done if rec.ok else failed).add(rec.key)
        keys = len(done) + len(failed) + len(settled)
    wall = time.perf_counter() - started
    print(json.dumps({"before_kb": before, "peak_kb": _peak_rss_kb(), "keys": keys, "wall": wall}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
