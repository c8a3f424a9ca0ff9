"""Request keys: the stable hash that identifies one call across runs (no I/O)."""

from __future__ import annotations

import hashlib
from typing import TypeAlias

import msgspec

from .._platforms import Platform
from ._requests import LiveRequest, encode_body

ItemId: TypeAlias = str | int
"""The caller's own id of an input row (a spreadsheet's prompt id)."""


def request_key(
    platform: Platform | None,
    request: LiveRequest,
    *,
    sample: int = 0,
    item_id: ItemId | None = None,
) -> str:
    """A stable hash of platform + model + every request field (routing excluded), and of the
    sample number and the caller's item id when given.

    Two runs of the same sweep give the same keys, which is how a re-run knows what it has
    already paid for. ``encode_body`` emits fields in declaration order, so it is canonical.
    Sample 0 without an id has the key the request had before samples and ids existed.
    """
    return body_key(platform, encode_body(request), sample=sample, item_id=item_id)


def body_key(
    platform: Platform | None, body: bytes, *, sample: int = 0, item_id: ItemId | None = None
) -> str:
    """`request_key` from the already encoded body of the request."""
    data = (platform or "").encode() + b"\0" + body
    if sample:
        data += b"\0sample=%d" % sample
    if item_id is not None:
        data += b"\0id=" + msgspec.json.encode(item_id)  # 7 and "7" are different rows
    return hashlib.sha256(data).hexdigest()[:32]
