"""One emulated call in progress, and what the Standard desk needs of the app that serves it."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from .._platforms import Platform
from .._wire._requests import LiveRequest
from ._config import Fault
from ._endpoints import Route

Normal = Callable[[], tuple[bytes, int, float]]
"""Builds the answer a call gets when no fault strikes: (body, status_code, charge)."""


class Call:
    """What the record will say about the call in progress, filled in as it goes."""

    __slots__ = (
        "admitted",
        "arrived",
        "attempt",
        "charged",
        "fault",
        "http_status",
        "key",
        "method",
        "path",
        "platform",
        "rng",
        "service_time",
        "status_code",
        "tag",
    )

    def __init__(self, path: str, method: str, arrived: float) -> None:
        self.path = path
        self.method = method
        self.arrived = arrived
        self.platform: Platform | None = None
        self.key = ""
        self.attempt = 1
        self.tag: str | None = None
        self.fault: Fault | None = None
        self.status_code = 0
        self.http_status = 0
        self.charged = 0.0
        self.service_time = 0.0
        self.admitted = False
        self.rng: random.Random | None = None


class CallHost(Protocol):
    """The app's side of a call, as the Standard desk uses it (it never sees the app itself)."""

    def count_attempt(self, key: str) -> int:
        """The attempt number of this key's call (1 for the first)."""
        ...

    def fault_for(self, call: Call, route: Route, live: LiveRequest | None) -> Fault | None:
        """The fault this call gets, if any."""
        ...

    async def hold(self, call: Call, seconds: float) -> None:
        """Hold the call for its service time."""
        ...

    def error(self, call: Call, code: int, *, http_status: int = 200) -> web.Response:
        """An error envelope with DataForSEO's ``code``."""
        ...

    def reply(
        self,
        request: web.Request,
        call: Call,
        route: Route,
        task: dict[str, object] | None,
        fault: Fault | None,
        normal: Normal,
    ) -> web.StreamResponse:
        """The normal answer, or what ``fault`` makes of it."""
        ...
