"""examples/fastapi_backend.py served by uvicorn: in this process against the embedded emulator
(status mapping, hang-ups, readiness), and as 2 workers beside a sweep process through a real
Redis (the account's limits at the emulator)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from fastapi import FastAPI

import dfs_async
from dfs_async.testing import (
    CallInfo,
    Emulator,
    EmulatorConfig,
    EmulatorProcess,
    Fault,
    RedisServer,
    task_key,
)

from ._sweep_process import credentials, sweep_command, whole_records
from .test_examples import EXAMPLES, load

pytestmark = pytest.mark.anyio

SLOW = 1.5
"""Seconds the emulator takes on gemini: long enough to hang up while a call is on the wire."""


class Arrivals:
    """A fault chooser that injects nothing and tells when a prompt with a marker arrived."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def event(self, marker: str) -> asyncio.Event:
        return self.events.setdefault(marker, asyncio.Event())

    def __call__(self, call: CallInfo) -> Fault | None:
        prompt = call.request.user_prompt if call.request is not None else ""
        for marker, event in self.events.items():
            if marker in prompt:
                event.set()
        return None


@pytest.fixture
def arrivals() -> Arrivals:
    return Arrivals()


@pytest.fixture
async def emulator(arrivals: Arrivals) -> AsyncIterator[Emulator]:
    config = EmulatorConfig(
        latency=(0.0, 0.05), latency_by_platform={"gemini": (SLOW, SLOW)}, faults=arrivals
    )
    async with Emulator(config) as emu:
        yield emu


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a loopback port in this loop; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # polled: uvicorn offers no startup event
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def make_app(emu: Emulator, **options: Any) -> FastAPI:
    app: FastAPI = load("fastapi_backend").make_app(
        login=emu.login, password=emu.password, base_url=emu.base_url, redis_url="", **options
    )
    return app


def client_of(app: FastAPI) -> dfs_async.AsyncClient:
    client = app.state.backend.client
    assert isinstance(client, dfs_async.AsyncClient)
    return client


async def test_answers_and_maps_each_failure_to_the_status_a_caller_can_act_on(
    emulator: Emulator, arrivals: Arrivals
) -> None:
    app = make_app(emulator, live_concurrency={"gemini": 1}, queue_timeout=0.3)
    async with serve(app) as url, aiohttp.ClientSession(url) as http:
        resp = await http.get("/ask", params={"q": "best CRM", "platform": "claude"})
        assert resp.status == 200
        answer = await resp.json()
        assert answer["model"].startswith("claude-sonnet-4") and answer["text"]
        assert answer["cost"] > 0 and isinstance(answer["citations"], list)

        resp = await http.get("/ask", params={"q": "x" * 501})  # ours, before any call
        assert (resp.status, (await resp.json())["field"]) == (400, "user_prompt")

        resp = await http.get("/ask", params={"q": "a", "platform": "claude", "model": "nope"})
        assert (resp.status, (await resp.json())["status_code"]) == (400, 40501)

        # The one gemini slot is held: the next gemini call waits 0.3 s, then 503, never sent.
        holding = asyncio.create_task(
            http.get("/ask", params={"q": "hold the slot", "platform": "gemini"})
        )
        await arrivals.event("hold the slot").wait()
        resp = await http.get("/ask", params={"q": "turned away", "platform": "gemini"})
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "1"
        assert (await holding).status == 200

        # Sent, and no answer within the request's deadline: the outcome is unknown.
        resp = await http.get("/ask", params={"q": "slow [[fault:hang]]", "deadline": "0.3"})
        assert resp.status == 504

        resp = await http.get("/metrics")
        calls = (await resp.json())["metrics"]["dfs_async.calls"]
        assert calls["platform=claude,status=20000"] == 1
        assert calls["platform=gemini,status=QueueTimeoutError"] == 1
        assert calls["platform=chat_gpt,status=DeadlineExceededError"] == 1
    prompts = [c.key for c in emulator.record.calls if c.platform == "gemini"]
    assert len(prompts) == 1  # "turned away" never reached DataForSEO


