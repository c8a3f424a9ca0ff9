"""Redis key names for one account: derived from the login, never from the password.

Every key of an account starts with ``<namespace>:{<digest>}``. The braces make the digest a
Redis Cluster hash tag, so all of an account's keys live in one slot and each Lua script may
touch them all. The digest is a SHA-256 of the login (the login itself, often an e-mail
address, is not written to Redis); the password never leaves the client.
"""

from __future__ import annotations

import hashlib
from typing import Final

DEFAULT_NAMESPACE: Final = "dfs_async"


def account_prefix(login: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The prefix of every key of ``login``'s account, hash tag included."""
    if not login:
        raise ValueError("the shared governor needs the account's login to name its keys")
    if not namespace or any(c in namespace for c in "{}|"):
        raise ValueError(f"namespace must be non-empty without '{{', '}}' or '|': {namespace!r}")
    digest = hashlib.sha256(b"dfs_async account\0" + login.encode()).hexdigest()[:24]
    return f"{namespace}:{{{digest}}}"


def wake_key(prefix: str, process: str) -> str:
    """The channel on which a process hears of slots handed to its waiters (``lua/common.lua``)."""
    return f"{prefix}:wake:{process}"
