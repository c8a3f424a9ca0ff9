"""Exceptions, and the one table that maps DataForSEO status codes to them.

Exception tree::

    DFSError                                   .sent: False when nothing reached DataForSEO
    ├── ValidationError (also ValueError)      bad request field, raised before any network call
    ├── CredentialsError (also ValueError)     no login/password given or found in the environment
    ├── BudgetExceededError                    a sweep's max_cost would be crossed
    ├── NotSentError                           never sent, for a passing reason: try again later
    │   ├── QueueTimeoutError (also TimeoutError)   waited too long for a slot or a rate token
    │   │   └── GovernorUnavailableError       the shared governor's Redis stayed unreachable
    │   └── ConnectError (also TransportError) refused, DNS, TLS, reset while writing
    ├── OutcomeUnknownError                    sent, no answer: DataForSEO may run and charge it
    │   ├── DeadlineExceededError (also TimeoutError)   no answer within the call's deadline
    │   ├── ConnectionLostError (also TransportError)   lost after the request was written
    │   ├── ResponseTooLargeError              the answer's decoded body is over max_body_size
    │   └── GatewayError (also ServerError)    a proxy's 502/504 or non-JSON 5xx page
    ├── TransportError                         the HTTP exchange failed below the API
    ├── DecodeError                            the body is not the JSON envelope we expect
    ├── ResultsFileError                       a results file that cannot be used or written
    │   └── ResultsFileInUseError              another sink holds the file's lock
    └── APIError                               DataForSEO answered with an error status code
        ├── AuthError                          401, 403, 40100, 40104, 40201, 40207
        ├── BillingError                       402, 40200, 40204, 40210
        │   └── CostLimitError                 40203: the account's daily spend cap
        ├── RateLimitError                     40202 (and a proxy's 429)
        ├── ConcurrencyLimitError              40209
        ├── DuplicateTaskLimitError            40205, 40206
        ├── InvalidRequestError                400, 40000-40006, 40501-40506, 50100
        ├── NotFoundError                      404, 40400-40403
        ├── TaskPendingError                   40601, 40602
        └── ServerError                        500/503, 50000-50304, 40101, 40103
            ├── ExecutionTimeoutError          50401: the Live task ran past 120 s
            └── GatewayError                   (above) 502/504, or a 5xx that is not JSON

A web backend maps `NotSentError` to 503 (retry later: nothing was sent or charged) and
`OutcomeUnknownError` to 504 (the call may have run and been charged). Every error pickles
with its fields, so it crosses a process pool.

Branch on ``status_code`` or on the class, never on ``status_message``: DataForSEO expands
and rewords its messages.
"""

from __future__ import annotations

import os
from typing import Final

RAW_BODY_LIMIT: Final = 2048
"""How many bytes of an undecodable body an error keeps."""


class DFSError(Exception):
    """Root of every error dfs_async raises."""

    sent: bool = False
    """Whether the request reached DataForSEO (or may have): False means nothing ran there
    and nothing was charged."""

    def __reduce__(self) -> tuple[object, ...]:
        # Exception's own reduce rebuilds from ``args`` (the formatted message), which does not
        # fit constructors with fields; rebuild from args and the instance's fields instead.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[DFSError], args: tuple[object, ...], state: dict[str, object]) -> DFSError:
    """Unpickle an error without calling its constructor."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class NotSentError(DFSError):
    """The call never reached DataForSEO for a passing reason; sending it later may work."""

    sent = False


class OutcomeUnknownError(DFSError):
    """The request was sent and no answer came: DataForSEO may run and charge it anyway.

    Not resent unless ``RetryPolicy.retry_unknown_outcome``; a sweep records it as settled and
    possibly charged at its estimate, so a re-run does not pay for it again.
    """

    sent = True


class ValidationError(DFSError, ValueError):
    """A request field breaks a documented limit; raised before anything is sent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CredentialsError(DFSError, ValueError):
    """No credentials were given and none were found in the environment."""


class BudgetExceededError(DFSError):
    """Sending this call could cross the sweep's ``max_cost``; it was not sent."""


