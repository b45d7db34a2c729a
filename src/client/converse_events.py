"""Typed events of a ConverseStream answer, and typing one decoded event-stream message. Pure, no I/O.

ConverseStream's events are typed on the wire: each frame's ``:event-type`` names it (``messageStart``,
``contentBlockStart``, ``contentBlockDelta``, ``contentBlockStop``, ``messageStop``, ``metadata``) and its
payload is the event's JSON (plus a ``p`` padding member that hides the text length; it is ignored). Each
becomes one small immutable object here, with ``.type`` (the wire name) and ``.to_dict()`` (exactly the dict
boto3's ``converse_stream`` yields for it: ``{"contentBlockDelta": {...}}``, base64 members as ``bytes``).

The service keeps adding kinds (image and tool-result blocks arrived in 2025), so an event or delta kind this
version does not know is yielded as :class:`UnknownEvent` / :class:`UnknownDelta` carrying its raw payload:
never dropped, never an error. Exceptions and errors inside the stream are not events:
:func:`type_converse_message` raises them as the typed errors of :mod:`client.errors`, as
:func:`client.events.type_message` does for InvokeModelWithResponseStream.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from .errors import StreamError, error_from_error_message, error_from_exception_message
from .events import _b64decode, _fail

__all__ = [
    "CitationDelta",
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "ConverseEvent",
    "Delta",
    "ImageDelta",
    "MessageStart",
    "MessageStop",
    "Metadata",
    "ReasoningRedactedDelta",
    "ReasoningSignatureDelta",
    "ReasoningTextDelta",
    "TextDelta",
    "ToolResultDelta",
    "ToolUseDelta",
    "UnknownDelta",
    "UnknownEvent",
    "Usage",
    "type_converse_message",
]


def _present(pairs: Mapping[str, Any]) -> dict[str, Any]:
    # botocore drops a structure member whose JSON value is null; so do we, wherever boto3 walks a shape.
    return {name: value for name, value in pairs.items() if value is not None}


# --- deltas (what a contentBlockDelta carries) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of a text block's text (``{"text": "..."}``)."""

    text: str
    type: ClassVar[str] = "text"

    def to_dict(self) -> dict[str, Any]:
        """The delta as boto3 gives it: ``{"text": text}``."""
        return {"text": self.text}


@dataclass(frozen=True, slots=True)
class ToolUseDelta:
    """A fragment of a tool call's input JSON text; the fragments of one block join into one JSON document."""

    input: str
    type: ClassVar[str] = "toolUse"

    def to_dict(self) -> dict[str, Any]:
        """``{"toolUse": {"input": fragment}}``."""
        return {"toolUse": {"input": self.input}}


@dataclass(frozen=True, slots=True)
class ReasoningTextDelta:
    """A piece of the model's reasoning text (``{"reasoningContent": {"text": "..."}}``)."""

    text: str
    type: ClassVar[str] = "reasoningContent"

    def to_dict(self) -> dict[str, Any]:
        """``{"reasoningContent": {"text": text}}``."""
        return {"reasoningContent": {"text": self.text}}


@dataclass(frozen=True, slots=True)
class ReasoningSignatureDelta:
    """The signature that authenticates a reasoning block (send it back with the block in the next turn)."""

    signature: str
    type: ClassVar[str] = "reasoningContent"

    def to_dict(self) -> dict[str, Any]:
        """``{"reasoningContent": {"signature": signature}}``."""
        return {"reasoningContent": {"signature": self.signature}}


@dataclass(frozen=True, slots=True)
class ReasoningRedactedDelta:
    """Reasoning the provider encrypted: opaque bytes (base64 on the wire, decoded here as boto3 does)."""

    redacted_content: bytes
    type: ClassVar[str] = "reasoningContent"

    def to_dict(self) -> dict[str, Any]:
        """``{"reasoningContent": {"redactedContent": b"..."}}``."""
        return {"reasoningContent": {"redactedContent": self.redacted_content}}


