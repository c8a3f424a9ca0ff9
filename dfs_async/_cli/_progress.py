"""A sweep's live progress line and final summary, fed one `PromptResult` at a time.

Formatting is pure (numbers in, text out) and the clock is injected, so everything here is
testable without a terminal and without waiting.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final, TextIO

from .._errors import BudgetExceededError
from .._records._records import PromptResult

Clock = Callable[[], float]

TTY_INTERVAL: Final = 0.1
"""Seconds between two redraws on a terminal: about 10 a second is smooth and cheap."""
PLAIN_INTERVAL: Final = 5.0
"""Seconds between two lines when stderr is a log file or a pipe, which keeps every line."""
_CLEAR_TO_EOL: Final = "\x1b[K"


def format_duration(seconds: float) -> str:
    """``0:05``, ``12:34`` or ``1:02:03``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate_per_minute(done: int, elapsed: float) -> float | None:
    """Items per minute so far, or None before there is anything to measure."""
    if done <= 0 or elapsed <= 0:
        return None
    return done / elapsed * 60.0


def format_rate(done: int, elapsed: float) -> str:
    """``41.2 calls/min``, or ``-- calls/min`` before the first result."""
    rate = rate_per_minute(done, elapsed)
    return "-- calls/min" if rate is None else f"{rate:.1f} calls/min"


def format_eta(done: int, total: int | None, elapsed: float) -> str | None:
    """``ETA 1:05`` at the average rate so far; None when the total is unknown."""
    if total is None:
        return None
    remaining = max(0, total - done)
    if remaining == 0:
        return "ETA 0:00"
    rate = rate_per_minute(done, elapsed)
    if rate is None:
        return "ETA --:--"
    return f"ETA {format_duration(remaining / rate * 60.0)}"


def format_money(usd: float) -> str:
    """``$0.0123`` (cents matter on a single call), ``$1,234.56`` past ten dollars."""
    if abs(usd) < 10:
        return f"${usd:.4f}"
    return f"${usd:,.2f}"


def plural(n: int, noun: str) -> str:
    """``1 item``, ``2 items``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def format_line(
    done: int,
    total: int | None,
    elapsed: float,
    cost: float,
    errors: int,
    *,
    sent: int | None = None,
) -> str:
    """One progress line: count (and share of the total), rate, ETA, cost and errors.

    The rate counts ``sent`` calls (default: every item done), not items that failed before
    becoming a call, which take no time.
    """
    if total is None:
        head = f"{done} done"
    else:
        # A resumed run only estimates what is left; never show more done than expected.
        total = max(total, done)
        share = done / total * 100 if total else 100.0
        width = len(str(total))
        head = f"{done:>{width}}/{total} {share:3.0f}%"
    parts = [head, format_rate(done if sent is None else sent, elapsed)]
    eta = format_eta(done, total, elapsed)
    if eta is not None:
        parts.append(eta)
    parts.append(format_money(cost))
    parts.append(plural(errors, "error"))
    parts.append(format_duration(elapsed))
    return " · ".join(parts)


def failure_label(result: PromptResult) -> str:
    """A failure's group in the summary: ``40501 InvalidRequestError``, ``TransportError``."""
    name = type(result.error).__name__ if result.error is not None else "Error"
    code = result.status_code
    return f"{code} {name}" if code is not None else name


class Engine:
    """One platform and model's share of a sweep."""

    __slots__ = ("cost", "failed", "ok")

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.cost = 0.0

    def text(self) -> str:
        """``40 answers, 1 failure, $0.0400``."""
        return f"{plural(self.ok, 'answer')}, {plural(self.failed, 'failure')}, " + format_money(
            self.cost
        )


def engine_rows(engines: dict[tuple[str, str], Engine]) -> list[tuple[str, str]]:
    """A row per platform, and per model under it when it has several; none for one target."""
    if len(engines) < 2:
        return []
    rows: list[tuple[str, str]] = []
    for platform in sorted({p for p, _ in engines}):
        models = sorted((m, e) for (p, m), e in engines.items() if p == platform)
        total = Engine()
        for _, e in models:
            total.ok, total.failed, total.cost = (
                total.ok + e.ok,
                total.failed + e.failed,
                total.cost + e.cost,
            )
        rows.append((f"  {platform}", total.text()))
        if len(models) > 1:
            rows += [(f"    {model}", e.text()) for model, e in models]
    return rows


