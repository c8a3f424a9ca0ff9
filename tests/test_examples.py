"""The examples run, against the embedded emulator, with small inputs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dfs_async import _cli_common

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
    monkeypatch.setattr(_cli_common, "EMULATOR_LATENCY", (0.0, 0.05))
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "ok       8" in out
    for platform in ("chat_gpt", "claude", "gemini", "perplexity"):
        assert re.search(rf"^{platform} +2 +0\.\d{{4}}  ", out, re.M)
    gemini = re.search(r"^gemini .*$", out, re.M)
    assert gemini and "(" in gemini[0] and "vertexaisearch" not in gemini[0]  # real sources


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
