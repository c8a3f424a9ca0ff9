"""``dfs-async sweep`` flags as analysts expect them: ``-m`` alone (the platform told by the model
name), ``-o``, ``-q``, no ``--out`` for a preview, fields for plain-text prompts, messages in CLI
words, the exit statuses of ``--help`` and the README alike, and one emulator command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from dfs_async import read_results
from dfs_async._cli._main import _parser, main
from dfs_async._cli._targets import platform_of
from dfs_async._cli._usage import EXIT_STATUS
from dfs_async.testing import Emulator
from dfs_async.testing._command import add_arguments

from ._record import paid
from .test_inputs import emu, sweep

__all__ = ["emu"]  # the fixture, imported for these tests

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("model", "platform"),
    [
        ("gpt-4.1-mini", "chat_gpt"),
        ("o3", "chat_gpt"),
        ("o4-mini", "chat_gpt"),
        ("claude-sonnet-4-0", "claude"),
        ("gemini-2.5-flash", "gemini"),
        ("sonar", "perplexity"),
        ("sonar-pro", "perplexity"),
        ("orca", None),
        ("llama-3", None),
    ],
)
def test_the_platform_of_a_model_name(model: str, platform: str | None) -> None:
    assert platform_of(model) == platform


@pytest.mark.anyio
async def test_models_alone_make_the_targets_with_short_flags(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("best CRM?\n", "utf-8")
    out = tmp_path / "r.jsonl"
    argv = ["-m", "gpt-4.1-mini", "-m", "claude-sonnet-4-0", "-m", "sonar", "-q"]
    argv += ["--system", "Answer in one line.", "--temperature", "0.5", "--max-tokens", "200"]
    # sweep() passes --out; -o is its short form, the last one given wins.
    assert await sweep(emu, prompts, tmp_path / "other.jsonl", *argv, "-o", str(out)) == 0
    records = {str(r.platform): r for r in read_results(out)}
    assert sorted(records) == ["chat_gpt", "claude", "perplexity"]
    for record in records.values():
        assert record.response is not None
        sent = record.response.tasks[0].data or {}  # the server's echo of what it received
        assert sent["system_message"] == "Answer in one line."
        assert (sent["temperature"], sent["max_output_tokens"]) == (0.5, 200)
    captured = capsys.readouterr()
    assert captured.err == ""  # -q: no progress line
    assert "3 answers" not in captured.out and "chat_gpt" in captured.out  # one row per engine


def test_an_unknown_model_name_without_platform_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("best CRM?\n", "utf-8")
    argv = ["sweep", str(prompts), "--emulator", "-o", str(tmp_path / "r.jsonl")]
    assert main([*argv, "-m", "gpt-4.1-mini", "-m", "my-model"]) == 2
    assert "--model my-model: its name does not tell its platform" in capsys.readouterr().err
    # With --platform the name is accepted as claude's, then checked against claude's list.
    assert main([*argv, "--platform", "claude", "-m", "my-model", "--dry-run"]) == 2
    assert "--model my-model: 'my-model' is not one of claude's models" in capsys.readouterr().err


def test_dry_run_and_estimate_need_no_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    prompts = tmp_path / "p.txt"
    prompts.write_text("best CRM?\nbest VPN?\n", "utf-8")
    assert main(["sweep", str(prompts), "-m", "gemini-2.5-flash", "--dry-run"]) == 0
    assert "2 items, 2 valid" in capsys.readouterr().out
    assert main(["sweep", str(prompts), "-m", "gemini-2.5-flash", "--estimate"]) == 0
    assert "estimate: 2 calls still to make" in capsys.readouterr().out
    assert main(["sweep", str(prompts), "-m", "gemini-2.5-flash"]) == 2
    assert "give the results file: -o/--out FILE" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [prompts]


def test_messages_use_cli_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"user_prompt": "best CRM?"}\n', "utf-8")
    out = tmp_path / "r.jsonl"
    base = ["sweep", str(prompts), "-o", str(out), "--base-url", "http://127.0.0.1:9"]
    assert main([*base, "-m", "gpt-4.1-mini"]) == 2
    err = capsys.readouterr().err
    assert "set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD" in err and "--emulator" in err
    assert "login=" not in err
    assert main([*base, "--dry-run"]) == 1  # the request names no platform
    printed = capsys.readouterr().out
    assert f"invalid: {prompts}:1 " in printed and "give --model" in printed
    assert "platform=" not in printed


def test_help_tells_the_exit_statuses_as_the_readme_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sweep", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert EXIT_STATUS in help_text
    assert EXIT_STATUS in " ".join(README.split())


def flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def test_one_emulator_command_line_for_both_ways_of_starting_it() -> None:
    own = argparse.ArgumentParser()
    add_arguments(own)
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    emulate = commands.choices["emulate"]
    assert flags(own) <= flags(emulate)
    assert flags(emulate) - flags(own) == {"-v", "--verbose"}  # dfs-async's own


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes as on POSIX")
def test_a_fifo_as_prompts_file_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Opened for reading, a FIFO waits for a writer forever: --dry-run and --estimate hung.
    fifo = tmp_path / "prompts.txt"
    os.mkfifo(fifo)
    out = tmp_path / "r.jsonl"
    for preview in ("--dry-run", "--estimate"):
        assert main(["sweep", str(fifo), "-m", "sonar", "-o", str(out), preview]) == 2
        assert "is not a regular file (a named pipe)" in capsys.readouterr().err
    out_fifo = tmp_path / "results.jsonl"
    os.mkfifo(out_fifo)
    prompts = tmp_path / "p.txt"
    prompts.write_text("best CRM?\n", "utf-8")
    assert main(["sweep", str(prompts), "-m", "sonar", "-o", str(out_fifo), "--estimate"]) == 2
    assert "is not a regular file (a named pipe)" in capsys.readouterr().err


@pytest.mark.anyio
async def test_failed_in_file_counts_this_input_and_names_the_flag(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.txt"
    too_long = "x" * 501  # above perplexity's 500 characters: invalid, never sent
    prompts.write_text(f"best CRM?\n{too_long}\n", "utf-8")
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, "-m", "sonar") == 1
    row = next(line for line in capsys.readouterr().out.splitlines() if "failed in file" in line)
    assert row.split(None, 3)[3] == (
        "1 item of this input: 1 only with --retry-failed "
        "(invalid, or maybe charged: a maybe-charged call may be paid twice)"
    )
    # The invalid prompt is fixed in the input: its old failure is not this input's any more.
    prompts.write_text("best CRM?\nbest VPN?\n", "utf-8")
    assert await sweep(emu, prompts, out, "-m", "sonar") == 0
    assert "failed in file" not in capsys.readouterr().out
    assert len(paid(emu.record)) == 2


def test_a_preview_says_whether_model_names_were_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    prompts = tmp_path / "p.txt"
    prompts.write_text("best CRM?\n", "utf-8")
    assert main(["sweep", str(prompts), "-m", "gemini-2.5-flash", "--dry-run"]) == 0
    assert "models: not checked (no credentials" in capsys.readouterr().out
    assert main(["sweep", str(prompts), "-m", "gemini-2.5-flash", "--estimate", "--emulator"]) == 0
    assert "models: gemini/gemini-2.5-flash listed" in capsys.readouterr().out
