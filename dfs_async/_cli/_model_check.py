"""Model names checked against each platform's Models list before anything is paid for.

One free call per platform (the client remembers the list, so every request of the sweep is
checked against it too); an unknown name is a usage error with "did you mean" suggestions.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack

from .. import AsyncClient, DFSError, Target
from .._http._client import LOGIN_ENV, PASSWORD_ENV
from .._wire._validation import unknown_model
from ._common import connect
from ._usage import UsageError


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


async def check_models_for_preview(args: argparse.Namespace, targets: Sequence[Target]) -> str:
    """Check the targets' models when the API can be asked; the line a preview prints."""
    if not targets:
        return "models: each request names its own; checked when it is sent"
    if not can_connect(args):
        return f"models: not checked (no credentials: set {LOGIN_ENV} and {PASSWORD_ENV})"
    async with AsyncExitStack() as stack:
        client = await connect(args, stack)
        try:
            await check_models(client, targets)
        except DFSError as exc:
            return f"models: not checked ({exc})"
    return "models: " + ", ".join(f"{t.platform}/{t.model_name}" for t in targets) + " listed"
