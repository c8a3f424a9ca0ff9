"""``python -m benchmarks._child``: run one peer on one spec (JSON on stdin), print a RunResult.

The child runs only the client, so its ``getrusage(RUSAGE_SELF)`` (every thread) is the
client's CPU; imports and setup happen before the clock starts.
"""

from __future__ import annotations

import gc
import resource
import sys
import time

import msgspec

from ._spec import RunResult, RunSpec
from .peers import get


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_kb() -> int:
    """This process's own peak RSS in KiB.

    Linux carries ``ru_maxrss`` across ``exec``, so a child's would include the parent's peak
    (hundreds of MB after a big run); ``VmHWM`` belongs to the child's own address space.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def main() -> int:
    """Run the spec read from stdin; the last stdout line is the result as JSON."""
    spec = msgspec.json.decode(sys.stdin.buffer.read(), type=RunSpec)
    peer = get(spec.peer)
    reason = peer.unavailable()
    if reason is None and spec.mode not in peer.modes:
        reason = f"{spec.mode} mode not supported by this peer"
    if reason is not None:
        result = RunResult(unavailable=reason)
    else:
        runner = peer.load()
        gc.collect()
        rss_before = _peak_rss_kb()
        cpu0, wall0 = _cpu(), time.perf_counter()
        result = runner(spec)
        result.wall = time.perf_counter() - wall0
        result.cpu = _cpu() - cpu0
        result.rss_before_kb = rss_before
        result.rss_peak_kb = _peak_rss_kb()
    sys.stdout.write("\n" + msgspec.json.encode(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
