"""What each endpoint answers when nothing goes wrong, and how a Live body is checked.

The routes, their ``path`` and ``data`` echoes and the Models results are built once; a call
only fills in its id, times and result.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from time import monotonic
from typing import Final, Literal

import msgspec

from .._errors import ValidationError
from .._platforms import PLATFORMS, USER_DATA_PATH, Platform, live_path, models_path
from .._wire._requests import LiveRequest
from .._wire._validation import validate_request
from . import _envelope as env
from ._answers import synthesise
from ._catalog import BASE_PRICE, MODELS, CatalogModel, find_model
from ._config import EmulatorConfig, LatencyRange
from ._record import ServerRecord

Answer = tuple[bytes, int, float]
"""An encoded body, the internal status code it carries, and what it charges."""

_DEFAULT_MINUTE_LIMIT: Final = 2000  # documented calls per minute per account
_ENVELOPE_OVERHEAD: Final = 0.0009  # the envelope's time includes a little more than the task's
_UNKNOWN_FIELD: Final = re.compile(r"Object contains unknown field `([^`]*)`")
_MISSING_FIELD: Final = re.compile(r"Object missing required field `([^`]*)`")


@dataclass(frozen=True, slots=True)
class Route:
    """One API endpoint: what it is, for which platform, and what its tasks echo."""

    kind: Literal["live", "models", "user_data", "task_post", "tasks_ready", "task_get"]
    platform: Platform | None
    method: str
    key: str
    """The key of a call without a task body."""
    parts: list[str]
    """The task's ``path``: the URL's segments."""
    data: dict[str, object]
    """The routing keys the task's ``data`` echoes."""


def _route(
    kind: Literal["live", "models", "user_data"], platform: Platform | None, path: str
) -> Route:
    method = "POST" if kind == "live" else "GET"
    if platform is None:
        data: dict[str, object] = {"api": "appendix", "function": "user_data"}
    else:
        function = "llm_responses" if kind == "live" else "models"
        data = {"api": "ai_optimization", "function": function, "se": platform}
    key = env.raw_key(f"{method} {path}".encode())
    return Route(kind, platform, method, key, path.strip("/").split("/"), data)


class Endpoints:
    """The normal answers of every endpoint, and the account's money."""

    def __init__(self, config: EmulatorConfig, record: ServerRecord) -> None:
        self.config = config
        self.record = record
        self.spent = 0.0
        """USD charged since start; the balance user_data reports is ``balance - spent``."""
        self.clock = env.Clock(config.seed)
        self.routes: dict[str, Route] = {USER_DATA_PATH: _route("user_data", None, USER_DATA_PATH)}
        for p in PLATFORMS:
            self.routes[live_path(p)] = _route("live", p, live_path(p))
            self.routes[models_path(p)] = _route("models", p, models_path(p))
        self.latency: dict[Platform, LatencyRange] = {p: config.latency_of(p) for p in PLATFORMS}
        self.slots: dict[Platform, int | None] = {p: config.concurrency_of(p) for p in PLATFORMS}
        self._models: dict[Platform, list[object]] = {
            p: [m.as_dict() for m in MODELS[p]] for p in PLATFORMS
        }

    def success(
        self,
        route: Route,
        key: str,
        arrived: float,
        task: dict[str, object],
        request: LiveRequest,
        model: CatalogModel,
        *,
        repeat: int = 0,
    ) -> Answer:
        """A Live answer: the synthesised result, priced like the real API; ``repeat`` (how
        many times the same task came before) picks another answer when not 0."""
        platform = route.platform
        assert platform is not None
        now = self.clock.datetime()
        result, money = synthesise(
            platform, model, request, key, self.config.seed, now, repeat=repeat
        )
        cost = round(money + BASE_PRICE, 7)
        elapsed = monotonic() - arrived
        one = env.task(
            self.clock.task_id(),
            20000,
            elapsed=elapsed,
            cost=cost,
            path=route.parts,
            data={**route.data, **task},
            result=[result],
        )
        body = env.envelope(20000, elapsed=elapsed + _ENVELOPE_OVERHEAD, cost=cost, tasks=[one])
        return body, 20000, cost

    def task_error(
        self,
        route: Route,
        arrived: float,
        task: dict[str, object] | None,
        code: int,
        message: str | None = None,
        *,
        cost: float = 0.0,
    ) -> Answer:
        """Envelope 20000 holding one failed task (``result: null``, ``cost: 0`` unless the
        failure is charged)."""
        elapsed = monotonic() - arrived
        data = {**route.data, **task} if task is not None else route.data
        one = env.task(
            self.clock.task_id(),
            code,
            message=message,
            elapsed=elapsed,
            cost=cost,
            path=route.parts,
            data=data,
        )
        body = env.envelope(20000, elapsed=elapsed + _ENVELOPE_OVERHEAD, cost=cost, tasks=[one])
        return body, code, cost

    def models(self, route: Route, arrived: float) -> Answer:
        """The platform's model list; free."""
        assert route.platform is not None
        return self.ok(route, arrived, self._models[route.platform])

    def user_data(self, route: Route, arrived: float) -> Answer:
        """The account: its limits, its usage, and the balance left after charges; free."""
        config = self.config
        minute = config.rate_limit or _DEFAULT_MINUTE_LIMIT
        arrivals = self.record.arrivals
        last_minute = len(arrivals) - bisect.bisect_right(arrivals, monotonic() - 60.0)
        spent = round(self.spent, 7)
        # Shaped like the official schema (AppendixUserDataResultInfo): figures are numbers
        # (sent as floats), the account-wide one is `total`, a section's own `total_<section>`
        # and `<section>` holds its per-endpoint figures.
        account = {
            "login": config.login,
            "timezone": "UTC",
            "rates": {
                "limits": {"day": _limits(minute * 1440.0), "minute": _limits(float(minute))},
                "statistics": {
                    "day": {"total": float(len(arrivals))},
                    "minute": {"total": float(last_minute)},
                },
            },
            "money": {
                "total": float(config.balance),
                "balance": round(config.balance - spent, 7),
                "limits": {},  # no cost cap set
                "statistics": {"day": {"total": spent, "total_ai_optimization": spent}},
            },
            "price": {},
            "backlinks_subscription_expiry_date": None,
            "llm_mentions_subscription_expiry_date": None,
        }
        return self.ok(route, arrived, [account])

    def ok(self, route: Route, arrived: float, result: list[object]) -> Answer:
        """A 20000 answer carrying ``result`` in its one task; free."""
        elapsed = monotonic() - arrived
        one = env.task(
            self.clock.task_id(),
            20000,
            elapsed=elapsed,
            path=route.parts,
            data=route.data,
            result=result,
        )
        return env.envelope(20000, elapsed=elapsed + _ENVELOPE_OVERHEAD, tasks=[one]), 20000, 0.0