class ResponseTooLargeError(OutcomeUnknownError):
    """The answer's body, decoded, is larger than the client's ``max_body_size``; not read.

    DataForSEO answered (the slot is free), but what it charged is unknown: the call is
    settled like one whose answer was lost.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
        """The cap in bytes that the body went over."""


class DeadlineExceededError(OutcomeUnknownError, TimeoutError):
    """No answer arrived within the call's deadline after it was sent.

    The outcome is unknown: DataForSEO may still run (and charge) the task.
    """


class QueueTimeoutError(NotSentError, TimeoutError):
    """The call waited longer than ``queue_timeout`` for a slot or a rate token; never sent."""


class GovernorUnavailableError(QueueTimeoutError):
    """The shared governor's Redis stayed unreachable longer than ``redis_wait``; never sent.

    The governor fails closed: without Redis it cannot know what the other processes send, so
    it sends nothing. A re-run of a sweep sends these items again.
    """


class TransportError(DFSError):
    """The HTTP exchange failed below the API (connection refused or reset, DNS, TLS).

    Raised as `ConnectError` (never sent) or `ConnectionLostError` (sent, outcome unknown) by
    the aiohttp transport; `transport_error` picks the class from ``sent``.
    """

    def __init__(self, message: str, *, sent: bool = True, answered: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        """False when the request surely never reached the server whole (refused, or reset
        while connecting or writing): safe to resend. True: DataForSEO may have run it."""
        self.answered = answered
        """True when something answered, unreadably (a garbage status line, broken chunking):
        the exchange is over. False after the send: the connection was lost while the server
        may still be running the call."""


class ConnectError(NotSentError, TransportError):
    """The request never reached DataForSEO whole (refused, DNS, TLS, reset while writing)."""

    def __init__(self, message: str, *, sent: bool = False, answered: bool = False) -> None:
        TransportError.__init__(self, message, sent=False, answered=False)


class ConnectionLostError(OutcomeUnknownError, TransportError):
    """The connection failed after the whole request was written: the outcome is unknown."""

    def __init__(self, message: str, *, sent: bool = True, answered: bool = False) -> None:
        TransportError.__init__(self, message, sent=True, answered=answered)


def transport_error(message: str, *, sent: bool, answered: bool = False) -> TransportError:
    """The `TransportError` subclass for a failure before (``sent`` False) or after the send."""
    if sent:
        return ConnectionLostError(message, answered=answered)
    return ConnectError(message)


class DecodeError(DFSError):
    """The server's answer is not a JSON envelope (HTML from a proxy, truncated, empty)."""

    sent = True

    def __init__(self, message: str, *, http_status: int, body: bytes) -> None:
        super().__init__(f"{message} (HTTP {http_status}, {len(body)} bytes: {_preview(body)})")
        self.http_status = http_status
        self.body = body[:RAW_BODY_LIMIT]
        """The first `RAW_BODY_LIMIT` bytes of the raw body."""


class ResultsFileError(DFSError):
    """A results file cannot be used: not a results file, unreadable, or a write failed."""

    def __init__(self, path: object, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)


class ResultsFileInUseError(ResultsFileError):
    """Another `JsonlSink` (in this process or another one) has the results file open."""

    def __init__(self, path: object, pid: int | None) -> None:
        holder = "another process" if pid is None else f"process {pid}"
        if pid is not None and pid == os.getpid():
            holder = "another sink in this process"
        super().__init__(
            path, f"in use by {holder}; two sweeps cannot share a results file, wait for it to end"
        )
        self.pid = pid
        """The holder's process id, when the system tells it."""


class APIError(DFSError):
    """DataForSEO answered with a status code other than success."""

    sent = True

    retryable: bool = False
    """Whether the same call may succeed if sent again later."""

    def __init__(
        self,
        status_code: int,
        status_message: str,
        *,
        task_id: str | None = None,
        cost: float = 0.0,
        http_status: int = 200,
    ) -> None:
        hint = _HINTS.get(type(self), "")
        where = f" (task {task_id})" if task_id else ""
        super().__init__(f"{status_code} {status_message}{where}{hint}")
        self.status_code = status_code
        self.status_message = status_message
        self.task_id = task_id
        self.cost = cost
        self.http_status = http_status
        self.body = b""
        """The first bytes of a body that was not an envelope (a proxy's HTML page), if any."""


class AuthError(APIError):
    """Credentials refused, account unverified, paused, or IP not allowed."""


class BillingError(APIError):
    """The account cannot pay for this call."""


class CostLimitError(BillingError):
    """The account's daily spend cap is reached; it resets at 00:00 UTC."""


class RateLimitError(APIError):
    """The account's per-minute call limit is exceeded."""

    retryable = True


class ConcurrencyLimitError(APIError):
    """Too many simultaneous Live tasks on the account."""

    retryable = True


class DuplicateTaskLimitError(APIError):
    """The account's duplicate-task limit (per hour or per day) is exceeded."""


class InvalidRequestError(APIError):
    """The server rejected the request body or a field of it."""


class NotFoundError(APIError):
    """The endpoint, path or task does not exist."""


class TaskPendingError(APIError):
    """The task is not finished yet."""


class ServerError(APIError):
    """DataForSEO or its upstream failed; the call may succeed later."""

    retryable = True


class ExecutionTimeoutError(ServerError):
    """The Live task was not processed within the server's 120 s execution limit."""


class GatewayError(ServerError, OutcomeUnknownError):
    """A proxy's page (HTTP 502/504, or a 5xx without DataForSEO's JSON envelope).

    A gateway answers so when it gave up waiting, not DataForSEO: the call may still be running
    there and be charged, so its outcome is unknown (``error.body`` keeps the page).
    """


