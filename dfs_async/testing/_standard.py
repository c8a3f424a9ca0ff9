"""The Standard method, emulated: task_post, tasks_ready and task_get for chat_gpt, claude, gemini.

A posted task is charged at once (base price plus the $0.01 prepayment,
https://docs.dataforseo.com/v3/ai_optimization/chat_gpt/llm_responses/task_post/), finishes
after ``standard_delay``, and is then listed by tasks_ready until collected (unless a postback
or pingback reached its receiver), answered by task_get with a Live-shaped result, and expires
after ``results_ttl``. When its result is first built (collected or delivered), the difference
between the prepayment and the LLM's real cost is refunded.

Faults chosen for a task_post (by ``EmulatorConfig.faults``) follow what a client can know:
40202, 40209, 50000 and task-level errors create nothing; every fault that loses or mangles
the answer (reset, truncated or empty body, a proxy's page, a hang) strikes *after* the tasks
were created and charged, which is the case a client must resolve through tasks_ready tags.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from time import monotonic
from typing import Final, Literal

from aiohttp import web

from .._platforms import Platform
from .._wire._requests import LiveRequest
from . import _envelope as env
from ._answers import synthesise
from ._call import Call, CallHost
from ._callbacks import Courier, substitute
from ._catalog import CatalogModel
from ._config import EmulatorConfig, Fault
from ._endpoints import Answer, Endpoints, Route, decode_task
from ._record import ServerRecord
from ._standard_record import PostRecord

STANDARD_PLATFORMS: Final[tuple[Platform, ...]] = ("chat_gpt", "claude", "gemini")
STANDARD_PRICE: Final = 0.0002
"""DataForSEO's own price per Standard task (help center)."""
PREPAYMENT: Final = 0.01
"""Taken per task at posting; the part above the LLM's real cost is refunded."""
READY_LIST_MAX: Final = 1000
_PREFIX: Final = "/v3/ai_optimization/"
_MESSAGES: Final[dict[int, str]] = {
    20100: "Task Created.",
    40006: "You can set no more than 100 tasks at a time.",
    40401: "Task Not Found.",
    40403: "Results Expired.",
    40503: "POST Data Is Invalid.",
    40601: "Task Handed.",
    40602: "Task In Queue.",
}
_CALLBACK_FIELDS: Final = ("postback_url", "pingback_url")


@dataclass(slots=True)
class _Task:
    id: str
    route: Route
    key: str
    tag: str | None
    data: dict[str, object]
    request: LiveRequest
    model: CatalogModel
    posted: float
    ready: float
    date_posted: str
    postback_url: str | None
    pingback_url: str | None
    listed: bool
    """Whether tasks_ready may list it: no callback, or its delivery failed."""
    body: bytes | None = None


def _route(kind: Literal["task_post", "tasks_ready", "task_get"], platform: Platform) -> Route:
    method = "POST" if kind == "task_post" else "GET"
    path = f"{_PREFIX}{platform}/llm_responses/{kind}"
    data: dict[str, object] = {"api": "ai_optimization", "function": kind, "se": platform}
    key = env.raw_key(f"{method} {path}".encode())
    return Route(kind, platform, method, key, path.strip("/").split("/"), data)


