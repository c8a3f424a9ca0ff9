"""An aiohttp.web backend that shares one AsyncClient across all its requests.

    GET  /ask?q=...&platform=chat_gpt[&model=...]    one answer with its citations
    POST /sweep?platform=claude[&model=...]          body: a JSON list of prompts

The client is made in the app's ``cleanup_ctx`` (entered at startup, closed at shutdown), so
every request shares one connection pool and one governor: concurrent requests queue for the
account's rate and per-platform slots instead of tripping them. Uses the real API when
DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD are set, else the embedded emulator.

    python examples/web_backend.py [--port 8000]
    curl 'http://127.0.0.1:8000/ask?q=best+crm+for+agencies&platform=perplexity'
    curl -d '["best crm", "best vpn"]' 'http://127.0.0.1:8000/sweep?platform=gemini'
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from typing import Final

import msgspec
from _connect import open_client
from aiohttp import web

import dfs_async

CLIENT: Final = web.AppKey("client", dfs_async.AsyncClient)
DEFAULT_MODELS: Final[dict[str, str]] = {
    "chat_gpt": "gpt-4.1-mini",
    "claude": "claude-sonnet-4-0",
    "gemini": "gemini-2.5-flash",
    "perplexity": "sonar",
}
NO_WEB_SEARCH_FIELD: Final = frozenset({"perplexity"})
"""Perplexity always searches the web and rejects the ``web_search`` field."""
MAX_SWEEP: Final = 100
"""Prompts one POST /sweep may hold: a request must not start an unbounded bill."""


class Citation(msgspec.Struct, frozen=True):
    """A source the answer cites."""

    title: str | None
    url: str | None


class Answer(msgspec.Struct, frozen=True, omit_defaults=True):
    """One prompt's outcome as this backend returns it."""

    prompt: str
    platform: str
    model: str | None
    ok: bool
    text: str = ""
    citations: list[Citation] = []
    cost: float = 0.0
    error: str | None = None


# What each failure means for this backend's caller: the caller's own mistake (400), or
# DataForSEO's or the account's trouble (5xx). Messages are written here, never copied from
# upstream: a proxy's HTML page or a cut-off body must not reach the caller.
CALLER_ERRORS: Final = (dfs_async.InvalidRequestError, dfs_async.NotFoundError)
"""DataForSEO refused what the caller asked for (40501 invalid field, an unknown model)."""


def describe(error: dfs_async.DFSError) -> tuple[int, dict[str, object]]:
    """The HTTP status and JSON body this backend answers for ``error``."""
    if isinstance(error, dfs_async.ValidationError):  # ours, raised before anything is sent
        return 400, {"error": str(error), "field": error.field}
    if isinstance(error, CALLER_ERRORS):
        return 400, {
            "error": "DataForSEO refused the request; fix it before sending it again",
            "status_code": error.status_code,
            # DataForSEO's own message names the field; kept short and only as text.
            "detail": error.status_message[:200],
        }
    if isinstance(error, dfs_async.NotSentError):  # no slot in time, Redis down, refused
        return 503, {"error": "busy: nothing was sent to DataForSEO, try again shortly"}
    if isinstance(error, dfs_async.OutcomeUnknownError):  # deadline, lost answer, gateway page
        return 504, {"error": "no answer from DataForSEO in time"}
    if isinstance(error, dfs_async.AuthError | dfs_async.BillingError):
        return 503, {"error": "the backend's DataForSEO account cannot be used right now"}
    if isinstance(error, dfs_async.APIError):
        return 502, {"error": "DataForSEO failed to answer", "status_code": error.status_code}
    # DecodeError, TransportError: what came back (if anything) is not passed on.
    return 502, {"error": "DataForSEO could not be reached or sent an unreadable answer"}


def answer_of(result: dfs_async.PromptResult) -> Answer:
    """The JSON shape of a sweep result."""
    live = result.response.result if result.response is not None else None
    return Answer(
        prompt=result.request.user_prompt,
        platform=result.platform or "",
        model=live.model_name if live else result.request.model_name,
        ok=result.ok,
        text=live.text if live else "",
        citations=[Citation(a.title, a.source_url) for a in live.annotations()] if live else [],
        cost=result.cost,
        error=None if result.error is None else str(describe(result.error)[1]["error"]),
    )


def target(request: web.Request) -> tuple[str, str | None, bool | None]:
    """The platform, model and web search asked for in the query string."""
    platform = request.query.get("platform", "chat_gpt")
    model = request.query.get("model") or DEFAULT_MODELS.get(platform)
    # None leaves the field out of the request, as perplexity requires.
    web_search = None
    if platform not in NO_WEB_SEARCH_FIELD:
        web_search = request.query.get("web_search", "1") != "0"
    return platform, model, web_search


def json(data: object, status: int = 200) -> web.Response:
    """A JSON response encoded by msgspec (Structs included)."""
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )


async def ask(request: web.Request) -> web.Response:
    """GET /ask: one prompt, answered with text and citations."""
    prompt = request.query.get("q", "")
    platform, model, web_search = target(request)
    client = request.app[CLIENT]
    try:
        resp = await client.live(
            platform, user_prompt=prompt, model_name=model, web_search=web_search
        )
    except dfs_async.DFSError as exc:
        status, body = describe(exc)
        return json(body, status=status)
    live = resp.result
    return json(
        Answer(
            prompt=prompt,
            platform=platform,
            model=live.model_name if live else None,
            ok=live is not None,
            text=live.text if live else "",
            citations=[Citation(a.title, a.source_url) for a in live.annotations()] if live else [],
            cost=resp.cost,
        )
    )


async def sweep(request: web.Request) -> web.Response:
    """POST /sweep: a JSON list of prompts, answered together in input order."""
    try:
        prompts = msgspec.json.decode(await request.read(), type=list[str])
    except msgspec.DecodeError as exc:
        return json({"error": f"expected a JSON list of prompts: {exc}"}, status=400)
    if len(prompts) > MAX_SWEEP:
        return json({"error": f"at most {MAX_SWEEP} prompts per request"}, status=413)
    platform, model, web_search = target(request)
    client = request.app[CLIENT]
    try:
        results = await dfs_async.gather_prompts(
            client, prompts, platform=platform, model_name=model, web_search=web_search
        )
    except dfs_async.ValidationError as exc:  # a bad platform: nothing was sent
        return json({"error": str(exc), "field": exc.field}, status=400)
    refused = [
        r.error for r in results if isinstance(r.error, (*CALLER_ERRORS, dfs_async.ValidationError))
    ]
    if results and len(refused) == len(results):
        # Every prompt refused alike (an unknown model): the request itself is wrong.
        status, body = describe(refused[0])
        return json(body, status=status)
    answers = [answer_of(r) for r in results]
    return json({"results": answers, "cost": sum(a.cost for a in answers)})


def make_app(*, emulator: bool | None = None) -> web.Application:
    """The application; ``emulator`` None means: the emulator unless credentials are set."""

    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        # Startup runs to the yield, shutdown after it: one client for the app's lifetime.
        async with AsyncExitStack() as stack:
            app[CLIENT] = await open_client(stack, emulator=emulator)
            yield

    app = web.Application()
    app.cleanup_ctx.append(client_ctx)
    app.router.add_get("/ask", ask)
    app.router.add_post("/sweep", sweep)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the backend until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    web.run_app(make_app(), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
