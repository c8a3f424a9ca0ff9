"""How the examples get a client: the real API when credentials are set, else the emulator."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import dfs_async
from dfs_async.testing import Emulator, EmulatorConfig


def have_credentials() -> bool:
    """Whether DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD are both set."""
    return bool(os.environ.get("DATAFORSEO_LOGIN") and os.environ.get("DATAFORSEO_PASSWORD"))


async def open_client(
    stack: AsyncExitStack, *, emulator: bool | None = None, **options: object
) -> dfs_async.AsyncClient:
    """An entered client, closed with ``stack``; ``emulator`` None: only without credentials."""
    if emulator is None:
        emulator = not have_credentials()
    if not emulator:
        client = dfs_async.AsyncClient(**options)  # type: ignore[arg-type]
    else:
        print("DATAFORSEO_LOGIN / DATAFORSEO_PASSWORD not set: using the embedded emulator")
        # Standard tasks finish in seconds here (the real API takes minutes), and tasks_ready
        # allows 20 calls per 3 s instead of per minute; the client is told the same.
        config = EmulatorConfig(
            latency=(0.2, 0.8), standard_delay=(1.0, 3.0), tasks_ready_period=3.0
        )
        options = {"tasks_ready_period": 3.0, **options}
        emu = await stack.enter_async_context(Emulator(config))
        client = dfs_async.AsyncClient(
            emu.login,
            emu.password,
            base_url=emu.base_url,
            **options,  # type: ignore[arg-type]
        )
    return await stack.enter_async_context(client)
