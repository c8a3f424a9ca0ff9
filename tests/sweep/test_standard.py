"""Sweeps with ``method="standard"``, checked on the emulator's record: every prompt posted
once and collected, batches of at most 100, the account's rate and tasks_ready's limit kept,
posted records before results, lost answers found by tag, and re-runs that never repost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import msgspec
import pytest

import dfs_async
from dfs_async import AsyncClient, CallbackReceiver, ResultRecord, Target
from dfs_async.testing import CallInfo, Emulator, EmulatorConfig, Fault

pytestmark = pytest.mark.anyio

RATE: dict[str, Any] = {"rate_limit": 300, "rate_period": 3.0}
READY: dict[str, Any] = {"tasks_ready_limit": 6, "tasks_ready_period": 1.0}
TARGETS = [
    Target("claude", "claude-sonnet-4-0"),
    Target("gemini", "gemini-2.5-flash"),
    Target("perplexity", "sonar"),
]


def config(**overrides: Any) -> EmulatorConfig:
    base: dict[str, Any] = {"latency": (0.02, 0.05), "standard_delay": (0.1, 0.4), **RATE}
    return EmulatorConfig(**{**base, **READY, **overrides})


def client_for(emu: Emulator) -> AsyncClient:
    return AsyncClient(emu.login, emu.password, base_url=emu.base_url, **RATE, **READY)


def prompts(n: int) -> list[str]:
    return [f"which project tool do agencies use, case {i}?" for i in range(n)]


def lines(path: Path) -> Iterator[ResultRecord]:
    decoder = msgspec.json.Decoder(ResultRecord)
    for line in path.read_bytes().splitlines():
        yield decoder.decode(line)


def check_server(emu: Emulator, expected_tasks: int) -> None:
    """What every Standard sweep must show on the server's side."""
    record = emu.record
    standard = record.standard
    assert standard.posted_twice() == {}
    assert max(standard.post_sizes) <= 100
    assert len(standard.posts) == expected_tasks
    assert standard.uncollected() == []
    assert record.max_calls_in_window(RATE["rate_period"]) <= RATE["rate_limit"]
    assert standard.max_ready_calls_in_window(1.0) <= READY["tasks_ready_limit"]
    assert 40202 not in record.codes