async def test_a_caller_hanging_up_cancels_its_call(emulator: Emulator, arrivals: Arrivals) -> None:
    app = make_app(emulator)
    async with serve(app) as url, aiohttp.ClientSession(url) as http:
        request = asyncio.create_task(
            http.get("/ask", params={"q": "hang up", "platform": "gemini"})
        )
        await arrivals.event("hang up").wait()
        request.cancel()  # the caller leaves: aiohttp closes the connection
        with pytest.raises(asyncio.CancelledError):
            await request
        client = client_of(app)
        loop = asyncio.get_running_loop()
        # DataForSEO still runs the call the caller gave up on: it will be charged, so the
        # client keeps reading it in the background and holds its slot until the answer.
        assert emulator.record.in_flight["gemini"] == 1
        deadline = loop.time() + 2 * SLOW
        while client.stats.in_flight["gemini"]:  # polled: the app's own counter
            assert loop.time() < deadline, "the client never read the abandoned call's answer"
            await asyncio.sleep(0.01)
        (call,) = emulator.record.calls
        assert call.charged > 0 and call.status_code == 20000
        # Charged once, and counted by the client that no longer had a caller for it.
        assert client.stats.cost == pytest.approx(call.charged)
        resp = await http.get("/metrics")
        calls = (await resp.json())["metrics"]["dfs_async.calls"]
        assert sum(calls.values()) == 1.0


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


async def test_ready_follows_the_shared_governors_redis(
    emulator: Emulator, redis: RedisServer
) -> None:
    app = make_app(emulator)
    app.state.backend.options["redis_url"] = redis.url
    async with serve(app) as url, aiohttp.ClientSession(url) as http:
        resp = await http.get("/ready")
        body = await resp.json()
        assert (resp.status, body["ready"]) == (200, True)
        assert "shared via redis://" in body["governor"]
        redis.kill()
        resp = await http.get("/ready")
        body = await resp.json()
        assert (resp.status, body["ready"]) == (503, False)
        assert "unreachable" in body["problems"][0]


# -- 2 uvicorn workers and a sweep process on one account, through one Redis ----------------

