"""Which failures are worth another attempt, and how long to wait before it.

Decisions use status codes and exception types, never message text. A call is resent only if
its outcome is known to be "not done, not charged": a charged answer is never resent, and a
call whose fate is unknown (deadline passed after the send, connection lost or garbage answered
after the whole request was written, body cut off after HTTP 200) only when the policy opts in,
since DataForSEO may have run and billed it. Only a connection that failed before the request
was written (refused, reset while connecting or writing) is safe to resend.
"""

from __future__ import annotations

import random

from .._config import RetryPolicy
from .._errors import (
    APIError,
    DeadlineExceededError,
    DecodeError,
    DFSError,
    InvalidRequestError,
    NotFoundError,
    QueueTimeoutError,
    TransportError,
    ValidationError,
)


def outcome_unknown(error: DFSError) -> bool:
    """True when the server may have run (and charged) the call although we got no answer."""
    if isinstance(error, QueueTimeoutError):
        return False  # never sent
    if isinstance(error, DeadlineExceededError):
        return True
    if isinstance(error, TransportError):
        return error.sent
    return isinstance(error, DecodeError) and error.http_status == 200


def settled(error: DFSError) -> bool:
    """True when a later run should not resend the request unless asked to.

    Either it would fail the same way (the request is invalid), or DataForSEO may already
    have charged for it. Everything else (never sent, over budget, account problems, retries
    exhausted on a transient error) is sent again by a re-run.
    """
    if isinstance(error, ValidationError | InvalidRequestError | NotFoundError):
        return True
    if isinstance(error, APIError) and error.cost > 0:
        return True
    return outcome_unknown(error)


def should_retry(error: DFSError, policy: RetryPolicy) -> bool:
    """Whether ``error`` may be cured by sending the same call again."""
    if isinstance(error, APIError):
        charged = error.cost > 0
        return not charged and (error.retryable or error.status_code in policy.retry_codes)
    if isinstance(error, TransportError) and not error.sent:
        return True  # the request never reached the server whole: nothing can have run
    return outcome_unknown(error) and policy.retry_unknown_outcome


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full-jitter exponential backoff before resend number ``attempt`` (0-based)."""
    ceiling = min(policy.backoff_max, policy.backoff_base * 2.0**attempt)
    return rng.uniform(0.0, ceiling)


def rate_limit_pause(rate_period: float, policy: RetryPolicy, rng: random.Random) -> float:
    """How long to hold the whole client after a 40202: most of a window, jittered.

    The server's window only empties as calls age out of it, so short backoffs would keep
    hitting a full window; waiting half to all of ``rate_period`` lets it roll over.
    """
    return min(policy.backoff_max, rate_period * rng.uniform(0.5, 1.0))


def error_key(error: BaseException) -> str:
    """A short label for counting errors: the status code, or the exception's class name."""
    if isinstance(error, APIError):
        return str(error.status_code)
    return type(error).__name__
