"""`KeySet`: a set of result keys in 8 bytes each, so that resuming a million-item file stays small.

A Python ``set[str]`` of 32-hex-digit keys costs about 150 bytes per key (the string object and
its hash-table slot): 200 MB for the three key sets of a 1,000,000-record results file. A key is
already a uniform hash (128 bits of sha256), so its first 64 bits are a digest as good as any:
`KeySet` keeps those digests in an open-addressing table (an ``array`` of unsigned 64-bit
integers, linear probing, kept at most half full), 16 MB for a million keys.

Two different keys are taken for one only if their first 64 bits agree: for a million keys the
chance that any pair does is about 3 in 100 million.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Set
from typing import Final

_EMPTY: Final = 0
_REMOVED: Final = 1
"""A slot whose key was discarded: lookups probe past it, inserts may reuse it."""
_MIN_CAPACITY: Final = 16


def key_digest(key: str) -> int:
    """The 64-bit digest a `KeySet` keeps for ``key`` (never 0 or 1, which mark free slots)."""
    try:
        digest = int(key[:16], 16) if len(key) >= 16 else -1
    except ValueError:
        digest = -1
    if digest < 0:  # not one of dfs_async's keys (a hand-edited file): hash it to 64 bits
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return digest if digest > _REMOVED else digest + 2


class KeySet:
    """A set of keys that supports ``add``, ``discard``, ``in`` and ``len``, 8 bytes per key.

    It cannot list its keys back (it keeps only their digests); it compares equal to a plain
    set holding the same keys.
    """

    __slots__ = ("_count", "_mask", "_table", "_used")

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._table = array("Q", bytes(8 * _MIN_CAPACITY))
        self._mask = _MIN_CAPACITY - 1
        self._count = 0
        """Keys held."""
        self._used = 0
        """Slots not empty: keys held plus removed marks."""
        for key in keys:
            self.add(key)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        digest = key_digest(key)
        table, mask = self._table, self._mask
        i = digest & mask
        while True:
            slot = table[i]
            if slot == digest:
                return True
            if slot == _EMPTY:
                return False
            i = (i + 1) & mask

    def add(self, key: str) -> None:
        """Add ``key``; adding it twice keeps one."""
        digest = key_digest(key)
        table, mask = self._table, self._mask
        i = digest & mask
        reuse = -1
        while True:
            slot = table[i]
            if slot == digest:
                return
            if slot == _EMPTY:
                break
            if slot == _REMOVED and reuse < 0:
                reuse = i
            i = (i + 1) & mask
        if reuse >= 0:
            table[reuse] = digest
        else:
            table[i] = digest
            self._used += 1
        self._count += 1
        if 2 * self._used > len(table):
            self._resize()

    def discard(self, key: str) -> None:
        """Remove ``key`` if it is there."""
        if not self._count:
            return  # the common case when resuming: no failure recorded yet
        digest = key_digest(key)
        table, mask = self._table, self._mask
        i = digest & mask
        while True:
            slot = table[i]
            if slot == digest:
                table[i] = _REMOVED
                self._count -= 1
                return
            if slot == _EMPTY:
                return
            i = (i + 1) & mask

    def _resize(self) -> None:
        # Double if mostly keys, else rebuild at the same size to drop the removed marks.
        capacity = len(self._table)
        if 2 * self._count > capacity // 2:
            capacity *= 2
        old = self._table
        self._table = table = array("Q", bytes(8 * capacity))
        self._mask = mask = capacity - 1
        for digest in old:
            if digest > _REMOVED:
                i = digest & mask
                while table[i] != _EMPTY:
                    i = (i + 1) & mask
                table[i] = digest
        self._used = self._count

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KeySet):
            return len(self) == len(other) and sorted(self._digests()) == sorted(other._digests())
        if isinstance(other, Set):
            return len(self) == len(other) and all(k in self for k in other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def _digests(self) -> Iterable[int]:
        return (d for d in self._table if d > _REMOVED)

    def __repr__(self) -> str:
        return f"<KeySet of {self._count} keys, {len(self._table) * 8 // 1024} KiB>"
