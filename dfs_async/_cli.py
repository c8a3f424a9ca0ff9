"""The ``dfs-async`` command (``sweep``, ``models``, ``emulate``): argparse, then the public API."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Any, Final

from . import (
    PLATFORMS,
    AsyncClient,
    AuthError,
    BillingError,
    BudgetExceededError,
    CredentialsError,
    DFSError,
    JsonlSink,
    Platform,
    Target,
    ValidationError,
    iter_prompts,
)
from ._inputs import PromptFileError, PromptInput, UsageError, count_prompts, read_prompts
from ._progress import Progress

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

EMULATOR_LATENCY: Final[tuple[float, float]] = (0.2, 0.8)
"""Service time of ``--emulator`` calls: short enough for a demo, long enough to overlap."""
NO_WEB_SEARCH_FIELD: Final[frozenset[Platform]] = frozenset({"perplexity"})
"""Platforms that reject the ``web_search`` field (Perplexity always searches)."""


_SWEEP_DESCRIPTION: Final = """\
Send every prompt to every --platform/--model target and append one JSON line
per result to --out as it arrives. Re-running the same command resumes: items
already in --out are skipped, so nothing is paid for twice."""

_SWEEP_EPILOG: Final = """\
example:
  dfs-async sweep prompts.txt --out results.jsonl --web-search \\
      --platform chat_gpt --model gpt-4.1-mini --platform claude --model claude-sonnet-4-0

credentials: DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (not needed with --emulator)
exit status: 0 all ok, 1 some items failed, 2 usage or credentials error, 130 interrupted"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dfs-async`` command and return its exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "sweep":
            return _Sweep(args).run()
        if args.command == "models":
            return asyncio.run(_models(args))
        return _emulate(args)
    except SystemExit as exc:  # argparse's own usage errors and --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except (UsageError, CredentialsError, ValidationError) as exc:
        print(f"dfs-async: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfs-async",
        description="Send prompts to ChatGPT, Claude, Gemini and Perplexity through "
        "DataForSEO's LLM Responses API.",
        epilog="Credentials come from DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD "
        "(not needed with --emulator).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sweep = commands.add_parser(
        "sweep",
        help="send every prompt to every target, writing one JSON line per result",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_SWEEP_DESCRIPTION,
        epilog=_SWEEP_EPILOG,
    )
    sweep.add_argument(
        "prompts",
        metavar="PROMPTS",
        help="file with one prompt per line, or JSONL of request objects "
        '({"user_prompt": ..., "platform"?: ..., "model_name"?: ..., ...}); - reads stdin',
    )
    sweep.add_argument(
        "--platform",
        action="append",
        default=[],
        choices=PLATFORMS,
        metavar="PLATFORM",
        help=f"{', '.join(PLATFORMS)}; repeat for several (paired with --model in order)",
    )
    sweep.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="MODEL",
        help="model of the --platform in the same position; one --platform may take several",
    )
    sweep.add_argument("--out", required=True, metavar="FILE", help="results file (JSONL)")
    sweep.add_argument(
        "--web-search",
        action="store_true",
        help="ask for web search (answers with citations) on chat_gpt, claude and gemini; "
        "perplexity always searches and rejects the field, so it is not sent there",
    )
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="also resend earlier failures that a re-run skips by default: invalid requests "
        "and calls that may have been charged (deadline passed, body cut off); other failures "
        "are always sent again",
    )
    sweep.add_argument(
        "--max-cost",
        type=_non_negative,
        metavar="USD",
        help="stop sending before this much would be spent; unsent items fail as over budget",
    )
    _connection_args(sweep)
    sweep.add_argument(
        "--rate-limit", type=int, metavar="N", help="calls per --rate-period (default 2000)"
    )
    sweep.add_argument(
        "--rate-period", type=float, metavar="S", help="seconds of the rate window (default 60)"
    )
    sweep.add_argument(
        "--concurrency", type=int, metavar="N", help="Live calls in flight per platform (30)"
    )
    sweep.add_argument(
        "--timeout", type=float, metavar="S", help="seconds per call once sent (default 120)"
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress line, only the summary")

    models = commands.add_parser(
        "models", help="list a platform's models", description="List a platform's models."
    )
    models.add_argument(
        "platform", metavar="PLATFORM", choices=PLATFORMS, help=", ".join(PLATFORMS)
    )
    _connection_args(models)

    emulate = commands.add_parser(
        "emulate",
        help="run the DataForSEO emulator",
        description="Serve the embedded DataForSEO emulator until Ctrl-C "
        "(login and password: emulator).",
    )
    emulate.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    emulate.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks one)")
    emulate.add_argument(
        "--latency",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="seconds of service time per Live call, uniform in [LO, HI] (default 3 7)",
    )
    emulate.add_argument("--rate-limit", type=int, metavar="N", help="answer 40202 above N calls")
    emulate.add_argument(
        "--rate-period", type=float, default=60.0, metavar="S", help="of --rate-limit (60)"
    )
    emulate.add_argument(
        "--concurrency", type=int, metavar="N", help="answer 40209 above N Live calls per platform"
    )
    emulate.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="F", help="share of faulty calls (0)"
    )
    emulate.add_argument("--seed", type=int, default=0, help="seed of all randomness (0)")
    return parser


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number of USD >= 0, got {text!r}")
    return value


