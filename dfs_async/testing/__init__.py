"""dfs_async.testing: an in-process (or subprocess) emulator of DataForSEO's LLM Responses API.

It listens on a loopback port, answers like the real API (envelopes, task errors, limits,
faults) and records exactly what it saw, so tests can assert on the server's side::

    async with Emulator(EmulatorConfig(latency=(0.0, 0.0))) as emu:
        ...  # point a client at emu.base_url with emu.login / emu.password
        assert emu.record.max_in_flight["chat_gpt"] <= 30
"""

from ._config import CallInfo, EmulatorConfig, Fault
from ._emulator import Emulator, serve
from ._envelope import task_key
from ._process import EmulatorProcess
from ._record import CallRecord, ServerRecord
from ._redis_server import RedisServer, find_redis_server
from ._standard_record import PostRecord, StandardRecord

__all__ = [
    "CallInfo",
    "CallRecord",
    "Emulator",
    "EmulatorConfig",
    "EmulatorProcess",
    "Fault",
    "PostRecord",
    "RedisServer",
    "ServerRecord",
    "StandardRecord",
    "find_redis_server",
    "serve",
    "task_key",
]
