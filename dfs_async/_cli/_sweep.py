"""``dfs-async sweep``: targets from the arguments, the sweep with its progress and summary."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Final

from .. import (
    AsyncClient,
    AuthError,
    BillingError,
    GovernorUnavailableError,
    JsonlSink,
    PromptResult,
    ResultsFileError,
    SweepControl,
    iter_prompts,
)
from .._http._standard import STANDARD_PLATFORMS
from .._sweep._items import PromptItem
from ._common import WATCH_INTERVAL, connect, unreachable
from ._inputs import (
    PromptFileError,
    PromptLine,
    check_prompts,
    looks_like_request,
    prompt_format,
    read_prompts,
)
from ._model_check import models_unchecked
from ._preview import preview
from ._progress import Progress, format_money, plural
from ._resume import FailedInFile, failed_in_file, resume_note
from ._targets import targets
from ._usage import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

STOP_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Signals that stop a sweep gracefully, like Ctrl-C (SIGHUP and SIGTERM do not exist on
Windows)."""


class Unreachable(UsageError):
    """No request of the sweep could reach the server (DNS, connection refused, TLS)."""


def run_sweep(args: argparse.Namespace) -> int:
    """``dfs-async sweep``: run it, or preview it (``--dry-run``, ``--estimate``)."""
    return Sweep(args).run()