# One table, code -> class. Ranges of the appendix collapse to explicit codes so that a code
# DataForSEO adds later falls through to the generic class of its hundred (see error_for_code).
_CODE_TABLE: Final[dict[int, type[APIError]]] = {
    40000: InvalidRequestError,
    40001: InvalidRequestError,
    40002: InvalidRequestError,
    40003: InvalidRequestError,
    40004: InvalidRequestError,
    40005: InvalidRequestError,
    40006: InvalidRequestError,
    40100: AuthError,
    40101: ServerError,
    40102: NotFoundError,
    40103: ServerError,
    40104: AuthError,
    40200: BillingError,
    40201: AuthError,
    40202: RateLimitError,
    40203: CostLimitError,
    40204: BillingError,
    40205: DuplicateTaskLimitError,
    40206: DuplicateTaskLimitError,
    40207: AuthError,
    40209: ConcurrencyLimitError,
    40210: BillingError,
    40400: NotFoundError,
    40401: NotFoundError,
    40402: NotFoundError,
    40403: NotFoundError,
    40501: InvalidRequestError,
    40502: InvalidRequestError,
    40503: InvalidRequestError,
    40505: InvalidRequestError,
    40506: InvalidRequestError,
    40601: TaskPendingError,
    40602: TaskPendingError,
    50000: ServerError,
    50001: ServerError,
    50100: InvalidRequestError,
    50301: ServerError,
    50303: ServerError,
    50304: ServerError,
    50401: ExecutionTimeoutError,
}

_HTTP_TABLE: Final[dict[int, type[APIError]]] = {
    400: InvalidRequestError,
    401: AuthError,
    402: BillingError,
    403: AuthError,  # access denied: IP not in the account's allow-list, or account blocked
    404: NotFoundError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
}

HTTP_STATUSES: Final = frozenset(_HTTP_TABLE)
"""HTTP statuses that are an API error by themselves, whatever the body (a proxy's HTML)."""

# DataForSEO publishes no retry table: these are the codes its errors appendix
# (https://docs.dataforseo.com/v3/appendix/errors/) describes as a passing limit or a transient
# server fault. 40101/40103/50304 are ServerErrors but only some are worth a
# resend: 40101 (upstream failed after DataForSEO's own retries) is billable, 50304 is a
# long outage; both fail fast.
RETRYABLE_CODES: Final = frozenset({40202, 40209, 40103, 50000, 50001, 50301, 50303, 50401})
RETRYABLE_HTTP: Final = frozenset({429, 500, 502, 503, 504})
GATEWAY_HTTP: Final = frozenset({502, 504})
"""Statuses a gateway answers when it gave up waiting on DataForSEO (Bad Gateway, Gateway
Timeout): the call may have been forwarded and still run, so its outcome is unknown."""

_HINTS: Final[dict[type[APIError], str]] = {
    AuthError: " - check DATAFORSEO_LOGIN / DATAFORSEO_PASSWORD (https://app.dataforseo.com/api-access)",
    BillingError: " - top up the balance at https://app.dataforseo.com",
    CostLimitError: " - the daily cost cap resets at 00:00 UTC, or raise it in the dashboard",
    DuplicateTaskLimitError: " - raise the duplicate-task limit in the dashboard or vary the task",
    InvalidRequestError: " - fix the request; sending it again will fail the same way",
}


def error_for_code(
    status_code: int,
    status_message: str,
    *,
    task_id: str | None = None,
    cost: float = 0.0,
    http_status: int = 200,
) -> APIError:
    """Build the typed error for a DataForSEO status code (envelope or task level)."""
    cls = _CODE_TABLE.get(status_code)
    if cls is None:
        # An unknown code: 5xxxx is the server's fault, anything else the request's.
        cls = ServerError if status_code >= 50000 else APIError
    err = cls(status_code, status_message, task_id=task_id, cost=cost, http_status=http_status)
    err.retryable = status_code in RETRYABLE_CODES
    return err


def error_for_http(http_status: int, status_code: int | None, status_message: str) -> APIError:
    """Build the typed error for a non-200 HTTP answer, preferring the body's own code."""
    if status_code is not None and status_code in _CODE_TABLE:
        # DataForSEO's own code decides, retryability included (HTTP 500 + 40501 is final).
        return error_for_code(status_code, status_message, http_status=http_status)
    cls = _HTTP_TABLE.get(http_status, ServerError if http_status >= 500 else APIError)
    if http_status in GATEWAY_HTTP or (http_status >= 500 and status_code is None):
        # Not DataForSEO's own answer: a gateway gave up on it, and the call may still run.
        cls = GatewayError
    err = cls(status_code or http_status, status_message, http_status=http_status)
    err.retryable = http_status in RETRYABLE_HTTP
    return err


def _preview(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else ""))
