"""The official ``dataforseo-client`` (sync, urllib3 + pydantic), in a ThreadPoolExecutor.

Pointed at the emulator with ``Configuration(host=..., username=..., password=...)``; calls
``AiOptimizationApi.<platform>_llm_responses_live([<Platform>LlmResponsesLiveRequestInfo])``.
Governance is what a user of a sync client writes: a ``threading.BoundedSemaphore(slots)``
per platform and a small thread-safe limiter at the account's rate; no retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dfs_async import PLATFORMS

from .._spec import RunResult, RunSpec, Work, work
from . import Decoder, Peer, Runner
from ._common import OK, Tally, by_platform

_CLASS_PREFIX = {
    "chat_gpt": "ChatGpt",
    "claude": "Claude",
    "gemini": "Gemini",
    "perplexity": "Perplexity",
}


class IntervalLimiter:
    """At most ``rate`` calls per ``period``: each call takes the next slot on an even grid."""

    def __init__(self, rate: float, period: float) -> None:
        self.interval = period / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Block until this caller's turn."""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            time.sleep(at - now)


def _model(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"dataforseo_client.models.{module}"), name)


def _request_class(platform: str) -> Any:
    return _model(
        f"ai_optimization_{platform}_llm_responses_live_request_info",
        f"AiOptimization{_CLASS_PREFIX[platform]}LlmResponsesLiveRequestInfo",
    )


def load() -> Runner:
    """Import the client (pydantic models load slowly) and return the runner."""
    from dataforseo_client.api.ai_optimization_api import AiOptimizationApi  # noqa: F401
    from dataforseo_client.api_client import ApiClient  # noqa: F401

    for platform in PLATFORMS:
        _request_class(platform)
    return _run


def _run(spec: RunSpec) -> RunResult:
    from dataforseo_client.api.ai_optimization_api import AiOptimizationApi
    from dataforseo_client.api_client import ApiClient
    from dataforseo_client.configuration import Configuration
    from dataforseo_client.exceptions import ApiException

    threads = len(PLATFORMS) * (spec.workers if spec.mode == "calls" else spec.slots)
    config = Configuration(host=spec.base_url, username=spec.login, password=spec.password)
    config.connection_pool_maxsize = threads  # one kept-alive connection per thread
    api_client = ApiClient(config)
    api = AiOptimizationApi(api_client)
    send: dict[str, Callable[..., Any]] = {
        p: getattr(api, f"{p}_llm_responses_live") for p in PLATFORMS
    }
    request = {p: _request_class(p) for p in PLATFORMS}
    slots = {p: threading.BoundedSemaphore(spec.slots) for p in PLATFORMS}
    limiter = IntervalLimiter(spec.rate, 1.0)

    def one(w: Work) -> tuple[int | str, Any]:
        task = request[w.platform](user_prompt=w.prompt, model_name=w.model, tag=w.tag)
        with slots[w.platform]:
            limiter.acquire()
            try:
                response = send[w.platform]([task])
            except ApiException as exc:
                return f"HTTP {exc.status}", None
            except Exception as exc:  # urllib3 and pydantic errors: count them, go on
                return type(exc).__name__, None
        code = response.status_code
        if code == OK and response.tasks:
            code = response.tasks[0].status_code
        return code, response

    tally = Tally()
    rtts: dict[str, float] = {}
    with api_client, ThreadPoolExecutor(max_workers=threads) as pool:
        if spec.mode == "calls":
            lock = threading.Lock()

            def caller(calls: Any) -> None:
                while True:
                    with lock:
                        w = next(calls, None)
                    if w is None:
                        return
                    start = time.perf_counter()
                    code, _ = one(w)
                    elapsed = time.perf_counter() - start
                    with lock:
                        rtts[w.tag or str(w.number)] = elapsed
                        tally.add(code)

            futures = []
            for calls in by_platform(spec).values():
                shared = iter(calls)
                futures += [pool.submit(caller, shared) for _ in range(spec.workers)]
            for f in futures:
                f.result()
            return tally.result(rtts)
        results = list(pool.map(one, work(spec)))
    for code, _ in results:
        tally.add(code)
    return tally.result()


def pydantic_decoder() -> tuple[str, Decoder]:
    """The official client's own way from a body to its models."""
    cls = _model(
        "ai_optimization_chat_gpt_llm_responses_live_response_info",
        "AiOptimizationChatGptLlmResponsesLiveResponseInfo",
    )

    def decode(raw: bytes) -> object:
        return cls.from_json(raw.decode())

    return "pydantic → official models (…LiveResponseInfo.from_json)", decode


PEER = Peer(
    name="dataforseo-client",
    about=(
        "official sync client 2.x: AiOptimizationApi.<platform>_llm_responses_live in a "
        "ThreadPoolExecutor(4 × slots threads), threading.BoundedSemaphore(slots) per platform "
        "+ a thread-safe limiter spacing calls period/rate apart; no retries"
    ),
    order=1,
    modes=frozenset({"sweep", "calls"}),
    load=load,
    requires=("dataforseo_client",),
    decoder=pydantic_decoder,
    cpu_share=0.3,
)
