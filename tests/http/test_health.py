"""A web backend's view of the governor: a bounded wait for Redis and a readiness check."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dfs_async import GovernorUnavailableError
from dfs_async.testing import Emulator, EmulatorConfig, RedisServer

from .._fakes import client_for

pytestmark = pytest.mark.anyio

ASK: dict[str, Any] = {"user_prompt": "q", "model_name": "claude-sonnet-4-0"}


async def test_an_unreachable_redis_fails_fast_and_sends_nothing() -> None:
    absent = RedisServer()  # a free port with nothing listening
    loop = asyncio.get_running_loop()
    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        started = loop.time()
        async with client_for(emu, redis_url=absent.url, redis_wait=0.5) as client:
            entered = loop.time() - started
            with pytest.raises(GovernorUnavailableError) as info:
                await client.check_health()
            assert not info.value.sent
            asked = loop.time()
            with pytest.raises(GovernorUnavailableError):
                await client.live("claude", **ASK)
            waited = loop.time() - asked
        assert emu.record.calls == []
    assert entered < 1.5  # the warm-up is bounded: the app starts, its probe says not ready
    assert waited < 3.0  # redis_wait, not the default 30 s
