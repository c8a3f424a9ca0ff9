"""The status-code table, HTTP fallbacks and the structured fields of every error."""

from __future__ import annotations

import pickle

import pytest

import dfs_async
from dfs_async import (
    APIError,
    AuthError,
    BillingError,
    ConcurrencyLimitError,
    CostLimitError,
    DecodeError,
    DFSError,
    DuplicateTaskLimitError,
    ExecutionTimeoutError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskPendingError,
)
from dfs_async._errors import RAW_BODY_LIMIT, error_for_code, error_for_http
from dfs_async._http._retry import outcome_unknown, settled, should_retry

# (code, class, retryable) per fixtures/dataforseo/errors_appendix.md; DataForSEO publishes no
# retry table, so `retryable` is the client's own split (see dfs_async/_errors.py).
CODES: list[tuple[int, type[APIError], bool]] = [
    *((c, AuthError, False) for c in (40100, 40104, 40201, 40207)),
    *((c, BillingError, False) for c in (40200, 40204, 40210)),
    (40203, CostLimitError, False),
    (40202, RateLimitError, True),
    (40209, ConcurrencyLimitError, True),
    *((c, DuplicateTaskLimitError, False) for c in (40205, 40206)),
    *((c, InvalidRequestError, False) for c in (40000, 40006, 40501, 40503, 40506, 50100)),
    *((c, NotFoundError, False) for c in (40400, 40401, 40402, 40403)),
    *((c, TaskPendingError, False) for c in (40601, 40602)),
    *((c, ServerError, True) for c in (50000, 50001, 50301, 50303, 40103)),
    (50401, ExecutionTimeoutError, True),
    (50304, ServerError, False),  # a long outage: fail fast rather than hammer
    (40101, ServerError, False),  # upstream failed after DataForSEO's retries, and it is billed
]


@pytest.mark.parametrize(("code", "cls", "retryable"), CODES, ids=[str(c[0]) for c in CODES])
def test_code_table(code: int, cls: type[APIError], retryable: bool) -> None:
    err = error_for_code(code, "message")
    assert type(err) is cls
    assert err.retryable is retryable
    assert isinstance(err, DFSError)


def test_cost_limit_is_a_billing_error() -> None:
    assert isinstance(error_for_code(40203, "The cost limit has been exceeded."), BillingError)


@pytest.mark.parametrize("code", [50999, 59000, 60000])
def test_unknown_5xxxx_is_a_server_error(code: int) -> None:
    assert type(error_for_code(code, "new")) is ServerError


@pytest.mark.parametrize("code", [40208, 40999, 41000, 10000])
def test_unknown_code_is_a_plain_api_error(code: int) -> None:
    err = error_for_code(code, "new")
    assert type(err) is APIError
    assert not err.retryable


def test_structured_fields() -> None:
    err = error_for_code(40501, "Invalid Field: 'x'.", task_id="t-1", cost=0.01, http_status=200)
    assert (err.status_code, err.status_message) == (40501, "Invalid Field: 'x'.")
    assert (err.task_id, err.cost, err.http_status) == ("t-1", 0.01, 200)
    assert str(err).startswith("40501 Invalid Field: 'x'. (task t-1)")


def test_defaults_of_structured_fields() -> None:
    err = error_for_code(40202, "The rate-limit per minute has been exceeded.")
    assert (err.task_id, err.cost, err.http_status) == (None, 0.0, 200)
    assert "(task" not in str(err)


# (HTTP status, body code or None, class, status_code kept, retryable)
HTTP: list[tuple[int, int | None, type[APIError], int, bool]] = [
    (400, None, InvalidRequestError, 400, False),
    (400, 40501, InvalidRequestError, 40501, False),
    (403, None, AuthError, 403, False),
    (403, 40207, AuthError, 40207, False),  # IP not allowed, with DataForSEO's own code
    (401, None, AuthError, 401, False),
    (401, 40100, AuthError, 40100, False),
    (401, 40104, AuthError, 40104, False),
    (402, None, BillingError, 402, False),
    (402, 40200, BillingError, 40200, False),
    (404, None, NotFoundError, 404, False),
    (404, 40402, NotFoundError, 40402, False),
    (500, None, GatewayError, 500, True),  # a 5xx without DataForSEO's envelope: a gateway's
    (500, 50000, ServerError, 50000, True),
    (502, None, GatewayError, 502, True),
    (504, None, GatewayError, 504, True),
    (503, 50301, ServerError, 50301, True),
    (429, None, RateLimitError, 429, True),
    (401, 49999, AuthError, 49999, False),  # an unknown body code: the HTTP status decides
    (418, None, APIError, 418, False),
]


@pytest.mark.parametrize(("http", "code", "cls", "status_code", "retryable"), HTTP)
def test_error_for_http(
    http: int, code: int | None, cls: type[APIError], status_code: int, retryable: bool
) -> None:
    err = error_for_http(http, code, "msg")
    assert type(err) is cls
    assert err.http_status == http
    assert err.status_code == status_code
    assert err.status_message == "msg"
    assert err.retryable is retryable


@pytest.mark.parametrize(
    ("cls", "hint"),
    [
        (AuthError, "DATAFORSEO_LOGIN"),
        (AuthError, "https://app.dataforseo.com/api-access"),
        (BillingError, "top up the balance"),
        (CostLimitError, "resets at 00:00 UTC"),
        (DuplicateTaskLimitError, "duplicate-task limit"),
        (InvalidRequestError, "fix the request"),
    ],
)
def test_messages_say_what_to_do(cls: type[APIError], hint: str) -> None:
    assert hint in str(cls(40000, "message"))