class Progress:
    """Counts a sweep's results and draws its progress line on ``stream``.

    Parameters
    ----------
    total:
        Items expected in this run, or None when unknown (prompts from stdin).
    stream:
        Where the line goes (stderr); None draws nothing but still counts.
    tty:
        Redraw one line in place with ``\\r``; otherwise write a plain line every
        ``PLAIN_INTERVAL`` seconds.
    clock:
        Monotonic seconds; tests pass a fake.
    width:
        Columns the line may take on a terminal; a longer line would wrap and break ``\\r``.
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        tty: bool = False,
        clock: Clock = time.monotonic,
        width: int | None = None,
    ) -> None:
        self.total = total
        self.width = width
        self.stream = stream
        self.tty = tty
        self.clock = clock
        self.interval = TTY_INTERVAL if tty else PLAIN_INTERVAL
        self.started = clock()
        self.ok = 0
        self.sent = 0
        """Results that were calls (not failures that never left the client)."""
        self.failed: Counter[str] = Counter()
        """Failures by cause, budget refusals aside."""
        self.over_budget = 0
        """Items not sent because they would cross ``--max-cost``: not errors, left to send."""
        self.engines: dict[tuple[str, str], Engine] = {}
        """Answers, failures and cost per platform and model."""
        self.cost = 0.0
        self.unknown = 0
        """Calls whose charge is unknown (answer lost after the send)."""
        self.unknown_cost = 0.0
        """The estimates counted for them, USD."""
        self.prompts = bytearray()
        """Per prompt (by input index): 1 while every result of it was an answer, 2 once one
        was not; 0 for prompts with no result in this run."""
        self.status: Callable[[], str] | None = None
        """A note appended to the line while it is set (``stopping: 3 in flight``)."""
        self._drawn_at: float | None = None
        self._drawn_done: int | None = None

    @property
    def done(self) -> int:
        """Results received so far, answered, failed or refused by the budget."""
        return self.ok + self.errors + self.over_budget

    @property
    def errors(self) -> int:
        """Failed results so far."""
        return self.failed.total()

    def elapsed(self) -> float:
        """Seconds since the sweep started."""
        return self.clock() - self.started

    def line(self) -> str:
        """The progress line as of now."""
        line = format_line(
            self.done, self.total, self.elapsed(), self.cost, self.errors, sent=self.sent
        )
        return line if self.status is None else f"{line} · {self.status()}"

    def add(self, result: PromptResult) -> None:
        """Count one result and redraw if the last draw is old enough."""
        engine = self.engines.setdefault(
            (result.platform or "?", str(result.request.model_name)), Engine()
        )
        if result.index >= len(self.prompts):
            self.prompts.extend(bytes(result.index + 1 - len(self.prompts)))
        self.prompts[result.index] = 1 if result.ok and self.prompts[result.index] != 2 else 2
        if result.ok:
            self.ok += 1
            engine.ok += 1
        elif isinstance(result.error, BudgetExceededError):
            self.over_budget += 1
        else:
            self.failed[failure_label(result)] += 1
            engine.failed += 1
        engine.cost += result.cost
        if result.error is None or result.error.sent:  # failures that never became a call
            self.sent += 1
        self.cost += result.cost
        if result.cost_estimate is not None:
            self.unknown += 1
            self.unknown_cost += result.cost_estimate
        self.tick()

    def tick(self) -> None:
        """Redraw if due; call it on a timer too, so ETA and elapsed move between results."""
        now = self.clock()
        if self._drawn_at is None or now - self._drawn_at >= self.interval:
            self.draw()

    def draw(self) -> None:
        """Write the line now."""
        self._drawn_at = self.clock()
        if self.stream is None:
            return
        if self.tty:
            self.stream.write(f"\r{self.line()[: self.width]}{_CLEAR_TO_EOL}")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
        self._drawn_done = self.done

    def close(self) -> None:
        """Draw the final state and end the line, so what follows starts on a fresh one."""
        if self.stream is None:
            return
        if self.tty:
            self.draw()
            self.stream.write("\n")
            self.stream.flush()
        elif self._drawn_done is not None and self._drawn_done != self.done:
            self.draw()  # a log keeps every line: add one only if the count moved

    def summary(
        self,
        *,
        skipped: int | None,
        out: str | None = None,
        interrupted: bool = False,
        unreadable: int = 0,
        first_unreadable: int | None = None,
        extra: Sequence[tuple[str, str]] = (),
    ) -> str:
        """The end-of-run report: ok, failures by cause, skipped, cost, elapsed and rate."""
        if self.over_budget:  # the cap admits a prompt's calls together: say how that ended
            complete, partial = self.prompts.count(1), self.prompts.count(2)
            total = complete + partial
            extra = [*extra, ("prompts", f"{complete} of {total} answered by every target")]
        return format_summary(
            extra=extra,
            unknown=self.unknown,
            unknown_cost=self.unknown_cost,
            sent=self.sent,
            unreadable=unreadable,
            first_unreadable=first_unreadable,
            ok=self.ok,
            failed=self.failed,
            over_budget=self.over_budget,
            engines=engine_rows(self.engines),
            skipped=skipped,
            cost=self.cost,
            elapsed=self.elapsed(),
            out=out,
            interrupted=interrupted,
        )


def format_summary(
    *,
    ok: int,
    failed: Counter[str],
    skipped: int | None,
    cost: float,
    elapsed: float,
    out: str | None = None,
    interrupted: bool = False,
    unreadable: int = 0,
    first_unreadable: int | None = None,
    sent: int | None = None,
    unknown: int = 0,
    unknown_cost: float = 0.0,
    over_budget: int = 0,
    engines: Sequence[tuple[str, str]] = (),
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """The summary block printed when a sweep ends; the rate counts ``sent`` calls.

    ``unknown`` calls had their answer lost after the send: their charge is unknown and
    ``unknown_cost`` is what was counted for them. ``over_budget`` items were refused by the
    cap, unsent (not errors). ``engines`` rows (per platform and model) make a block of their
    own at the end; ``extra`` rows go before ``results``."""
    errors = failed.total()
    rows = [("ok", str(ok)), ("failed", str(errors))]
    rows += [(f"  {label}", str(n)) for label, n in sorted(failed.items())]
    if over_budget:
        rows.append(("over budget", f"{plural(over_budget, 'item')} unsent (over --max-cost)"))
    # Skipped items are only known once the whole input was read.
    rows.append(("skipped", "unknown (interrupted)" if skipped is None else str(skipped)))
    rows.append(("cost", format_money(cost)))
    if unknown:
        estimated = format_money(unknown_cost)
        rows.append(
            ("  unknown", f"{plural(unknown, 'call')} may be charged, estimated {estimated}")
        )
    rows.append(("elapsed", f"{elapsed:.1f} s"))
    rows.append(("rate", format_rate(ok + errors if sent is None else sent, elapsed)))
    rows += extra
    if out is not None:
        rows.append(("results", out))
    if unreadable:
        # Damaged lines of the results file as it was opened: skipped, never rewritten.
        lines = "line" if unreadable == 1 else "lines"
        rows.append(
            ("unreadable", f"{unreadable} {lines} skipped (first: line {first_unreadable})")
        )
    width = max(len(name) for name, _ in rows)
    head = "sweep interrupted" if interrupted else "sweep finished"
    text = [head, *(f"  {name:<{width}}  {value}" for name, value in rows)]
    if engines:
        # A block of its own, aligned on its own: engine names do not widen the rows above.
        width = max(len(name) for name, _ in engines)
        text += ["per engine", *(f"{name:<{width}}  {value}" for name, value in engines)]
    return "\n".join(text)
