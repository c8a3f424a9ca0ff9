"""AsyncClient against a scripted transport: lifecycle, errors, retries, deadlines.

The governed behaviour at the server is checked against the emulator in test_governance.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import pytest

import dfs_async
from dfs_async import AsyncClient, RetryPolicy

from .._fakes import OK_BODY, Reply, ScriptedTransport, envelope

pytestmark = pytest.mark.anyio


def client(transport: ScriptedTransport, **kwargs: object) -> AsyncClient:
    kwargs.setdefault("retry", RetryPolicy(max_retries=3, backoff_base=0.001, backoff_max=0.01))
    return AsyncClient(transport=transport, **kwargs)  # type: ignore[arg-type]


ASK: dict[str, Any] = {
    "user_prompt": "Which CRM do small agencies use?",
    "model_name": "gpt-4.1-mini",
}


async def test_live_returns_the_envelope_and_sends_one_task() -> None:
    t = ScriptedTransport()
    async with client(t) as c:
        resp = await c.live("chat_gpt", **ASK, web_search=True)
    assert resp.result is not None and resp.tasks[0].status_code == 20000
    method, path, body, timeout = t.requests[0]
    assert (method, path, timeout) == (
        "POST",
        "/v3/ai_optimization/chat_gpt/llm_responses/live",
        120,
    )
    assert msgspec.json.decode(body or b"") == [{**ASK, "web_search": True}]
    assert t.closed == 1


async def test_invalid_fields_never_reach_the_transport() -> None:
    t = ScriptedTransport()
    async with client(t) as c:
        with pytest.raises(dfs_async.ValidationError) as info:
            await c.live("perplexity", user_prompt="hi", model_name="sonar", web_search=False)
        with pytest.raises(ValueError, match="unknown platform"):
            await c.live("bard", **ASK)
    assert info.value.field == "web_search"
    assert t.requests == []


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    with pytest.raises(dfs_async.CredentialsError, match="DATAFORSEO_LOGIN"):
        AsyncClient()
    monkeypatch.setenv("DATAFORSEO_LOGIN", "me@example.com")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "s3cret-pass")
    c = AsyncClient()
    assert "s3cret" not in repr(c) and "me@example" not in repr(c)
    assert "s3cret" not in repr(c._transport)


def test_plain_http_only_to_loopback() -> None:
    with pytest.raises(dfs_async.ValidationError, match="https"):
        AsyncClient("a", "b", base_url="http://api.dataforseo.com")
    AsyncClient("a", "b", base_url="http://127.0.0.1:8080")
    AsyncClient("a", "b", base_url="http://localhost:8080/")


def test_the_jitter_allowance_follows_the_path_to_the_server() -> None:
    # Loopback (the emulator) bunches arrivals by milliseconds, a WAN by tens of them: the
    # pacer keeps back what the path needs, and what the user sets wins either way.
    remote = AsyncClient("a", "b", base_url="https://api.dataforseo.com")
    assert remote.limits.jitter == dfs_async.Limits().jitter == 0.1
    for url in ("http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2"):
        assert AsyncClient("a", "b", base_url=url).limits.jitter == 0.02
    assert AsyncClient("a", "b", base_url="http://127.0.0.1:1", jitter=0.3).limits.jitter == 0.3
    assert AsyncClient("a", "b", jitter=0.0).limits.jitter == 0.0
    # The interval follows: less kept back, a shorter interval (a higher rate).
    assert AsyncClient("a", "b", base_url="http://127.0.0.1:1").limits.interval < (
        remote.limits.interval
    )
    with pytest.raises(dfs_async.ValidationError, match="jitter"):
        AsyncClient("a", "b", jitter=-1.0)


async def test_close_twice_is_safe_and_closed_clients_refuse_reuse() -> None:
    t = ScriptedTransport()
    c = client(t)
    async with c:
        pass
    await c.aclose()
    assert t.closed == 1
    with pytest.raises(RuntimeError):
        await c.__aenter__()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ((401, envelope(40100)), dfs_async.AuthError),
        ((402, b""), dfs_async.BillingError),
        ((400, b"<html>400 Bad Request</html>"), dfs_async.InvalidRequestError),
        ((400, envelope(40501)), dfs_async.InvalidRequestError),
        ((403, b"<html>403 Forbidden</html>"), dfs_async.AuthError),
        ((403, envelope(40207)), dfs_async.AuthError),
        ((404, envelope(40400)), dfs_async.NotFoundError),
        ((200, envelope(40203)), dfs_async.CostLimitError),
        ((200, envelope(20000, task_code=40501)), dfs_async.InvalidRequestError),
        ((200, b"<html>bad gateway</html>"), dfs_async.DecodeError),
    ],
)
async def test_final_errors_are_typed_and_not_retried(
    reply: Reply, error: type[dfs_async.DFSError]
) -> None:
    t = ScriptedTransport(reply)
    async with client(t) as c:
        with pytest.raises(error):
            await c.live("chat_gpt", **ASK)
        assert c.stats.calls_sent == 1
    assert len(t.requests) == 1


async def test_task_error_keeps_task_id_and_cost() -> None:
    t = ScriptedTransport((200, envelope(20000, task_code=40501, cost=0.0)))
    async with client(t) as c:
        with pytest.raises(dfs_async.InvalidRequestError) as info:
            await c.live("chat_gpt", **ASK)
    assert (info.value.status_code, info.value.task_id) == (40501, "t-1")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_gateway_page_keeps_the_raw_body_and_is_not_resent(status: int) -> None:
    # A proxy's page says nothing of the call behind it: DataForSEO may still run and charge
    # it, so it is an unknown outcome, resent only when the policy opts in.
    html = b"<html><body>Bad Gateway</body></html>"
    t = ScriptedTransport(*[(status, html)] * 4)
    async with client(t) as c:
        with pytest.raises(dfs_async.GatewayError) as info:
            await c.live("chat_gpt", **ASK)
        assert c.stats.retries == {}
    assert isinstance(info.value, dfs_async.OutcomeUnknownError | dfs_async.ServerError)
    assert info.value.body == html and info.value.http_status == status and info.value.sent
    assert len(t.requests) == 1
    t = ScriptedTransport(*[(status, html)] * 4)
    policy = RetryPolicy(max_retries=3, backoff_base=0.001, retry_unknown_outcome=True)
    async with client(t, retry=policy) as c:
        with pytest.raises(dfs_async.GatewayError):
            await c.live("chat_gpt", **ASK)
        assert c.stats.retries == {str(status): 3}
    assert len(t.requests) == 4


@pytest.mark.parametrize(
    "transient",
    [
        (200, envelope(50000)),
        (200, envelope(20000, task_code=50401)),
        (200, envelope(40202)),
        (200, envelope(40209)),
        (500, envelope(50000)),
        (503, envelope(50301)),
        dfs_async.TransportError("connection refused", sent=False),
        dfs_async.ConnectError("connection refused"),
    ],
)
async def test_transient_failures_are_retried_until_answered(transient: Reply) -> None:
    t = ScriptedTransport(transient, transient)
    async with client(t) as c:
        resp = await c.live("chat_gpt", **ASK)
        assert sum(c.stats.retries.values()) == 2
    assert resp.result is not None
    assert len(t.requests) == 3


async def test_a_charged_error_is_never_resent() -> None:
    t = ScriptedTransport((200, envelope(20000, task_code=50000, cost=0.02)))
    async with client(t) as c:
        with pytest.raises(dfs_async.ServerError):
            await c.live("chat_gpt", **ASK)
        assert c.stats.cost == pytest.approx(0.02)
    assert len(t.requests) == 1


async def test_unknown_outcomes_are_not_resent_unless_asked() -> None:
    truncated = (200, OK_BODY[: len(OK_BODY) // 2])
    t = ScriptedTransport(truncated)
    async with client(t) as c:
        with pytest.raises(dfs_async.DecodeError) as info:
            await c.live("chat_gpt", **ASK)
    assert info.value.body == truncated[1][:2048] and len(t.requests) == 1

    t = ScriptedTransport(truncated)
    policy = RetryPolicy(max_retries=2, backoff_base=0.001, retry_unknown_outcome=True)
    async with client(t, retry=policy) as c:
        assert (await c.live("chat_gpt", **ASK)).result is not None
    assert len(t.requests) == 2


async def test_deadline_counts_from_the_send_not_the_queue() -> None:
    # One slot, and a first call that takes 0.3 s: the second waits 0.3 s in the queue,
    # then needs 0.1 s; a 0.2 s deadline counted from the send is enough.
    t = ScriptedTransport(0.3, 0.1)
    async with client(t, live_concurrency=1, timeout=0.2) as c:
        first = asyncio.create_task(c.live("chat_gpt", **ASK, timeout=1.0))
        await asyncio.sleep(0.01)
        second = await c.live("chat_gpt", **ASK)
        await first
    assert second.result is not None


async def test_deadline_ends_as_timeout_error_and_holds_the_slot() -> None:
    t = ScriptedTransport(5.0)
    async with client(t, live_concurrency=1, live_execution_limit=0.3, timeout=0.05) as c:
        with pytest.raises(TimeoutError):
            await c.live("gemini", user_prompt="q", model_name="gemini-2.5-flash")
        assert c.stats.governor.platforms["gemini"].held == 1
        assert c.stats.errors == {"DeadlineExceededError": 1}
        assert len(t.requests) == 1  # unknown outcome: not resent


async def test_queue_timeout_sends_nothing() -> None:
    t = ScriptedTransport(0.5)
    async with client(t, live_concurrency=1, queue_timeout=0.05) as c:
        ask: dict[str, Any] = {"user_prompt": "q", "model_name": "claude-sonnet-4-0"}
        first = asyncio.create_task(c.live("claude", **ask))
        await asyncio.sleep(0.01)
        with pytest.raises(dfs_async.QueueTimeoutError):
            await c.live("claude", **ask)
        await first
        assert c.stats.governor.platforms["claude"].in_use == 0
    assert len(t.requests) == 1


async def test_rate_limit_answer_pauses_the_whole_client(caplog: pytest.LogCaptureFixture) -> None:
    t = ScriptedTransport((200, envelope(40202)))
    policy = RetryPolicy(max_retries=2, backoff_base=0.2, backoff_max=0.2)
    async with client(t, retry=policy) as c:
        c._retrier.rng.uniform = lambda a, b: 0.2  # type: ignore[method-assign]
        loop = asyncio.get_running_loop()
        with caplog.at_level(logging.DEBUG, logger="dfs_async"):
            first = asyncio.create_task(c.live("chat_gpt", **ASK))
            await asyncio.sleep(0.02)
            started = loop.time()
            await c.models("claude")  # another call, another endpoint: held by the pause too
            waited = loop.time() - started
            await first
    assert waited >= 0.1
    assert any("40202" in r.getMessage() for r in caplog.records)


class GatedTransport:
    """Answers each request once ``gate`` is set, with a charged success."""

    def __init__(self, cost: float) -> None:
        self.gate = asyncio.Event()
        self.cost = cost
        self.started = asyncio.Event()
        self.requests = 0

    async def request(
        self, method: str, path: str, body: bytes | None, timeout: float
    ) -> tuple[int, bytes]:
        self.requests += 1
        self.started.set()
        await self.gate.wait()
        return 200, envelope(20000, cost=self.cost)

    async def aclose(self) -> None:
        pass


async def test_a_cancelled_call_on_the_wire_is_read_to_its_end() -> None:
    # The caller stops waiting; the call is on the wire and paid for: its answer is still
    # read, frees the slot at once (not after live_execution_limit) and counts its cost.
    t = GatedTransport(cost=0.0125)
    limits = {"live_concurrency": 1, "live_execution_limit": 60.0}
    async with AsyncClient(transport=t, **limits) as c:  # type: ignore[arg-type]
        task = asyncio.create_task(c.live("perplexity", user_prompt="x", model_name="sonar"))
        await t.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        state = c.stats.governor.platforms["perplexity"]
        assert (state.in_use, state.held) == (1, 0)  # still reading, not abandoned
        t.gate.set()
        async with asyncio.timeout(5):  # the one slot comes back with the answer
            await c.live("perplexity", user_prompt="y", model_name="sonar")
        assert c.stats.cost == pytest.approx(0.025)
        state = c.stats.governor.platforms["perplexity"]
        assert (state.in_use, state.held) == (0, 0)
    assert t.requests == 2


async def test_aclose_waits_for_reads_of_cancelled_calls_within_drain_timeout() -> None:
    t = GatedTransport(cost=0.01)
    async with AsyncClient(transport=t, drain_timeout=5.0) as c:
        task = asyncio.create_task(c.live("perplexity", user_prompt="x", model_name="sonar"))
        await t.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        asyncio.get_running_loop().call_soon(t.gate.set)
    assert c.stats.cost == pytest.approx(0.01)  # the read finished before the close

    t = GatedTransport(cost=0.01)  # never answers: the close gives up after drain_timeout
    async with AsyncClient(transport=t, drain_timeout=0.05) as c:
        task = asyncio.create_task(c.live("perplexity", user_prompt="x", model_name="sonar"))
        await t.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert c.stats.cost == 0.0


async def test_models_are_remembered_for_validation() -> None:
    models = msgspec.json.encode(
        {
            "status_code": 20000,
            "tasks": [
                {
                    "status_code": 20000,
                    "result": [
                        {"model_name": "o3-mini", "web_search_supported": False, "reasoning": True}
                    ],
                }
            ],
        }
    )
    t = ScriptedTransport((200, models))
    async with client(t) as c:
        assert [m.model_name for m in await c.models("chat_gpt")] == ["o3-mini"]
        with pytest.raises(dfs_async.ValidationError) as info:
            await c.live("chat_gpt", user_prompt="x", model_name="o3-mini", web_search=True)
    assert info.value.field == "web_search"
    assert len(t.requests) == 1


async def test_user_data_reads_the_account() -> None:
    body = msgspec.json.encode(
        {
            "status_code": 20000,
            "tasks": [
                {
                    "status_code": 20000,
                    "result": [
                        {
                            "login": "me",
                            "rates": {"limits": {"minute": {"total": 2000}}},
                            "money": {"balance": 12.5},
                        }
                    ],
                }
            ],
        }
    )
    t = ScriptedTransport((200, body))
    async with client(t) as c:
        user = await c.user_data()
    assert (user.login, user.minute_limit, user.balance) == ("me", 2000, 12.5)
    assert t.requests[0][:2] == ("GET", "/v3/appendix/user_data")


async def test_nulls_where_the_docs_promise_values_do_not_lose_a_paid_answer() -> None:
    body = msgspec.json.encode(
        {
            "status_code": 20000,
            "tasks_count": None,
            "cost": 0.02,
            "tasks": [
                {
                    "status_code": 20000,
                    "cost": 0.02,
                    "path": None,
                    "result": [
                        {
                            "model_name": "gpt-4.1-mini",
                            "money_spent": None,
                            "items": [{"type": "message", "sections": None}, None],
                            "fan_out_queries": None,
                        }
                    ],
                }
            ],
        }
    )
    t = ScriptedTransport((200, body))
    async with client(t) as c:
        resp = await c.live("chat_gpt", **ASK)
    assert resp.cost == 0.02
    assert resp.result is not None
    assert resp.result.money_spent == 0.0
    assert resp.result.items[0].sections == []
    assert resp.result.text == ""


async def test_a_client_used_from_another_event_loop_raises_at_once() -> None:
    # Its governor's queues and timers belong to the loop it was entered in: a call from a
    # thread with its own loop would wait on them forever (and could block this loop's calls).
    t = ScriptedTransport()
    async with client(t) as c:

        def elsewhere() -> BaseException | None:
            async def call() -> None:
                await c.live("chat_gpt", **ASK)

            try:
                asyncio.run(call())
            except BaseException as exc:
                return exc
            return None

        async with asyncio.timeout(5):
            error = await asyncio.to_thread(elsewhere)
        assert isinstance(error, RuntimeError) and "event loop" in str(error)
        assert t.requests == []
        await c.live("chat_gpt", **ASK)  # the owner's loop is unaffected
    assert len(t.requests) == 1


async def test_a_gateway_page_on_a_free_read_is_read_again() -> None:
    # Models and user_data cost nothing: an unknown outcome there is simply asked again.
    html = b"<html><body>Gateway Time-out</body></html>"
    t = ScriptedTransport((504, html), (200, envelope(20000)))
    async with client(t) as c:
        await c.models("chat_gpt")
        assert c.stats.retries == {"504": 1}
    assert len(t.requests) == 2
