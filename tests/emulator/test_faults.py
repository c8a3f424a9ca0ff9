"""The emulator's faults: what each one answers, what it charges, and how it is chosen."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from dfs_async import LiveResponse
from dfs_async._platforms import live_path, models_path
from dfs_async._wire._models import StatusEnvelope
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault

PATH = live_path("chat_gpt")


def auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"emulator:emulator").decode()}


def body(prompt: str = "best noise cancelling headphones", **fields: Any) -> bytes:
    return msgspec.json.encode([{"user_prompt": prompt, "model_name": "gpt-4.1-mini", **fields}])


def by_tag(info: CallInfo) -> Fault | None:
    """Inject the fault a Live task names in its tag, on its first attempt only."""
    tag = info.request.tag if info.request is not None else None
    return Fault(tag) if tag and info.attempt == 1 else None


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(latency=(0.0, 0.0), faults=by_tag, hang_seconds=0.3)
    async with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as session:
        yield session


async def post(http: aiohttp.ClientSession, data: bytes) -> tuple[int, str, bytes]:
    async with http.post(PATH, data=data) as response:
        return response.status, response.content_type, await response.read()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "envelope", "task_code"),
    [
        (Fault.SERVER_ERROR, 50000, None),
        (Fault.TASK_ERROR, 20000, 50000),
        (Fault.RATE_LIMIT, 40202, None),
        (Fault.CONCURRENCY, 40209, None),
        (Fault.TIMEOUT_50401, 20000, 50401),
        (Fault.HANG, 20000, 50401),
    ],
)
async def test_faults_answered_in_json_are_not_charged(
    emu: Emulator, http: aiohttp.ClientSession, fault: Fault, envelope: int, task_code: int | None
) -> None:
    status, _, raw = await post(http, body(tag=fault.value))
    answer = msgspec.json.decode(raw, type=LiveResponse)
    assert (status, answer.status_code, answer.cost) == (200, envelope, 0)
    if task_code is None:
        assert answer.tasks == []
    else:
        assert answer.tasks_error == 1 and answer.tasks[0].status_code == task_code
        assert answer.tasks[0].result is None
    [call] = emu.record.calls
    assert (call.fault, call.status_code, call.http_status) == (
        fault.value,
        task_code or envelope,
        200,
    )
    assert call.charged == 0 and emu.record.total_cost == 0
    assert call.admitted == (fault not in (Fault.RATE_LIMIT, Fault.CONCURRENCY))
    if fault is Fault.HANG:
        assert call.service_time == 0.3 and call.finished - call.arrived >= 0.29
    # The same task again is its second attempt: no fault.
    _, _, raw = await post(http, body(tag=fault.value))
    assert msgspec.json.decode(raw, type=LiveResponse).tasks[0].status_code == 20000
    assert [c.attempt for c in emu.record.calls] == [1, 2]


@pytest.mark.anyio
@pytest.mark.parametrize("fault", [Fault.HTTP_500_HTML, Fault.HTTP_502_HTML, Fault.HTTP_503_HTML])
async def test_proxy_pages_are_html(
    emu: Emulator, http: aiohttp.ClientSession, fault: Fault
) -> None:
    status, content_type, raw = await post(http, body(tag=fault.value))
    assert status == int(fault.value[5:8]) and content_type == "text/html"
    assert raw.startswith(b"<html>") and str(status).encode() in raw
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(raw)
    [call] = emu.record.calls
    assert (call.http_status, call.status_code, call.fault, call.charged) == (
        status,
        0,
        fault.value,
        0.0,
    )


@pytest.mark.anyio
async def test_reset_drops_the_connection(emu: Emulator, http: aiohttp.ClientSession) -> None:
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await post(http, body(tag="reset"))
    status, _, _ = await post(http, body(tag="reset"))  # second attempt; a fresh connection
    assert status == 200
    first, second = emu.record.calls
    assert (first.fault, first.http_status, first.status_code, first.charged) == ("reset", 0, 0, 0)
    assert second.status_code == 20000


@pytest.mark.anyio
@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.EMPTY_BODY])
async def test_mangled_bodies_are_charged(
    emu: Emulator, http: aiohttp.ClientSession, fault: Fault
) -> None:
    status, content_type, raw = await post(http, body(tag=fault.value))
    assert (status, content_type) == (200, "application/json")
    if fault is Fault.EMPTY_BODY:
        assert raw == b""
    else:
        assert raw.startswith(b'{"version":')
        with pytest.raises(msgspec.DecodeError):
            msgspec.json.decode(raw)
    _, _, raw = await post(http, body(tag=fault.value))
    paid = msgspec.json.decode(raw, type=LiveResponse).cost
    first, second = emu.record.calls
    assert (first.fault, first.status_code, first.http_status) == (fault.value, 0, 200)
    # The work was done both times and the same answer was paid twice: the client's problem.
    assert first.charged == second.charged == paid > 0
    assert emu.record.charges_by_key()[first.key] == 2
    assert emu.record.total_cost == pytest.approx(2 * paid)


@pytest.mark.anyio
async def test_prompt_marker_faults_the_first_attempt() -> None:
    async with (
        Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        data = body("[[fault:SERVER_ERROR]] best laptops for students")
        for expected in (50000, 20000):
            _, _, raw = await post(http, data)
            assert msgspec.json.decode(raw, type=StatusEnvelope).status_code == expected
        _, _, raw = await post(http, body("[[fault:no_such_fault]] best laptops"))
        assert msgspec.json.decode(raw, type=StatusEnvelope).status_code == 20000
    assert [c.fault for c in emu.record.calls] == ["server_error", None, None]


@pytest.mark.anyio
async def test_fault_chooser_sees_every_call() -> None:
    seen: list[CallInfo] = []

    def chooser(info: CallInfo) -> Fault | None:
        seen.append(info)
        return Fault.SERVER_ERROR if info.request is None else None

    async with (
        Emulator(EmulatorConfig(latency=(0.0, 0.0), faults=chooser)) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        for _ in range(2):
            await post(http, body())
        async with http.get(models_path("claude")) as response:
            answer = msgspec.json.decode(await response.read(), type=StatusEnvelope)
    assert answer.status_code == 50000
    live_calls = [info for info in seen if info.request is not None]
    assert [(i.platform, i.path, i.attempt) for i in live_calls] == [
        ("chat_gpt", PATH, 1),
        ("chat_gpt", PATH, 2),
    ]
    assert live_calls[0].key == emu.record.calls[0].key
    assert seen[-1].platform == "claude" and seen[-1].request is None


async def _random_run(prompts: list[str], rate: float, first_only: bool) -> list[int]:
    config = EmulatorConfig(
        latency=(0.0, 0.0),
        fault_rate=rate,
        fault_kinds=(Fault.SERVER_ERROR, Fault.TASK_ERROR),
        fault_first_attempt_only=first_only,
        seed=7,
    )
    codes: list[int] = []
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        for prompt in prompts:
            _, _, raw = await post(http, body(prompt))
            answer = msgspec.json.decode(raw, type=LiveResponse)
            codes.append(answer.tasks[0].status_code if answer.tasks else answer.status_code)
    return codes


@pytest.mark.anyio
async def test_random_faults_are_seeded_by_request_not_order() -> None:
    prompts = [f"best budget phone {i}" for i in range(40)]
    forward = await _random_run(prompts, 0.5, True)
    backward = await _random_run(prompts[::-1], 0.5, True)
    assert forward == backward[::-1]
    assert 8 <= sum(code != 20000 for code in forward) <= 32
    assert set(forward) == {20000, 50000}
    assert await _random_run(prompts, 0.5, True) == forward  # and the same run twice


@pytest.mark.anyio
async def test_random_faults_spare_retries_unless_told() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), fault_rate=1.0, fault_kinds=(Fault.TASK_ERROR,))
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        for _ in range(3):
            await post(http, body())
    assert [c.status_code for c in emu.record.calls] == [50000, 20000, 20000]
    always = await _random_run(["same prompt", "same prompt"], 1.0, False)
    assert always == [50000, 50000]