RATE, PERIOD, SLOTS = 60, 3.0, 4
LOADED_HOST_JITTER = 0.1
"""Four processes, the emulator and Redis on a test machine's two shared cores stall one
another for tens of milliseconds, more than loopback's default allowance (20 ms) covers; a
deployment on such a host sets the same (``DFS_JITTER``, ``--jitter``)."""
"""The emulated account: 20 calls/s, 4 Live slots per platform (0.2-0.4 s each)."""
ASKS = 24
MODEL = "gpt-4.1-mini"


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "fastapi_backend:app", "--app-dir", str(EXAMPLES),
        "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child process (fast to start: the test's loop may block on it)."""
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_ready(http: aiohttp.ClientSession, server: subprocess.Popen[bytes]) -> None:
    """Until /ready answers 200 (a worker that has not started does not accept)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        assert server.poll() is None, "uvicorn exited"
        assert loop.time() < deadline, "the backend never became ready"
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get("/ready") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.1)


async def ask(http: aiohttp.ClientSession, prompt: str) -> tuple[int, str | None]:
    async with http.get("/ask", params={"q": prompt, "platform": "chat_gpt"}) as resp:
        await resp.read()
        return resp.status, resp.headers.get("Retry-After")


async def hang_up_once_sent(http: aiohttp.ClientSession, emu: EmulatorProcess) -> None:
    """An /ask whose caller leaves while DataForSEO runs its call (gemini, 2 s)."""
    request = asyncio.create_task(http.get("/ask", params={"q": "gone", "platform": "gemini"}))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not (await asyncio.to_thread(emu.record)).in_flight["gemini"]:
        assert loop.time() < deadline, "the hang-up's call never reached the emulator"
        await asyncio.sleep(0.02)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request


async def test_two_workers_beside_a_sweep_process_keep_the_accounts_limits(
    tmp_path: Path, redis: RedisServer
) -> None:
    with EmulatorProcess(
        latency=(0.2, 0.4),
        latency_by_platform={"gemini": (2.0, 2.0)},
        rate_limit=RATE,
        rate_period=PERIOD,
        live_concurrency=SLOTS,
    ) as emu:
        env = {
            **credentials(emu),
            "DATAFORSEO_BASE_URL": emu.base_url,
            "DFS_REDIS_URL": redis.url,
            "DFS_RATE_LIMIT": str(RATE),
            "DFS_RATE_PERIOD": str(PERIOD),
            "DFS_JITTER": str(LOADED_HOST_JITTER),
            "DFS_LIVE_CONCURRENCY": str(SLOTS),
            "DFS_QUEUE_TIMEOUT": "15",
        }
        prompts = tmp_path / "prompts.txt"
        prompts.write_text("".join(f"bulk prompt {i}\n" for i in range(30)), encoding="utf-8")
        out = tmp_path / "results.jsonl"
        sweep = sweep_command(
            prompts, out, emu.base_url,
            "--platform", "chat_gpt", "--model", MODEL,
            "--platform", "claude", "--model", "claude-sonnet-4-0", "--quiet",
            "--rate-limit", str(RATE), "--rate-period", str(PERIOD),
            "--jitter", str(LOADED_HOST_JITTER),
            "--concurrency", str(SLOTS), "--redis-url", redis.url,
        )  # fmt: skip
        port = free_port()
        server = start(uvicorn_command(port), env)
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
                await wait_ready(http, server)
                bulk = start(sweep, env)
                try:
                    # The burst starts once the sweep is under way.
                    while len((await asyncio.to_thread(emu.record)).calls) < 2 * SLOTS:
                        assert bulk.poll() is None, "the sweep ended before the burst"
                        await asyncio.sleep(0.02)
                    started = time.monotonic()
                    answers, _ = await asyncio.gather(
                        asyncio.gather(*(ask(http, f"ask {i}") for i in range(ASKS))),
                        hang_up_once_sent(http, emu),
                    )
                    burst = time.monotonic() - started
                finally:
                    assert await asyncio.to_thread(bulk.wait, 60) == 0
        finally:
            server.send_signal(signal.SIGTERM)  # uvicorn's graceful shutdown
            assert server.wait(timeout=20) == 0
        record = emu.record()
    print(f"{ASKS} asks beside the sweep in {burst:.1f} s: {Counter(s for s, _ in answers)}")

    # The account's limits held at DataForSEO, across 2 workers and the sweep's process.
    assert record.max_calls_in_window(PERIOD) <= RATE
    assert max(record.max_in_flight.values()) <= SLOTS, record.max_in_flight
    assert record.codes[40202] == record.codes[40209] == 0
    # Every ask got an answer or a status its caller can act on; a 503 sent nothing.
    assert {status for status, _ in answers} <= {200, 503, 504}
    charges = record.charges_by_key()
    for i, (status, retry_after) in enumerate(answers):
        key = task_key({"user_prompt": f"ask {i}", "model_name": MODEL, "web_search": True})
        if status == 200:
            assert charges[key] == 1
        if status == 503:
            assert retry_after is not None and charges[key] == 0
    assert Counter(status for status, _ in answers)[200] >= ASKS // 2
    # The sweep got everything it asked for, sharing the account.
    assert len([r for r in whole_records(out) if r.ok]) == 60
    # The caller who hung up: DataForSEO ran and charged its call once.
    (gone,) = [c for c in record.calls if c.platform == "gemini"]
    assert gone.charged > 0 and gone.status_code == 20000
