"""A sweep killed with SIGKILL and run again: every prompt answered exactly once, and no
prompt whose answer was recorded is sent again. Client and server are separate processes,
so the server's record survives the kill."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from dfs_async.testing import EmulatorProcess, task_key

from .._sweep_process import credentials, kill_when, sweep_command, whole_records

TARGETS = ["--platform", "chat_gpt", "--model", "gpt-4.1-mini"]
TARGETS += ["--platform", "perplexity", "--model", "sonar"]
PROMPTS = 150


OPTIONS = [*TARGETS, "--concurrency", "4", "--rate-limit", "6000", "--quiet"]


def test_sigkill_then_rerun_answers_everything_once(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"which tool is best, case {i}?\n" for i in range(PROMPTS)))
    out = tmp_path / "results.jsonl"
    with EmulatorProcess(latency=(0.02, 0.08), seed=5) as emu:
        env = credentials(emu)
        command = sweep_command(prompts, out, emu.base_url, *OPTIONS)
        kill_when(command, env, lambda: len(whole_records(out)) >= 40, waiting_for="40 results")
        recorded = {(r.platform, r.prompt) for r in whole_records(out) if r.ok}
        assert 40 <= len(recorded) < 2 * PROMPTS

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        seen_by_server: Counter[tuple[str | None, str]] = Counter(
            (c.platform, c.key) for c in emu.record().calls if c.platform is not None
        )

    answered = Counter((r.platform, r.prompt) for r in whole_records(out) if r.ok)
    assert len(answered) == 2 * PROMPTS
    assert set(answered.values()) == {1}  # every prompt on every target answered exactly once
    for platform, prompt in recorded:
        model = "gpt-4.1-mini" if platform == "chat_gpt" else "sonar"
        key = task_key({"user_prompt": prompt, "model_name": model})
        assert seen_by_server[(platform, key)] == 1, (platform, prompt)