class Sweep:
    """One ``sweep`` run; holds its counters so that Ctrl-C can still report them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.targets = targets(args)
        if args.out is None and not (args.dry_run or args.estimate):
            raise UsageError("give the results file: -o/--out FILE (needed unless --dry-run)")
        self.out = Path(args.out) if args.out is not None else None
        self.progress = Progress()
        self.read = 0
        self.skipped: int | None = None
        self.sink: JsonlSink | None = None
        self.stopped_by: Exception | None = None
        self.input_error: PromptFileError | None = None
        self.control = SweepControl()
        self.interrupts = 0
        """Stop signals: the first stops gracefully, the second abandons calls in flight."""
        self.signal: int = signal.SIGINT
        """The first stop signal; the exit status is 128 + its number."""
        self.failures: FailedInFile | None = None
        """Failures of this input × targets in the results file, once the sweep ended."""
        self.format = prompt_format(args.prompts, args.format)
        prompts = args.prompts
        out = self.out
        same = out is not None and prompts != "-" and out.exists() and os.path.exists(prompts)
        if same and os.path.samefile(prompts, args.out):
            raise UsageError(
                f"--out {args.out} is the prompts file; give another file for the results"
            )

    def run(self) -> int:
        """Run to the end, or until Ctrl-C, and print the summary."""
        # The whole file is checked before anything is sent (stdin is checked as it is read).
        args = self.args
        lines = check_prompts(
            args.prompts, self.format, targeted=bool(self.targets), column=args.prompt_column
        )
        if args.dry_run or args.estimate:
            return preview(args, self.targets, self.format)
        try:
            code = asyncio.run(self._run(lines))
        except KeyboardInterrupt:
            # asyncio.run cancelled the sweep: every result that arrived is in the file.
            self.progress.close()
            print(self._summary(skipped=None, interrupted=True))
            return EXIT_INTERRUPTED
        return code

    async def _run(self, lines: int | None) -> int:
        async with AsyncExitStack() as stack:
            client = await connect(self.args, stack)  # checks credentials; sends nothing
            first, prompts = await self._first(stack)
            sink = self._open_sink(stack)
            if first is not None and self.targets:
                await self._check_models(client)
            self._start_progress(lines, sink)
            await self._drive(client, self._stream(client, first, prompts, sink))
            if self.interrupts:
                self.progress.status = None
                self.progress.close()
                print(self._summary(skipped=None, interrupted=True))
                return 128 + self.signal  # 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP
            if self.stopped_by is None:
                self.stopped_by = self.input_error
            if self.stopped_by is not None:
                return self._stopped(self.stopped_by)
            self.skipped = self.read * self._per_prompt() - self.progress.done
        return await self._finish(sink)

    async def _first(
        self, stack: AsyncExitStack
    ) -> tuple[PromptLine | None, AsyncGenerator[PromptLine, None]]:
        """Open the prompts and read the first, refusing input that would pay for nothing."""
        args = self.args
        prompts = read_prompts(
            args.prompts, self.format, targeted=bool(self.targets), column=args.prompt_column
        )
        stack.push_async_callback(prompts.aclose)
        first = await anext(prompts, None)
        name = "stdin" if args.prompts == "-" else args.prompts
        if args.format is None and isinstance(first, str) and looks_like_request(first):
            # JSONL with another extension, or piped: sending each line as a text prompt
            # would pay for raw JSON. Only a format given on purpose does that.
            raise UsageError(
                f"the first prompt of {name} is a JSON request object, but {name} is read "
                "as text: pass --format jsonl to read requests (--format text sends the "
                "lines as they are)"
            )
        text = first.prompt if isinstance(first, PromptItem) else first  # a CSV row's prompt
        if isinstance(text, str) and not self.targets:
            raise UsageError(
                "plain-text prompts need a target: --model NAME (gpt-*, o1.., claude-*, "
                "gemini-*, sonar* tell their platform), or --platform PLATFORM --model NAME"
            )
        if first is None:
            print(f"dfs-async: warning: {name} holds no prompt; nothing to send", file=sys.stderr)
        return first, prompts

    async def _check_models(self, client: AsyncClient) -> None:
        """Refuse an unknown model before the first paid call (`UsageError`, exit status 2).

        After every local check (input, results file): bad input is refused before any call,
        even a free one. A Models list that cannot be read (server down, a gateway's page)
        only warns: the sweep's own calls have their retries and errors, and a free helper
        endpoint must not stop paid work. Refused credentials stop here (exit status 2):
        every call would be refused alike.
        """
        if (why := await models_unchecked(client, self.targets, auth_stops=True)) is not None:
            print(f"dfs-async: warning: model names not checked: {why}", file=sys.stderr)

    def _open_sink(self, stack: AsyncExitStack) -> JsonlSink:
        """The results file, before anything is sent: one that cannot be used stops here."""
        out = self.out
        assert out is not None  # checked in __init__: only a preview goes without
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the folder of --out {out}: {exc}") from None
        sink = self.sink = stack.enter_context(JsonlSink(out))
        if (sink.done or sink.failed or sink.unreadable_lines) and not self.args.quiet:
            note = resume_note(sink, self.args.retry_failed, self.args.max_cost)
            print(f"dfs-async: {note}", file=sys.stderr)
        return sink

    def _per_prompt(self) -> int:
        samples: int = self.args.samples
        return max(1, len(self.targets)) * samples

    def _start_progress(self, lines: int | None, sink: JsonlSink) -> None:
        # Items an earlier run settled; the sink skips them silently, so this estimates
        # the work left (exact when the file holds only this sweep's items).
        known = len(sink.done) + (0 if self.args.retry_failed else len(sink.settled))
        total = None if lines is None else max(0, lines * self._per_prompt() - known)
        tty = sys.stderr.isatty()
        self.progress = Progress(
            total,
            stream=None if self.args.quiet else sys.stderr,
            tty=tty,
            width=shutil.get_terminal_size().columns - 1 if tty else None,
        )

    def _stream(
        self,
        client: AsyncClient,
        first: PromptLine | None,
        prompts: AsyncIterator[PromptLine],
        sink: JsonlSink,
    ) -> AsyncGenerator[PromptResult, None]:
        args = self.args
        return iter_prompts(
            client,
            self._counted(first, prompts),
            targets=self.targets or None,
            model_name=None if self.targets or not args.model else args.model[0],
            sink=sink,
            retry_failed=args.retry_failed,
            max_cost=args.max_cost,
            samples=args.samples,
            control=self.control,
            method=args.method,
            **({} if args.resolve_after is None else {"resolve_after": args.resolve_after}),
        )

    async def _drive(self, client: AsyncClient, stream: AsyncGenerator[PromptResult, None]) -> None:
        """Consume the stream with its helpers: the ticker, the watcher and the signals."""
        ticker = asyncio.create_task(self._tick())
        consumer = asyncio.create_task(self._consume(stream))
        watcher = asyncio.create_task(self._watch(client, consumer))
        interrupts = self._catch_interrupts(consumer)
        try:
            await consumer
        except asyncio.CancelledError:
            # The watcher stopped a sweep that cannot reach the server, or a second signal
            # abandoned the calls in flight; anything else goes on up.
            task = asyncio.current_task()
            ours = self.stopped_by is not None or self.interrupts >= 2
            if not ours or (task is not None and task.cancelling()):
                raise
        finally:
            interrupts()
            for helper in (ticker, watcher):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper

    async def _finish(self, sink: JsonlSink) -> int:
        """The summary of a sweep that ran to its end, and its exit status."""
        self.failures = await failed_in_file(self.args, self.targets, self.format, sink)
        self.progress.close()
        print(self._summary(skipped=self.skipped))
        if over := self.progress.over_budget:
            print(
                f"dfs-async: {plural(over, 'unsent item')} over --max-cost; raise it and re-run "
                "to send them",
                file=sys.stderr,
            )
        # The file is the sweep's result: while it holds failures of this input, it is not done.
        failed = self.progress.errors if self.failures is None else self.failures.total
        return EXIT_FAILED if failed or self.progress.over_budget else EXIT_OK

    def _catch_interrupts(self, consumer: asyncio.Task[None]) -> Callable[[], None]:
        """First Ctrl-C, SIGTERM or SIGHUP: stop gracefully; a second: abandon. Returns the undo.

        ``docker stop``, Kubernetes and systemd stop a process with SIGTERM (a closed terminal
        sends SIGHUP): killed outright, every call on the wire would be paid for and lost.
        """
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            self.interrupts += 1
            if self.interrupts > 1:
                consumer.cancel()  # abandons the calls in flight; counted in the summary
                return
            self.signal = signum
            self._stopping(signum)

        handled: list[int] = []
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # no signals here (Windows)
                continue
            handled.append(signum)

        def undo() -> None:
            for signum in handled:
                loop.remove_signal_handler(signum)

        return undo

    def _stopping(self, signum: int) -> None:
        """Say that the sweep stops, and how to abandon what is in flight."""
        control = self.control
        control.stop()
        again = "Ctrl-C again" if signum == signal.SIGINT else "a second signal"
        self.progress.status = lambda: (
            f"stopping: {control.in_flight} in flight ({again} abandons them)"
        )
        if not self.progress.tty and self.progress.stream is not None:
            print(
                f"dfs-async: stopping: nothing more is sent; waiting for the "
                f"{plural(control.in_flight, 'call')} in flight to be answered and recorded "
                f"({again} abandons them)",
                file=sys.stderr,
            )
        self.progress.draw()

    async def _consume(self, stream: AsyncGenerator[PromptResult, None]) -> None:
        try:
            async with aclosing(stream):
                async for result in stream:
                    self.progress.add(result)
                    if isinstance(
                        result.error, AuthError | BillingError | GovernorUnavailableError
                    ):
                        # The account (or the shared governor's Redis) refuses every call
                        # alike: stop instead of writing a failure for each item.
                        self.stopped_by = result.error
                        return
        except (PromptFileError, ResultsFileError) as exc:
            # A bad prompts line, or results that can no longer be written (disk full):
            # every result recorded so far stays in the file.
            self.stopped_by = exc

    async def _watch(self, client: AsyncClient, consumer: asyncio.Task[None]) -> None:
        """Stop the sweep once it is clear that the server cannot be reached at all."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if unreachable(client):
                stats = client.stats
                self.stopped_by = Unreachable(
                    f"{stats.last_unreached}; none of the first {stats.unreached} attempts "
                    "reached the server: check --base-url and the network"
                )
                consumer.cancel()
                return

    def _summary(self, *, skipped: int | None, interrupted: bool = False) -> str:
        sink = self.sink
        return self.progress.summary(
            skipped=skipped,
            out=str(self.out),
            interrupted=interrupted,
            unreadable=sink.unreadable_lines if sink else 0,
            first_unreadable=sink.first_unreadable_line if sink else None,
            extra=self._extra_rows(),
        )

    def _extra_rows(self) -> list[tuple[str, str]]:
        sink = self.sink
        control = self.control
        extra: list[tuple[str, str]] = []
        if control.duplicates:
            extra.append(("duplicates", f"{control.duplicates} skipped (identical items)"))
        if self.args.max_cost is not None and sink is not None:
            spent, cap = format_money(control.spent), format_money(self.args.max_cost)
            extra.append(("spent", f"{spent} of --max-cost {cap} (the whole results file)"))
        if sink is not None and sink.unrecorded:
            lost = (
                f"{plural(sink.unrecorded, 'paid answer')} ({format_money(sink.unrecorded_cost)})"
            )
            extra.append(
                ("not recorded", f"{lost} lost: the results file could not be written; "
                 "a re-run pays for them again")
            )  # fmt: skip
        if control.abandoned:
            extra.append(
                (
                    "abandoned",
                    f"{plural(control.abandoned, 'call')} in flight; DataForSEO may bill "
                    "them and a re-run may pay for them again",
                )
            )
        if self.failures is not None and self.failures.total:
            text = self.failures.text(self.args.retry_failed, self.progress.over_budget)
            extra.append(("failed in file", text))
        if control.posted:
            tasks = plural(control.posted, "Standard task")
            extra.append(("posted", f"{tasks} not collected yet; a re-run collects them"))
        if self.args.method == "standard":
            live = sorted({t.platform for t in self.targets} - set(STANDARD_PLATFORMS))
            note = "standard"
            if live:
                note += f" ({', '.join(live)} on Live: no Standard method)"
            extra.append(("method", note))
        return extra

    def _stopped(self, error: Exception) -> int:
        """Report a sweep stopped early by an input or account error; exit status 2."""
        self.progress.close()
        print(f"dfs-async: error: {error}", file=sys.stderr)
        if isinstance(error, AuthError | BillingError | GovernorUnavailableError | Unreachable):
            failed = self.progress.errors
            resend = f" to resend the {plural(failed, 'failed item')}" if failed else ""
            print(f"dfs-async: stopped; once fixed, re-run{resend}", file=sys.stderr)
        print(self._summary(skipped=None, interrupted=True))
        return EXIT_USAGE

    async def _counted(
        self, first: PromptLine | None, rest: AsyncIterator[PromptLine]
    ) -> AsyncIterator[PromptLine]:
        """The prompts again, counting them so that skipped items can be told at the end.

        A bad line (only possible on stdin or a pipe: a file is checked before the sweep)
        ends the input there: the items already sent finish and are recorded, then the
        sweep stops with the error.
        """
        if first is None:
            return
        self.read += 1
        yield first
        try:
            async for prompt in rest:
                self.read += 1
                yield prompt
        except PromptFileError as exc:
            self.input_error = exc

    async def _tick(self) -> None:
        # Keeps ETA and elapsed moving while no result arrives.
        while True:
            await asyncio.sleep(self.progress.interval)
            self.progress.tick()
