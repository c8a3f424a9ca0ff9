"""Which failures are worth another attempt, how long to wait, and the one retry loop.

Decisions use status codes and exception types, never message text. A call is resent only if
its outcome is known to be "not done, not charged": a charged answer is never resent, and a
call whose fate is unknown (deadline passed after the send, connection lost or garbage answered
after the whole request was written, a gateway's 502/504 page, body cut off after HTTP 200)
only when the policy opts in, since DataForSEO may have run and billed it. Only a call that
never left (no slot in time, connection failed before the request was written) is surely safe.

`Retrier` is the loop every call of a client goes through, Live and Standard alike: each
endpoint passes its own rule for what may be sent again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from .._config import RetryPolicy
from .._errors import (
    APIError,
    DecodeError,
    DFSError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from ._observe import CURRENT_CALL
from ._stats import StatsRecorder

logger: Final = logging.getLogger("dfs_async")

T = TypeVar("T")


def outcome_unknown(error: DFSError) -> bool:
    """True when the server may have run (and charged) the call although we got no answer."""
    if isinstance(error, OutcomeUnknownError):
        return True  # deadline after the send, connection lost, a gateway's page
    if isinstance(error, TransportError):
        return error.sent  # a hand-made TransportError (a custom transport)
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
    if outcome_unknown(error):
        return policy.retry_unknown_outcome  # a gateway's 504 may hide a running, paid call
    if isinstance(error, APIError):
        charged = error.cost > 0
        return not charged and (error.retryable or error.status_code in policy.retry_codes)
    return isinstance(error, TransportError) and not error.sent  # nothing can have run


def should_reread(error: DFSError, policy: RetryPolicy) -> bool:
    """`should_retry` for a call that only reads and costs nothing (Models, user_data,
    tasks_ready, task_get): an unknown outcome is worth another try too."""
    return outcome_unknown(error) or should_retry(error, policy)


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


class Retrier:
    """The retry loop shared by every call of one client.

    ``pause_account`` holds every call of the client (the governor's pause) after a 40202.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        rate_period: float,
        stats: StatsRecorder,
        pause_account: Callable[[float], None],
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.rng = rng if rng is not None else random.Random()
        self._rate_period = rate_period
        self._stats = stats
        self._pause_account = pause_account

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        what: str,
        *,
        resend: Callable[[DFSError], bool] | None = None,
        on_rate_limit: Callable[[], float] | None = None,
    ) -> T:
        """Await ``attempt()`` until it succeeds or its error may not be sent again.

        ``resend`` says which errors may be sent again (default: `should_retry` with the
        policy); ``on_rate_limit`` replaces the account-wide pause after a 40202 and returns
        the delay before the resend. A sweep that is stopping sends nothing more.
        """
        watch = CURRENT_CALL.get()
        tries = 0
        while True:
            try:
                return await attempt()
            except DFSError as exc:
                again = resend(exc) if resend is not None else should_retry(exc, self.policy)
                stopping = watch is not None and watch.stopping
                if tries >= self.policy.max_retries or not again or stopping:
                    self._stats.errors[error_key(exc)] += 1
                    raise
                delay = self._delay(exc, tries, on_rate_limit)
                self._stats.retries[error_key(exc)] += 1
                logger.debug(
                    "retry %d/%d of %s in %.2f s after %s",
                    tries + 1,
                    self.policy.max_retries,
                    what,
                    delay,
                    exc,
                )
                tries += 1
                await asyncio.sleep(delay)

    def _delay(
        self, error: DFSError, tries: int, on_rate_limit: Callable[[], float] | None
    ) -> float:
        if not isinstance(error, RateLimitError):
            return backoff(tries, self.policy, self.rng)
        if on_rate_limit is not None:
            return on_rate_limit()
        # The account's window is full, perhaps because of another process: hold every call
        # of this client until the window has likely rolled over.
        delay = rate_limit_pause(self._rate_period, self.policy, self.rng)
        self._pause_account(delay)
        return delay