@dataclass(frozen=True, slots=True)
class CitationDelta:
    """A citation for the text of the same block: where the cited content came from (members as sent)."""

    title: str | None = None
    source: str | None = None
    #: ``[{"text": "..."}]``: the cited passages.
    source_content: list[dict[str, Any]] | None = None
    #: The ``CitationLocation`` union, e.g. ``{"documentChar": {"documentIndex": 0, "start": 0, "end": 58}}``.
    location: dict[str, Any] | None = None
    type: ClassVar[str] = "citation"

    def to_dict(self) -> dict[str, Any]:
        """``{"citation": {...}}`` with the members that were sent."""
        return {
            "citation": _present(
                {
                    "title": self.title,
                    "source": self.source,
                    "sourceContent": self.source_content,
                    "location": self.location,
                }
            )
        }


@dataclass(frozen=True, slots=True)
class ToolResultDelta:
    """Part of a server-side tool's result (``[{"text": ...} | {"json": ...}]``), e.g. Nova's code runner."""

    content: list[dict[str, Any]]
    type: ClassVar[str] = "toolResult"

    def to_dict(self) -> dict[str, Any]:
        """``{"toolResult": [...]}``."""
        return {"toolResult": self.content}


@dataclass(frozen=True, slots=True)
class ImageDelta:
    """Part of a generated image: ``source`` (``{"bytes": b"..."}`` decoded, or ``{"s3Location": ...}``)."""

    source: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    type: ClassVar[str] = "image"

    def to_dict(self) -> dict[str, Any]:
        """``{"image": {"source": ..., "error": ...}}`` with the members that were sent."""
        return {"image": _present({"source": self.source, "error": self.error})}


@dataclass(frozen=True, slots=True)
class UnknownDelta:
    """A delta kind this version does not know: its wire name and its JSON value, exactly as sent."""

    type: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        """``{type: value}``."""
        return {self.type: self.value}


Delta = Union[  # noqa: UP007 - a runtime alias, and ``X | Y`` of classes needs Python 3.10's types.UnionType
    TextDelta,
    ToolUseDelta,
    ReasoningTextDelta,
    ReasoningSignatureDelta,
    ReasoningRedactedDelta,
    CitationDelta,
    ToolResultDelta,
    ImageDelta,
    UnknownDelta,
]


# --- events -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageStart:
    """The answer begins; ``role`` is ``"assistant"``."""

    role: str
    type: ClassVar[str] = "messageStart"

    def to_dict(self) -> dict[str, Any]:
        """``{"messageStart": {"role": role}}``."""
        return {"messageStart": {"role": self.role}}


@dataclass(frozen=True, slots=True)
class ContentBlockStart:
    """A content block with a header begins: ``start`` is the ``ContentBlockStart`` union as sent.

    ``{"toolUse": {"toolUseId", "name", "type"?}}``, ``{"toolResult": {"toolUseId", "type"?, "status"?}}`` or
    ``{"image": {"format"}}``. Text and reasoning blocks have no start event: their first delta opens them.
    """

    content_block_index: int
    start: dict[str, Any]
    type: ClassVar[str] = "contentBlockStart"

    def to_dict(self) -> dict[str, Any]:
        """``{"contentBlockStart": {"start": {...}, "contentBlockIndex": n}}``."""
        return {"contentBlockStart": {"start": self.start, "contentBlockIndex": self.content_block_index}}


@dataclass(frozen=True, slots=True)
class ContentBlockDelta:
    """A piece of content block number ``content_block_index``; ``delta`` is one of the typed deltas."""

    content_block_index: int
    delta: Delta
    type: ClassVar[str] = "contentBlockDelta"

    def to_dict(self) -> dict[str, Any]:
        """``{"contentBlockDelta": {"delta": {...}, "contentBlockIndex": n}}``."""
        index = self.content_block_index
        return {"contentBlockDelta": {"delta": self.delta.to_dict(), "contentBlockIndex": index}}


@dataclass(frozen=True, slots=True)
class ContentBlockStop:
    """Content block number ``content_block_index`` is complete."""

    content_block_index: int
    type: ClassVar[str] = "contentBlockStop"

    def to_dict(self) -> dict[str, Any]:
        """``{"contentBlockStop": {"contentBlockIndex": n}}``."""
        return {"contentBlockStop": {"contentBlockIndex": self.content_block_index}}


