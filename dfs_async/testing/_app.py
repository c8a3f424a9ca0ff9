"""The aiohttp.web handler that impersonates DataForSEO, and the account state it keeps.

One catch-all route and a dict lookup keep the per-call overhead small: benchmarks push
thousands of calls a second through one core. Every call that reaches the handler is recorded
exactly once, in a ``finally``, whatever happens to it.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections import deque
from time import monotonic
from typing import Any, Final

from aiohttp import web

from .._wire._requests import LiveRequest
from . import _envelope as env
from ._call import Call, Normal
from ._config import EmulatorConfig, Fault
from ._endpoints import Endpoints, Route, decode_task, parse_body
from ._faults import choose_fault
from ._record import CallRecord, ServerRecord
from ._standard import StandardDesk

_JSON: Final = "application/json"


class EmulatorApp:
    """The handlers and the emulated account's state: rate window, attempts, balance."""

    def __init__(self, config: EmulatorConfig, record: ServerRecord) -> None:
        self.config = config
        self.record = record
        self.endpoints = Endpoints(config, record)
        self.standard = StandardDesk(config, record, self.endpoints)
        credentials = f"{config.login}:{config.password}".encode()
        self._auth = "Basic " + base64.b64encode(credentials).decode()
        self._window: deque[float] = deque()
        self._attempts: dict[str, int] = {}
        self._generation = record.generation
        self._tasks: set[asyncio.Task[Any]] = set()

    def application(self) -> web.Application:
        """A fresh aiohttp application serving the API and the ``/_emulator`` controls."""
        app = web.Application()
        app.router.add_get("/_emulator/record", self._get_record)
        app.router.add_post("/_emulator/reset", self._post_reset)
        for path in [*self.endpoints.routes, *self.standard.routes]:  # dict lookup, fast
            app.router.add_route("*", path, self._handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)  # anything else: 404, recorded
        return app

    def cancel_in_flight(self) -> None:
        """Cancel every held Live call (latency or hang), so that shutdown is quick."""
        for task in list(self._tasks):
            task.cancel()

    # -- the API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = monotonic()
        record = self.record
        generation = record.generation
        if generation != self._generation:
            # The record was reset: a new run starts with no rate history and first attempts.
            self._generation = generation
            self._window.clear()
            self._attempts.clear()
        record._arrive(now)
        over = self._over_rate(now)
        call = Call(request.path, request.method, now)
        try:
            return await self._dispatch(request, call, over)
        finally:
            record._add(
                CallRecord(
                    path=call.path,
                    platform=call.platform,
                    arrived=now,
                    finished=monotonic(),
                    status_code=call.status_code,
                    http_status=call.http_status,
                    fault=call.fault.value if call.fault is not None else None,
                    charged=call.charged,
                    key=call.key,
                    tag=call.tag,
                    service_time=call.service_time,
                    attempt=call.attempt,
                    admitted=call.admitted,
                    method=call.method,
                ),
                generation,
            )

    def _over_rate(self, now: float) -> bool:
        """Whether ``rate_limit`` calls already arrived in the last ``rate_period`` seconds."""
        limit = self.config.rate_limit
        if limit is None:
            return False
        window = self._window
        edge = now - self.config.rate_period
        while window and window[0] <= edge:
            window.popleft()
        over = len(window) >= limit
        window.append(now)  # every arrival counts, rejected ones too, as in max_calls_in_window
        return over

    async def _dispatch(self, request: web.Request, call: Call, over: bool) -> web.StreamResponse:
        route = self.endpoints.routes.get(call.path) or self.standard.routes.get(call.path)
        if route is None and (got := self.standard.match(call.path)) is not None:
            route = got[0]
        call.key = route.key if route is not None else env.raw_key(call.path.encode())
        if request.headers.get("Authorization") != self._auth and not self._authorised(request):
            return self.error(call, 40100, http_status=401)
        if route is None:
            return self.error(call, 40400, http_status=404)
        call.platform = route.platform
        if call.method != route.method:
            return self.error(call, 40402, http_status=405)
        if route.kind == "live":
            return await self._live(request, call, route, over)
        if route.kind in ("task_post", "tasks_ready", "task_get"):
            return await self.standard.handle(self, request, call, route, over)
        call.attempt = self.count_attempt(call.key)
        if over:
            return self.error(call, 40202)
        fault = call.fault = self.fault_for(call, route, None)
        if fault is Fault.HANG:
            await self.hold(call, self.config.hang_seconds)
        elif fault in (Fault.RATE_LIMIT, Fault.CONCURRENCY):
            return self.error(call, 40202 if fault is Fault.RATE_LIMIT else 40209)
        endpoints = self.endpoints
        answer = endpoints.models if route.kind == "models" else endpoints.user_data
        return self.reply(request, call, route, None, fault, lambda: answer(route, call.arrived))

    async def _live(
        self, request: web.Request, call: Call, route: Route, over: bool
    ) -> web.StreamResponse:
        platform = route.platform
        assert platform is not None
        body = await request.read()
        task, problem = parse_body(body)
        call.key = env.task_key(task) if task is not None else env.raw_key(body)
        call.attempt = self.count_attempt(call.key)
        if over:
            return self.error(call, 40202)
        if task is None:
            return self.error(call, problem)
        tag = task.get("tag")
        call.tag = tag if isinstance(tag, str) else None
        live, model, error = decode_task(platform, task)
        fault = call.fault = self.fault_for(call, route, live)
        if fault in (Fault.RATE_LIMIT, Fault.CONCURRENCY):
            return self.error(call, 40202 if fault is Fault.RATE_LIMIT else 40209)
        endpoints = self.endpoints
        if error is not None and fault is None:
            return self._respond(call, *endpoints.task_error(route, call.arrived, task, *error))
        limit = self.endpoints.slots[platform]
        if limit is not None and self.record.in_flight[platform] >= limit:
            return self.error(call, 40209)

        token = self.record._admit(platform, monotonic())
        call.admitted = True
        current = asyncio.current_task()
        assert current is not None  # aiohttp runs each request in a task
        self._tasks.add(current)
        try:
            if fault is Fault.HANG:
                await self.hold(call, self.config.hang_seconds)
            else:
                lo, hi = self.endpoints.latency[platform]
                delay = lo if lo == hi else self._rng(call).uniform(lo, hi)
                if delay > 0:  # at zero latency, not even a trip through the event loop
                    await self.hold(call, delay)
        finally:
            self.record._release(token)
            self._tasks.discard(current)

        def normal() -> tuple[bytes, int, float]:
            if live is None or model is None or error is not None:
                # A fault that mangles the answer struck a task that was invalid anyway.
                code, message = error or (50000, None)
                return endpoints.task_error(route, call.arrived, task, code, message)
            return endpoints.success(
                route, call.key, call.arrived, task, live, model, repeat=self._repeat(call)
            )

        if fault is Fault.CUT_OFF:
            return await self._cut_off(request, call, normal)
        return self.reply(request, call, route, task, fault, normal)

    async def _cut_off(
        self, request: web.Request, call: Call, normal: Normal
    ) -> web.StreamResponse:
        """Announce the whole answer, send half of it, and drop the connection."""
        body, _, charge = normal()
        self._respond(call, b"", 0, charge)  # the work was done and paid for
        response = web.StreamResponse(headers={"Content-Type": _JSON})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        if request.transport is not None:
            request.transport.close()
        return response

    # -- helpers ---------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        # The fast path compared the exact header; this one forgives case and spacing.
        scheme, _, encoded = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("latin-1")
        except ValueError:  # binascii.Error is a ValueError
            return False
        return decoded == f"{self.config.login}:{self.config.password}"

    def _repeat(self, call: Call) -> int:
        """How many times this task arrived before, when repeats are to vary (else 0)."""
        return call.attempt - 1 if self.config.vary_repeats else 0

    def count_attempt(self, key: str) -> int:
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        return attempt

    def _rng(self, call: Call) -> random.Random:
        """The call's own random stream: a function of seed, key and attempt, not of timing."""
        if call.rng is None:
            salt = int(call.key[16:32], 16) ^ (call.attempt << 64)
            call.rng = random.Random(salt ^ (self.config.seed << 72))
        return call.rng

    def fault_for(self, call: Call, route: Route, live: LiveRequest | None) -> Fault | None:
        return choose_fault(
            self.config,
            route.platform,
            call.path,
            live,
            call.key,
            call.attempt,
            lambda: self._rng(call),
        )

    async def hold(self, call: Call, seconds: float) -> None:
        call.service_time = seconds
        await asyncio.sleep(seconds)

    def _respond(
        self, call: Call, body: bytes, code: int, charge: float, http_status: int = 200
    ) -> web.Response:
        call.status_code = code
        call.http_status = http_status
        if charge:
            call.charged = charge
            self.endpoints.spent += charge
        return web.Response(body=body, status=http_status, content_type=_JSON)

    def error(self, call: Call, code: int, *, http_status: int = 200) -> web.Response:
        body = env.envelope(code, elapsed=monotonic() - call.arrived)
        return self._respond(call, body, code, 0.0, http_status)

    def reply(
        self,
        request: web.Request,
        call: Call,
        route: Route,
        task: dict[str, object] | None,
        fault: Fault | None,
        normal: Normal,
    ) -> web.StreamResponse:
        """The answer to a call that got through: the normal one, or what ``fault`` makes of it."""
        if fault is None:
            return self._respond(call, *normal())
        if fault is Fault.SERVER_ERROR:
            return self.error(call, 50000)
        if fault in (Fault.TASK_ERROR, Fault.TIMEOUT_50401, Fault.HANG):
            code = 50000 if fault is Fault.TASK_ERROR else 50401
            body, _, _ = self.endpoints.task_error(route, call.arrived, task, code)
            return self._respond(call, body, code, 0.0)
        if fault is Fault.CHARGED_ERROR:
            _, _, charge = normal()  # what the work cost
            return self._respond(
                call, *self.endpoints.task_error(route, call.arrived, task, 50000, cost=charge)
            )
        if fault in _HTML_STATUS:
            status = _HTML_STATUS[fault]
            call.http_status = status
            return web.Response(
                body=env.HTML_PAGES[status], status=status, content_type="text/html"
            )
        if fault is Fault.RESET:
            if request.transport is not None:
                request.transport.abort()  # no status line, no body: the client sees a reset
            return web.Response()
        # TRUNCATED and EMPTY_BODY: the work was done and paid for, the answer got mangled.
        body, _, charge = normal()
        mangled = b"" if fault is Fault.EMPTY_BODY else body[: len(body) // 2]
        return self._respond(call, mangled, 0, charge)

    # -- the controls ----------------------------------------------------------------------

    async def _get_record(self, request: web.Request) -> web.Response:
        calls = request.query.get("calls", "1").lower() not in ("0", "false", "no")
        body = env.encoder.encode(self.record.to_dict(calls=calls))
        return web.Response(body=body, content_type=_JSON)

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.record.reset()
        return web.Response(body=b'{"reset":true}', content_type=_JSON)


_HTML_STATUS: Final = {Fault.HTTP_500_HTML: 500, Fault.HTTP_502_HTML: 502, Fault.HTTP_503_HTML: 503}
