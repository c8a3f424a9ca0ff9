"""The progress line and summary: pure formatting, driven by a fake clock."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from dfs_async import (
    BudgetExceededError,
    DFSError,
    LiveRequest,
    LiveResponse,
    PromptResult,
    RateLimitError,
    Target,
    ValidationError,
)
from dfs_async._cli._progress import (
    Progress,
    failure_label,
    format_duration,
    format_eta,
    format_line,
    format_money,
    format_rate,
    format_summary,
)


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok_result(cost: float = 0.01) -> PromptResult:
    return PromptResult(
        index=0,
        platform="claude",
        request=LiveRequest(user_prompt="hi", model_name="m"),
        key="k",
        response=LiveResponse(cost=cost),
        target=Target("claude", "m"),
    )


def failed_result(error: DFSError) -> PromptResult:
    return PromptResult(
        index=0,
        platform="claude",
        request=LiveRequest(user_prompt="hi", model_name="m"),
        key="k",
        error=error,
        target=Target("claude", "m"),
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (4.6, "0:05"), (65, "1:05"), (3723, "1:02:03"), (-3, "0:00")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_rate_is_per_minute_and_unknown_before_results() -> None:
    assert format_rate(30, 60.0) == "30.0 calls/min"
    assert format_rate(5, 2.0) == "150.0 calls/min"
    assert format_rate(0, 10.0) == "-- calls/min"
    assert format_rate(3, 0.0) == "-- calls/min"


def test_eta_from_the_average_rate() -> None:
    assert format_eta(10, 40, 20.0) == "ETA 1:00"  # 0.5/s, 30 left
    assert format_eta(0, 40, 20.0) == "ETA --:--"
    assert format_eta(40, 40, 20.0) == "ETA 0:00"
    assert format_eta(10, None, 20.0) is None


def test_line_with_total() -> None:
    line = format_line(12, 96, 30.0, 0.0123, 1)
    assert line == "12/96  12% · 24.0 calls/min · ETA 3:30 · $0.0123 · 1 error · 0:30"


def test_line_with_unknown_total_has_no_eta() -> None:
    line = format_line(7, None, 60.0, 0.5, 0)
    assert line == "7 done · 7.0 calls/min · $0.5000 · 0 errors · 1:00"


def test_line_never_shows_more_done_than_total() -> None:
    # A resumed run's total is an estimate; it must not read 12/10 or 120%.
    assert format_line(12, 10, 6.0, 0.0, 0).startswith("12/12 100% ·")


def test_failure_label_prefers_the_status_code() -> None:
    rate = failed_result(RateLimitError(40202, "Rate limit"))
    assert failure_label(rate) == "40202 RateLimitError"
    invalid = failed_result(ValidationError("user_prompt", "too long"))
    assert failure_label(invalid) == "ValidationError"


def test_tty_redraws_in_place_at_most_every_tenth_of_a_second() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(4, stream=stream, tty=True, clock=clock)
    clock.now += 1.0
    progress.add(ok_result())  # first result: drawn at once
    clock.now += 0.06
    progress.add(ok_result())  # too soon: counted, not drawn
    clock.now += 0.06
    progress.tick()  # over 0.1 s since the last draw
    progress.close()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 3
    assert frames[0].startswith("1/4  25% · 60.0 calls/min")
    assert frames[1].startswith("2/4  50%")
    assert all(f.rstrip("\n").endswith("\x1b[K") for f in frames)
    assert stream.getvalue().endswith("\n")


def test_tty_line_is_cut_to_the_terminal_width() -> None:
    stream = io.StringIO()
    progress = Progress(4, stream=stream, tty=True, clock=FakeClock(), width=20)
    progress.draw()
    assert stream.getvalue() == "\r0/4   0% · -- calls/\x1b[K"


def test_plain_lines_every_few_seconds_when_not_a_tty() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    progress = Progress(None, stream=stream, tty=False, clock=clock)
    for _ in range(10):
        clock.now += 1.0
        progress.add(ok_result())
    progress.close()
    lines = stream.getvalue().splitlines()
    # Drawn at 1 s, 6 s, and once more at close; never with \r or escape codes.
    assert [line.split(" · ")[0] for line in lines] == ["1 done", "6 done", "10 done"]
    assert "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()


def test_nothing_drawn_without_a_stream_but_counted() -> None:
    clock = FakeClock()
    progress = Progress(3, clock=clock)
    progress.add(ok_result(0.25))
    progress.add(failed_result(RateLimitError(40202, "Rate limit")))
    progress.close()
    assert (progress.ok, progress.errors, progress.done) == (1, 1, 2)
    assert progress.cost == pytest.approx(0.25)


def test_summary_lists_failures_by_cause() -> None:
    clock = FakeClock()
    progress = Progress(3, clock=clock)
    progress.add(ok_result(0.02))
    progress.add(failed_result(RateLimitError(40202, "Rate limit")))
    progress.add(failed_result(ValidationError("user_prompt", "too long")))
    clock.now += 30.0
    text = progress.summary(skipped=4, out="r.jsonl")
    assert text.splitlines() == [
        "sweep finished",
        "  ok                      1",
        "  failed                  2",
        "    40202 RateLimitError  1",
        "    ValidationError       1",
        "  skipped                 4",
        "  cost                    $0.0200",
        "  elapsed                 30.0 s",
        "  rate                    4.0 calls/min",  # the invalid item was never a call
        "  results                 r.jsonl",
    ]


def test_interrupted_summary_says_so() -> None:
    text = format_summary(
        ok=2, failed=Counter(), skipped=None, cost=0.0, elapsed=1.0, interrupted=True
    )
    assert text.startswith("sweep interrupted")
    assert "skipped  unknown (interrupted)" in text


def test_items_that_never_became_calls_do_not_make_a_rate() -> None:
    # --max-cost 0: every item fails at once as over budget; no call, so no rate to show.
    clock = FakeClock()
    progress = Progress(1000, clock=clock)
    clock.now += 0.001
    for _ in range(1000):
        progress.add(failed_result(BudgetExceededError("over the cap")))
    assert "-- calls/min" in progress.line()
    assert summary_rows(progress.summary(skipped=0))["rate"] == "-- calls/min"


def summary_rows(text: str) -> dict[str, str]:
    rows = (line.split(None, 1) for line in text.splitlines()[1:])
    return {row[0]: row[1].strip() for row in rows if len(row) == 2}


def test_summary_per_engine_and_per_model_when_a_platform_has_several() -> None:
    progress = Progress(5, clock=FakeClock())
    for model, cost, error in (
        ("gpt-4.1-mini", 0.01, None),
        ("gpt-4.1", 0.02, None),
        ("gpt-4.1", 0.0, RateLimitError(40202, "Rate limit")),
    ):
        answer = LiveResponse(cost=cost) if error is None else None
        request = LiveRequest(user_prompt="p", model_name=model)
        target = Target("chat_gpt", model)
        progress.add(PromptResult(0, "chat_gpt", request, "k", answer, error, target=target))
    progress.add(ok_result(0.03))
    progress.add(failed_result(BudgetExceededError("over the cap")))
    text = progress.summary(skipped=0)
    assert text.split("per engine\n")[1].splitlines() == [
        "  chat_gpt        2 answers, 1 failure, $0.0300",
        "    gpt-4.1       1 answer, 1 failure, $0.0200",
        "    gpt-4.1-mini  1 answer, 0 failures, $0.0100",
        "  claude          1 answer, 0 failures, $0.0300",
    ]
    rows = summary_rows(text)
    assert rows["failed"] == "1"  # the budget refusal is apart, not an error
    assert rows["over"].split() == ["budget", "1", "item", "unsent", "(over", "--max-cost)"]


def test_one_target_has_no_engine_block() -> None:
    progress = Progress(1, clock=FakeClock())
    progress.add(ok_result())
    assert "per engine" not in progress.summary(skipped=0)


@pytest.mark.parametrize(
    ("usd", "text"), [(0.0, "$0.0000"), (0.01234, "$0.0123"), (72000.0, "$72,000.00")]
)
def test_money_is_formatted_for_its_size(usd: float, text: str) -> None:
    assert format_money(usd) == text