def _connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="start the embedded emulator in-process and use it (no credentials needed)",
    )
    parser.add_argument("--base-url", metavar="URL", help="API root (https://api.dataforseo.com)")


async def _connect(args: argparse.Namespace, stack: AsyncExitStack) -> AsyncClient:
    """The client the arguments ask for, with the emulator started first if asked."""
    options: dict[str, Any] = {}
    for name in ("rate_limit", "rate_period", "timeout"):
        if (value := getattr(args, name, None)) is not None:
            options[name] = value
    if (concurrency := getattr(args, "concurrency", None)) is not None:
        options["live_concurrency"] = concurrency
    if args.base_url is not None:
        options["base_url"] = args.base_url
    login = password = None
    if args.emulator:
        # Imported here: the emulator is a test aid, not needed for real sweeps.
        from .testing import Emulator, EmulatorConfig

        if args.base_url is not None:
            raise UsageError("--emulator and --base-url exclude each other")
        emulator = Emulator(EmulatorConfig(latency=EMULATOR_LATENCY, seed=0))
        emu = await stack.enter_async_context(emulator)
        login, password, options["base_url"] = emu.login, emu.password, emu.base_url
        if not getattr(args, "quiet", False):
            print(f"dfs-async: using the embedded emulator at {emu.base_url}", file=sys.stderr)
    return await stack.enter_async_context(AsyncClient(login, password, **options))


# ---------------------------------------------------------------------------------------- sweep


def _targets(args: argparse.Namespace) -> list[Target]:
    """Pair ``--platform`` and ``--model`` into targets, or raise `UsageError`."""
    platforms: list[Platform] = args.platform
    models: list[str] = args.model
    if not platforms:
        if len(models) > 1:
            raise UsageError("several --model need a --platform each")
        if args.web_search:
            raise UsageError(
                "--web-search needs --platform; without it, set web_search in each JSONL request"
            )
        return []
    if len(models) == len(platforms):
        pairs = list(zip(platforms, models, strict=True))
    elif len(platforms) == 1 and models:
        pairs = [(platforms[0], m) for m in models]  # one platform, several of its models
    elif not models:
        raise UsageError(
            "give a --model for each --platform (e.g. --platform claude --model claude-sonnet-4-0)"
        )
    else:
        raise UsageError(
            f"{len(platforms)} --platform but {len(models)} --model: give one --model per "
            "--platform, in the same order"
        )
    return [
        Target(
            p, m, {"web_search": True} if args.web_search and p not in NO_WEB_SEARCH_FIELD else None
        )
        for p, m in pairs
    ]


