"""A ``--method standard`` sweep killed with SIGKILL and run again: every prompt posted exactly
once and answered exactly once, as the emulator (another process, so its record survives the
kill) saw it. Perplexity, which has no Standard method, stays on Live in the same sweep."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from dfs_async.testing import EmulatorProcess

from .._sweep_process import credentials, kill_when, sweep_command, whole_records

PROMPTS = 300
RATE = ["--rate-limit", "400", "--rate-period", "2"]
READY = ["--tasks-ready-limit", "8", "--tasks-ready-period", "1"]


OPTIONS = [
    "--platform", "claude", "--model", "claude-sonnet-4-0",
    "--platform", "perplexity", "--model", "sonar",
    "--method", "standard", "--resolve-after", "2",
    *RATE, *READY, "--concurrency", "4", "--quiet",
]  # fmt: skip


def test_sigkill_then_rerun_posts_and_answers_every_prompt_once(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(
        "".join(f"which crm suits a small agency, case {i}?\n" for i in range(PROMPTS))
    )
    out = tmp_path / "results.jsonl"
    config = {
        "latency": (0.02, 0.06),
        "standard_delay": (0.3, 1.0),
        "rate_limit": 400,
        "rate_period": 2.0,
        "tasks_ready_limit": 8,
        "tasks_ready_period": 1.0,
        "seed": 12,
    }
    with EmulatorProcess(**config) as emu:  # type: ignore[arg-type]
        env = credentials(emu)
        command = sweep_command(prompts, out, emu.base_url, *OPTIONS)

        def standard_results() -> int:
            return sum(r.ok and r.platform == "claude" for r in whole_records(out))

        kill_when(command, env, lambda: standard_results() >= 20, waiting_for="Standard results")
        before = whole_records(out)
        killed_with = {r.key for r in before if r.posted} - {r.key for r in before if r.ok}
        assert killed_with, "the kill left no posted task outstanding"

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert "perplexity on Live" in second.stdout
        record = emu.record()

    standard = record.standard
    assert standard.posted_twice() == {}  # every prompt posted exactly once, across the kill
    assert len(standard.posts) == PROMPTS
    assert max(standard.post_sizes) <= 100
    assert standard.uncollected() == []
    assert record.max_calls_in_window(2.0) <= 400
    assert standard.max_ready_calls_in_window(1.0) <= 8
    assert 40202 not in record.codes
    answered = Counter((r.platform, r.prompt) for r in whole_records(out) if r.ok)
    assert len(answered) == 2 * PROMPTS
    assert set(answered.values()) == {1}
    latest = {r.key: r for r in whole_records(out)}
    assert all(r.ok for r in latest.values())
    assert {r.task_id for r in latest.values() if r.platform == "claude"} == {
        p.id for p in standard.posts
    }


def test_sigkill_while_a_task_post_awaits_its_answer_reposts_nothing(tmp_path: Path) -> None:
    # The server creates (and charges) the tasks, then takes 3 s to answer: the sweep is killed
    # meanwhile, knowing no id. The re-run finds them by tag instead of posting them again.
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"best password manager for a team, case {i}?\n" for i in range(60)))
    out = tmp_path / "results.jsonl"
    config = {
        "latency": (0.02, 0.06),
        "standard_delay": (0.2, 0.5),
        "task_post_latency": 3.0,
        "tasks_ready_limit": 8,
        "tasks_ready_period": 1.0,
    }
    with EmulatorProcess(**config) as emu:  # type: ignore[arg-type]
        env = credentials(emu)
        command = sweep_command(
            prompts, out, emu.base_url,
            "--platform", "claude", "--model", "claude-sonnet-4-0",
            "--method", "standard", "--resolve-after", "30", *READY, "--quiet",
        )  # fmt: skip

        def posted() -> bool:
            # The server holds the created tasks and the file their "posted" lines.
            return any(r.posted for r in whole_records(out)) and bool(emu.record().standard.posts)

        kill_when(command, env, posted, waiting_for="a posted task")
        maybe_posted = {r.key for r in whole_records(out) if r.posted}
        assert maybe_posted and not any(r.task_id for r in whole_records(out))
        assert len(emu.record().standard.posts) >= len(maybe_posted)  # created, unanswered

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        record = emu.record()

    standard = record.standard
    assert standard.posted_twice() == {}
    assert len(standard.posts) == 60
    assert standard.uncollected() == []
    answered = Counter(r.key for r in whole_records(out) if r.ok)
    assert len(answered) == 60 and set(answered.values()) == {1}
