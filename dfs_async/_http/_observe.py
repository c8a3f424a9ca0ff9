"""The current call's watch: how a sweep worker learns what the client is doing with its call.

A sweep sets `CURRENT_CALL` in each worker's context; the client marks the call while its
request is on the wire, and checks `stopping` before each attempt. The client never imports the
sweep: this module is the meeting point below both.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final


class CallWatch:
    """One sweep worker's call, as the client reports it."""

    __slots__ = ("delivering", "left", "sending", "stopping")

    def __init__(self) -> None:
        self.sending = False
        """An attempt's request is on the wire (or its answer on the way back)."""
        self.stopping = False
        """The sweep is stopping: no further attempt may be sent (no retry)."""
        self.delivering = False
        """A finished result is being recorded and handed on."""
        self.left = 0
        """Calls on the wire whose caller was cancelled: read on in the background, their
        answers reach no one (DataForSEO may run and bill them)."""


CURRENT_CALL: Final[ContextVar[CallWatch | None]] = ContextVar("dfs_async_call", default=None)
"""Set by each sweep worker; read by `AsyncClient` on its send path."""