class _Sweep:
    """One ``sweep`` run; holds its counters so that Ctrl-C can still report them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.targets = _targets(args)
        self.out = Path(args.out)
        self.progress = Progress()
        self.read = 0
        self.skipped: int | None = None

    def run(self) -> int:
        """Run to the end, or until Ctrl-C, and print the summary."""
        lines = count_prompts(self.args.prompts)
        try:
            code = asyncio.run(self._run(lines))
        except KeyboardInterrupt:
            # asyncio.run cancelled the sweep: every result that arrived is in the file.
            self.progress.close()
            print(self.progress.summary(skipped=None, out=str(self.out), interrupted=True))
            return EXIT_INTERRUPTED
        return code

    async def _run(self, lines: int | None) -> int:
        args = self.args
        async with AsyncExitStack() as stack:
            client = await _connect(args, stack)
            prompts = read_prompts(args.prompts, targeted=bool(self.targets))
            stack.push_async_callback(prompts.aclose)
            first = await anext(prompts, None)
            if isinstance(first, str) and not self.targets:
                raise UsageError("plain-text prompts need --platform and --model")
            try:
                self.out.parent.mkdir(parents=True, exist_ok=True)
                sink = stack.enter_context(JsonlSink(self.out))
            except OSError as exc:
                raise UsageError(f"cannot open {self.out}: {exc}") from None
            # Items an earlier run settled; the sink skips them silently, so this estimates
            # the work left (exact when the file holds only this sweep's items).
            known = len(sink.done) + (0 if args.retry_failed else len(sink.settled))
            per_prompt = max(1, len(self.targets))
            total = None if lines is None else max(0, lines * per_prompt - known)
            if (sink.done or sink.failed) and not args.quiet:
                print(f"dfs-async: {_resume_note(sink, args.retry_failed)}", file=sys.stderr)
            tty = sys.stderr.isatty()
            self.progress = Progress(
                total,
                stream=None if args.quiet else sys.stderr,
                tty=tty,
                width=shutil.get_terminal_size().columns - 1 if tty else None,
            )
            stream = iter_prompts(
                client,
                self._counted(first, prompts),
                targets=self.targets or None,
                model_name=None if self.targets or not args.model else args.model[0],
                sink=sink,
                retry_failed=args.retry_failed,
                max_cost=args.max_cost,
            )
            ticker = asyncio.create_task(self._tick())
            stopped_by: Exception | None = None
            try:
                async with aclosing(stream):
                    async for result in stream:
                        self.progress.add(result)
                        if isinstance(result.error, AuthError | BillingError):
                            # The account refuses every call alike: stop instead of writing a
                            # failure for each item.
                            stopped_by = result.error
                            break
            except PromptFileError as exc:
                stopped_by = exc
            finally:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            if stopped_by is not None:
                return self._stopped(stopped_by)
            self.skipped = self.read * per_prompt - self.progress.done
        self.progress.close()
        print(self.progress.summary(skipped=self.skipped, out=str(self.out)))
        if over := self.progress.failed[BudgetExceededError.__name__]:
            print(
                f"dfs-async: {_items(over, 'unsent')} over --max-cost; raise it and re-run "
                "to send them",
                file=sys.stderr,
            )
        return EXIT_FAILED if self.progress.errors else EXIT_OK

    def _stopped(self, error: Exception) -> int:
        """Report a sweep stopped early by an input or account error; exit status 2."""
        self.progress.close()
        print(f"dfs-async: error: {error}", file=sys.stderr)
        if isinstance(error, AuthError | BillingError):
            print(
                "dfs-async: stopped; once fixed, re-run to resend the "
                f"{_items(self.progress.errors, 'failed')}",
                file=sys.stderr,
            )
        print(self.progress.summary(skipped=None, out=str(self.out), interrupted=True))
        return EXIT_USAGE

    async def _counted(
        self, first: PromptInput | None, rest: AsyncIterator[PromptInput]
    ) -> AsyncIterator[PromptInput]:
        """The prompts again, counting them so that skipped items can be told at the end."""
        if first is None:
            return
        self.read += 1
        yield first
        async for prompt in rest:
            self.read += 1
            yield prompt

    async def _tick(self) -> None:
        # Keeps ETA and elapsed moving while no result arrives.
        while True:
            await asyncio.sleep(self.progress.interval)
            self.progress.tick()


def _resume_note(sink: JsonlSink, retry_failed: bool) -> str:
    note = f"resuming {sink.path}: {_items(len(sink.done), 'answered')} skipped"
    resent = len(sink.failed) - (0 if retry_failed else len(sink.settled))
    if resent:
        note += f", {_items(resent, 'failed')} sent again"
    if sink.settled and not retry_failed:
        kept = _items(len(sink.settled), "failed")
        note += f", and {kept} kept (invalid or maybe charged; --retry-failed resends them)"
    return note


def _items(n: int, adjective: str) -> str:
    return f"{n} {adjective} item" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------- models, emulate


async def _models(args: argparse.Namespace) -> int:
    async with AsyncExitStack() as stack:
        client = await _connect(args, stack)
        try:
            models = await client.models(args.platform)
        except DFSError as exc:
            print(f"dfs-async: {exc}", file=sys.stderr)
            return EXIT_FAILED
    rows = [("model", "web search", "task_post", "reasoning")]
    for m in models:
        reasoning = "?" if m.reasoning is None else _yes(m.reasoning)
        rows.append(
            (m.model_name, _yes(m.web_search_supported), _yes(m.task_post_supported), reasoning)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _emulate(args: argparse.Namespace) -> int:
    from .testing import EmulatorConfig, serve

    options: dict[str, Any] = {}
    if args.latency is not None:
        options["latency"] = (args.latency[0], args.latency[1])
    try:
        config = EmulatorConfig(
            rate_limit=args.rate_limit,
            rate_period=args.rate_period,
            live_concurrency=args.concurrency,
            fault_rate=args.fault_rate,
            seed=args.seed,
            **options,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    serve(config, host=args.host, port=args.port)
    return EXIT_OK
