"""The emulated service's decisions for one request: authenticate, route, validate, pick the answer.

No I/O: a parsed request goes in, and out comes either a complete :class:`Reply` (an error, or a fault
before the stream) or a :class:`StreamPlan` (the response head, every frame of the answer, and the
in-stream fault to act out) that the server writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .auth import AuthPolicy, authenticate
from .faults import FAULT_HEADER, Fault, FaultKind, FaultSyntaxError, parse_fault
from .frames import chunk_frame, error_frame, exception_frame, oversized_frame
from .http11 import RequestHead
from .models import answer_events
from .replies import Reply, ServiceError, bad_gateway_reply, error_reply, http_date
from .validation import Invocation, match_route, validate

__all__ = ["Outcome", "Service", "StreamPlan"]

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
# Answers are cached by request so that repeated identical requests (benchmarks, load tests) cost only
# the writing; bodies above this size are not worth keeping.
_CACHE_ENTRIES = 64
_CACHE_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class StreamPlan:
    """A 200 event stream to send: the head's headers, the answer's frames, and what goes wrong in it.

    ``fault_frame`` is the frame an ``exception``, ``error`` or ``oversized-frame`` fault sends in place of
    the rest of the answer.
    """

    headers: tuple[tuple[str, str], ...]
    frames: tuple[bytes, ...]
    fault: Fault | None = None
    fault_frame: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    """What the service does with a request, and what to record about it."""

    response: Reply | StreamPlan
    status: int
    model_id: str | None = None
    fault: Fault | None = None
    error_name: str | None = None


class Service:
    """The decisions of the emulated Bedrock Runtime, configured once, applied per request.

    ``chunk_count`` overrides how many chunk events each answer has (``None``: the model's natural length);
    ``allow_fault_header`` lets requests ask for a fault with ``X-Emulator-Fault``.
    """

    def __init__(
        self, policy: AuthPolicy, *, chunk_count: int | None = None, allow_fault_header: bool = True
    ) -> None:
        self.policy = policy
        self.chunk_count = chunk_count
        self.allow_fault_header = allow_fault_header
        self._cache: dict[tuple[str, bytes], tuple[bytes, ...]] = {}

    def handle(
        self,
        head: RequestHead,
        body: bytes,
        *,
        now: float,
        request_id: str,
        take_fault: Callable[[], Fault | None],
    ) -> Outcome:
        """Decide the response to one request. ``take_fault`` is asked only for a valid invocation."""
        lowered: dict[str, str] = {}
        for name, value in head.headers:
            lname = name.lower()
            lowered[lname] = f"{lowered[lname]},{value}" if lname in lowered else value
        model_id: str | None = None
        try:
            authenticate(
                head.method,
                head.target,
                head.headers,
                body,
                policy=self.policy,
                now=datetime.fromtimestamp(now, timezone.utc),
            )
            segment = match_route(head.method, head.target)
            if segment is None:
                raise ServiceError(
                    404,
                    "UnknownOperationException",
                    f"No operation matches {head.method} {head.target.partition('?')[0]}: this service "
                    f"answers POST /model/{{modelId}}/invoke-with-response-stream",
                )
            header_fault = self._header_fault(lowered)
            invocation = validate(segment, lowered, body)
            model_id = invocation.model_id
        except ServiceError as error:
            reply = error_reply(error, request_id, now)
            return Outcome(reply, reply.status, model_id, None, error.name)

        fault = header_fault if header_fault is not None else take_fault()
        if fault is not None and fault.kind.before_stream:
            reply = self._fault_reply(fault, request_id, now)
            return Outcome(reply, reply.status, model_id, fault, reply.error_name)
        plan = StreamPlan(
            headers=self._stream_headers(invocation, request_id, now),
            frames=self._frames(invocation),
            fault=fault,
            fault_frame=_fault_frame(fault) if fault is not None else None,
        )
        return Outcome(plan, 200, model_id, fault, None)

    def _header_fault(self, lowered: dict[str, str]) -> Fault | None:
        text = lowered.get(FAULT_HEADER.lower())
        if text is None or not self.allow_fault_header:
            return None
        try:
            return parse_fault(text)
        except FaultSyntaxError as exc:
            raise ServiceError(400, "ValidationException", f"Bad {FAULT_HEADER} header: {exc}") from None

    def _frames(self, invocation: Invocation) -> tuple[bytes, ...]:
        key = (invocation.model_id, invocation.body)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        events = answer_events(
            invocation.family, invocation.model_id, invocation.request, chunk_count=self.chunk_count
        )
        frames = tuple(chunk_frame(event) for event in events)
        if len(invocation.body) <= _CACHE_MAX_BODY:
            if len(self._cache) >= _CACHE_ENTRIES:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = frames
        return frames

    @staticmethod
    def _stream_headers(invocation: Invocation, request_id: str, now: float) -> tuple[tuple[str, str], ...]:
        headers = [
            ("Date", http_date(now)),
            ("Content-Type", EVENTSTREAM_CONTENT_TYPE),
            ("Transfer-Encoding", "chunked"),
            ("x-amzn-RequestId", request_id),
            ("X-Amzn-Bedrock-Content-Type", "application/json"),
            ("X-Amzn-Bedrock-PerformanceConfig-Latency", invocation.performance_config_latency),
        ]
        if invocation.service_tier is not None:
            headers.append(("X-Amzn-Bedrock-Service-Tier", invocation.service_tier))
        return tuple(headers)

    @staticmethod
    def _fault_reply(fault: Fault, request_id: str, now: float) -> Reply:
        if fault.kind is FaultKind.BAD_GATEWAY:
            return bad_gateway_reply(now)
        if fault.kind is FaultKind.NOT_EVENTSTREAM:
            body = json.dumps({"message": fault.error_message}).encode("utf-8")
            headers = (
                ("Date", http_date(now)),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", request_id),
            )
            return Reply(200, headers, body, error_name="NotAnEventStream")
        extra: dict[str, object] = {}
        if fault.error_name in ("ModelStreamErrorException", "ModelErrorException"):
            extra["originalStatusCode"] = _original_status(fault)
            key = "originalMessage" if fault.error_name == "ModelStreamErrorException" else "resourceName"
            extra[key] = "The model's backend failed." if key == "originalMessage" else "emulated-model"
        error = ServiceError(fault.status, fault.error_name, fault.error_message, extra=extra)
        return error_reply(error, request_id, now)


def _original_status(fault: Fault) -> int:
    return int(fault.code) if fault.code is not None and fault.code.isdigit() else 500


def _fault_frame(fault: Fault) -> bytes | None:
    if fault.kind is FaultKind.EXCEPTION:
        body: dict[str, object] = {"message": fault.error_message}
        if fault.error_name == "modelStreamErrorException":
            body["originalStatusCode"] = _original_status(fault)
            body["originalMessage"] = "The model's backend failed while streaming."
        return exception_frame(fault.error_name, body)
    if fault.kind is FaultKind.ERROR:
        return error_frame(fault.code or "InternalFailure", fault.error_message)
    if fault.kind is FaultKind.OVERSIZED_FRAME:
        return oversized_frame(fault.size)
    return None