async def test_standard_sweep_gives_the_same_results_as_live(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    async with Emulator(config()) as emu, client_for(emu) as client:
        results = await dfs_async.gather_prompts(
            client, prompts(150), targets=TARGETS, method="standard", sink=out
        )
    assert len(results) == 450 and all(r.ok for r in results)
    assert [(r.index, r.target_index) for r in results] == [
        (i, t) for i in range(150) for t in (0, 1, 2)
    ]
    for r in results:
        assert r.response is not None and r.response.result is not None
        assert r.response.result.text
        if r.platform == "perplexity":
            assert r.task_id is None  # Live: no Standard method
        else:
            assert r.task_id in {p.id for p in emu.record.standard.posts}
            # The charge is DataForSEO's base price plus the LLM's cost.
            assert r.cost == pytest.approx(0.0002 + r.response.result.money_spent)
    check_server(emu, expected_tasks=300)
    assert len(emu.record.standard.post_sizes) <= 30  # batched, not one call per task
    # The file: for each Standard item, posted (no id), posted (id), then the result.
    seen: dict[str, list[tuple[bool, str | None]]] = {}
    for rec in lines(out):
        seen.setdefault(rec.key, []).append((rec.posted, rec.task_id))
    for r in results:
        states = seen[r.key]
        if r.platform == "perplexity":
            assert states == [(False, None)]
        else:
            assert states == [(True, None), (True, r.task_id), (False, r.task_id)]
    latest = dfs_async.read_results(out)
    assert len(latest) == 450 and all(rec.ok for rec in latest)


def lose_first_posts(info: CallInfo) -> Fault | None:
    if info.path.endswith("/task_post") and info.attempt == 1:
        return Fault.RESET  # created and charged, then the connection drops
    return None


async def test_a_lost_post_answer_is_resolved_by_tag_never_reposted(tmp_path: Path) -> None:
    async with Emulator(config(faults=lose_first_posts)) as emu, client_for(emu) as client:
        results = await dfs_async.gather_prompts(
            client,
            prompts(120),
            platform="claude",
            model_name="claude-sonnet-4-0",
            method="standard",
            sink=tmp_path / "out.jsonl",
        )
    assert len(results) == 120 and all(r.ok for r in results)
    check_server(emu, expected_tasks=120)
    assert emu.record.codes[0] >= 1  # answers were indeed lost


async def test_rerun_collects_what_was_posted_and_posts_only_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    async with Emulator(config(standard_delay=(0.3, 0.6))) as emu:
        control = dfs_async.SweepControl()
        async with client_for(emu) as client:
            stream = dfs_async.iter_prompts(
                client,
                prompts(250),
                targets=TARGETS[:2],
                method="standard",
                sink=out,
                control=control,
            )
            got = 0
            async with aclosing(stream):
                async for _ in stream:
                    got += 1
                    if got == 60:
                        break  # the user stops the sweep: many tasks are posted, uncollected
        posted_first = len(emu.record.standard.posts)
        assert posted_first > 60
        # What the stop left outstanding: posted, not collected, and in the file. A stop that
        # lands between an item's trail record ("posted", no id yet) and the moment its
        # task_post leaves records it as not sent instead: never at the server, not counted,
        # posted again by a re-run at once.
        records = list(lines(out))
        collected = sum(1 for rec in records if rec.ok)
        at_server = {post.tag for post in emu.record.standard.posts}
        with_id = {rec.key for rec in records if rec.task_id is not None}
        maybe = {rec.key for rec in records if rec.posted and rec.key not in with_id}
        unposted = {rec.key for rec in records if rec.error and rec.error.type == "NotSentError"}
        assert maybe - at_server <= unposted and not unposted & at_server
        assert control.posted == posted_first - collected > 0
        async with client_for(emu) as client:
            rest = await dfs_async.gather_prompts(
                client, prompts(250), targets=TARGETS[:2], method="standard", sink=out
            )
        assert len(rest) == 500 - 60
        check_server(emu, expected_tasks=500)
    answered = Counter(rec.key for rec in lines(out) if rec.ok)
    assert len(answered) == 500 and set(answered.values()) == {1}


async def test_maybe_posted_items_are_found_or_posted_again_after_resolve_after(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    async with Emulator(config(standard_delay=(0.05, 0.05))) as emu, client_for(emu) as client:
        # An earlier run wrote "posted, no id" for 4 items and died: 2 of their task_post
        # calls reached the server, 2 never left the machine.
        items = prompts(4)
        keys = []
        for text in items:
            _, request = client.prepare("claude", user_prompt=text, model_name="claude-sonnet-4-0")
            keys.append(dfs_async.request_key("claude", request))
        with dfs_async.JsonlSink(out) as sink:
            for i, (text, key) in enumerate(zip(items, keys, strict=True)):
                sink.write_record(
                    ResultRecord(
                        key=key,
                        index=i,
                        platform="claude",
                        model_name="claude-sonnet-4-0",
                        prompt=text,
                        ok=False,
                        posted=True,
                    )
                )
        await client.task_post(
            "claude",
            [
                {"user_prompt": t, "model_name": "claude-sonnet-4-0", "tag": k}
                for t, k in zip(items[:2], keys[:2], strict=True)
            ],
        )
        results = await dfs_async.gather_prompts(
            client,
            items,
            platform="claude",
            model_name="claude-sonnet-4-0",
            method="standard",
            sink=out,
            resolve_after=0.6,
        )
    assert len(results) == 4 and all(r.ok for r in results)
    check_server(emu, expected_tasks=4)
    assert emu.record.standard.post_sizes == [2, 2]  # only the two that were never created


async def test_a_live_rerun_collects_posted_tasks_instead_of_paying_again(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    async with Emulator(config()) as emu:
        async with client_for(emu) as client:
            stream = dfs_async.iter_prompts(
                client,
                prompts(150),
                platform="gemini",
                model_name="gemini-2.5-flash",
                method="standard",
                sink=out,
            )
            async with aclosing(stream):
                async for _ in stream:
                    break
        async with client_for(emu) as client:
            await dfs_async.gather_prompts(
                client, prompts(150), platform="gemini", model_name="gemini-2.5-flash", sink=out
            )
        standard = emu.record.standard
        live_calls = [c for c in emu.record.calls if c.path.endswith("/live")]
        assert len(standard.posts) + len(live_calls) == 150
        assert standard.uncollected() == []
    assert len({rec.key for rec in lines(out) if rec.ok}) == 150


async def test_postbacks_deliver_results_without_task_get(tmp_path: Path) -> None:
    async with (
        Emulator(config()) as emu,
        client_for(emu) as client,
        CallbackReceiver() as receiver,
    ):
        results = await dfs_async.gather_prompts(
            client,
            prompts(60),
            platform="chat_gpt",
            model_name="gpt-4.1-mini",
            method="standard",
            receiver=receiver,
            sink=tmp_path / "out.jsonl",
        )
    assert len(results) == 60 and all(r.ok for r in results)
    assert receiver.handler is None  # given back once the sweep ended
    standard = emu.record.standard
    assert sum(standard.delivered.values()) == 60
    assert sum(standard.collected.values()) == 0  # no task_get was needed
    check_server(emu, expected_tasks=60)


async def test_the_budget_counts_the_prepayment_until_the_real_cost_is_known() -> None:
    async with Emulator(config()) as emu, client_for(emu) as client:
        results = await dfs_async.gather_prompts(
            client,
            prompts(25),
            platform="claude",
            model_name="claude-sonnet-4-0",
            method="standard",
            max_cost=0.06,
            cost_estimate=0.001,
        )
    spent = 100.0 - emu.balance
    assert spent <= 0.06 + 1e-9
    answered = [r for r in results if r.ok]
    over = [r for r in results if isinstance(r.error, dfs_async.BudgetExceededError)]
    assert answered and len(answered) + len(over) == 25
    assert sum(r.cost for r in answered) == pytest.approx(spent)
    # At most max_cost / prepayment tasks were ever paid for at once.
    assert max(emu.record.standard.post_sizes) <= int(0.06 / 0.0102)


def no_tasks_ready(info: CallInfo) -> Fault | None:
    return Fault.SERVER_ERROR if info.path.endswith("/tasks_ready") else None


async def test_tasks_ready_failing_for_good_still_collects_everything() -> None:
    emu_config = config(standard_delay=(0.05, 0.1), faults=no_tasks_ready)
    async with (
        Emulator(emu_config) as emu,
        AsyncClient(
            emu.login,
            emu.password,
            base_url=emu.base_url,
            retry=dfs_async.RetryPolicy(max_retries=0),
            **RATE,
            **READY,
        ) as client,
    ):
        results = await dfs_async.gather_prompts(
            client,
            prompts(30),
            platform="claude",
            model_name="claude-sonnet-4-0",
            method="standard",
            resolve_after=0.5,
        )
    assert len(results) == 30 and all(r.ok for r in results)
    assert emu.record.standard.posted_twice() == {}
    assert emu.record.standard.uncollected() == []


async def test_tasks_beyond_the_servers_limit_are_posted_again_not_twice() -> None:
    async with Emulator(config(task_post_limit=30)) as emu, client_for(emu) as client:
        results = await dfs_async.gather_prompts(
            client, prompts(120), platform="gemini", model_name="gemini-2.5-flash",
            method="standard",
        )  # fmt: skip
    assert len(results) == 120 and all(r.ok for r in results)
    assert sum(1 for size in emu.record.standard.post_sizes if size > 30) >= 1  # 40006 seen
    check_server(emu, expected_tasks=120)


async def test_method_is_checked() -> None:
    async with Emulator(config()) as emu, client_for(emu) as client:
        with pytest.raises(dfs_async.ValidationError, match="method"):
            await dfs_async.gather_prompts(
                client, ["x"], platform="claude", model_name="claude-sonnet-4-0", method="fast"
            )


async def test_ids_metadata_and_samples_work_as_on_live(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    rows = [
        dfs_async.PromptItem(p, id=f"row-{i}", metadata={"n": i}) for i, p in enumerate(prompts(5))
    ]
    async with Emulator(config()) as emu, client_for(emu) as client:
        results = await dfs_async.gather_prompts(
            client, rows, platform="claude", model_name="claude-sonnet-4-0",
            method="standard", samples=2, sink=out,
        )  # fmt: skip
    assert [(r.id, r.sample) for r in results] == [
        (f"row-{i}", s) for i in range(5) for s in (0, 1)
    ]
    assert all(r.ok and r.metadata == {"n": int(str(r.id)[4:])} for r in results)
    check_server(emu, expected_tasks=10)  # each sample its own task, none twice
    posted = [rec for rec in lines(out) if rec.posted and rec.task_id]
    assert {(rec.id, rec.sample) for rec in posted} == {(r.id, r.sample) for r in results}


class StopAtPost(dfs_async.LocalGovernor):
    """Stops the sweep as its first task_post is admitted (a call without a Live slot), so
    the stop reaches the poster before the post leaves."""

    def __init__(self, control: dfs_async.SweepControl) -> None:
        super().__init__(dfs_async.Limits(**RATE, **READY))
        self.control = control

    async def acquire(self, platform: dfs_async.Platform | None, *, priority: int = 0) -> None:
        await super().acquire(platform, priority=priority)
        if platform is None and not self.control.stopping:
            self.control.stop()


async def test_a_stop_before_the_post_leaves_unposts_its_items_for_the_rerun(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    control = dfs_async.SweepControl()
    async with Emulator(config()) as emu:
        governor = StopAtPost(control)
        async with AsyncClient(
            emu.login, emu.password, base_url=emu.base_url, governor=governor
        ) as client:
            first = await dfs_async.gather_prompts(
                client,
                prompts(30),
                targets=TARGETS[:1],
                method="standard",
                sink=out,
                control=control,
            )
        # Their trail said "maybe posted"; the post never left, and the file says so.
        assert first == [] and emu.record.standard.posts == [] and control.posted == 0
        records = list(lines(out))
        trail = {rec.key for rec in records if rec.posted and rec.task_id is None}
        unposted = {rec.key for rec in records if rec.error and rec.error.type == "NotSentError"}
        assert len(trail) == 30 and unposted == trail
        # A re-run posts them at once: with resolve_after's 900 s it would wait for their tags.
        async with client_for(emu) as client:
            rest = await dfs_async.gather_prompts(
                client, prompts(30), targets=TARGETS[:1], method="standard", sink=out
            )
        assert len(rest) == 30 and all(r.ok for r in rest)
        check_server(emu, expected_tasks=30)
