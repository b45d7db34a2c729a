"""One call to the service, from first attempt to accepted answer, as a generator of steps. No I/O, no httpx.

The shape is httpx's ``auth_flow``: :func:`call_flow` yields what to do next (:class:`Send` the request,
:class:`Sleep` before a retry, :class:`ReadBody` of the response just received) and is sent what happened
(:class:`Head`, :class:`Body`, :class:`Failed`). It returns an :class:`Accepted` answer or raises the typed
error that ends the call. Every decision of a call lives here - classifying an answer, retrying with backoff,
correcting the signing clock - so the sync and async clients are two short drivers that only wait, and the
HTTP/2 duplex can drive it too.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from datetime import datetime
from typing import NamedTuple

from .config import SigningClock
from .errors import BedrockRuntimeError, UnexpectedResponseError, error_from_http_response
from .operations import EVENTSTREAM_CONTENT_TYPE
from .request import PreparedRequest
from .retry import RetryPolicy

__all__ = [
    "MAX_ERROR_BODY",
    "Accepted",
    "Body",
    "Failed",
    "Head",
    "ReadBody",
    "Reply",
    "Send",
    "Sleep",
    "Step",
    "call_flow",
    "is_event_stream",
]

# The steps and replies are NamedTuples rather than frozen dataclasses: every first request imports this
# module, and defining a dataclass costs ~0.7 ms against ~0.1 ms for a NamedTuple (bench_cold_start.py).
# Immutable and slotted all the same; the flow tells them apart with isinstance, never by equality.

#: Error bodies are small JSON documents;
#: reading more than this from a misbehaving endpoint only costs memory.
MAX_ERROR_BODY = 64 * 1024


class Send(NamedTuple):
    """Send ``request`` (signed for this attempt) and reply with its :class:`Head`, or :class:`Failed`."""

    request: PreparedRequest


class Sleep(NamedTuple):
    """Wait ``seconds`` before the next attempt, then reply ``None``."""

    seconds: float


class ReadBody(NamedTuple):
    """Read the body of the response just received and close it; reply with :class:`Body` or :class:`Failed`.

    ``limit``: stop after this many bytes (``None``: read it all). ``partial_ok``: a body cut by the network
    is still worth its bytes (an error body names its error more often than not), so reply :class:`Body`.
    """

    limit: int | None
    partial_ok: bool


Step = Send | Sleep | ReadBody


class Head(NamedTuple):
    """The status and headers of a response (``headers`` case-insensitive, as ``httpx.Headers``)."""

    status_code: int
    headers: Mapping[str, str]


class Body(NamedTuple):
    """The bytes read for a :class:`ReadBody`."""

    data: bytes


class Failed(NamedTuple):
    """The attempt failed on the network; ``error`` is typed by the driver, which knows its transport."""

    error: BedrockRuntimeError


Reply = Head | Body | Failed | None


class Accepted(NamedTuple):
    """The answer of a successful attempt: for a streamed operation ``body`` is ``None`` and the driver keeps
    the response open for the stream to read."""

    head: Head
    body: bytes | None
    retries: int


def is_event_stream(head: Head) -> bool:
    """A 200 whose media type is the event stream's (media types are case-insensitive, parameters ignored)."""
    if head.status_code != 200:
        return False
    content_type = head.headers.get("content-type") or ""
    return content_type.split(";", 1)[0].strip().lower() == EVENTSTREAM_CONTENT_TYPE


def _not_a_stream(head: Head, body: bytes, retries: int) -> UnexpectedResponseError:
    content_type = head.headers.get("content-type")
    shown = body[:512].decode("utf-8", "replace")
    return UnexpectedResponseError(
        f"expected an event stream ({EVENTSTREAM_CONTENT_TYPE}) but got a 200 with content type "
        f"{content_type!r}: {shown!r}",
        status_code=200,
        request_id=head.headers.get("x-amzn-requestid"),
        body=body,
        headers=head.headers,
        retry_attempts=retries,
    )


def call_flow(
    prepared: PreparedRequest,
    policy: RetryPolicy,
    clock: SigningClock,
    *,
    bearer: bool,
    failure: BedrockRuntimeError | None = None,
    now: Callable[[], datetime],
) -> Generator[Step, Reply, Accepted]:
    """The steps of one call of ``prepared``, retrying per ``policy``.

    ``failure`` starts the flow with an attempt that already failed (a stream whose first message was a
    retryable exception): the flow decides on it before sending again. ``policy`` is shared with such
    re-entries, so the attempt budget spans the whole call. ``bearer``: requests are not signed, so a clock
    complaint cannot be fixed by correcting our clock.
    """
    streaming = prepared.operation.streaming
    while True:
        if failure is not None:
            if bearer:
                action = policy.after_failure(failure, date_header=None)
            else:
                action = policy.after_failure(
                    failure, date_header=failure.headers.get("date"), local_now=now()
                )
            if action.clock_offset is not None:
                clock.offset = action.clock_offset
            if not action.retry:
                failure.retry_attempts = policy.retries
                raise failure
            if action.delay > 0:
                yield Sleep(action.delay)
        policy.start_attempt()
        reply = yield Send(prepared)
        if isinstance(reply, Failed):
            failure = reply.error
            failure.retry_attempts = policy.retries
            continue
        if not isinstance(reply, Head):
            raise TypeError(f"call_flow expected a Head or Failed after Send, got {reply!r}")
        head = reply
        if streaming and is_event_stream(head):
            return Accepted(head, None, policy.retries)
        if head.status_code == 200 and not streaming:
            read = yield ReadBody(limit=None, partial_ok=False)
            if isinstance(read, Failed):
                failure = read.error
                failure.retry_attempts = policy.retries
                continue
            if not isinstance(read, Body):
                raise TypeError(f"call_flow expected a Body or Failed after ReadBody, got {read!r}")
            return Accepted(head, read.data, policy.retries)
        read = yield ReadBody(limit=MAX_ERROR_BODY, partial_ok=True)
        body = read.data[:MAX_ERROR_BODY] if isinstance(read, Body) else b""
        if head.status_code == 200:
            failure = _not_a_stream(head, body, policy.retries)
        else:
            failure = error_from_http_response(
                head.status_code, head.headers, body, retry_attempts=policy.retries
            )
