"""The client against the emulator: invalid fields never reach it, every fault becomes the
right typed error, and a sweep's budget holds with real (varying) costs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import dfs_async
from dfs_async import AsyncClient, RetryPolicy, gather_prompts, read_results
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault

pytestmark = pytest.mark.anyio

MODELS = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-sonnet-4-0",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}

# One invalid request per platform and rule family; each must fail before any network call.
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("chat_gpt", {"user_prompt": "x" * 501}, "user_prompt"),
    ("chat_gpt", {"user_prompt": "q", "max_output_tokens": 8}, "max_output_tokens"),
    ("chat_gpt", {"user_prompt": "q", "use_reasoning": True}, "use_reasoning"),
    ("chat_gpt", {"user_prompt": "q", "force_web_search": True}, "force_web_search"),
    ("claude", {"user_prompt": "q", "temperature": 0.3, "top_p": 0.5}, "top_p"),
    ("claude", {"user_prompt": "q", "temperature": 1.5}, "temperature"),
    ("claude", {"user_prompt": "q", "use_reasoning": True, "max_output_tokens": 1024}, ""),
    (
        "claude",
        {"user_prompt": "q", "web_search": True, "web_search_country_iso_code": "XX"},
        "web_search_country_iso_code",
    ),
    ("gemini", {"user_prompt": "q", "web_search_city": "Paris"}, "web_search_city"),
    ("gemini", {"user_prompt": "q", "tag": "t" * 256}, "tag"),
    ("perplexity", {"user_prompt": "q", "web_search": False}, "web_search"),
    (
        "perplexity",
        {"user_prompt": "q", "message_chain": [{"role": "ai", "message": "hi"}]},
        "message_chain",
    ),
    ("perplexity", {"user_prompt": "q", "max_output_tokens": 5000}, "max_output_tokens"),
]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        yield emu


def client_for(emu: Emulator, **kwargs: Any) -> AsyncClient:
    kwargs.setdefault("rate_limit", 60_000)
    return AsyncClient(emu.login, emu.password, base_url=emu.base_url, **kwargs)


@pytest.mark.parametrize(("platform", "fields", "field"), INVALID)
async def test_invalid_fields_never_reach_the_server(
    emulator: Emulator, platform: str, fields: dict[str, Any], field: str
) -> None:
    async with client_for(emulator) as client:
        with pytest.raises(dfs_async.ValidationError) as info:
            await client.live(platform, model_name=MODELS[platform], **fields)
    if field:
        assert info.value.field == field
    assert emulator.record.calls == []


FAULTS: list[tuple[Fault, type[dfs_async.DFSError], int | None]] = [
    (Fault.SERVER_ERROR, dfs_async.ServerError, 50000),
    (Fault.TASK_ERROR, dfs_async.ServerError, 50000),
    (Fault.RATE_LIMIT, dfs_async.RateLimitError, 40202),
    (Fault.CONCURRENCY, dfs_async.ConcurrencyLimitError, 40209),
    (Fault.TIMEOUT_50401, dfs_async.ExecutionTimeoutError, 50401),
    (Fault.HTTP_500_HTML, dfs_async.ServerError, 500),
    (Fault.HTTP_502_HTML, dfs_async.ServerError, 502),
    (Fault.HTTP_503_HTML, dfs_async.ServerError, 503),
    (Fault.RESET, dfs_async.TransportError, None),
    (Fault.TRUNCATED, dfs_async.DecodeError, None),
    (Fault.CUT_OFF, dfs_async.DecodeError, None),
    (Fault.EMPTY_BODY, dfs_async.DecodeError, None),
    (Fault.HANG, dfs_async.DeadlineExceededError, None),
]


@pytest.mark.parametrize(("fault", "error", "code"), FAULTS)
async def test_each_fault_becomes_its_typed_error(
    fault: Fault, error: type[dfs_async.DFSError], code: int | None
) -> None:
    def always(call: CallInfo) -> Fault:
        return fault

    config = EmulatorConfig(latency=(0.0, 0.0), faults=always, hang_seconds=0.5)
    async with Emulator(config) as emu, client_for(emu, max_retries=0, timeout=0.2) as client:
        with pytest.raises(error) as info:
            await client.live("gemini", user_prompt="q", model_name="gemini-2.5-flash")
    exc = info.value
    if code is not None:
        assert isinstance(exc, dfs_async.APIError)
        assert code == (exc.http_status if code < 1000 else exc.status_code)
    if isinstance(exc, dfs_async.APIError) and exc.http_status >= 500:
        assert b"<html" in exc.body.lower()  # the proxy's page is kept
    if isinstance(exc, dfs_async.DecodeError):
        assert exc.http_status == 200  # outcome unknown: the server did the work
    assert len(emu.record.calls) == 1


async def test_retryable_faults_are_cured_by_a_retry_and_final_ones_are_not() -> None:
    def first_attempt(call: CallInfo) -> Fault | None:
        return Fault.SERVER_ERROR if call.attempt == 1 else None

    config = EmulatorConfig(latency=(0.0, 0.0), faults=first_attempt)
    retry = RetryPolicy(max_retries=2, backoff_base=0.01)
    async with Emulator(config) as emu, client_for(emu, retry=retry) as client:
        resp = await client.live("claude", user_prompt="q", model_name="claude-sonnet-4-0")
        assert resp.result is not None
        assert client.stats.retries == {"50000": 1}
    assert [c.status_code for c in emu.record.calls] == [50000, 20000]


async def test_the_budget_holds_with_varying_real_costs() -> None:
    config = EmulatorConfig(latency=(0.02, 0.08), seed=4)
    async with Emulator(config) as emu, client_for(emu, live_concurrency=10) as client:
        results = await gather_prompts(
            client,
            (f"prompt {i} " + "word " * (i % 40) for i in range(200)),
            platform="chat_gpt",
            model_name="gpt-4.1-mini",
            web_search=True,
            max_cost=1.0,
        )
    assert emu.record.total_cost <= 1.0
    assert emu.record.total_cost == pytest.approx(sum(r.cost for r in results))
    assert emu.record.total_cost > 0.7  # the cap, not something else, stopped the sweep
    refused = [r for r in results if isinstance(r.error, dfs_async.BudgetExceededError)]
    assert refused
    assert len(emu.record.calls) == 200 - len(refused)


@pytest.mark.parametrize("fault", [Fault.CUT_OFF, Fault.TRUNCATED, Fault.EMPTY_BODY])
async def test_a_cut_off_200_frees_its_slot_at_once(fault: Fault) -> None:
    # The server answered (and charged): it has finished, so the one slot must not stay held
    # for live_execution_limit. The charge is unknown to the client, hence no resend.
    def first(call: CallInfo) -> Fault | None:
        return fault if call.request is not None and call.request.user_prompt == "q" else None

    config = EmulatorConfig(latency=(0.0, 0.0), faults=first)
    limits = {"live_concurrency": 1, "live_execution_limit": 60.0}
    async with Emulator(config) as emu, client_for(emu, **limits) as client:
        with pytest.raises(dfs_async.DecodeError):
            await client.live("gemini", user_prompt="q", model_name="gemini-2.5-flash")
        assert client.stats.governor.platforms["gemini"].held == 0
        assert emu.record.in_flight["gemini"] == 0
        async with asyncio.timeout(5):  # would wait 60 s for a held slot
            await client.live("gemini", user_prompt="again", model_name="gemini-2.5-flash")
    cut, answered = emu.record.calls
    assert (cut.fault, cut.http_status, answered.fault) == (fault.value, 200, None)
    assert cut.charged > 0 and emu.record.max_in_flight["gemini"] == 1
    assert answered.arrived - cut.finished < 2.0  # the slot came back with the answer


async def test_a_reset_live_call_is_held_its_service_time_and_not_charged() -> None:
    # What Fault.RESET documents: the request was read whole, the call held its Live slot for
    # its service time, then the connection dropped with no answer and no charge. The client
    # cannot tell that nothing was charged: it reports an unknown outcome and does not resend.
    def always(call: CallInfo) -> Fault:
        return Fault.RESET

    config = EmulatorConfig(latency=(0.05, 0.05), faults=always)
    async with Emulator(config) as emu, client_for(emu) as client:
        with pytest.raises(dfs_async.TransportError) as info:
            await client.live("gemini", user_prompt="q", model_name="gemini-2.5-flash")
    assert info.value.sent
    [call] = emu.record.calls
    assert (call.fault, call.http_status, call.status_code) == ("reset", 0, 0)
    assert call.admitted and call.service_time == pytest.approx(0.05)
    assert call.charged == 0.0 and emu.record.total_cost == 0.0


async def test_a_cancelled_call_frees_its_slot_when_its_answer_arrives() -> None:
    # A web handler cancelled on a client's hang-up: the call is on the wire and paid for.
    # Its answer is still read; the one slot goes to the next call as soon as it arrives
    # (not live_execution_limit later), and its charge counts in client.stats.
    config = EmulatorConfig(latency=(0.4, 0.4))
    limits = {"live_concurrency": 1, "live_execution_limit": 60.0}
    ask: dict[str, Any] = {"model_name": MODELS["gemini"]}
    async with Emulator(config) as emu, client_for(emu, **limits) as client:
        first = asyncio.create_task(client.live("gemini", user_prompt="first", **ask))
        while emu.record.in_flight["gemini"] == 0:  # noqa: ASYNC110 - the server's own record
            await asyncio.sleep(0.005)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await client.live("gemini", user_prompt="second", **ask)
        cost = client.stats.cost
    cancelled, second = sorted(emu.record.calls, key=lambda c: c.arrived)
    assert second.arrived >= cancelled.finished  # one slot: never both at once
    assert second.arrived - cancelled.finished < 0.1
    assert cancelled.charged > 0 and cost == pytest.approx(cancelled.charged + second.charged)


async def test_queue_timeout_per_call_bounds_only_that_call() -> None:
    config = EmulatorConfig(latency=(0.3, 0.3))
    ask: dict[str, Any] = {"model_name": MODELS["claude"]}
    async with Emulator(config) as emu, client_for(emu, live_concurrency=1) as client:
        busy = asyncio.create_task(client.live("claude", user_prompt="busy", **ask))
        while emu.record.in_flight["claude"] == 0:  # noqa: ASYNC110 - the server's own record
            await asyncio.sleep(0.005)
        with pytest.raises(dfs_async.QueueTimeoutError) as info:
            await client.live("claude", user_prompt="in a hurry", queue_timeout=0.05, **ask)
        patient = await client.live("claude", user_prompt="patient", **ask)  # no bound
        await busy
    assert info.value.sent is False and isinstance(info.value, dfs_async.NotSentError)
    assert patient.result is not None
    assert len(emu.record.calls) == 2  # the hurried call never reached the server
    with pytest.raises(dfs_async.ValidationError):
        await AsyncClient("u", "p").live("claude", user_prompt="q", queue_timeout=0, **ask)


async def test_a_charged_error_is_recorded_settled_and_a_rerun_pays_nothing(
    tmp_path: Path,
) -> None:
    # The task ran and was billed, then failed (50000 with a cost): resending it would pay
    # again, so the sink records it settled, with its cost, and a re-run leaves it alone.
    out = tmp_path / "r.jsonl"
    prompts = ["plain one", "[[fault:charged_error]] billed then failed", "plain two"]
    ask: dict[str, Any] = {"platform": "claude", "model_name": MODELS["claude"]}
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        for _ in range(2):
            async with client_for(emu, retry=RetryPolicy(backoff_base=0.001)) as client:
                await gather_prompts(client, prompts, sink=out, **ask)
        charged = [c for c in emu.record.calls if c.fault == "charged_error"]
        assert len(charged) == 1 and charged[0].charged > 0
        assert len(emu.record.calls) == 3  # the re-run sent nothing
        assert set(emu.record.charges_by_key().values()) == {1}
    (failed,) = [r for r in read_results(out) if not r.ok]
    assert failed.error is not None and failed.error.settled and failed.error.status_code == 50000
    assert failed.cost == pytest.approx(charged[0].charged)
