"""The clients compared, one module each; adding a peer is adding a module here.

A peer module defines ``PEER = Peer(...)``. Its heavy imports happen in ``load`` (in the
child process that runs it), so listing peers costs nothing and a peer whose package is
missing still gets a row that says so.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from .._spec import Mode, RunResult, RunSpec

Runner = Callable[[RunSpec], RunResult]
"""Runs one spec in this process and returns the calls' outcomes (the child adds timings)."""
Decoder = Callable[[bytes], object]


@dataclass(frozen=True)
class Peer:
    """A client under test: what it is, what it can run, and how to load it."""

    name: str
    about: str
    """How it is built and governed, for the table's notes."""
    order: int
    """Position in tables: dfs_async first, the floor last."""
    modes: frozenset[Mode]
    load: Callable[[], Runner]
    """Imports the client and returns its runner; called only in the child."""
    requires: tuple[str, ...] = ()
    """Import names that must be installed."""
    decoder: Callable[[], tuple[str, Decoder]] | None = None
    """(label, decode function) for the decode suite, if the peer decodes its own way."""
    primary: bool = False
    """Run at full size where the suites must keep within budget (dfs_async, naive)."""
    cpu_share: float = 1.0
    """Share of the CPU suite's calls per run this peer makes (a slow peer makes fewer)."""

    def unavailable(self) -> str | None:
        """Why this peer cannot run here, or None."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            return f"not installed ({', '.join(missing)}); pip install -e '.[bench]'"
        return None


_selected: frozenset[str] | None = None


def select(names: frozenset[str] | None) -> None:
    """Run only the peers called ``names`` from now on (None: every peer)."""
    global _selected
    unknown = sorted((names or frozenset()) - {p.name for p in _every_peer()})
    if unknown:
        raise KeyError(f"no peer named {', '.join(map(repr, unknown))}; known: {_known()}")
    _selected = names


def all_peers() -> list[Peer]:
    """Every peer module in this package (or those `select` chose), in table order."""
    return [p for p in _every_peer() if _selected is None or p.name in _selected]


def _known() -> str:
    return ", ".join(p.name for p in _every_peer())


def _every_peer() -> list[Peer]:
    found: list[Peer] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        peer = getattr(module, "PEER", None)
        if isinstance(peer, Peer):
            found.append(peer)
    return sorted(found, key=lambda p: (p.order, p.name))


def get(name: str) -> Peer:
    """The peer called ``name``."""
    for peer in _every_peer():
        if peer.name == name:
            return peer
    raise KeyError(f"no peer named {name!r}; known: {_known()}")
