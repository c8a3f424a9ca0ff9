"""The ``dfs-async`` command's surface: --version, -v, exit codes, one-line errors that name
the flags, and a server that cannot be reached stopping the sweep after its first attempts."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from dfs_async import __version__
from dfs_async._cli import _common as _cli_common
from dfs_async._cli._main import main
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import local_server

TARGET_ARGS = ["--platform", "chat_gpt", "--model", "gpt-4.1-mini"]


@pytest.fixture(autouse=True)
def fast_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cli_common, "EMULATOR_LATENCY", (0.0, 0.01))


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "p.txt"
    path.write_text("".join(f"which tool is best, case {i}?\n" for i in range(300)), "utf-8")
    return path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dfs-async {__version__}"


def test_verbose_shows_each_retry_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("fails once [[fault:server_error]]\n", "utf-8")
    out = tmp_path / "r.jsonl"
    argv = ["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--out", str(out)]
    assert main([*argv, "-v"]) == 0
    err = capsys.readouterr().err
    assert "retry 1/5 of POST /v3/ai_optimization/chat_gpt/llm_responses/live" in err
    assert "50000" in err
    (tmp_path / "r.jsonl").unlink()
    assert main(argv) == 0  # without -v: quiet again
    assert "retry" not in capsys.readouterr().err


@pytest.mark.anyio
async def test_models_exits_2_on_refused_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATAFORSEO_LOGIN", "someone")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "wrong")
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        argv = ["models", "claude", "--base-url", emu.base_url]
        assert await anyio.to_thread.run_sync(main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dfs-async: error: ")
    assert "DATAFORSEO_LOGIN" in err


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    # A real process with a deadline: a regression that serves forever fails, not hangs.
    return subprocess.run(
        [sys.executable, "-m", "dfs_async", *argv], capture_output=True, text=True, timeout=30
    )


def test_emulate_on_a_port_out_of_range_is_one_line() -> None:
    done = run_cli("emulate", "--port", "99999")
    assert done.returncode == 2
    assert (
        done.stderr
        == "dfs-async: error: --port 99999 is not a port (0 to 65535; 0 picks a free one)\n"
    )
    assert done.stdout == ""


def test_emulate_on_a_busy_port_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("emulate", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.startswith(f"dfs-async: error: cannot listen on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--platform", "claude", "--model", "A", "--model", "B", "--platform", "gemini"],
            "ambiguous --platform/--model order",
        ),
        (
            [
                "--platform",
                "claude",
                "--model",
                "A",
                "--platform",
                "gemini",
                "--model",
                "B",
                "--model",
                "C",
                "--platform",
                "perplexity",
            ],
            "ambiguous --platform/--model order",
        ),
        ([*TARGET_ARGS, "--concurrency", "0"], "--concurrency: must be a positive number"),
        ([*TARGET_ARGS, "--rate-limit", "0"], "--rate-limit: must be a positive number"),
        ([*TARGET_ARGS, "--timeout", "-1"], "--timeout: must be a positive number"),
        ([*TARGET_ARGS, "--jitter", "-1"], "--jitter: must be >= 0 seconds"),
    ],
)
def test_usage_errors_name_the_flags(
    args: list[str], message: str, prompts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(prompts), "--emulator", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "live_concurrency" not in err
    assert not out.exists()


def test_pairs_in_every_unambiguous_order(
    prompts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dfs_async._cli._main import _parser
    from dfs_async._cli._targets import targets

    def pairs(*args: str) -> list[tuple[str, str]]:
        parsed = _parser().parse_args(["sweep", "p", "--out", "o", *args])
        return [(t.platform, t.model_name) for t in targets(parsed)]

    grouped = ("--platform", "claude", "--model", "A", "--model", "B", "--platform", "gemini")
    assert pairs(*grouped, "--model", "C") == [("claude", "A"), ("claude", "B"), ("gemini", "C")]
    assert pairs(
        "--platform", "claude", "--platform", "gemini", "--model", "A", "--model", "B"
    ) == [
        ("claude", "A"),
        ("gemini", "B"),
    ]
    assert pairs("--model", "A", "--platform", "claude") == [("claude", "A")]


def test_missing_credentials_point_at_the_emulator(
    prompts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    argv = ["sweep", str(prompts), *TARGET_ARGS, "--out", str(tmp_path / "r.jsonl")]
    assert main(argv) == 2
    assert "--emulator" in capsys.readouterr().err
    assert main(["models", "claude"]) == 2
    assert "--emulator" in capsys.readouterr().err


def test_max_cost_zero_sends_nothing_and_shows_no_rate(
    prompts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    argv = ["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--out", str(out), "--max-cost", "0"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    rows = dict(line.split(None, 1) for line in captured.out.splitlines()[1:])
    assert rows["rate"].strip() == "-- calls/min"
    assert rows["over"].split() == ["budget", "300", "items", "unsent", "(over", "--max-cost)"]
    assert "  failed " in captured.out.splitlines()[2]  # a budget refusal is not an error:
    assert captured.out.splitlines()[2].split() == ["failed", "0"]
    assert "300 unsent items over --max-cost" in captured.err
    assert "300 resent by a plain re-run (300 over --max-cost: raise it first)" in captured.out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: connecting is refused


@pytest.fixture
async def plain_http() -> AsyncIterator[int]:
    """A plain-HTTP server on 127.0.0.1, to be spoken to with TLS (which fails)."""
    async with local_server(web.Application()) as (_, port):
        yield port


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["refused", "tls"])
async def test_a_server_that_cannot_be_reached_stops_the_sweep_at_once(
    kind: str,
    prompts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    plain_http: int,
) -> None:
    base = (
        f"http://127.0.0.1:{free_port()}"
        if kind == "refused"
        else f"https://127.0.0.1:{plain_http}"
    )
    monkeypatch.setenv("DATAFORSEO_LOGIN", "someone")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "secret")
    out = tmp_path / "r.jsonl"
    argv = ["sweep", str(prompts), *TARGET_ARGS, "--base-url", base, "--out", str(out)]
    started = time.monotonic()
    code = await anyio.to_thread.run_sync(main, [*argv, "--concurrency", "2"])
    elapsed = time.monotonic() - started
    assert code == 2
    assert elapsed < 10  # not 300 items × their retries
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "reached the server: check --base-url" in errors[0]
    assert "127.0.0.1" in errors[0]
    # The Models list could not be read either: said once, it did not hold the sweep back.
    unchecked = "dfs-async: warning: model names not checked: the server cannot be reached"
    assert unchecked in captured.err.splitlines()
    assert captured.out.startswith("sweep interrupted")
