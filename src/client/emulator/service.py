"""The emulated service's decisions for one request: authenticate, route, validate, answer, act out a fault.

No I/O: a received request goes in (method, target, headers, body), and out comes either a complete
:class:`Reply` (an error, or a fault before the answer) or a :class:`~.plan.Plan` (the response head and the
steps of its body, fault included) that a wire layer plays. Routes, error names and event names come from
:mod:`client.operations`; each operation's answer is built by one row of :data:`Service._ANSWERS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from client.operations import (
    ALL_OPERATIONS,
    CONVERSE,
    CONVERSE_STREAM,
    COUNT_TOKENS,
    EVENTSTREAM_CONTENT_TYPE,
    INVOKE_MODEL,
    INVOKE_MODEL_WITH_RESPONSE_STREAM,
    REQUEST_ID,
    RESPONSE_CONTENT_TYPE,
    RESPONSE_PERFORMANCE_CONFIG_LATENCY,
    RESPONSE_SERVICE_TIER,
    Body,
    Operation,
    error_row,
    match_path,
)

from .answers import answer_events, family_answer, native_body
from .auth import AuthPolicy, Identity, authenticate
from .converse import converse_answer, converse_prompt
from .faults import FAULT_HEADER, Fault, FaultKind, FaultSyntaxError, parse_fault
from .frames import chunk_frame, error_frame, event_frame, exception_frame, oversized_frame
from .headers import fold
from .plan import Plan, body_steps, stream_steps
from .replay import Recording
from .replies import Reply, ServiceError, bad_gateway_reply, error_reply, http_date
from .validation import Invocation, validate

__all__ = ["Outcome", "Service"]

# Answers are cached by request so that repeated identical requests (benchmarks, load tests) cost only
# the writing; bodies above this size are not worth keeping.
_CACHE_ENTRIES = 64
_CACHE_MAX_BODY = 64 * 1024
_JSON = "application/json"


@dataclass(frozen=True)
class _Answer:
    """An operation's fault-free answer: event frames (with their event names), or one JSON body."""

    frames: tuple[bytes, ...] = ()
    event_types: tuple[str, ...] = ()
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: Seconds before each frame, for a replay paced as recorded (else the emulator's ``pace`` applies).
    gaps: tuple[float, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What the service does with a request, and what to record about it."""

    response: Reply | Plan
    status: int
    model_id: str | None = None
    fault: Fault | None = None
    error_name: str | None = None
    operation: Operation | None = None
    #: How the request authenticated (``None`` when it did not).
    identity: Identity | None = None


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Service:
    """The decisions of the emulated Bedrock Runtime, configured once, applied per request.

    ``chunk_count`` overrides how many text chunks each answer has (``None``: the model's natural length);
    ``allow_fault_header`` lets requests ask for a fault with ``X-Emulator-Fault``; ``strict`` adds the
    validation rules whose service behaviour is not documented; ``replay`` answers every stream request
    (after authentication and validation) with a recorded stream's frames instead of the model's.
    """

    def __init__(
        self,
        policy: AuthPolicy,
        *,
        chunk_count: int | None = None,
        allow_fault_header: bool = True,
        strict: bool = False,
        replay: Recording | None = None,
    ) -> None:
        self.policy = policy
        self.strict = strict
        self.replay = replay
        self._replayed = (
            _Answer(
                replay.pieces,
                replay.event_types,
                None,
                (("Content-Type", EVENTSTREAM_CONTENT_TYPE),),
                replay.gaps,
            )
            if replay is not None
            else None
        )
        self.chunk_count = chunk_count
        self.allow_fault_header = allow_fault_header
        self._cache: dict[tuple[str, str, bytes], _Answer] = {}

    def handle(
        self,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        *,
        now: float,
        request_id: str,
        take_fault: Callable[[], Fault | None],
        pace: float = 0.0,
    ) -> Outcome:
        """Decide the response to one request. ``take_fault`` is asked only for a valid invocation."""
        lowered = fold(headers)
        model_id: str | None = None
        op: Operation | None = None
        identity: Identity | None = None
        try:
            identity = authenticate(
                method,
                target,
                headers,
                body,
                policy=self.policy,
                now=datetime.fromtimestamp(now, timezone.utc),
            )
            route = match_path(target.partition("?")[0]) if method == "POST" else None
            if route is None:
                served = ", ".join(f"/model/{{modelId}}/{op.action}" for op in ALL_OPERATIONS)
                raise ServiceError(
                    404,
                    "UnknownOperationException",
                    f"No operation matches {method} {target.partition('?')[0]}: "
                    f"this service answers POST {served}",
                )
            op, model_id = route
            header_fault = self._header_fault(lowered)
            invocation = validate(op, model_id, lowered, body, strict=self.strict)
        except ServiceError as error:
            reply = error_reply(error, request_id, now)
            return Outcome(reply, reply.status, model_id, None, error.name, op, identity)

        fault = header_fault if header_fault is not None else take_fault()
        if fault is not None and fault.kind.before_stream:
            reply = self._fault_reply(fault, request_id, now)
            return Outcome(reply, reply.status, model_id, fault, reply.error_name, op, identity)
        answer = self._answer(invocation)
        head = (("Date", http_date(now)), (REQUEST_ID, request_id), *answer.headers)
        if op.streaming:
            steps = stream_steps(
                answer.frames,
                event_types=answer.event_types,
                fault=fault,
                fault_frame=_fault_frame(fault) if fault is not None else None,
                pace=pace,
                gaps=answer.gaps,
            )
            head = (*head, ("Transfer-Encoding", "chunked"))
            return Outcome(Plan(200, head, steps, True, fault), 200, model_id, fault, None, op, identity)
        if fault is not None and fault.kind in (FaultKind.EXCEPTION, FaultKind.ERROR):
            # A one-piece answer has no stream to carry an exception: it becomes the HTTP error it stands for.
            reply = error_reply(_as_http_error(fault), request_id, now)
            return Outcome(reply, reply.status, model_id, fault, reply.error_name, op, identity)
        assert answer.body is not None
        sent, steps = body_steps(answer.body, fault)
        head = (*head, ("Content-Length", str(len(sent))))
        return Outcome(Plan(200, head, steps, False, fault), 200, model_id, fault, None, op, identity)

    def _header_fault(self, lowered: dict[str, str]) -> Fault | None:
        text = lowered.get(FAULT_HEADER.lower())
        if text is None or not self.allow_fault_header:
            return None
        try:
            return parse_fault(text)
        except FaultSyntaxError as exc:
            raise ServiceError(400, "ValidationException", f"Bad {FAULT_HEADER} header: {exc}") from None

    # -- answers, one builder per operation ----------------------------------------------------------------

    def _answer(self, invocation: Invocation) -> _Answer:
        if self._replayed is not None and invocation.operation.streaming:
            replayed = self._replayed
            return _Answer(
                replayed.frames,
                replayed.event_types,
                None,
                (*replayed.headers, *_echoed(invocation)),
                replayed.gaps,
            )
        key = (invocation.operation.name, invocation.model_id, invocation.body)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._ANSWERS[invocation.operation.name](self, invocation)
            if len(invocation.body) <= _CACHE_MAX_BODY:
                if len(self._cache) >= _CACHE_ENTRIES:
                    del self._cache[next(iter(self._cache))]
                self._cache[key] = cached
        # Headers that echo the request's options are not part of the cached answer.
        return _Answer(
            cached.frames, cached.event_types, cached.body, (*cached.headers, *_echoed(invocation))
        )

    def _invoke_stream(self, invocation: Invocation) -> _Answer:
        events = answer_events(
            invocation.family, invocation.model_id, invocation.request, chunk_count=self.chunk_count
        )
        frames = tuple(chunk_frame(event) for event in events)
        (event_type,) = INVOKE_MODEL_WITH_RESPONSE_STREAM.stream_events
        headers = (("Content-Type", EVENTSTREAM_CONTENT_TYPE), (RESPONSE_CONTENT_TYPE, _JSON))
        return _Answer(frames, (event_type,) * len(frames), None, headers)

    def _invoke(self, invocation: Invocation) -> _Answer:
        answer = family_answer(invocation.family, invocation.model_id, invocation.request, self.chunk_count)
        document = native_body(invocation.family, invocation.model_id, answer, invocation.request)
        # The headers state the counts the body states: a body that recounted its tokens (Claude's tool-use
        # and thinking blocks) has the last word, as clients compare the two (langchain-aws reads the header).
        usage = document.get("usage")
        input_tokens, output_tokens = answer.input_tokens, answer.output_tokens
        if isinstance(usage, dict):
            input_tokens = usage.get("input_tokens", input_tokens)
            output_tokens = usage.get("output_tokens", output_tokens)
        headers = (
            ("Content-Type", _JSON),
            ("X-Amzn-Bedrock-Invocation-Latency", str(answer.metrics["invocationLatency"])),
            ("X-Amzn-Bedrock-Input-Token-Count", str(input_tokens)),
            ("X-Amzn-Bedrock-Output-Token-Count", str(output_tokens)),
        )
        body = _json_bytes(document)
        return _Answer(body=body, headers=headers)

    def _converse(self, invocation: Invocation) -> _Answer:
        answer = converse_answer(
            invocation.family, invocation.model_id, invocation.request, chunk_count=self.chunk_count
        )
        return _Answer(body=_json_bytes(answer.document()), headers=(("Content-Type", _JSON),))

    def _converse_stream(self, invocation: Invocation) -> _Answer:
        answer = converse_answer(
            invocation.family, invocation.model_id, invocation.request, chunk_count=self.chunk_count
        )
        events = answer.events()
        frames = tuple(event_frame(name, payload) for name, payload in events)
        types = tuple(name for name, _ in events)
        return _Answer(frames, types, None, (("Content-Type", EVENTSTREAM_CONTENT_TYPE),))

    def _count_tokens(self, invocation: Invocation) -> _Answer:
        # The same count the answer's usage reports for this input (see answers.compose).
        if invocation.content is Body.MODEL_JSON:
            tokens = family_answer(invocation.family, invocation.model_id, invocation.request).input_tokens
        else:
            tokens = max(1, len(converse_prompt(invocation.request).split()))
        return _Answer(body=_json_bytes({"inputTokens": tokens}), headers=(("Content-Type", _JSON),))

    _ANSWERS: ClassVar[dict[str, Callable[[Service, Invocation], _Answer]]] = {
        INVOKE_MODEL_WITH_RESPONSE_STREAM.name: _invoke_stream,
        INVOKE_MODEL.name: _invoke,
        CONVERSE.name: _converse,
        CONVERSE_STREAM.name: _converse_stream,
        COUNT_TOKENS.name: _count_tokens,
    }

    @staticmethod
    def _fault_reply(fault: Fault, request_id: str, now: float) -> Reply:
        if fault.kind is FaultKind.BAD_GATEWAY:
            return bad_gateway_reply(now)
        if fault.kind is FaultKind.NOT_EVENTSTREAM:
            body = json.dumps({"message": fault.error_message}).encode("utf-8")
            headers = (
                ("Date", http_date(now)),
                ("Content-Type", _JSON),
                ("Content-Length", str(len(body))),
                (REQUEST_ID, request_id),
            )
            return Reply(200, headers, body, error_name="NotAnEventStream")
        extra: dict[str, object] = {}
        if fault.error_name in ("ModelStreamErrorException", "ModelErrorException"):
            extra["originalStatusCode"] = _original_status(fault)
            key = "originalMessage" if fault.error_name == "ModelStreamErrorException" else "resourceName"
            extra[key] = "The model's backend failed." if key == "originalMessage" else "emulated-model"
        error = ServiceError(fault.status, fault.error_name, fault.error_message, extra=extra)
        return error_reply(error, request_id, now)


def _echoed(invocation: Invocation) -> tuple[tuple[str, str], ...]:
    """The response headers that echo InvokeModel's options (the service's performance and tier headers)."""
    if invocation.operation.request_body is not Body.MODEL_JSON:
        return ()
    headers = [(RESPONSE_PERFORMANCE_CONFIG_LATENCY, invocation.performance_config_latency)]
    if invocation.service_tier is not None:
        headers.append((RESPONSE_SERVICE_TIER, invocation.service_tier))
    return tuple(headers)


def _original_status(fault: Fault) -> int:
    return int(fault.code) if fault.code is not None and fault.code.isdigit() else 500


def _as_http_error(fault: Fault) -> ServiceError:
    if fault.kind is FaultKind.ERROR:
        return ServiceError(500, fault.code or "InternalFailure", fault.error_message)
    row = error_row(fault.error_name)
    assert row is not None  # Fault checks exception names against the table
    extra: dict[str, Any] = {}
    if row.name == "ModelStreamErrorException":
        extra = {
            "originalStatusCode": _original_status(fault),
            "originalMessage": "The model's backend failed.",
        }
    return ServiceError(row.status, row.name, fault.error_message, extra=extra)


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