class StandardDesk:
    """Routes, tasks and answers of the three Standard endpoints."""

    def __init__(self, config: EmulatorConfig, record: ServerRecord, endpoints: Endpoints) -> None:
        self.config = config
        self.record = record
        self.endpoints = endpoints
        """The account whose balance posts charge and refunds credit."""
        self.clock = endpoints.clock
        self.courier = Courier(config.callback_timeout)
        self.routes: dict[str, Route] = {}
        self._get_routes: dict[str, Route] = {}
        for p in STANDARD_PLATFORMS:
            for route in (_route("task_post", p), _route("tasks_ready", p)):
                self.routes["/" + "/".join(route.parts)] = route
            self._get_routes[p] = _route("task_get", p)
        self._tasks: dict[str, _Task] = {}
        self._open: dict[str, _Task] = {}
        """Tasks not collected yet, in posting order."""
        self._ready_window: list[float] = []
        self._rng = random.Random(config.seed ^ 0x5747)

    def match(self, path: str) -> tuple[Route, str] | None:
        """The task_get route and task id of ``path``, if it is one."""
        head, sep, task_id = path.rpartition("/task_get/")
        if not sep or not task_id or not head.startswith(_PREFIX):
            return None
        platform = head[len(_PREFIX) :].split("/")[0]
        route = self._get_routes.get(platform)
        if route is None or head != f"{_PREFIX}{platform}/llm_responses":
            return None
        return route, task_id

    async def handle(
        self, app: CallHost, request: web.Request, call: Call, route: Route, over: bool
    ) -> web.StreamResponse:
        """Answer one Standard call that passed auth and routing."""
        posted: list[object] | int = 0
        if route.kind == "task_post":
            posted = self._parse(await request.read())
            if isinstance(posted, list):
                self.record.standard.post_sizes.append(len(posted))
        if route.kind == "task_get":  # one key per task id, so attempts count per task
            call.key = env.raw_key(f"GET {call.path}".encode())
        call.attempt = app.count_attempt(call.key)
        if route.kind == "tasks_ready":
            self.record.standard.ready_calls.append(call.arrived)
            if not over and self._ready_over(call.arrived):
                return app.error(call, 40202)
        if over:
            return app.error(call, 40202)
        fault = call.fault = app.fault_for(call, route, None)
        if fault in (Fault.RATE_LIMIT, Fault.CONCURRENCY):
            return app.error(call, 40202 if fault is Fault.RATE_LIMIT else 40209)
        if isinstance(posted, int) and route.kind == "task_post":
            return app.error(call, posted)
        if isinstance(posted, list):
            return await self._post(app, request, call, route, posted, fault)
        if fault is Fault.HANG:
            await app.hold(call, self.config.hang_seconds)
        if route.kind == "tasks_ready":
            return app.reply(request, call, route, None, fault, lambda: self._ready(route, call))
        task_id = request.path.rpartition("/task_get/")[2]
        return app.reply(request, call, route, None, fault, lambda: self._get(route, call, task_id))

    # -- task_post -------------------------------------------------------------------------

    async def _post(
        self,
        app: CallHost,
        request: web.Request,
        call: Call,
        route: Route,
        tasks: list[object],
        fault: Fault | None,
    ) -> web.StreamResponse:
        if fault is Fault.SERVER_ERROR:
            return app.error(call, 50000)
        refuse = (
            50000 if fault is Fault.TASK_ERROR else 50401 if fault is Fault.TIMEOUT_50401 else None
        )
        answers: list[dict[str, object]] = []
        total = 0.0
        for i, task in enumerate(tasks):
            one, cost = self._create(route, call, i, task, refuse)
            answers.append(one)
            total += cost
        total = round(total, 7)
        if total:
            # Charged at posting, whatever then happens to the answer.
            call.charged = total
            self.endpoints.spent += total
        elapsed = monotonic() - call.arrived
        answer = env.envelope(20000, elapsed=elapsed, cost=total, tasks=answers)
        if fault is Fault.HANG:
            await app.hold(call, self.config.hang_seconds)
        elif self.config.task_post_latency:
            await app.hold(call, self.config.task_post_latency)
        return app.reply(request, call, route, None, fault, lambda: (answer, 20000, 0.0))

    @staticmethod
    def _parse(body: bytes) -> list[object] | int:
        """The tasks of a task_post body, or the envelope code refusing it."""
        try:
            tasks = env.decoder.decode(body) if body.strip() else None
        except ValueError:
            return 40503
        if not tasks:
            return 40502
        return tasks if isinstance(tasks, list) else 40503

    def _create(
        self, route: Route, call: Call, index: int, task: object, refuse: int | None
    ) -> tuple[dict[str, object], float]:
        """One task of a task_post body: created and charged, or refused at no cost."""
        platform = route.platform
        assert platform is not None
        elapsed = monotonic() - call.arrived
        task_id = self.clock.task_id()
        if not isinstance(task, dict):
            return self._refused(route, task_id, elapsed, {}, 40503), 0.0
        data = {**route.data, **task}
        if index >= self.config.task_post_limit:
            return self._refused(route, task_id, elapsed, data, 40006), 0.0
        urls = {k: task.pop(k) for k in _CALLBACK_FIELDS if k in task}
        live, model, error = decode_task(platform, task)
        if error is None and model is not None and not model.task_post:
            error = (40501, f"Invalid Field: model_name: {model.name} has no task_post.")
        if error is not None or live is None or model is None:
            code, message = error or (40501, None)
            return self._refused(route, task_id, elapsed, data, code, message), 0.0
        if refuse is not None:
            return self._refused(route, task_id, elapsed, data, refuse), 0.0
        if any(not isinstance(u, str) for u in urls.values()):
            return self._refused(route, task_id, elapsed, data, 40501, "Invalid Field: url."), 0.0
        now = monotonic()
        lo, hi = self.config.standard_delay
        tag = task.get("tag")
        postback = urls.get("postback_url")
        pingback = urls.get("pingback_url")
        created = _Task(
            id=task_id,
            route=self._get_routes[platform],
            key=env.task_key(task),
            tag=tag if isinstance(tag, str) else None,
            data=data,
            request=live,
            model=model,
            posted=now,
            ready=now + (lo if lo == hi else self._rng.uniform(lo, hi)),
            date_posted=self.clock.datetime(),
            postback_url=postback if isinstance(postback, str) else None,
            pingback_url=pingback if isinstance(pingback, str) else None,
            listed=postback is None and pingback is None,
        )
        self._tasks[task_id] = self._open[task_id] = created
        cost = STANDARD_PRICE + PREPAYMENT
        self.record.standard._post(
            PostRecord(
                id=task_id,
                platform=platform,
                key=created.key,
                tag=created.tag,
                posted=now,
                charged=cost,
            ),
            postback=created.postback_url is not None,
        )
        self._schedule_callbacks(created)
        one = env.task(
            task_id,
            20100,
            message=_MESSAGES[20100],
            elapsed=elapsed,
            cost=cost,
            path=route.parts,
            data=data,
        )
        return one, cost

    def _refused(
        self,
        route: Route,
        task_id: str,
        elapsed: float,
        data: dict[str, object],
        code: int,
        message: str | None = None,
    ) -> dict[str, object]:
        message = message or _MESSAGES.get(code) or env.MESSAGES.get(code, "Error.")
        return env.task(
            task_id, code, message=message, elapsed=elapsed, path=route.parts, data=data
        )

    # -- finishing, callbacks --------------------------------------------------------------

    def _result(self, task: _Task) -> bytes:
        """The task_get answer of a finished task, built (and the prepayment settled) once."""
        if task.body is None:
            platform = task.route.platform
            assert platform is not None
            result, money = synthesise(
                platform,
                task.model,
                task.request,
                task.key,
                self.config.seed,
                self.clock.datetime(),
            )
            refund = round(PREPAYMENT - money, 7)
            self.record.standard.refunded += refund
            self.endpoints.spent -= refund
            one = env.task(
                task.id,
                20000,
                elapsed=0.0,
                path=[*task.route.parts, task.id],
                data=task.data,
                result=[result],
            )
            task.body = env.envelope(20000, elapsed=0.0009, tasks=[one])
        return task.body

    def _schedule_callbacks(self, task: _Task) -> None:
        delay = task.ready - monotonic()
        standard = self.record.standard
        generation = self.record.generation

        def done(accepted: bool) -> None:
            if generation != self.record.generation:
                return
            if accepted:
                standard.delivered[task.id] += 1
                if task.postback_url is not None:
                    self._open.pop(task.id, None)  # the result reached the receiver
            else:
                standard.failed_deliveries[task.id] += 1
                task.listed = True  # now tasks_ready lists it

        if task.postback_url is not None:
            url = substitute(task.postback_url, task.id, task.tag)
            self.courier.schedule(delay, "POST", url, lambda: self._result(task), done)
        elif task.pingback_url is not None:
            url = substitute(task.pingback_url, task.id, task.tag)
            self.courier.schedule(delay, "GET", url, None, done)

    # -- tasks_ready, task_get -------------------------------------------------------------

    def _ready_over(self, now: float) -> bool:
        limit = self.config.tasks_ready_limit
        if limit is None:
            return False
        window = [t for t in self._ready_window if t > now - self.config.tasks_ready_period]
        over = len(window) >= limit
        window.append(now)
        self._ready_window = window
        return over

    def _ready(self, route: Route, call: Call) -> Answer:
        platform = route.platform
        now = monotonic()
        ttl = self.config.results_ttl
        items: list[object] = []
        for task in self._open.values():
            if len(items) >= READY_LIST_MAX:
                break
            if (
                task.route.platform == platform
                and task.listed
                and task.ready <= now
                and now - task.posted < ttl
            ):
                items.append(
                    {
                        "id": task.id,
                        "se": platform,
                        "se_type": "llm_responses",
                        "date_posted": task.date_posted,
                        "tag": task.tag,
                        "endpoint": "/" + "/".join([*task.route.parts, task.id]),
                    }
                )
        return self.endpoints.ok(route, call.arrived, items)

    def _get(self, route: Route, call: Call, task_id: str) -> Answer:
        task = self._tasks.get(task_id)
        now = monotonic()
        elapsed = now - call.arrived
        if task is None or task.route.platform != route.platform:
            code = 40401
        elif now - task.posted >= self.config.results_ttl:
            code = 40403
            self._open.pop(task_id, None)
        elif now < task.ready:
            handed = now < task.posted + (task.ready - task.posted) / 4
            code = 40601 if handed else 40602
        else:
            self._open.pop(task_id, None)
            self.record.standard.collected[task_id] += 1
            return self._result(task), 20000, 0.0
        data = task.data if task is not None else route.data
        one = self._refused(route, task_id, elapsed, data, code)
        return env.envelope(20000, elapsed=elapsed + 0.0009, tasks=[one]), code, 0.0

    async def aclose(self) -> None:
        """Stop delivering callbacks."""
        await self.courier.aclose()
