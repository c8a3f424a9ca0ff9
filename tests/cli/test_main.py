"""The ``dfs-async`` command, run by calling `main` against the embedded emulator."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from dfs_async import read_results
from dfs_async._cli import _common as _cli_common
from dfs_async._cli._main import main
from dfs_async.testing import Emulator, EmulatorConfig

from .._fakes import local_server
from ._record import paid

PROMPTS = ["Which CRM do small agencies use?", "best VPN for streaming", "best budgeting app"]
TARGET_ARGS = ["--platform", "chat_gpt", "--model", "gpt-4.1-mini"]
TWO_TARGETS = [*TARGET_ARGS, "--platform", "perplexity", "--model", "sonar"]


@pytest.fixture(autouse=True)
def fast_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short service times keep each sweep well under a second."""
    monkeypatch.setattr(_cli_common, "EMULATOR_LATENCY", (0.0, 0.05))


@pytest.fixture
def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n\n", encoding="utf-8")  # a blank line is ignored
    return path


def summary_value(out: str, name: str) -> str:
    """The value of one row of the summary printed on stdout."""
    for line in out.splitlines():
        parts = line.split(None, 1)
        if parts and parts[0] == name:
            return parts[1].strip()
    raise AssertionError(f"no {name!r} row in:\n{out}")


