"""The command line's money promises, checked at the emulator: Ctrl-C (a real SIGINT) then a
re-run pays for nothing twice, a resumed --max-cost spends nothing past the cap, --samples
resumes, and --dry-run / --estimate send nothing and need no credentials."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import anyio
import msgspec
import pytest

from dfs_async import DEFAULT_COSTS, JsonlSink, LiveRequest, ResultRecord, plan_sweep, read_results
from dfs_async._cli._main import main
from dfs_async._sweep._items import SweepItem, plan_items, routes_for
from dfs_async.testing import Emulator, EmulatorConfig, EmulatorProcess, task_key

from .._sweep_process import credentials, sweep_command
from ._record import paid

TARGETS = ["--platform", "gemini", "--model", "gemini-2.5-flash"]
TARGETS += ["--platform", "perplexity", "--model", "sonar"]


def write_prompts(path: Path, n: int) -> Path:
    path.write_text("".join(f"which standing desk, case {i}?\n" for i in range(n)))
    return path


def command(prompts: Path, out: Path, base_url: str, *extra: str) -> list[str]:
    options = [*TARGETS, "--concurrency", "4", "--rate-limit", "6000", *extra]
    return sweep_command(prompts, out, base_url, *options)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def interrupt(
    cmd: list[str],
    env: dict[str, str],
    out: Path,
    *,
    presses: int,
    signum: int = signal.SIGINT,
) -> tuple[int, str]:
    """Run the sweep, send ``signum`` ``presses`` times once results flow; exit status, output."""
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while lines(out) < 6:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no results arrived"
            time.sleep(0.01)
        for _ in range(presses):
            proc.send_signal(signum)
            time.sleep(0.1)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, output


def test_ctrl_c_waits_for_calls_in_flight_and_a_rerun_pays_none_twice(tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 30)
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(0.1, 0.3), seed=3) as emu:
        env = credentials(emu)
        cmd = command(prompts, out, emu.base_url)
        code, output = interrupt(cmd, env, out, presses=1)
        assert code == 130, output
        assert "stopping: nothing more is sent; waiting for the" in output
        assert "sweep interrupted" in output and "abandoned" not in output
        # Every call the server charged is in the file: none was left unrecorded.
        charged = [c for c in emu.record().calls if c.charged > 0]
        assert len(charged) == sum(r.ok for r in read_results(out)) < 60

        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        record = emu.record()
    assert Counter(record.charges_by_key().values()) == {1: 60}  # 0 keys charged twice
    assert len(read_results(out)) == 60


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c_and_a_rerun_pays_none_twice(
    tmp_path: Path, signum: int, status: int
) -> None:
    # docker stop, Kubernetes and systemd send SIGTERM; a closed terminal sends SIGHUP.
    prompts = write_prompts(tmp_path / "prompts.txt", 30)
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(0.1, 0.3), seed=5) as emu:
        env = credentials(emu)
        cmd = command(prompts, out, emu.base_url)
        code, output = interrupt(cmd, env, out, presses=1, signum=signum)
        assert code == status, output
        assert "waiting for the" in output and "a second signal abandons them" in output
        assert "sweep interrupted" in output and "abandoned" not in output
        charged = [c for c in emu.record().calls if c.charged > 0]
        assert len(charged) == sum(r.ok for r in read_results(out)) < 60

        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        record = emu.record()
    assert Counter(record.charges_by_key().values()) == {1: 60}  # 0 keys charged twice


def test_a_second_sigterm_abandons_and_says_how_many(tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 60)
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(1.0, 1.5), seed=3) as emu:
        env = credentials(emu)
        cmd = command(prompts, out, emu.base_url)
        code, output = interrupt(cmd, env, out, presses=2, signum=signal.SIGTERM)
    assert code == 143, output
    abandoned = next(line for line in output.splitlines() if line.strip().startswith("abandoned"))
    assert int(abandoned.split()[1]) > 0


def test_a_second_ctrl_c_abandons_and_says_how_many(tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 60)
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(1.0, 1.5), seed=3) as emu:
        env = credentials(emu)
        code, output = interrupt(command(prompts, out, emu.base_url), env, out, presses=2)
    assert code == 130, output
    abandoned = next(line for line in output.splitlines() if line.strip().startswith("abandoned"))
    assert int(abandoned.split()[1]) > 0 and "may pay for them again" in abandoned
    assert "Traceback" not in output


@pytest.mark.anyio
async def test_resumed_max_cost_covers_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 60)  # about $0.75 in all
    out = tmp_path / "results.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.01), seed=1)) as emu:
        monkeypatch.setenv("DATAFORSEO_LOGIN", emu.login)
        monkeypatch.setenv("DATAFORSEO_PASSWORD", emu.password)
        argv = ["sweep", str(prompts), *TARGETS, "--base-url", emu.base_url, "--out", str(out)]
        cap = 0.3
        assert await anyio.to_thread.run_sync(main, [*argv, "--max-cost", str(cap)]) == 1
        first = emu.record.total_cost
        assert 0.9 * cap <= first <= cap
        # The cap admits a prompt's two targets together: every prompt has both or none.
        per_prompt = Counter(r.index for r in read_results(out) if r.ok)
        assert set(per_prompt.values()) == {2}
        summary = capsys.readouterr().out
        assert f"{len(per_prompt)} of 60 answered by every target" in summary
        # The same cap again: the file has spent it, so nothing more is sent.
        assert await anyio.to_thread.run_sync(main, [*argv, "--max-cost", str(cap)]) == 1
        err = capsys.readouterr().err
        assert f"which counts against --max-cost ${cap:.4f}" in err
        assert emu.record.total_cost == first
        # A higher cap resumes up to it: both runs together stay under it.
        assert await anyio.to_thread.run_sync(main, [*argv, "--max-cost", "0.5"]) == 1
        assert 0.45 <= emu.record.total_cost <= 0.5
        assert max(emu.record.charges_by_key().values()) == 1


@pytest.mark.anyio
async def test_samples_give_n_records_per_prompt_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 4)
    out = tmp_path / "results.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.01))) as emu:
        monkeypatch.setenv("DATAFORSEO_LOGIN", emu.login)
        monkeypatch.setenv("DATAFORSEO_PASSWORD", emu.password)
        argv = ["sweep", str(prompts), *TARGETS, "--base-url", emu.base_url, "--out", str(out)]
        argv += ["--samples", "3", "--quiet"]
        assert await anyio.to_thread.run_sync(main, argv) == 0
        records = read_results(out)
        assert len(records) == 4 * 2 * 3 and len({r.key for r in records}) == 24
        per_prompt = Counter((r.prompt, r.platform) for r in records)
        assert set(per_prompt.values()) == {3}
        assert sorted({r.sample for r in records}) == [0, 1, 2]
        assert await anyio.to_thread.run_sync(main, argv) == 0
        assert len(paid(emu.record)) == 24  # the re-run sent nothing


def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATAFORSEO_LOGIN", "DATAFORSEO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def test_dry_run_validates_every_item_without_credentials_or_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_credentials(monkeypatch)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("fine\n" + "x" * 501 + "\nalso fine\n")
    out = tmp_path / "results.jsonl"
    argv = ["sweep", str(prompts), *TARGETS, "--out", str(out), "--dry-run"]
    argv += ["--base-url", "http://127.0.0.1:9"]  # nothing listens: any call would fail
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert printed.count(f"invalid: {prompts}:2 ") == 2  # both targets, by line number
    assert "6 items, 4 valid, 2 invalid; nothing was sent" in printed
    assert not out.exists()


@pytest.mark.anyio
async def test_estimate_prices_the_calls_left_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 10)
    out = tmp_path / "results.jsonl"
    half = write_prompts(tmp_path / "half.txt", 5)
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        monkeypatch.setenv("DATAFORSEO_LOGIN", emu.login)
        monkeypatch.setenv("DATAFORSEO_PASSWORD", emu.password)
        argv = ["sweep", str(half), *TARGETS, "--base-url", emu.base_url, "--out", str(out)]
        assert await anyio.to_thread.run_sync(main, argv) == 0
        calls = len(paid(emu.record))
    before = out.read_bytes()
    no_credentials(monkeypatch)
    capsys.readouterr()
    estimate = ["sweep", str(prompts), *TARGETS, "--out", str(out), "--estimate"]
    assert await anyio.to_thread.run_sync(main, estimate) == 0
    printed = capsys.readouterr().out
    assert "already in the results file: 10 items" in printed
    assert "estimate: 10 calls still to make" in printed
    assert printed.count("(average in the results file)") == 2
    assert out.read_bytes() == before and calls == 10


@pytest.mark.anyio
async def test_estimate_counts_posted_standard_tasks_as_collected_not_as_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An earlier --method standard run posted 4 of the 10 gemini items and was stopped before
    # collecting them: their records say "posted", with the prepayment as their cost.
    prompts = write_prompts(tmp_path / "prompts.txt", 10)
    out = tmp_path / "results.jsonl"
    routes = routes_for("gemini", "gemini-2.5-flash", None, {})
    rows = prompts.read_text().splitlines()
    items = [i async for i in plan_items(rows, routes, 1)]
    with JsonlSink(out) as sink:
        for item in items[:4]:
            assert isinstance(item, SweepItem)
            record = ResultRecord.of(item.result())
            sink.write_record(
                msgspec.structs.replace(record, posted=True, task_id=f"t{item.index}", cost=0.0102)
            )
    no_credentials(monkeypatch)
    plan = await plan_sweep(rows, platform="gemini", model_name="gemini-2.5-flash", sink=out)
    assert (plan.collected, plan.calls, plan.skipped) == (4, 6, 0)
    assert plan.cost == pytest.approx(6 * DEFAULT_COSTS["gemini"])
    assert plan.spent == pytest.approx(4 * 0.0102)  # the prepayments, counted once
    capsys.readouterr()
    argv = ["sweep", str(prompts), *TARGETS[:4], "--out", str(out), "--estimate"]
    assert await anyio.to_thread.run_sync(main, argv) == 0
    printed = capsys.readouterr().out
    assert "4 posted, to be collected" in printed
    assert "estimate: 6 calls still to make" in printed


@pytest.mark.anyio
async def test_jsonl_rows_keep_their_id_and_metadata_and_the_summary_tells_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "rows.jsonl"
    rows = [
        {"user_prompt": "best crm", "id": "r1", "metadata": {"tier": "gold"}},
        {"user_prompt": "best crm", "id": "r1", "metadata": {"tier": "gold"}},  # a repeat
        {"user_prompt": "cut off [[fault:truncated]]", "id": 2},
    ]
    prompts.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "results.jsonl"
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        monkeypatch.setenv("DATAFORSEO_LOGIN", emu.login)
        monkeypatch.setenv("DATAFORSEO_PASSWORD", emu.password)
        argv = ["sweep", str(prompts), "--platform", "claude", "--model", "claude-sonnet-4-0"]
        argv += ["--base-url", emu.base_url, "--out", str(out)]
        assert await anyio.to_thread.run_sync(main, argv) == 1  # the cut-off answer failed
        sent = [c.key for c in paid(emu.record)]
        assert len(sent) == 2
    # What reached the server is the request alone: the id and metadata never left.
    assert sorted(sent) == sorted(
        task_key(LiveRequest(user_prompt=p, model_name="claude-sonnet-4-0"))
        for p in ("best crm", "cut off [[fault:truncated]]")
    )
    printed = capsys.readouterr().out
    assert "duplicates" in printed and "1 skipped (identical items)" in printed
    assert "1 call may be charged, estimated $" in printed
    records = {r.id: r for r in read_results(out)}
    assert records["r1"].metadata == {"tier": "gold"} and records["r1"].ok
    assert records[2].cost_estimate is not None and not records[2].ok