def _limits(total: float) -> dict[str, object]:
    """A limit of ``rates.limits``: the account's, AI Optimization's and each LLM Responses
    endpoint's, all the account's figure (the emulator has one limit for every call)."""
    endpoints = ("live", "task_post", "tasks_ready", "task_get", "models")
    return {
        "total": total,
        "ai_optimization": {"llm_responses": dict.fromkeys(endpoints, total)},
        "total_ai_optimization": total,
    }


def parse_body(body: bytes) -> tuple[dict[str, object] | None, int]:
    """The one task of a Live body, or None and the envelope code that rejects the body."""
    if not body.strip():
        return None, 40502
    try:
        tasks = env.decoder.decode(body)
    except msgspec.DecodeError:
        return None, 40503
    if not isinstance(tasks, list):
        return None, 40503
    if not tasks:
        return None, 40502
    if len(tasks) > 1:
        return None, 40000
    if not isinstance(tasks[0], dict):
        return None, 40503
    return tasks[0], 0


def decode_task(
    platform: Platform, task: dict[str, object]
) -> tuple[LiveRequest | None, CatalogModel | None, tuple[int, str] | None]:
    """The task as a `LiveRequest` and its model, plus the task-level error rejecting it."""
    if "platform" in task:  # a client-side routing field; the API has no such field
        return None, None, (40506, "Unknown Fields in POST Data: platform.")
    try:
        request = msgspec.convert(task, LiveRequest)
    except msgspec.ValidationError as exc:
        return None, None, _convert_error(str(exc))
    model = find_model(platform, request.model_name)
    if model is None and request.model_name:
        return (
            request,
            None,
            (
                40501,
                f"Invalid Field: model_name: {request.model_name!r} is not a {platform} model; "
                f"see GET {models_path(platform)}.",
            ),
        )
    try:
        validate_request(platform, request, model.info if model is not None else None)
    except ValidationError as exc:
        return request, model, (40501, f"Invalid Field: {exc}.")
    return request, model, None


def _convert_error(text: str) -> tuple[int, str]:
    """Task code and message for msgspec's complaint about a task's fields."""
    reason, _, where = text.partition(" - at `$")
    where = where.rstrip("`").lstrip(".")
    unknown = _UNKNOWN_FIELD.match(reason)
    if unknown:
        name = f"{where}.{unknown[1]}" if where else unknown[1]
        return 40506, f"Unknown Fields in POST Data: {name}."
    missing = _MISSING_FIELD.match(reason)
    field = where or (missing[1] if missing else "task")
    return 40501, f"Invalid Field: {field}: {reason}."
