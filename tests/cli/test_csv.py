"""``dfs-async sweep`` on a CSV file, the way analysts keep prompts: the header is never sent,
the prompt column is chosen, ``id`` and every other column are carried to the records, and a bad
row anywhere stops the sweep before its first call, every bad row named by its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfs_async import read_results
from dfs_async.testing import Emulator

from ._record import paid
from .test_inputs import emu, sent_prompts, sweep

__all__ = ["emu"]  # the fixture, imported for these tests

TWO_ENGINES = ["-m", "gpt-4.1-mini", "-m", "claude-sonnet-4-0"]

pytestmark = pytest.mark.anyio


async def test_a_csv_file_sends_its_prompt_column_and_keeps_the_rest(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(
        "id,prompt,brand,market\n"
        'q1,"best CRM, for agencies",Acme,US\n'
        'q2,"which ""fast"" VPN?",Zed,DE\n'
        ",,,\n"  # an empty row, like a blank line
        'q3,"a prompt\nover two lines",Acme,FR\n',
        "utf-8",
    )
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TWO_ENGINES) == 0
    sent = ["a prompt\nover two lines", "best CRM, for agencies", 'which "fast" VPN?']
    assert sent_prompts(out) == sorted(sent * 2)  # never the header, never a quote or comma
    assert len(paid(emu.record)) == 6
    records = {(r.id, r.platform): r for r in read_results(out)}
    assert records["q2", "claude"].metadata == {"brand": "Zed", "market": "DE"}
    assert records["q3", "chat_gpt"].prompt == "a prompt\nover two lines"
    summary = capsys.readouterr().out
    assert "chat_gpt" in summary and "3 answers, 0 failures" in summary


async def test_prompt_column_names_another_column(emu: Emulator, tmp_path: Path) -> None:
    prompts = tmp_path / "keywords.csv"
    prompts.write_text("keyword,question\nvpn,best VPN?\ncrm,best CRM?\n", "utf-8")
    out = tmp_path / "r.jsonl"
    argv = ["-m", "gemini-2.5-flash", "--prompt-column", "question"]
    assert await sweep(emu, prompts, out, *argv) == 0
    assert sent_prompts(out) == ["best CRM?", "best VPN?"]
    assert sorted(str(r.metadata) for r in read_results(out)) == [
        "{'keyword': 'crm'}",
        "{'keyword': 'vpn'}",
    ]


async def test_bad_rows_stop_the_sweep_before_any_call_each_by_its_line(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.csv"
    rows = ["prompt,brand", "fine,A", "too,many,cells", ",B", "fine again,C", "\xff"]
    prompts.write_bytes("\n".join(rows[:-1]).encode() + b"\n\xff,D\n")
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TWO_ENGINES) == 2
    err = capsys.readouterr().err
    assert f"3 bad lines in {prompts}, nothing was sent" in err
    assert f"{prompts}:3: 3 cells, but the header row has 2" in err
    assert f"{prompts}:4: the 'prompt' cell is empty" in err
    assert f"{prompts}:6: not UTF-8 text (byte 0xff at column 1)" in err
    assert emu.record.calls == [] and not out.exists()


async def test_a_csv_without_the_prompt_column_names_its_columns(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("question,brand\nbest CRM?,A\n", "utf-8")
    assert await sweep(emu, prompts, tmp_path / "r.jsonl", *TWO_ENGINES) == 2
    err = capsys.readouterr().err
    assert "no 'prompt' column (the header row has 'question', 'brand')" in err
    assert "--prompt-column" in err
    assert emu.record.calls == []


async def test_a_csv_read_as_text_is_refused_with_a_hint(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("prompt\nbest CRM?\n", "utf-8")
    code = await sweep(emu, prompts, tmp_path / "r.jsonl", *TWO_ENGINES, "--format", "text")
    assert code == 2
    assert "is a CSV file: read it with --format csv" in capsys.readouterr().err
    assert emu.record.calls == []


async def test_csv_prompts_without_a_target_are_refused_before_any_call(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("prompt\nbest CRM?\n", "utf-8")
    assert await sweep(emu, prompts, tmp_path / "r.jsonl") == 2
    assert "plain-text prompts need a target: --model NAME" in capsys.readouterr().err
    assert emu.record.calls == []


async def test_format_csv_reads_any_file_name(emu: Emulator, tmp_path: Path) -> None:
    prompts = tmp_path / "export.txt"
    prompts.write_text("prompt\nbest CRM?\n", "utf-8")
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, "-m", "sonar", "--format", "csv") == 0
    assert sent_prompts(out) == ["best CRM?"]


async def test_every_bad_jsonl_line_is_reported_with_did_you_mean(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "requests.jsonl"
    lines = [{"prompt": "typo"}, {"user_prompt": "ok"}, {"user_prompt": "x", "temprature": 1}]
    text = "".join(json.dumps(line) + "\n" for line in lines) + "not json\n"
    prompts.write_text(text * 10, "utf-8")  # 30 bad lines: 20 shown, the rest counted
    assert await sweep(emu, prompts, tmp_path / "r.jsonl", "-m", "gpt-4.1-mini") == 2
    err = capsys.readouterr().err
    assert f"30 bad lines in {prompts}, nothing was sent" in err
    assert f"{prompts}:1: not a request object" in err and "did you mean `user_prompt`?" in err
    assert f"{prompts}:3: " in err and "did you mean `temperature`?" in err
    assert f"{prompts}:4: not a request object" in err
    assert "… and 10 more" in err
    assert emu.record.calls == []
