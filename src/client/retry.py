"""Retry decisions, backoff schedule and clock-skew correction. Pure: the shells do the sleeping and sending.

Rules (shared by the sync and async clients):

* Retried: throttling (``ThrottlingException``, ``ModelNotReadyException``), 5xx responses and the service's
  5xx exceptions (``InternalServerException``, ``ServiceUnavailableException``), and transport failures
  (connect errors and timeouts, a connection reset or a read timeout before any event arrived).
* Only before the first event reached the caller: once an event was yielded, a retry would duplicate the
  answer, so every later failure is raised as is.
* At most ``max_attempts`` attempts in all, with exponential backoff and full jitter between them:
  ``sleep = uniform(0, min(cap, base * 2 ** (retry - 1)))`` (the AWS architecture blog's "full jitter").
* A signature rejected because the local clock is off (``Signature expired``, ``Signature not yet current``,
  ``RequestTimeTooSkewed``) is retried once, immediately, with the clock corrected by the offset between the
  response's ``Date`` header and local time. That retry does not count against ``max_attempts``.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import httpx

from .errors import BedrockRuntimeError, EndpointConnectionError, StreamError
from .operations import ERRORS

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "Backoff",
    "RetryAction",
    "RetryPolicy",
    "clock_skew_offset",
    "is_clock_skew_error",
    "is_retryable",
    "is_transient_transport_error",
]

DEFAULT_MAX_ATTEMPTS = 3

# Network failures worth another attempt. Not LocalProtocolError, ProxyError or UnsupportedProtocol: those
# are configuration mistakes that fail the same way every time.
_TRANSIENT_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_SKEW_CODES = frozenset({"RequestTimeTooSkewed", "RequestExpired", "SignatureExpired"})
_SKEW_PHRASES = ("signature expired", "signature not yet current", "request time too skewed")
# A server's Date is only trusted to correct a clock within this range; anything further is more likely a
# broken proxy than a broken local clock.
_MAX_SKEW = timedelta(hours=24)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter.

    Retry ``n`` (1-based) sleeps ``uniform(0, min(cap, base * 2 ** (n - 1)))`` seconds.
    """

    base: float = 0.5
    cap: float = 20.0

    def delay(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to sleep before retry ``retry_number`` (1 for the first retry)."""
        if retry_number < 1:
            raise ValueError(f"retry_number starts at 1, got {retry_number}")
        # min() before the power would overflow: 2 ** 2000 is fine for ints but not as a float product.
        ceiling = self.cap if retry_number > 64 else min(self.cap, self.base * 2 ** (retry_number - 1))
        return rand() * ceiling


def is_retryable(error: BedrockRuntimeError) -> bool:
    """Whether ``error`` is worth another attempt (ignoring how many were made)."""
    row = ERRORS.get(type(error).default_error_code or "")
    if row is not None and row.retryable:
        # Throttling and the service's 5xx exceptions, as HTTP errors or as the stream's first message.
        return True
    if isinstance(error, EndpointConnectionError):
        return error.__cause__ is not None and is_transient_transport_error(error.__cause__)
    if isinstance(error, StreamError):
        # A stream that broke before its first event (connection reset, read timeout) is a transport failure
        # like a connect error. A corrupt frame, or a body that ended cleanly inside a frame, is not: retrying
        # cannot fix it
        # in a way we can know, and it may be a bug worth seeing.
        return error.__cause__ is not None and is_transient_transport_error(error.__cause__)
    if error.in_stream or error.status_code is None:
        return False
    # An unknown 5xx (502/504 from a load balancer, an untyped 500) is transient too.
    return 500 <= error.status_code <= 599


def is_transient_transport_error(exc: BaseException) -> bool:
    """Whether an httpx exception is a network failure that another attempt may not hit.

    A TLS certificate that fails verification is not: the same certificate comes back on every attempt, and
    retrying would only delay the error the user has to see.
    """
    if not isinstance(exc, _TRANSIENT_TRANSPORT_ERRORS):
        return False
    cause: BaseException | None = exc
    for _ in range(16):  # bounded: an exception chain can be made cyclic
        if cause is None:
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            return False
        cause = cause.__cause__ or cause.__context__
    return True


def is_clock_skew_error(error: BedrockRuntimeError) -> bool:
    """Whether the service rejected the signature because the local clock is off."""
    if error.in_stream:
        return False
    if error.error_code in _SKEW_CODES:
        return True
    if error.status_code not in (400, 401, 403):
        return False
    text = error.message.lower()
    return any(phrase in text for phrase in _SKEW_PHRASES)


def clock_skew_offset(date_header: str | None, local_now: datetime) -> timedelta | None:
    """``server time - local time`` from an HTTP ``Date`` header, or None if absent, unparsable or absurd."""
    if not date_header:
        return None
    try:
        server = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=timezone.utc)
    offset = server - local_now
    if abs(offset) > _MAX_SKEW:
        return None
    return offset


@dataclass(frozen=True)
class RetryAction:
    """What to do after a failed attempt: ``retry`` after ``delay`` seconds (with ``clock_offset`` set when
    the clock must be corrected first), or give up and raise."""

    retry: bool
    delay: float = 0.0
    clock_offset: timedelta | None = None


_GIVE_UP = RetryAction(retry=False)


class RetryPolicy:
    """Per-call retry bookkeeping: how many attempts were made and whether the skew retry was used.

    Not shared between calls or threads: one per ``invoke_model_with_response_stream`` call.
    """

    def __init__(
        self, max_attempts: int, backoff: Backoff, rand: Callable[[], float] = random.random
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._rand = rand
        self.attempts = 0
        """Attempts sent so far, not counting the clock-skew retry."""
        self.skew_retried = False

    @property
    def retries(self) -> int:
        """Retries made so far (what boto3 reports as ``RetryAttempts``)."""
        return max(0, self.attempts - 1) + (1 if self.skew_retried else 0)

    def start_attempt(self) -> None:
        """Record that an attempt is being sent."""
        self.attempts += 1

    def after_failure(
        self, error: BedrockRuntimeError, *, date_header: str | None = None, local_now: datetime | None = None
    ) -> RetryAction:
        """Decide on the failure of the current attempt (which must have happened before any event)."""
        if is_clock_skew_error(error) and not self.skew_retried:
            offset = clock_skew_offset(date_header, local_now or datetime.now(timezone.utc))
            if offset is not None:
                self.skew_retried = True
                # The corrected attempt replaces the rejected one rather than consuming the budget.
                self.attempts -= 1
                return RetryAction(retry=True, delay=0.0, clock_offset=offset)
        if not is_retryable(error) or self.attempts >= self.max_attempts:
            return _GIVE_UP
        return RetryAction(retry=True, delay=self.backoff.delay(self.attempts, self._rand))
