"""Test doubles shared by the unit tests: a scripted transport in place of aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

import dfs_async
from dfs_async._http._receiver import serve_runner
from dfs_async.testing import Emulator

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dataforseo"
"""DataForSEO's published example bodies, copied into the repository (see SOURCES.md there)."""

OK_BODY = (FIXTURES / "chat_gpt_live_response.json").read_bytes()

Reply = tuple[int, bytes] | BaseException | float
"""An HTTP answer, an exception to raise, or seconds to hang before answering OK."""


def envelope(code: int, *, task_code: int | None = None, cost: float = 0.0) -> bytes:
    task = {"id": "t-1", "status_code": task_code or code, "status_message": "m", "cost": cost}
    return msgspec.json.encode(
        {"status_code": code, "status_message": "msg", "cost": cost, "tasks": [task]}
    )


class ScriptedTransport:
    """Answers from a script, one entry per request; records what was asked."""

    def __init__(self, *script: Reply) -> None:
        self.script = list(script)
        self.requests: list[tuple[str, str, bytes | None, float]] = []
        self.closed = 0

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        self.requests.append((method, path, body, timeout))
        reply = self.script.pop(0) if self.script else (200, OK_BODY)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, float):
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.sleep(reply)
            except TimeoutError:
                raise dfs_async.DeadlineExceededError("deadline") from None
            return 200, OK_BODY
        return reply

    async def aclose(self) -> None:
        self.closed += 1


class EchoTransport:
    """Answers every Live call after ``latency`` s with its prompt echoed and a fixed cost.

    ``bodies`` holds the Live calls sent; a GET (a Models list) is answered 40400 "not found".
    """

    def __init__(self, latency: float = 0.0, cost: float = 0.01) -> None:
        self.latency = latency
        self.cost = cost
        self.bodies: list[bytes] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_prompts: set[str] = set()

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        if method == "GET":  # a Models list, say: this double knows none
            return 200, envelope(40400)
        self.bodies.append(body or b"")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        (task,) = msgspec.json.decode(body or b"[{}]")
        if task.get("user_prompt") in self.fail_prompts:
            return 200, envelope(20000, task_code=40501)
        result = {"model_name": task.get("model_name"), "items": []}
        return 200, msgspec.json.encode(
            {
                "status_code": 20000,
                "cost": self.cost,
                "tasks": [
                    {"status_code": 20000, "cost": self.cost, "data": task, "result": [result]}
                ],
            }
        )

    def prompts(self) -> list[str]:
        """The prompts sent, in order."""
        return [msgspec.json.decode(b)[0]["user_prompt"] for b in self.bodies]

    async def aclose(self) -> None:
        pass


def client_for(emu: Emulator, **options: Any) -> dfs_async.AsyncClient:
    """A client of the emulator ``emu``, with its credentials."""
    return dfs_async.AsyncClient(emu.login, emu.password, base_url=emu.base_url, **options)


@contextlib.asynccontextmanager
async def local_server(app: web.Application) -> AsyncIterator[tuple[str, int]]:
    """``app`` served on a free loopback port while the block runs: its base URL and port."""
    runner = web.AppRunner(app)
    served = await serve_runner(runner, "127.0.0.1", 0)
    try:
        yield served
    finally:
        await runner.cleanup()
