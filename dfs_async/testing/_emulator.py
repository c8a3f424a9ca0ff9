"""The emulator's lifecycle: bind a loopback port, serve, shut down; and the blocking `serve`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shlex
import signal
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from .._http._receiver import serve_runner
from .._http._transport import is_loopback_host
from ._app import EmulatorApp
from ._config import EmulatorConfig
from ._record import ServerRecord

_BACKLOG = 2048
"""Pending connections the socket queues: a client opening hundreds at once must not stall."""


def check_loopback(host: str) -> None:
    """Raise `ValueError` unless ``host`` is a loopback address (127.0.0.0/8, ::1, localhost)."""
    if not is_loopback_host(host.strip("[]")):
        raise ValueError(
            f"the emulator only binds loopback addresses (127.0.0.0/8, ::1, localhost), not "
            f"{host!r}: it accepts a well-known password and must not be reachable from elsewhere"
        )


class Emulator:
    """DataForSEO's LLM Responses API, impersonated on a loopback port.

    Parameters
    ----------
    config:
        How the emulated account behaves; `EmulatorConfig()` by default.
    host, port:
        Where to listen; a loopback address only. Port 0 picks a free port.

    Use it as ``async with Emulator(config) as emu:``, point the client at ``emu.base_url``
    with ``emu.login`` / ``emu.password``, and assert on ``emu.record``.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        check_loopback(host)
        self.config = config if config is not None else EmulatorConfig()
        self.host = host
        self.record = ServerRecord()
        """What the server saw."""
        self._requested_port = port
        self._app = EmulatorApp(self.config, self.record)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._port: int | None = None

    @property
    def login(self) -> str:
        """The login the emulator accepts."""
        return self.config.login

    @property
    def password(self) -> str:
        """The password the emulator accepts."""
        return self.config.password

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, once started."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not running; use `async with Emulator(...)`")
        return self._base_url

    @property
    def port(self) -> int:
        """The bound port, once started."""
        if self._port is None:
            raise RuntimeError("the emulator is not running; use `async with Emulator(...)`")
        return self._port

    @property
    def balance(self) -> float:
        """The account's balance after every charge so far."""
        return self.config.balance - self._app.endpoints.spent

    async def start(self) -> None:
        """Bind the port and start serving."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        # handler_cancellation=False (aiohttp's default, made explicit): a call whose client
        # hung up keeps running, and keeps its Live slot, until it ends, as on the real API.
        runner = web.AppRunner(
            self._app.application(),
            handler_cancellation=False,
            access_log=None,
            shutdown_timeout=1.0,
        )
        self._base_url, self._port = await serve_runner(
            runner, self.host, self._requested_port, backlog=_BACKLOG
        )
        self._runner = runner

    async def close(self) -> None:
        """Stop serving; calls still held (latency, hangs) are cut short. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._app.cancel_in_flight()
        await self._app.standard.aclose()
        await runner.cleanup()
        self._base_url = self._port = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        where = self._base_url or "not running"
        return f"Emulator({where}, calls={len(self.record.calls)})"


def serve(config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the emulator until Ctrl-C or SIGTERM, after printing where it listens."""
    check_loopback(host)
    config = config if config is not None else EmulatorConfig()
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=_loop_factory()) as r:
        r.run(_serve(config, host, port))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # uvloop (the bench extra), when installed, serves the same calls with less CPU; the
    # emulator behaves the same on either loop.
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _serve(config: EmulatorConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' loop
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Emulator(config, host=host, port=port) as emulator:
        # A full garbage collection scans every object the imports made (~40k, ~45 ms on a
        # quiet 2-core machine, several times that under load); meanwhile no arrival is
        # stamped, and the calls sent during it are recorded together, bunched as no real
        # server's edge would record them. Frozen, those objects are never scanned again.
        gc.collect()
        gc.freeze()
        exports = (
            ("DATAFORSEO_LOGIN", emulator.login),
            ("DATAFORSEO_PASSWORD", emulator.password),
            ("DATAFORSEO_BASE_URL", emulator.base_url),
        )
        print(
            f"dfs-async emulator listening on {emulator.base_url} "
            f"(login {emulator.login} / password {emulator.password})\n"
            "# point a shell at it (AsyncClient() and dfs-async read these):\n"
            + "\n".join(f"export {name}={shlex.quote(value)}" for name, value in exports),
            flush=True,
        )
        await stop.wait()
