"""``dfs-async sweep`` reading prompts: a BOM, the format chosen for the whole file, and a bad
byte or line anywhere in the file stopping the sweep before its first call, by line number."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from dfs_async import read_results
from dfs_async._cli._main import main
from dfs_async.testing import Emulator, EmulatorConfig

TARGET_ARGS = ["--platform", "chat_gpt", "--model", "gpt-4.1-mini"]


async def sweep(emu: Emulator, prompts: Path | str, out: Path, *extra: str) -> int:
    """``main`` on a thread (it runs its own loop) against ``emu``."""
    argv = ["sweep", str(prompts), "--base-url", emu.base_url, "--out", str(out), *extra]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAFORSEO_LOGIN", emu.login)
        mp.setenv("DATAFORSEO_PASSWORD", emu.password)
        return await anyio.to_thread.run_sync(main, argv)


def sent_prompts(out: Path) -> list[str]:
    """The prompts as the server received them (its answers echo the request)."""
    return sorted(
        str((r.response.tasks[0].data or {})["user_prompt"])
        for r in read_results(out)
        if r.response is not None
    )


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emulator:
        yield emulator


@pytest.mark.anyio
async def test_a_bom_is_not_part_of_the_first_prompt(emu: Emulator, tmp_path: Path) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_bytes(b"\xef\xbb\xbffirst prompt\nsecond prompt\n")
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TARGET_ARGS) == 0
    assert sorted(r.prompt for r in read_results(out)) == ["first prompt", "second prompt"]
    assert sent_prompts(out) == ["first prompt", "second prompt"]


@pytest.mark.anyio
async def test_a_bom_jsonl_line_is_a_request_not_a_text_prompt(
    emu: Emulator, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_bytes(b'\xef\xbb\xbf{"user_prompt": "best CRM", "tag": "t1"}\n')
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TARGET_ARGS) == 0
    (record,) = read_results(out)
    assert record.prompt == "best CRM"
    assert sent_prompts(out) == ["best CRM"]


@pytest.mark.anyio
async def test_a_text_prompt_may_start_with_a_brace(emu: Emulator, tmp_path: Path) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text('{braces} in a prompt\n{"looks": "like json"}\nplain\n', "utf-8")
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TARGET_ARGS) == 0
    assert sent_prompts(out) == sorted(['{"looks": "like json"}', "plain", "{braces} in a prompt"])


@pytest.mark.anyio
async def test_format_jsonl_reads_requests_from_any_file_name(
    emu: Emulator, tmp_path: Path
) -> None:
    prompts = tmp_path / "requests.txt"
    prompts.write_text(json.dumps({"user_prompt": "from json", "tag": "x"}) + "\n", "utf-8")
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TARGET_ARGS, "--format", "jsonl") == 0
    assert sent_prompts(out) == ["from json"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "last", "message"),
    [
        ("p.txt", b"bad \xff byte\n", "p.txt:500: not UTF-8 text (byte 0xff at column 5)"),
        ("p.jsonl", b'{"user_prompt": "x", "temperature": "hot"}\n', "p.jsonl:500: not a request"),
        ("p.jsonl", b"plain text\n", "plain-text prompts need --format text"),
    ],
)
async def test_a_bad_line_near_the_end_stops_before_any_call(
    emu: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    last: bytes,
    message: str,
) -> None:
    prompts = tmp_path / name
    good = (
        b"".join(b'{"user_prompt": "prompt %d"}\n' % i for i in range(499))
        if name.endswith(".jsonl")
        else b"".join(b"prompt %d\n" % i for i in range(499))
    )
    prompts.write_bytes(good + last)
    out = tmp_path / "r.jsonl"
    assert await sweep(emu, prompts, out, *TARGET_ARGS) == 2
    assert emu.record.calls == []
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_a_bad_byte_on_stdin_is_reported_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = io.BytesIO(b"\xef\xbb\xbffirst\nsecond\nthird \xc3\x28 bad\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(raw, encoding="utf-8"))
    out = tmp_path / "r.jsonl"
    assert main(["sweep", "-", "--emulator", *TARGET_ARGS, "--out", str(out)]) == 2
    assert "<stdin>:3: not UTF-8 text (byte 0xc3 at column 7)" in capsys.readouterr().err
    assert sorted(r.prompt for r in read_results(out)) == ["first", "second"]


@pytest.mark.parametrize("content", [b"", b"\n  \n\t\n", b"\xef\xbb\xbf\n"])
def test_an_empty_prompts_file_warns(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_bytes(content)
    out = tmp_path / "r.jsonl"
    assert main(["sweep", str(prompts), "--emulator", *TARGET_ARGS, "--out", str(out)]) == 0
    assert f"warning: {prompts} holds no prompt; nothing to send" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_jsonl_read_as_text_by_default_is_refused_before_any_call(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = '{"user_prompt": "best CRM", "tag": "t1"}\n{"user_prompt": "best VPN"}\n'
    out = tmp_path / "r.jsonl"
    if source == "stdin":
        monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
        path = "-"
    else:
        (tmp_path / "requests.txt").write_text(lines, "utf-8")
        path = str(tmp_path / "requests.txt")
    argv = ["sweep", path, "--emulator", *TARGET_ARGS, "--out", str(out)]
    assert main(argv) == 2
    assert "pass --format jsonl" in capsys.readouterr().err
    assert not out.exists()  # nothing sent, nothing written
    if source == "stdin":
        monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main([*argv, "--format", "jsonl"]) == 0
    assert sent_prompts(out) == ["best CRM", "best VPN"]
