"""The examples run, against the embedded emulator, with small inputs."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dfs_async._cli import _common as _cli_common

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    """Import ``examples/<name>.py``; the folder is scripts, not a package."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Examples fall back to the emulator only when no credentials are set."""
    # Run as scripts, the examples find their shared helper (_connect.py) beside them.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)


def test_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("quickstart").main([]) == 0
    out = capsys.readouterr().out
    assert "using the embedded emulator" in out
    assert re.search(r"gpt-4\.1-mini-\S+: \d+ tokens in, \d+ out, \$0\.\d{4}", out)
    assert "claude models: claude-opus-4-1," in out


def test_bulk_sweep_resumes_without_resending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.jsonl"
    assert load("bulk_sweep").main(["--limit", "6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    runs = re.findall(
        r"^run (\d).*?(\d+) results, +(\d+) calls sent.*?(\d+)/6 answered", text, re.M
    )
    (got1, sent1, in_file1), (got2, sent2, in_file2), run3 = (
        tuple(int(n) for n in run[1:]) for run in runs
    )
    assert got1 == 3  # run 1 stopped after three results...
    assert 3 <= in_file1 <= sent1 <= 6  # ...and those that finished meanwhile were kept too
    assert got2 == sent2 == 6 - in_file1  # run 2 sent only what was missing
    assert in_file2 == 6
    assert run3 == (0, 0, 6)  # run 3 sent nothing


def test_visibility_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("visibility").main(["--limit", "2", "--top", "4"]) == 0
    out = capsys.readouterr().out
    assert "8 answers, 0 failed" in out
    header, *rows = out.split("\n\n", 1)[1].splitlines()
    assert header.split() == ["domain", "chat_gpt", "claude", "gemini", "perplexity"]
    assert len(rows) == 4
    assert all(re.fullmatch(r"\S+( +\d/2){4}", row) for row in rows)
    assert "vertexaisearch" not in out  # Gemini's sources count by their direct_url


def test_demo_readout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = load("demo")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("best CRM for agencies\nbest VPN\n", encoding="utf-8")
    monkeypatch.setattr(demo, "PROMPTS", prompts)
    monkeypatch.setattr(demo, "OUT", tmp_path / "demo-output")
    monkeypatch.setattr(_cli_common, "EMULATOR_LATENCY", (0.0, 0.05))
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "ok       24" in out  # 2 prompts x 4 LLMs x 3 samples
    # The printed command runs as shown: the venv's own dfs-async, not one on PATH.
    shown = out.splitlines()[0].split()[1]
    assert shown == "dfs-async" or os.access(shown, os.X_OK), shown
    for platform in ("chat_gpt", "claude", "gemini", "perplexity"):
        assert re.search(rf"^{platform} +6 +0\.\d{{4}}  ", out, re.M)
    page = re.search(r"^Open the page: file://(/\S+/report\.html)$", out, re.M)
    assert page and Path(page[1]).is_file()  # the visibility report of the sweep
    gemini = re.search(r"^gemini .*$", out, re.M)
    assert gemini and "(" in gemini[0] and "vertexaisearch" not in gemini[0]  # real sources
    # A second run resumes the demo's own results file: nothing is sent again.
    assert demo.main([]) == 0
    again = capsys.readouterr().out
    assert re.search(r"^ +skipped +24$", again, re.M), again
    assert re.search(r"^ +ok +0$", again, re.M)


@pytest.mark.anyio
async def test_web_backend_shares_one_client() -> None:
    app = load("web_backend").make_app(emulator=True)
    async with TestClient(TestServer(app)) as http:
        resp = await http.get("/ask", params={"q": "best CRM for agencies", "platform": "claude"})
        assert resp.status == 200
        answer = await resp.json()
        assert answer["ok"] is True
        assert answer["model"].startswith("claude-sonnet-4")
        assert answer["text"]
        assert isinstance(answer["citations"], list)

        resp = await http.post("/sweep?platform=perplexity", json=["best VPN", "best CRM"])
        assert resp.status == 200
        body = await resp.json()
        assert [r["prompt"] for r in body["results"]] == ["best VPN", "best CRM"]
        assert all(r["ok"] and r["model"].startswith("sonar") for r in body["results"])

        resp = await http.get("/ask", params={"q": "x" * 501})
        assert resp.status == 400
        assert (await resp.json())["field"] == "user_prompt"


@pytest.mark.anyio
async def test_web_backend_answers_client_mistakes_with_400_and_never_relays_raw_bytes() -> None:
    app = load("web_backend").make_app(emulator=True)
    async with TestClient(TestServer(app)) as http:
        # An unknown model: DataForSEO answers 40501, the caller's mistake.
        resp = await http.get(
            "/ask", params={"q": "best CRM", "platform": "claude", "model": "nope"}
        )
        assert resp.status == 400
        body = await resp.json()
        assert body["status_code"] == 40501
        assert "model_name" in body["detail"]

        resp = await http.post("/sweep?platform=gemini&model=nope", json=["a", "b"])
        assert resp.status == 400
        assert (await resp.json())["status_code"] == 40501

        # A body cut off after HTTP 200: a DecodeError whose message holds the raw bytes.
        resp = await http.get("/ask", params={"q": "best CRM [[fault:truncated]]"})
        assert resp.status == 502
        text = await resp.text()
        assert set((await resp.json()).keys()) == {"error"}
        assert "status_code" not in text and "version" not in text

        resp = await http.post("/sweep?platform=claude", json=["fine", "cut [[fault:truncated]]"])
        assert resp.status == 200
        fine, cut = (await resp.json())["results"]
        assert fine["ok"] and not cut["ok"]
        assert cut["error"] == "DataForSEO could not be reached or sent an unreadable answer"


def test_the_readme_commands_for_examples_and_the_cli_run(tmp_path: Path) -> None:
    """Each ``.venv/bin/...`` line of the README's "Running the examples" block works as typed,
    with this test's interpreter standing for the venv's."""
    readme = (EXAMPLES.parent / "README.md").read_text("utf-8")
    section = readme.split("### Running the examples and the command line", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.startswith(".venv/bin/")]
    assert len(commands) == 3
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
    for command in commands:
        argv = shlex.split(command.replace(".venv/bin/", f"{bin_dir}/", 1))
        argv = [a.replace("demo-results.jsonl", str(tmp_path / "demo.jsonl")) for a in argv]
        done = subprocess.run(
            argv, cwd=EXAMPLES.parent, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (command, done.stderr)
    assert (tmp_path / "demo.jsonl").read_bytes().count(b"\n") == 24


def test_standard_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "standard.jsonl"
    assert load("standard_sweep").main(["--prompts", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "15 results: 10 Standard, 5 Live" in text
    assert "perplexity 5 answered" in text.replace("  ", " ").replace("  ", " ")
    assert len(dfs_async_results(out)) == 15


def dfs_async_results(path: Path) -> list[object]:
    import dfs_async

    return [r for r in dfs_async.read_results(path) if r.ok]
