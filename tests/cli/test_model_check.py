"""A sweep checks its model names against the Models lists before its first paid call."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from aiohttp import web

from dfs_async import read_results
from dfs_async._cli import _model_check
from dfs_async._cli._main import main
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault

from .._fakes import local_server
from ._record import paid
from .test_inputs import sweep

pytestmark = pytest.mark.anyio


def models_path(platform: str) -> str:
    return f"/v3/ai_optimization/{platform}/llm_responses/models"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "p.txt"
    path.write_text("".join(f"best CRM for team {n}?\n" for n in range(5)), "utf-8")
    return path


async def test_an_unknown_model_stops_the_sweep_before_any_paid_call(
    prompts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        # Two claude targets, one misspelled: claude's list is asked for once, for both.
        code = await sweep(emu, prompts, out, "-m", "claude-sonnet-4-0", "-m", "claude-sonet-4-0")
        calls = [(c.method, c.path) for c in emu.record.calls]
        assert paid(emu.record) == []
    assert code == 2
    assert calls == [("GET", models_path("claude"))]
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("dfs-async: error: --model claude-sonet-4-0: 'claude-sonet-4-0' is not")
    assert "did you mean 'claude-sonnet-4-0'" in line
    assert captured.out == ""  # stopped before the sweep: no summary of nothing
    assert read_results(out) == []


@pytest.mark.parametrize("fault", [Fault.HTTP_502_HTML, Fault.RESET])
async def test_a_models_list_that_cannot_be_read_only_warns(
    fault: Fault,
    prompts: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The check gives up within CHECK_SECONDS (the GET is resent after a gateway's page or a
    # lost connection, with backoff); shortened here so that the test does not wait 10 s.
    monkeypatch.setattr(_model_check, "CHECK_SECONDS", 0.5)

    def down(call: CallInfo) -> Fault | None:
        return fault if call.path.endswith("/models") else None

    out = tmp_path / "r.jsonl"
    config = EmulatorConfig(latency=(0.0, 0.0), faults=down)
    async with Emulator(config) as emu:
        code = await sweep(emu, prompts, out, "-m", "sonar", "-m", "gemini-2.5-flash")
        gets = [c for c in emu.record.calls if c.method == "GET"]
        posts = paid(emu.record)
    assert code == 0
    assert gets and all(c.path.endswith("/models") and c.fault == fault.value for c in gets)
    assert len(posts) == 10 and all(c.status_code == 20000 for c in posts)  # the sweep ran
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("dfs-async: warning: model names not checked: ")
    assert len(read_results(out)) == 10


async def test_a_models_list_refused_outright_says_why_in_one_line(
    prompts: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A proxy in front of the API that knows no Models path: an HTML 404, not resent. The
    # reason is printed on one line, whatever the page held, and the sweep goes on.
    async def no_models(request: web.Request) -> web.Response:
        page = "<html>\n<head><title>404 Not Found</title></head>\n<body>nginx</body>\n</html>"
        return web.Response(status=404, text=page, content_type="text/html")

    async def live(request: web.Request) -> web.Response:
        task = {"id": "t", "status_code": 20000, "cost": 0.001, "result": [{"items": []}]}
        return web.json_response({"status_code": 20000, "cost": 0.001, "tasks": [task]})

    app = web.Application()
    app.router.add_get("/v3/ai_optimization/{platform}/llm_responses/models", no_models)
    app.router.add_post("/v3/ai_optimization/{platform}/llm_responses/live", live)
    monkeypatch.setenv("DATAFORSEO_LOGIN", "someone")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "secret")
    out = tmp_path / "r.jsonl"
    async with local_server(app) as (base_url, _):
        argv = ["sweep", str(prompts), "-m", "sonar", "--base-url", base_url, "-o", str(out)]
        code = await anyio.to_thread.run_sync(main, argv)
    assert code == 0
    assert len(read_results(out)) == 5 and all(r.ok for r in read_results(out))
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warning.startswith("dfs-async: warning: model names not checked: ")
    assert "404" in warning


async def test_refused_credentials_stop_at_the_models_list(
    prompts: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAFORSEO_LOGIN", "someone")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "wrong")
    out = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        argv = ["sweep", str(prompts), "-m", "sonar", "--base-url", emu.base_url, "-o", str(out)]
        code = await anyio.to_thread.run_sync(main, argv)
        calls = [(c.method, c.http_status) for c in emu.record.calls]
    assert code == 2
    assert calls == [("GET", 401)]  # the free list only: every call would be refused alike
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("dfs-async: error: 40100 ") and "DATAFORSEO_LOGIN" in line