def line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def test_sweep_writes_a_record_per_prompt_and_target_then_resumes(
    prompts_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "results.jsonl"  # the folder is created
    argv = ["sweep", str(prompts_file), "--emulator", *TWO_TARGETS, "--web-search"]
    argv += ["--out", str(out)]
    assert main(argv) == 0
    first = capsys.readouterr()
    assert summary_value(first.out, "ok") == "6"
    assert summary_value(first.out, "failed") == "0"
    assert summary_value(first.out, "skipped") == "0"
    assert float(summary_value(first.out, "cost").lstrip("$")) > 0
    assert "6/6 100%" in first.err  # the final progress line, total known from the file
    records = read_results(out)
    assert len(records) == line_count(out) == 6
    assert {(r.index, r.platform) for r in records} == {
        (i, p) for i in range(3) for p in ("chat_gpt", "perplexity")
    }
    assert all(r.ok for r in records)
    # --web-search reached chat_gpt but was never sent to perplexity, which rejects it.
    sent = {r.platform: (r.response.tasks[0].data or {}) for r in records if r.response}
    assert sent["chat_gpt"]["web_search"] is True
    assert "web_search" not in sent["perplexity"]

    assert main(argv) == 0
    again = capsys.readouterr()
    assert summary_value(again.out, "ok") == "0"
    assert summary_value(again.out, "skipped") == "6"
    assert f"resuming {out}: 6 answered items skipped" in again.err
    assert line_count(out) == 6


@pytest.mark.anyio
async def test_invalid_prompt_fails_without_a_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "long.txt"
    prompts.write_text("x" * 501 + "\n", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        monkeypatch.setenv("DATAFORSEO_LOGIN", emu.login)
        monkeypatch.setenv("DATAFORSEO_PASSWORD", emu.password)
        argv = ["sweep", str(prompts), *TARGET_ARGS, "--base-url", emu.base_url, "--out", str(out)]
        # main runs its own event loop, so it runs on a thread beside the emulator's.
        code = await anyio.to_thread.run_sync(main, argv)
        assert paid(emu.record) == []  # the Models list was read (free); nothing was sent
    assert code == 1
    (record,) = read_results(out)
    assert not record.ok
    assert record.error is not None
    assert record.error.type == "ValidationError"
    assert "user_prompt" in record.error.message
    assert "ValidationError" in capsys.readouterr().out

    # A re-run skips the failed item too, unless asked to resend it; the failure is still
    # in the file, so the sweep is not done: the summary counts it and the exit status is 1.
    argv = ["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--out", str(out)]
    assert await anyio.to_thread.run_sync(main, argv) == 1
    again = capsys.readouterr()
    kept = "and 1 failed item kept (invalid or maybe charged; --retry-failed resends them)"
    assert kept in again.err
    assert summary_value(again.out, "failed") == "0"
    assert "failed in file  1" in again.out
    assert await anyio.to_thread.run_sync(main, [*argv, "--retry-failed"]) == 1
    assert "1 failed item sent again" in capsys.readouterr().err


@pytest.mark.anyio
async def test_refused_credentials_stop_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Requests that name their own model: no Models list is asked for (with --model, refused
    # credentials stop there, tests/cli/test_model_check.py), so the sweep's first call meets
    # the refusal.
    prompts = tmp_path / "many.jsonl"
    row = {"platform": "chat_gpt", "model_name": "gpt-4.1-mini"}
    lines = (json.dumps({**row, "user_prompt": f"prompt {i}"}) + "\n" for i in range(100))
    prompts.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    monkeypatch.setenv("DATAFORSEO_LOGIN", "someone")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "wrong")
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        argv = ["sweep", str(prompts), "--base-url", emu.base_url, "--out", str(out)]
        code = await anyio.to_thread.run_sync(main, [*argv, "--concurrency", "1"])
        calls = len(emu.record.calls)
    assert code == 2
    captured = capsys.readouterr()
    assert "AuthError" in captured.out
    assert "DATAFORSEO_LOGIN" in captured.err
    assert "re-run to resend the 1 failed item" in captured.err
    assert calls < 100  # stopped, not one refusal per prompt
    assert line_count(out) < 100


@pytest.mark.anyio
async def test_a_charged_billing_error_stops_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The account is out of money (40210): every further call would fail the same way, and
    # this one was even charged; the sweep stops instead of paying a refusal per prompt.
    calls = 0

    async def out_of_money(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        task = {"id": f"t-{calls}", "status_code": 40210, "cost": 0.001}
        task["status_message"] = "Insufficient funds. Please top up your balance."
        body = {"status_code": 20000, "status_message": "Ok.", "cost": 0.001, "tasks": [task]}
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/v3/ai_optimization/{platform}/llm_responses/live", out_of_money)
    prompts = tmp_path / "many.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(100)), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    monkeypatch.setenv("DATAFORSEO_LOGIN", "someone")
    monkeypatch.setenv("DATAFORSEO_PASSWORD", "secret")
    async with local_server(app) as (base_url, _):
        argv = ["sweep", str(prompts), *TARGET_ARGS, "--base-url", base_url, "--out", str(out)]
        code = await anyio.to_thread.run_sync(main, [*argv, "--concurrency", "1"])
    assert code == 2
    captured = capsys.readouterr()
    assert "BillingError" in captured.out
    assert "Insufficient funds" in captured.err
    assert 1 <= calls < 10  # stopped at once, not one refusal per prompt
    assert line_count(out) < 10


def test_failures_are_summarised_by_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.txt"
    # A body cut off after HTTP 200 has an unknown outcome: not retried, reported as such.
    prompts.write_text("fine prompt\ncut off [[fault:TRUNCATED]]\n", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    code = main(["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--out", str(out)])
    assert code == 1
    text = capsys.readouterr().out
    assert summary_value(text, "ok") == "1"
    assert summary_value(text, "DecodeError") == "1"


def test_missing_credentials_exit_2_naming_the_variables(
    prompts_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(prompts_file), *TARGET_ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "DATAFORSEO_LOGIN" in err
    assert "DATAFORSEO_PASSWORD" in err
    assert not out.exists()
    assert main(["models", "claude"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "claude"], "give a --model for each --platform"),
        (["--platform", "claude", "--platform", "gemini", "--model", "m"], "one --model per"),
        (["--model", "a", "--model", "b"], "--model a: its name does not tell its platform"),
        (["--web-search"], "--web-search needs a --model"),
        ([], "plain-text prompts need a target: --model NAME"),
        (["--platform", "bing", "--model", "m"], "invalid choice: 'bing'"),
        ([*TARGET_ARGS, "--base-url", "https://x.test"], "exclude each other"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str],
    message: str,
    prompts_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sweep", str(prompts_file), "--emulator", "--out", str(tmp_path / "r.jsonl"), *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_usage_errors_before_any_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["sweep", "prompts.txt", *TARGET_ARGS]) == 2  # no --out
    assert main(["sweep", str(tmp_path / "missing.txt"), *TARGET_ARGS, "--out", "r"]) == 2
    assert "no such prompts file" in capsys.readouterr().err
    assert main(["emulate", "--fault-rate", "2"]) == 2
    assert "fault_rate must be between 0 and 1" in capsys.readouterr().err
    assert main(["sweep", "--help"]) == 0
    assert "--web-search" in capsys.readouterr().out


def test_jsonl_requests_carry_their_own_platform_and_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "requests.jsonl"
    lines = [
        {"user_prompt": "best CRM", "platform": "claude", "model_name": "claude-3-5-haiku-latest"},
        {
            "user_prompt": "best VPN",
            "platform": "gemini",
            "model_name": "gemini-2.5-flash",
            "tag": "t1",
        },
        {
            "user_prompt": "too hot",
            "platform": "claude",
            "model_name": "claude-sonnet-4-0",
            "temperature": 5,
        },
    ]
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(prompts), "--emulator", "--out", str(out)]) == 1
    records = sorted(read_results(out), key=lambda r: r.index)
    assert [(r.platform, r.model_name, r.ok) for r in records] == [
        ("claude", "claude-3-5-haiku-latest", True),
        ("gemini", "gemini-2.5-flash", True),
        ("claude", "claude-sonnet-4-0", False),  # temperature above claude's 1.0
    ]
    assert records[1].response is not None
    assert records[1].response.tasks[0].data == {
        "api": "ai_optimization",
        "function": "llm_responses",
        "se": "gemini",
        "user_prompt": "best VPN",
        "model_name": "gemini-2.5-flash",
        "tag": "t1",
    }
    assert summary_value(capsys.readouterr().out, "ValidationError") == "1"


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ('{"prompt": "typo"}', "not a request object"),
        ('{"user_prompt": "hi", "platform": "claude"}', "the request names platform 'claude'"),
    ],
)
def test_a_bad_jsonl_line_stops_with_its_line_number(
    second: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "requests.jsonl"
    prompts.write_text(f'{{"user_prompt": "ok"}}\n\n{second}\n', encoding="utf-8")
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"{prompts}:3: {message}" in captured.err
    assert captured.out == ""  # the file is checked whole before the sweep starts
    assert not out.exists()


def test_prompts_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(PROMPTS) + "\n"))
    out = tmp_path / "r.jsonl"
    assert main(["sweep", "-", "--emulator", *TARGET_ARGS, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert summary_value(captured.out, "ok") == "3"
    assert "3 done" in captured.err  # no total is known for stdin
    assert sorted(r.prompt for r in read_results(out)) == sorted(PROMPTS)


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "claude", "--emulator"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["model", "web", "search", "task_post", "reasoning"]
    assert any(line.split()[0] == "claude-sonnet-4-0" for line in lines[1:])


def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path: Path) -> None:
    prompts = tmp_path / "many.txt"
    prompts.write_text("".join(f"prompt number {i}\n" for i in range(500)), encoding="utf-8")
    out = tmp_path / "r.jsonl"
    # A shell may start children with SIGINT ignored; restore Python's Ctrl-C handling.
    script = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from dfs_async._cli._main import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = ["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--concurrency", "2"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *argv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while not (out.exists() and line_count(out) >= 2):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no results arrived"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert stdout.startswith("sweep interrupted")
    written = line_count(out)
    assert 2 <= written < 500
    # Results are written before they are counted, so the file may hold a few more.
    assert int(summary_value(stdout, "ok")) <= written
    assert "Traceback" not in stderr
    assert out.read_bytes().endswith(b"\n")  # every record complete
