"""The emulator in a child process, and its command line."""

from __future__ import annotations

import base64
import os
import socket
import urllib.request

import aiohttp
import msgspec
import pytest

from dfs_async import LiveResponse, ModelsResponse
from dfs_async._platforms import live_path, models_path
from dfs_async.testing import EmulatorConfig, EmulatorProcess
from dfs_async.testing.__main__ import main

AUTH = {"Authorization": "Basic " + base64.b64encode(b"emulator:emulator").decode()}
BODY = b'[{"user_prompt": "best hiking boots", "model_name": "claude-sonnet-4-0"}]'


def test_process_serves_and_reports_its_record() -> None:
    with EmulatorProcess(latency=(0.0, 0.0), rate_limit=1000, seed=3) as proc:
        assert proc.base_url.startswith("http://127.0.0.1:")
        pid = proc.pid
        assert pid is not None
        request = urllib.request.Request(
            proc.base_url + live_path("claude"), data=BODY, headers=AUTH, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = msgspec.json.decode(response.read(), type=LiveResponse)
        assert answer.status_code == 20000 and answer.cost > 0
        record = proc.record()
        [call] = record.calls
        assert (call.platform, call.status_code, call.charged) == ("claude", 20000, answer.cost)
        assert record.max_calls_in_window(60.0) == 1
        assert record.charges_by_key() == {call.key: 1}
        proc.reset()
        assert proc.record_dict(calls=False)["calls_count"] == 0
    assert proc.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not just signalled
    proc.stop()  # stopping twice is fine
    with pytest.raises(RuntimeError, match="not running"):
        _ = proc.base_url


@pytest.mark.anyio
async def test_process_as_an_async_context_manager() -> None:
    base = EmulatorConfig(latency=(0.05, 0.05), live_concurrency=1)
    async with (
        EmulatorProcess(base, login="me", password="secret") as proc,
        aiohttp.ClientSession(base_url=proc.base_url) as http,
    ):
        assert (proc.login, proc.password) == ("me", "secret")
        token = base64.b64encode(b"me:secret").decode()
        async with http.get(
            models_path("gemini"), headers={"Authorization": f"Basic {token}"}
        ) as response:
            models = msgspec.json.decode(await response.read(), type=ModelsResponse)
        async with http.get(models_path("gemini"), headers=AUTH) as response:
            assert response.status == 401
        assert models.tasks[0].result
        summary = proc.record_dict()
    assert summary["codes"] == {"20000": 1, "40100": 1}


def test_process_refuses_a_faults_callable() -> None:
    with pytest.raises(ValueError, match="process"):
        EmulatorProcess(EmulatorConfig(faults=lambda info: None))


def test_command_line_refuses_other_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback" in capsys.readouterr().err
    assert main(["--port", "0", "--latency", "2", "1"]) == 2
    assert "latency" in capsys.readouterr().err


def test_command_line_reports_a_taken_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 2  # as `dfs-async emulate`: one parser
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
