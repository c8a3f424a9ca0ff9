"""OpenTelemetry metrics, read with the SDK's in-memory reader, against the emulator's record."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)

import dfs_async
from dfs_async import AsyncClient, RetryPolicy
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault

pytestmark = pytest.mark.anyio

MODELS = {"chat_gpt": "gpt-4.1-mini", "claude": "claude-sonnet-4-0"}


class Metrics:
    """A meter provider with an in-memory reader, as a backend would wire its exporter."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])

    def points(self, name: str) -> list[NumberDataPoint | HistogramDataPoint]:
        """The data points of instrument ``name`` (cumulative: one per attribute set)."""
        data = self.reader.get_metrics_data()
        found: list[NumberDataPoint | HistogramDataPoint] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "dfs_async"
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)  # type: ignore[arg-type]
        return found

    def totals(self, name: str, *keys: str) -> dict[tuple[str, ...], float]:
        """An instrument's sums (counters) or counts (histograms) by the given attributes."""
        totals: dict[tuple[str, ...], float] = {}
        for point in self.points(name):
            key = tuple(str((point.attributes or {}).get(k)) for k in keys)
            value = point.count if isinstance(point, HistogramDataPoint) else point.value
            totals[key] = totals.get(key, 0) + value
        return totals


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    metrics = Metrics()
    yield metrics
    metrics.provider.shutdown()


class Held:
    """A fault chooser that holds calls whose prompt says "hold" and tells when one arrived."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    def __call__(self, call: CallInfo) -> Fault | None:
        if call.request is None or "hold" not in call.request.user_prompt:
            return None
        self.arrived.set()
        return Fault.HANG


@pytest.fixture
def held() -> Held:
    return Held()


@pytest.fixture
async def emulator(held: Held) -> AsyncIterator[Emulator]:
    # A held call hangs 0.5 s, then the emulator answers it 50401 (DataForSEO's own timeout).
    config = EmulatorConfig(latency=(0.02, 0.08), seed=3, faults=held, hang_seconds=0.5)
    async with Emulator(config) as emu:
        yield emu


def client_for(emu: Emulator, metrics: Metrics) -> AsyncClient:
    return AsyncClient(
        emu.login,
        emu.password,
        base_url=emu.base_url,
        rate_limit=60_000,
        retry=RetryPolicy(max_retries=2, backoff_base=0.001, backoff_max=0.01),
        meter_provider=metrics.provider,
    )


async def ask(client: AsyncClient, platform: str, prompt: str, model: str | None = None) -> None:
    """One Live call; its failure is the metrics' business here, not the test's."""
    with contextlib.suppress(dfs_async.APIError):
        await client.live(platform, user_prompt=prompt, model_name=model or MODELS[platform])


async def test_calls_by_platform_and_status_and_cost_match_the_emulators_record(
    emulator: Emulator, metrics: Metrics
) -> None:
    prompts = [
        ("chat_gpt", "best CRM", None),
        ("chat_gpt", "best VPN", None),
        ("chat_gpt", "a task error [[fault:task_error]]", None),
        ("claude", "best CRM", None),
        ("claude", "a 500 first, then an answer [[fault:server_error]]", None),
        ("claude", "an unknown model", "nope"),
    ]
    async with client_for(emulator, metrics) as client:
        await asyncio.gather(*(ask(client, p, q, m) for p, q, m in prompts))
        stats = client.stats
    record = emulator.record
    seen = Counter((str(c.platform), str(c.status_code)) for c in record.calls)
    assert metrics.totals("dfs_async.calls", "platform", "status") == seen
    assert len(set(seen)) >= 4  # answers, failed first attempts (resent), a refused model
    # Every answered attempt has a latency; every sent one waited in the queue first.
    assert metrics.totals("dfs_async.upstream_latency", "platform") == Counter(
        (str(c.platform),) for c in record.calls
    )
    assert metrics.totals("dfs_async.queue_wait", "platform") == Counter(
        (str(c.platform),) for c in record.calls
    )
    cost = metrics.totals("dfs_async.cost", "platform")
    assert record.total_cost > 0
    assert sum(cost.values()) == pytest.approx(record.total_cost)
    assert sum(cost.values()) == pytest.approx(stats.cost)
    for platform in MODELS:
        charged = sum(c.charged for c in record.calls if c.platform == platform)
        assert cost.get((platform,), 0.0) == pytest.approx(charged)
    assert set(metrics.totals("dfs_async.in_flight", "platform").values()) == {0}


async def test_in_flight_counts_a_call_on_the_wire_until_its_answer_even_when_cancelled(
    emulator: Emulator, metrics: Metrics, held: Held
) -> None:
    async with client_for(emulator, metrics) as client:
        call = asyncio.create_task(ask(client, "claude", "hold the line"))
        await held.arrived.wait()  # the server holds it now
        assert metrics.totals("dfs_async.in_flight", "platform") == {("claude",): 1}
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # Its caller left, but the call is on the wire: still in flight, read to its end.
        assert metrics.totals("dfs_async.in_flight", "platform") == {("claude",): 1}
    # aclose waited for the answer (the emulator's 50401 after the hang).
    assert metrics.totals("dfs_async.in_flight", "platform") == {("claude",): 0}
    (call_record,) = emulator.record.calls
    assert metrics.totals("dfs_async.calls", "status") == {(str(call_record.status_code),): 1}
    assert sum(metrics.totals("dfs_async.upstream_latency", "platform").values()) == 1


async def test_a_queue_timeout_counts_as_never_sent(
    emulator: Emulator, metrics: Metrics, held: Held
) -> None:
    client = AsyncClient(
        emulator.login,
        emulator.password,
        base_url=emulator.base_url,
        live_concurrency=1,
        queue_timeout=0.05,
        meter_provider=metrics.provider,
    )
    async with client:
        first = asyncio.create_task(ask(client, "gemini", "hold the slot", "gemini-2.5-flash"))
        await held.arrived.wait()
        with pytest.raises(dfs_async.QueueTimeoutError):
            await client.live("gemini", user_prompt="second", model_name="gemini-2.5-flash")
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
    calls = metrics.totals("dfs_async.calls", "platform", "status")
    (held_call,) = emulator.record.calls  # the held one, read to its end after its caller left
    status = str(held_call.status_code)
    assert calls == {("gemini", "QueueTimeoutError"): 1, ("gemini", status): 1}
    assert len(emulator.record.arrivals) == 1  # the timed-out call never reached the server
    assert metrics.totals("dfs_async.queue_wait", "platform") == {("gemini",): 1}


async def test_without_opentelemetry_nothing_is_recorded_and_calls_work(
    emulator: Emulator, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dfs_async._http import _metrics

    monkeypatch.setattr(_metrics, "_otel", None)
    async with client_for(emulator, metrics) as client:
        await ask(client, "chat_gpt", "best CRM")
    assert len(emulator.record.calls) == 1
    assert metrics.points("dfs_async.calls") == []


def test_the_client_imports_and_records_nothing_without_opentelemetry() -> None:
    # A fresh interpreter where `import opentelemetry` fails, as without dfs_async[metrics].
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import dfs_async\n"
        "from dfs_async._http._metrics import CallMetrics\n"
        "assert not CallMetrics().enabled\n"
        "dfs_async.AsyncClient('login', 'password')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
