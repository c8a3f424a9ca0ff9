"""The emulator's limits and record: rate window, Live slots, hangs, and the figures tests read."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import aiohttp
import anyio
import msgspec
import pytest

from dfs_async import LiveResponse, Platform
from dfs_async._platforms import USER_DATA_PATH, live_path, models_path
from dfs_async._wire._models import StatusEnvelope
from dfs_async.testing import CallInfo, CallRecord, Emulator, EmulatorConfig, Fault, ServerRecord

MODEL: dict[Platform, str] = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.0-flash",
    "perplexity": "sonar-pro",
}


def auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"emulator:emulator").decode()}


def body(platform: Platform, prompt: str = "best electric cars", **fields: Any) -> bytes:
    return msgspec.json.encode([{"user_prompt": prompt, "model_name": MODEL[platform], **fields}])


async def status_of(http: aiohttp.ClientSession, platform: Platform, data: bytes) -> int:
    """The task's code when the envelope succeeded, else the envelope's."""
    async with http.post(live_path(platform), data=data) as response:
        answer = msgspec.json.decode(await response.read(), type=LiveResponse)
    return answer.tasks[0].status_code if answer.tasks else answer.status_code


async def wait_until_idle(emu: Emulator, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        # Polling: the record has nothing to await, and the hold ends in the server's time.
        while any(emu.record.in_flight.values()):  # noqa: ASYNC110
            await anyio.sleep(0.01)


# -- the record's figures on known schedules ------------------------------------------------


def test_max_calls_in_window_on_a_known_schedule() -> None:
    record = ServerRecord()
    for t in (0.0, 0.1, 0.2, 1.05, 1.1, 1.15, 1.2, 3.0):
        record._arrive(t)
    # Windows are half-open: 0.2 and 1.2 are a whole second apart, so not in one window.
    assert record.max_calls_in_window(1.0) == 4
    assert record.max_calls_in_window(0.07) == 2
    assert record.max_calls_in_window(0.01) == 1
    assert record.max_calls_in_window(3.0) == 7
    assert record.max_calls_in_window(3.01) == 8
    assert ServerRecord().max_calls_in_window(1.0) == 0


def test_in_flight_and_occupancy_on_a_known_schedule() -> None:
    record = ServerRecord()
    first = record._admit("chat_gpt", 0.0)
    second = record._admit("chat_gpt", 0.5)
    record._release(first)
    third = record._admit("chat_gpt", 1.0)
    record._admit("gemini", 1.0)
    assert record.max_in_flight == {"chat_gpt": 2, "claude": 0, "gemini": 1, "perplexity": 0}
    record._release(second)
    record._release(third)
    assert record.in_flight["chat_gpt"] == 0 and record.max_in_flight["chat_gpt"] == 2

    record = ServerRecord()
    for arrived, finished in ((0.0, 1.0), (0.5, 1.5), (2.0, 3.0)):
        call = CallRecord(
            path="/", platform="chat_gpt", arrived=arrived, finished=finished,
            status_code=20000, http_status=200, admitted=True,
        )  # fmt: skip
        record._add(call, record.generation)
    # Over [0, 1]: one slot busy 1 s, the other 0.5 s, of 2 slots x 1 s.
    assert record.occupancy("chat_gpt", 0.0, 1.0, 2) == pytest.approx(0.75)
    assert record.occupancy("chat_gpt", 0.0, 3.0, 2) == pytest.approx(0.5)
    assert record.occupancy("chat_gpt", 0.5, 1.0, 2) == pytest.approx(1.0)
    assert record.occupancy("claude", 0.0, 3.0, 1) == 0.0
    with pytest.raises(ValueError, match="end > start"):
        record.occupancy("chat_gpt", 1.0, 1.0, 1)


# -- latency --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_latency_is_per_platform_and_recorded() -> None:
    config = EmulatorConfig(latency=(0.2, 0.3), latency_by_platform={"gemini": (0.0, 0.0)})
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        start = time.monotonic()
        assert await status_of(http, "claude", body("claude")) == 20000
        assert time.monotonic() - start >= 0.2
        assert await status_of(http, "gemini", body("gemini")) == 20000
        async with http.get(models_path("claude")) as response:  # only Live calls take time
            await response.read()
    slow, fast, models = emu.record.calls
    assert 0.2 <= slow.service_time <= 0.3 and slow.finished - slow.arrived >= 0.2
    assert fast.service_time == 0.0 and models.service_time == 0.0


# -- the rate window ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_rate_window_slides_and_counts_every_endpoint() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), rate_limit=3, rate_period=1.0)
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        codes = [await status_of(http, "claude", body("claude"))]
        for path in (models_path("claude"), USER_DATA_PATH, USER_DATA_PATH):
            async with http.get(path) as response:
                codes.append(
                    msgspec.json.decode(await response.read(), type=StatusEnvelope).status_code
                )
        codes.append(await status_of(http, "claude", body("claude")))
        assert codes == [20000, 20000, 20000, 40202, 40202]
        # Rejected calls count too: the window clears only rate_period after the last arrival.
        await anyio.sleep(emu.record.arrivals[-1] + 1.05 - time.monotonic())
        assert await status_of(http, "claude", body("claude")) == 20000
    record = emu.record
    assert record.max_calls_in_window(1.0) == 5
    rejected = [c for c in record.calls if c.status_code == 40202]
    assert len(rejected) == 2 and all(c.charged == 0 and not c.admitted for c in rejected)
    assert record.codes[40202] == 2 and record.codes[20000] == 4


# -- Live slots -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_live_slots_are_per_platform() -> None:
    config = EmulatorConfig(latency=(1.0, 1.0), live_concurrency={"chat_gpt": 2})
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        chat_gpt: list[Platform] = ["chat_gpt"] * 4
        claude: list[Platform] = ["claude"] * 3
        platforms = chat_gpt + claude
        codes = await asyncio.gather(
            *(status_of(http, p, body(p, f"best tents {i}")) for i, p in enumerate(platforms))
        )
    assert sorted(codes[:4]) == [20000, 20000, 40209, 40209]
    assert codes[4:] == [20000] * 3  # claude has no limit here
    record = emu.record
    assert record.max_in_flight == {"chat_gpt": 2, "claude": 3, "gemini": 0, "perplexity": 0}
    assert record.in_flight == dict.fromkeys(record.in_flight, 0)
    refused = [c for c in record.calls if c.status_code == 40209]
    assert len(refused) == 2 and not any(c.admitted or c.charged for c in refused)
    assert all(c.service_time == 0 for c in refused)


@pytest.mark.anyio
async def test_one_limit_for_every_platform_and_a_measured_peak() -> None:
    config = EmulatorConfig(latency=(0.8, 0.8), live_concurrency=3)
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        codes = await asyncio.gather(
            *(status_of(http, "perplexity", body("perplexity", f"best tv {i}")) for i in range(3))
        )
        start, end = (
            min(c.arrived for c in emu.record.calls),
            max(c.finished for c in emu.record.calls),
        )
    assert codes == [20000] * 3
    assert emu.record.max_in_flight["perplexity"] == 3
    assert emu.record.occupancy("perplexity", start, end, 3) > 0.5


# -- hangs ----------------------------------------------------------------------------------


def hang_live(info: CallInfo) -> Fault | None:
    """Hang the first attempt of Live tasks whose prompt says so."""
    request = info.request
    if request is not None and request.user_prompt == "hang here" and info.attempt == 1:
        return Fault.HANG
    return None


@pytest.mark.anyio
async def test_a_hang_holds_its_slot_after_the_client_gives_up() -> None:
    config = EmulatorConfig(
        latency=(0.0, 0.0), faults=hang_live, hang_seconds=1.2, live_concurrency=1
    )
    async with (
        Emulator(config) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        with pytest.raises(TimeoutError):
            async with http.post(
                live_path("gemini"),
                data=body("gemini", "hang here"),
                timeout=aiohttp.ClientTimeout(total=0.2),
            ) as response:
                await response.read()
        assert emu.record.in_flight["gemini"] == 1 and emu.record.calls == []
        # The slot is still taken: another gemini call is refused, claude is not affected.
        assert await status_of(http, "gemini", body("gemini", "other")) == 40209
        assert await status_of(http, "claude", body("claude")) == 20000
        await wait_until_idle(emu)
        assert await status_of(http, "gemini", body("gemini", "hang here")) == 20000  # retry
    hung = next(c for c in emu.record.calls if c.fault == "hang")
    assert (hung.status_code, hung.charged, hung.admitted) == (50401, 0.0, True)
    assert hung.service_time == 1.2 and hung.finished - hung.arrived >= 1.2
    assert emu.record.max_in_flight["gemini"] == 1


@pytest.mark.anyio
async def test_closing_cuts_hangs_short() -> None:
    config = EmulatorConfig(latency=(0.0, 0.0), faults=hang_live, hang_seconds=60.0)
    emu = Emulator(config)
    async with emu, aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http:
        with pytest.raises(TimeoutError):
            async with http.post(
                live_path("claude"),
                data=body("claude", "hang here"),
                timeout=aiohttp.ClientTimeout(total=0.1),
            ) as response:
                await response.read()
        start = time.monotonic()
    assert time.monotonic() - start < 5
    [call] = emu.record.calls
    assert (call.fault, call.http_status, call.status_code) == ("hang", 0, 0)
    assert emu.record.in_flight["claude"] == 0
    await emu.close()  # closing twice is fine


# -- charges --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_charges_by_key_counts_paid_answers() -> None:
    async with (
        Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu,
        aiohttp.ClientSession(base_url=emu.base_url, headers=auth()) as http,
    ):
        for prompt in ("best kayak", "best kayak", "best canoe"):
            await status_of(http, "claude", body("claude", prompt))
        await status_of(http, "claude", body("claude", "best canoe", temperature=9.0))  # 40501
        async with http.get(models_path("claude")) as response:
            await response.read()
    kayak, again, canoe, invalid, models = emu.record.calls
    assert kayak.key == again.key != canoe.key != invalid.key
    assert emu.record.charges_by_key() == {kayak.key: 2, canoe.key: 1}
    assert emu.record.total_cost == pytest.approx(kayak.charged * 2 + canoe.charged)
    assert invalid.charged == models.charged == 0
    assert emu.record.to_dict(calls=False)["charged_twice"] == 1