def test_auth_and_billing_from_the_table_carry_the_hint() -> None:
    assert "DATAFORSEO_PASSWORD" in str(error_for_code(40100, "You are not authorized."))
    assert "top up" in str(error_for_http(402, None, "Payment Required"))


def test_decode_error_keeps_the_start_of_the_body() -> None:
    body = b"<html><body>502 Bad Gateway</body></html>" + b"x" * 5000
    err = DecodeError("not JSON", http_status=502, body=body)
    assert isinstance(err, DFSError)
    assert err.http_status == 502
    assert err.body == body[:RAW_BODY_LIMIT]
    assert len(err.body) == RAW_BODY_LIMIT
    assert "HTTP 502" in str(err)
    assert "<html><body>502 Bad Gateway" in str(err)
    assert f"{len(body)} bytes" in str(err)


def test_decode_error_with_an_empty_or_binary_body() -> None:
    assert DecodeError("empty", http_status=200, body=b"").body == b""
    err = DecodeError("binary", http_status=200, body=b"\xff\xfe\x00")
    assert err.body == b"\xff\xfe\x00"
    assert "HTTP 200" in str(err)


def every_error() -> list[DFSError]:
    """One instance of every public error class, with its fields set."""
    made: list[DFSError] = [
        dfs_async.ValidationError("user_prompt", "too long"),
        dfs_async.CredentialsError("no credentials"),
        dfs_async.BudgetExceededError("over"),
        dfs_async.QueueTimeoutError("waited"),
        dfs_async.GovernorUnavailableError("redis down"),
        dfs_async.DeadlineExceededError("no answer"),
        dfs_async.TransportError("reset", sent=True, answered=True),
        dfs_async.ConnectError("refused"),
        dfs_async.ConnectionLostError("lost", answered=False),
        dfs_async.ResponseTooLargeError("too big", limit=1024),
        dfs_async.DecodeError("not json", http_status=502, body=b"<html>"),
        dfs_async.ResultsFileError("/tmp/r.jsonl", "not a results file"),
        dfs_async.ResultsFileInUseError("/tmp/r.jsonl", 4242),
        error_for_http(504, None, "HTTP 504"),
    ]
    for code in (40100, 40200, 40203, 40202, 40209, 40205, 40501, 40401, 40601, 50000, 50401):
        made.append(error_for_code(code, "message", task_id="t-9", cost=0.02, http_status=200))
    return made


def test_every_public_error_class_is_covered() -> None:
    public = {
        obj
        for name in dfs_async.__all__
        if isinstance(obj := getattr(dfs_async, name), type) and issubclass(obj, DFSError)
    }
    abstract = {DFSError, APIError, dfs_async.NotSentError, dfs_async.OutcomeUnknownError}
    assert public - abstract <= {type(e) for e in every_error()}


@pytest.mark.parametrize("error", every_error(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_fields(error: DFSError) -> None:
    # Errors cross a process pool (concurrent.futures, multiprocessing) by pickle.
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    assert vars(copy) == vars(error)
    assert copy.sent == error.sent


NEVER_SENT = [
    dfs_async.ValidationError("f", "m"),
    dfs_async.CredentialsError("m"),
    dfs_async.BudgetExceededError("m"),
    dfs_async.QueueTimeoutError("m"),
    dfs_async.GovernorUnavailableError("m"),
    dfs_async.ConnectError("m"),
    dfs_async.TransportError("m", sent=False),
]


@pytest.mark.parametrize("error", NEVER_SENT, ids=lambda e: type(e).__name__)
def test_never_sent_errors_are_classified_as_never_sent(error: DFSError) -> None:
    # A never-sent item is sent again by a re-run and costs the budget nothing: counting it as
    # maybe charged would skip items never sent and stop a sweep early.
    assert error.sent is False
    assert not outcome_unknown(error)
    assert not isinstance(error, dfs_async.OutcomeUnknownError | dfs_async.DeadlineExceededError)
    assert settled(error) is isinstance(error, dfs_async.ValidationError)
    policy = dfs_async.RetryPolicy(retry_unknown_outcome=True)
    resend = isinstance(error, dfs_async.ConnectError | dfs_async.TransportError)
    assert should_retry(error, policy) is resend


def test_sent_errors_with_an_unknown_outcome_are_settled() -> None:
    unknown = [
        dfs_async.DeadlineExceededError("m"),
        dfs_async.ConnectionLostError("m"),
        dfs_async.ResponseTooLargeError("m", limit=1),
        error_for_http(502, None, "HTTP 502"),
        error_for_http(500, None, "HTTP 500"),
        dfs_async.DecodeError("cut", http_status=200, body=b"{"),
    ]
    policy = dfs_async.RetryPolicy()
    for error in unknown:
        assert error.sent and outcome_unknown(error) and settled(error), error
        assert not should_retry(error, policy), error
    assert isinstance(error_for_http(504, None, "x"), dfs_async.ServerError)
    assert not isinstance(dfs_async.QueueTimeoutError("m"), dfs_async.DeadlineExceededError)
    assert isinstance(dfs_async.QueueTimeoutError("m"), TimeoutError)