@dataclass(frozen=True, slots=True)
class MessageStop:
    """The message is complete: why it stopped, and the model-specific fields asked for, if any."""

    stop_reason: str
    additional_model_response_fields: Any = None
    type: ClassVar[str] = "messageStop"

    def to_dict(self) -> dict[str, Any]:
        """``{"messageStop": {"stopReason": ..., "additionalModelResponseFields"?: ...}}``."""
        body: dict[str, Any] = {"stopReason": self.stop_reason}
        if self.additional_model_response_fields is not None:
            body["additionalModelResponseFields"] = self.additional_model_response_fields
        return {"messageStop": body}


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call. The cache counts are ``None`` when the service did not send them.

    ``raw`` keeps every member as sent (also newer ones such as ``cacheDetails`` or ``serverToolUsage``).
    """

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_input_tokens: int | None
    cache_write_input_tokens: int | None
    raw: Mapping[str, Any]

    @classmethod
    def from_dict(cls, usage: Mapping[str, Any]) -> Usage:
        """Build from the wire's ``TokenUsage`` object (missing required counts read as 0)."""
        return cls(
            usage.get("inputTokens") or 0,
            usage.get("outputTokens") or 0,
            usage.get("totalTokens") or 0,
            usage.get("cacheReadInputTokens"),
            usage.get("cacheWriteInputTokens"),
            usage,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``usage`` dict as boto3 gives it."""
        return _present(self.raw)


@dataclass(frozen=True, slots=True)
class Metadata:
    """The last event: token usage, latency, and the trace / performance / tier the call ran with."""

    usage: Usage | None
    #: ``{"latencyMs": n}``.
    metrics: dict[str, Any] | None = None
    trace: dict[str, Any] | None = None
    performance_config: dict[str, Any] | None = None
    service_tier: dict[str, Any] | None = None
    type: ClassVar[str] = "metadata"

    def to_dict(self) -> dict[str, Any]:
        """``{"metadata": {"usage": ..., "metrics": ..., ...}}`` with the members that were sent."""
        return {
            "metadata": _present(
                {
                    "usage": self.usage.to_dict() if self.usage is not None else None,
                    "metrics": self.metrics,
                    "trace": self.trace,
                    "performanceConfig": self.performance_config,
                    "serviceTier": self.service_tier,
                }
            )
        }


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event type this version does not know: its ``:event-type`` and its payload.

    ``payload`` is the parsed JSON (without the ``p`` padding member) or, if it is not JSON, the raw bytes.
    """

    type: str
    payload: Any

    def to_dict(self) -> dict[str, Any]:
        """``{type: payload}``."""
        return {self.type: self.payload}


ConverseEvent = Union[  # noqa: UP007 - a runtime alias (see Delta)
    MessageStart, ContentBlockStart, ContentBlockDelta, ContentBlockStop, MessageStop, Metadata, UnknownEvent
]


# --- typing a message --------------------------------------------------------------------------------------

# The per-event hot path builds objects without the dataclass __init__ (about 3x cheaper): a new object and
# its slot descriptors' setters. Only used on values already checked.
_new = object.__new__
_set_delta_index: Callable[[Any, int], None] = ContentBlockDelta.__dict__["content_block_index"].__set__
_set_delta_delta: Callable[[Any, Any], None] = ContentBlockDelta.__dict__["delta"].__set__
_set_text: Callable[[Any, str], None] = TextDelta.__dict__["text"].__set__
_set_input: Callable[[Any, str], None] = ToolUseDelta.__dict__["input"].__set__
_set_reasoning_text: Callable[[Any, str], None] = ReasoningTextDelta.__dict__["text"].__set__


class _MalformedError(Exception):
    """An event's payload does not have its shape (wrapped into a StreamError naming the event)."""


def _index(payload: dict[str, Any]) -> int:
    index = payload.get("contentBlockIndex")
    if type(index) is not int or index < 0:
        raise _MalformedError(f"contentBlockIndex is {index!r}, not a non-negative integer")
    return index


def _string(value: Any, what: str) -> str:
    if type(value) is not str:
        raise _MalformedError(f"{what} is a {type(value).__name__}, not a string")
    return value


def _optional_object(payload: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = payload.get(name)
    if value is not None and type(value) is not dict:
        raise _MalformedError(f"{name} is a {type(value).__name__}, not an object")
    return value


def _blob(value: Any, what: str) -> bytes:
    try:
        return _b64decode(_string(value, what).encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _MalformedError(f"{what} is not valid base64: {exc}") from exc


def _reasoning_delta(value: Any) -> Delta:
    if type(value) is dict and len(value) == 1:
        if "text" in value:
            delta: Any = _new(ReasoningTextDelta)
            _set_reasoning_text(delta, _string(value["text"], "reasoningContent.text"))
            return delta  # type: ignore[no-any-return]
        if "signature" in value:
            return ReasoningSignatureDelta(_string(value["signature"], "reasoningContent.signature"))
        if "redactedContent" in value:
            return ReasoningRedactedDelta(_blob(value["redactedContent"], "reasoningContent.redactedContent"))
    # A reasoning kind added after this version: kept whole, as sent.
    return UnknownDelta("reasoningContent", value)


def _image_delta(value: Any) -> Delta:
    if type(value) is not dict:
        return UnknownDelta("image", value)
    source = _optional_object(value, "source")
    if source is not None and "bytes" in source:
        source = {**source, "bytes": _blob(source["bytes"], "image.source.bytes")}
    return ImageDelta(source, _optional_object(value, "error"))


def _delta(value: Any) -> Delta:
    if type(value) is not dict:
        raise _MalformedError(f"delta is a {type(value).__name__}, not an object")
    if "text" in value:
        delta: Any = _new(TextDelta)
        _set_text(delta, _string(value["text"], "delta.text"))
        return delta  # type: ignore[no-any-return]
    if "toolUse" in value:
        tool_use = value["toolUse"]
        if type(tool_use) is not dict:
            raise _MalformedError("delta.toolUse is not an object")
        delta = _new(ToolUseDelta)
        _set_input(delta, _string(tool_use.get("input"), "delta.toolUse.input"))
        return delta  # type: ignore[no-any-return]
    if "reasoningContent" in value:
        return _reasoning_delta(value["reasoningContent"])
    if "citation" in value:
        citation = value["citation"]
        if type(citation) is not dict:
            raise _MalformedError("delta.citation is not an object")
        return CitationDelta(
            citation.get("title"),
            citation.get("source"),
            citation.get("sourceContent"),
            citation.get("location"),
        )
    if "toolResult" in value and type(value["toolResult"]) is list:
        return ToolResultDelta(value["toolResult"])
    if "image" in value:
        return _image_delta(value["image"])
    if not value:
        raise _MalformedError("delta is empty")
    kind = next(iter(value))
    return UnknownDelta(kind, value[kind])


def _content_block_delta(payload: dict[str, Any]) -> ContentBlockDelta:
    event: Any = _new(ContentBlockDelta)
    _set_delta_index(event, _index(payload))
    _set_delta_delta(event, _delta(payload.get("delta")))
    return event  # type: ignore[no-any-return]


def _message_start(payload: dict[str, Any]) -> MessageStart:
    return MessageStart(_string(payload.get("role"), "role"))


def _content_block_start(payload: dict[str, Any]) -> ContentBlockStart:
    start = _optional_object(payload, "start")
    if start is None:
        raise _MalformedError("start is missing")
    return ContentBlockStart(_index(payload), start)


def _content_block_stop(payload: dict[str, Any]) -> ContentBlockStop:
    return ContentBlockStop(_index(payload))


def _message_stop(payload: dict[str, Any]) -> MessageStop:
    stop_reason = _string(payload.get("stopReason"), "stopReason")
    return MessageStop(stop_reason, payload.get("additionalModelResponseFields"))


def _metadata(payload: dict[str, Any]) -> Metadata:
    usage = _optional_object(payload, "usage")
    return Metadata(
        Usage.from_dict(usage) if usage is not None else None,
        _optional_object(payload, "metrics"),
        _optional_object(payload, "trace"),
        _optional_object(payload, "performanceConfig"),
        _optional_object(payload, "serviceTier"),
    )


_BUILDERS: dict[str, Callable[[dict[str, Any]], ConverseEvent]] = {
    "contentBlockDelta": _content_block_delta,
    "messageStart": _message_start,
    "contentBlockStart": _content_block_start,
    "contentBlockStop": _content_block_stop,
    "messageStop": _message_stop,
    "metadata": _metadata,
}

_loads = json.loads
# json's own C scanner, called directly: the same parser as json.loads without its per-call wrapping
# (encoding detection, decoder lookup, end check), about 3x cheaper on a short event payload.
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse(payload: bytes) -> Any:
    """``json.loads(payload)``, taking the direct route for the usual compact UTF-8 object."""
    try:
        text = payload.decode()
        parsed, end = _scan_once(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        return _loads(payload)
    if end != len(text):
        # Trailing whitespace is allowed, anything else raises: json.loads has the rules.
        return _loads(payload)
    return parsed


def _unknown_event(event_type: str, payload: bytes) -> UnknownEvent:
    try:
        parsed = _loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return UnknownEvent(event_type, payload)
    if type(parsed) is dict:
        parsed.pop("p", None)
    return UnknownEvent(event_type, parsed)


def type_converse_message(
    headers: Mapping[str, Any],
    payload: bytes,
    *,
    index: int,
    request_id: str | None,
) -> ConverseEvent:
    """Turn one decoded ConverseStream message into its typed event, or raise the error it carries.

    An ``event`` message becomes one of the event classes (:class:`UnknownEvent` for an event type this
    version does not know). An ``exception`` message raises the typed service exception
    (:class:`~client.errors.ThrottlingException`...), an ``error`` message
    :class:`~client.errors.UnmodeledStreamError`. A message without a valid ``:message-type`` or
    ``:event-type``, or a known event whose payload is not its JSON shape, raises
    :class:`~client.errors.StreamError` naming the event. ``index`` (0-based position in the stream) is only
    used in messages. The payload is parsed once, with ``json.loads``.
    """
    message_type = headers.get(":message-type")
    if message_type == "event":
        event_type = headers.get(":event-type")
        builder = _BUILDERS.get(event_type)  # type: ignore[arg-type]
        if builder is None:
            if type(event_type) is not str or not event_type:
                raise StreamError(
                    f"event-stream message #{index} has no :event-type header", request_id=request_id
                )
            return _unknown_event(event_type, payload)
        try:
            parsed = _parse(payload)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # (RecursionError: JSON nested deeper than the interpreter's stack; not a Converse event.)
            raise StreamError(
                f"{event_type} event #{index} has a payload that is not JSON: {exc}", request_id=request_id
            ) from exc
        if builder is _content_block_delta and type(parsed) is dict:
            # Hot path, inlined: a text delta is nearly every event of an answer. Anything else (another
            # delta kind, a bad index or shape) goes on to the builder, which checks and names every case.
            block = parsed.get("contentBlockIndex")
            delta = parsed.get("delta")
            if type(block) is int and block >= 0 and type(delta) is dict:
                piece = delta.get("text")
                if type(piece) is str:
                    text_delta: Any = _new(TextDelta)
                    _set_text(text_delta, piece)
                    event: Any = _new(ContentBlockDelta)
                    _set_delta_index(event, block)
                    _set_delta_delta(event, text_delta)
                    return event  # type: ignore[no-any-return]
        if type(parsed) is not dict:
            raise StreamError(
                f"{event_type} event #{index} has a JSON payload that is not an object", request_id=request_id
            )
        try:
            return builder(parsed)
        except _MalformedError as exc:
            message = f"{event_type} event #{index} is malformed: {exc}"
            raise StreamError(message, request_id=request_id) from None
    if message_type == "exception":
        _fail(error_from_exception_message(headers, payload, request_id=request_id))
    if message_type == "error":
        _fail(error_from_error_message(headers, payload, request_id=request_id))
    if message_type is None:
        raise StreamError(f"event-stream message #{index} has no :message-type header", request_id=request_id)
    raise StreamError(
        f"event-stream message #{index} has an unknown :message-type {message_type!r}", request_id=request_id
    )
