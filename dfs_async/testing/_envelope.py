"""DataForSEO's JSON envelope and task objects, built as plain dicts and encoded once.

Key order mirrors the real Live response (fixtures/dataforseo/chat_gpt_live_response.json).
"""

from __future__ import annotations

import hashlib
import time
from typing import Final

import msgspec

from .._wire._requests import LiveRequest

VERSION: Final = "0.1.20251208"

MESSAGES: Final[dict[int, str]] = {
    20000: "Ok.",
    40000: "You can set only one task at a time.",
    40100: (
        "You are not authorized to access this resource. See your login details here: "
        "https://app.dataforseo.com/api-dashboard ."
    ),
    40202: "The rate-limit per minute has been exceeded.",
    40209: "Too many simultaneous queries.",
    40400: "Not Found.",
    40402: "Invalid Path.",
    40501: "Invalid Field.",
    40502: "POST Data Is Empty.",
    40503: "POST Data Is Invalid.",
    40506: "Unknown Fields in POST Data.",
    50000: "Internal Error.",
    50401: "Internal Error - Timeout.",
}

_HTML_TITLES: Final = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}
# What nginx in front of an API answers when the upstream fails: a page, not JSON.
HTML_PAGES: Final[dict[int, bytes]] = {
    status: (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
    for status, title in _HTML_TITLES.items()
}

encoder: Final = msgspec.json.Encoder()
decoder: Final = msgspec.json.Decoder()
_sorted_encoder: Final = msgspec.json.Encoder(order="sorted")


def task_key(task: LiveRequest | dict[str, object]) -> str:
    """sha256 of a task body as sorted-key JSON: the ``key`` the emulator records for it."""
    # A LiveRequest is keyed as the client sends it (without the routing-only ``platform``),
    # so tests can find their calls in the record.
    if isinstance(task, LiveRequest):
        data = msgspec.to_builtins(task)
        data.pop("platform", None)
        task = data
    return hashlib.sha256(_sorted_encoder.encode(task)).hexdigest()


def raw_key(body: bytes) -> str:
    """The key of a body that holds no single task (not JSON, or several tasks)."""
    return hashlib.sha256(body).hexdigest()


def seconds(elapsed: float) -> str:
    """The API's ``time`` format: ``"4.7042 sec."``."""
    return f"{elapsed:.4f} sec."


class Clock:
    """UTC wall-clock strings, formatted at most once a second, and unique task ids."""

    def __init__(self, seed: int) -> None:
        self._second = -1
        self._datetime = ""
        self._stamp = ""
        self._count = 0
        self._salt = seed & 0xFFFFFFFFFFFF

    def datetime(self) -> str:
        """Now, as results carry it: ``"2025-12-11 12:24:51 +00:00"``."""
        self._refresh()
        return self._datetime

    def task_id(self) -> str:
        """A fresh UUID-shaped id like ``"12111224-1535-0612-0000-0362a4b8fdb4"``."""
        self._refresh()
        self._count += 1
        # An odd multiplier permutes 48-bit counters: ids look random yet never repeat.
        tail = (self._count * 0x9E3779B97F4A7C15 + self._salt) & 0xFFFFFFFFFFFF
        return f"{self._stamp}-1535-0612-0000-{tail:012x}"

    def _refresh(self) -> None:
        now = int(time.time())
        if now != self._second:
            self._second = now
            utc = time.gmtime(now)
            self._datetime = time.strftime("%Y-%m-%d %H:%M:%S +00:00", utc)
            self._stamp = time.strftime("%m%d%H%M", utc)


def task(
    task_id: str,
    status_code: int,
    *,
    message: str | None = None,
    elapsed: float,
    cost: float = 0.0,
    path: list[str],
    data: dict[str, object],
    result: list[object] | None = None,
) -> dict[str, object]:
    """One task object."""
    return {
        "id": task_id,
        "status_code": status_code,
        "status_message": message or MESSAGES[status_code],
        "time": seconds(elapsed),
        "cost": cost,
        "result_count": len(result) if result is not None else 0,
        "path": path,
        "data": data,
        "result": result,
    }


def envelope(
    status_code: int,
    *,
    message: str | None = None,
    elapsed: float,
    cost: float = 0.0,
    tasks: list[dict[str, object]] | None = None,
) -> bytes:
    """The whole answer, encoded; ``tasks_error`` counts the tasks that did not succeed."""
    tasks = tasks or []
    errors = sum(1 for t in tasks if t["status_code"] not in (20000, 20100))
    return encoder.encode(
        {
            "version": VERSION,
            "status_code": status_code,
            "status_message": message or MESSAGES[status_code],
            "time": seconds(elapsed),
            "cost": cost,
            "tasks_count": len(tasks),
            "tasks_error": errors,
            "tasks": tasks,
        }
    )
