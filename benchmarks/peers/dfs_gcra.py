"""dfs_async with the hand-written GCRA governor it shipped before (`benchmarks.gcra_governor`).

The same client, fan-out and decoding as the dfs_async row; only the governor differs, so the
two rows side by side measure the package's pacer and slots against the reference.
"""

from __future__ import annotations

from . import Peer, Runner


def load() -> Runner:
    """The dfs_async runner on the reference governor."""
    from ..gcra_governor import GCRAGovernor
    from .dfs import runner_with

    return runner_with(GCRAGovernor)


PEER = Peer(
    name="dfs_async (GCRA)",
    about=(
        "the dfs_async row's client with the reference governor in place of LocalGovernor: "
        "hand-written GCRA pacer and FIFO slot pool (benchmarks/gcra_governor.py)"
    ),
    order=0,
    modes=frozenset({"sweep", "calls"}),
    load=load,
    primary=True,
)
