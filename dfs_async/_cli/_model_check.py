"""Model names checked against each platform's Models list before anything is paid for.

One free call per platform (the client remembers the list, so every request of the sweep is
checked against it too); an unknown name is a usage error with "did you mean" suggestions.
A list that cannot be read is no reason to stop: the paid calls have their own retries and
errors, so the check is skipped with the reason, within `CHECK_SECONDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Final

from .. import AsyncClient, AuthError, DFSError, Target
from .._http._client import LOGIN_ENV, PASSWORD_ENV
from .._wire._validation import unknown_model
from ._common import WATCH_INTERVAL, connect, unreachable
from ._usage import UsageError

CHECK_SECONDS: Final = 10.0
"""How long the check may take: each list is one GET, resent on a gateway's page or a lost
connection with the client's backoff (half a minute of it; a server that hangs, minutes)."""
REASON_CHARS: Final = 200
"""The longest reason printed (an error may quote an HTML page)."""


async def check_models(client: AsyncClient, targets: Sequence[Target]) -> None:
    """Refuse a target whose model its platform does not list (`UsageError`), before a call."""
    for platform in sorted({t.platform for t in targets}):
        listed = {m.model_name for m in await client.models(platform)}
        for target in targets:
            if target.platform == platform and target.model_name not in listed:
                error = unknown_model(platform, target.model_name, listed)
                raise UsageError(f"--model {target.model_name}: " + str(error).split(": ", 1)[1])


def can_connect(args: argparse.Namespace) -> bool:
    """Whether a preview may ask the API (the emulator, or credentials in the environment)."""
    return bool(args.emulator or (os.environ.get(LOGIN_ENV) and os.environ.get(PASSWORD_ENV)))


async def models_unchecked(
    client: AsyncClient, targets: Sequence[Target], *, auth_stops: bool = False
) -> str | None:
    """Check the targets' models (`UsageError` for an unknown one); why they could not be, or
    None once every name was found. With ``auth_stops``, refused credentials are a
    `UsageError` too: the account refuses every call alike, paid ones included."""
    check = asyncio.create_task(check_models(client, targets))
    try:
        return await _outcome(client, check, auth_stops)
    finally:
        if not check.done():  # given up: a free GET, nothing to wait for
            check.cancel()
            await asyncio.wait({check})


async def _outcome(client: AsyncClient, check: asyncio.Task[None], auth_stops: bool) -> str | None:
    """The check's result, or why it was given up: no answer in time, or no server at all."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CHECK_SECONDS
    while not check.done():
        if unreachable(client):  # the sweep's own watch then says why, and stops it
            return "the server cannot be reached"
        if loop.time() >= deadline:
            return f"no Models list within {CHECK_SECONDS:g} s"
        await asyncio.wait({check}, timeout=WATCH_INTERVAL)
    try:
        check.result()  # an unknown model's UsageError goes on up
    except DFSError as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the server answered
        if auth_stops and isinstance(exc, AuthError):
            raise UsageError(reason) from None
        return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"
    return None


async def check_models_for_preview(args: argparse.Namespace, targets: Sequence[Target]) -> str:
    """Check the targets' models when the API can be asked; the line a preview prints."""
    if not targets:
        return "models: each request names its own; checked when it is sent"
    if not can_connect(args):
        return f"models: not checked (no credentials: set {LOGIN_ENV} and {PASSWORD_ENV})"
    async with AsyncExitStack() as stack:
        client = await connect(args, stack)
        if (why := await models_unchecked(client, targets)) is not None:
            return f"models: not checked ({why})"
    return "models: " + ", ".join(f"{t.platform}/{t.model_name}" for t in targets) + " listed"
