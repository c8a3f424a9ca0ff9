"""KeySet: set semantics over 64-bit digests, growth, removal, and its size per key."""

from __future__ import annotations

import hashlib
import random

from dfs_async._records._keyset import KeySet, key_digest


def keys(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [hashlib.sha256(rng.randbytes(8)).hexdigest()[:32] for _ in range(n)]


def test_behaves_like_a_set_of_keys() -> None:
    some = keys(5000)
    s = KeySet(some[:4000])
    s.add(some[0])  # twice keeps one
    assert len(s) == 4000
    assert all(k in s for k in some[:4000])
    assert not any(k in s for k in some[4000:])
    for k in some[:1000]:
        s.discard(k)
    s.discard(some[4500])  # absent: nothing happens
    assert len(s) == 3000
    assert not any(k in s for k in some[:1000])
    assert all(k in s for k in some[1000:4000])
    assert s == set(some[1000:4000]) and s != set(some[:3000])
    assert 7 not in s


def test_removed_slots_are_reused_without_growing_forever() -> None:
    s = KeySet()
    for round_ in range(50):
        batch = keys(100, seed=round_)
        for k in batch:
            s.add(k)
        for k in batch:
            s.discard(k)
    assert len(s) == 0 and len(s._table) <= 512


def test_any_string_is_a_key_even_one_not_made_by_dfs_async() -> None:
    odd = ["", "x", "not-hex-at-all-but-long-enough", "-123456789abcdef0", "0" * 32]
    s = KeySet(odd)
    assert all(k in s for k in odd) and len(s) == len(odd)
    assert all(key_digest(k) > 1 for k in odd)


def test_eight_bytes_per_slot_at_most_half_full() -> None:
    s = KeySet(keys(100_000))
    assert len(s) == 100_000
    assert s._table.itemsize * len(s._table) <= 8 * 4 * 100_000
