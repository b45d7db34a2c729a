"""A Converse answer as one object, built from the JSON answer or accumulated from ConverseStream's events.

:class:`ConverseResponse` is what ``converse()`` returns and what a ``ConverseStream`` accumulates into
``stream.response``: the same object for the same answer. Pure, no I/O.

Accumulation rules (:class:`ConverseAccumulator`), per content block, in ``contentBlockIndex`` order:

* text deltas are joined (kept as a list and joined once at the end: linear in the answer's size however it
  is split);
* a tool-use block's input fragments are joined and parsed as JSON once, at the block's ``contentBlockStop``
  (or at the end of the stream if that never came); an empty input is ``{}``; fragments that do not make
  JSON raise :class:`ToolInputError` naming the block;
* reasoning text is joined with its signature (``reasoningContent.reasoningText``); redacted reasoning
  bytes are joined (``reasoningContent.redactedContent``);
* a block with citation deltas becomes a ``citationsContent`` block (its text and its citations), as the
  non-streaming answer has it;
* a server-side tool result (``toolResult`` start and deltas) collects its content items; an image block
  joins its bytes;
* a delta kind this version does not know keeps its value (strings joined, anything else the last value) in
  a block of its own; next to a known kind it is left out of the block (it was yielded as an event);
* a block that mixes known kinds its own kind has no place for (text deltas in a tool-use block...) raises
  :class:`~client.errors.StreamError` naming the block, rather than dropping them.

The stream must end with ``messageStop``: :meth:`ConverseAccumulator.finish` raises
:class:`~client.errors.StreamError` otherwise (a cut stream is not a complete answer).
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .converse_events import (
    CitationDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    ConverseEvent,
    ImageDelta,
    MessageStart,
    MessageStop,
    Metadata,
    ReasoningRedactedDelta,
    ReasoningSignatureDelta,
    ReasoningTextDelta,
    TextDelta,
    ToolResultDelta,
    ToolUseDelta,
    UnknownDelta,
    Usage,
)
from .errors import StreamError, UnexpectedResponseError
from .events import _b64decode

__all__ = ["ConverseAccumulator", "ConverseResponse", "ToolInputError", "ToolUse"]

# Shown fragment of a tool input that is not JSON (the whole input may be megabytes).
_MAX_SHOWN_INPUT = 200


class ToolInputError(StreamError):
    """A tool-use block's input fragments, joined, are not valid JSON.

    ``content_block_index``, ``tool_use_id`` and ``tool_name`` name the block; ``input_text`` is the joined
    text that failed to parse.
    """

    def __init__(
        self,
        message: str,
        *,
        content_block_index: int,
        tool_use_id: str | None,
        tool_name: str | None,
        input_text: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.content_block_index = content_block_index
        self.tool_use_id = tool_use_id
        self.tool_name = tool_name
        self.input_text = input_text


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One tool call of the answer: its id (send it back in the ``toolResult``), the tool, and its input."""

    tool_use_id: str
    name: str
    input: Any
    #: ``"server_tool_use"`` for a tool the service ran itself; ``None`` when not sent.
    type: str | None = None


@dataclass(frozen=True, slots=True)
class ConverseResponse:
    """A complete Converse answer.

    ``content`` holds the message's content blocks exactly as boto3 gives them (``{"text": ...}``,
    ``{"toolUse": {...}}``, ``{"reasoningContent": {...}}``...; base64 members as ``bytes``); treat them as
    read-only. ``to_dict()`` is boto3's ``converse()`` answer without ``ResponseMetadata``.
    """

    role: str
    content: tuple[dict[str, Any], ...]
    stop_reason: str
    usage: Usage | None = None
    #: ``{"latencyMs": n}``.
    metrics: dict[str, Any] | None = None
    additional_model_response_fields: Any = None
    trace: dict[str, Any] | None = None
    performance_config: dict[str, Any] | None = None
    service_tier: dict[str, Any] | None = None
    request_id: str | None = None
    #: The response headers (lower-case names), when known; not part of equality.
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: Retries made before this answer was accepted; not part of equality.
    retry_attempts: int = field(default=0, compare=False)

    @property
    def message(self) -> dict[str, Any]:
        """The answer as a message, ready to append to the conversation: ``{"role", "content"}``."""
        return {"role": self.role, "content": list(self.content)}

    @property
    def text(self) -> str:
        """The text of the answer: its text blocks (and the text of its cited blocks), joined."""
        parts: list[str] = []
        for block in self.content:
            text = block.get("text")
            if isinstance(text, str):
                parts.append(text)
                continue
            cited = block.get("citationsContent")
            items = cited.get("content") if isinstance(cited, dict) else None
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and isinstance(item.get("text"), str):
                    parts.append(item["text"])
        return "".join(parts)

    @property
    def tool_uses(self) -> list[ToolUse]:
        """The tool calls of the answer, in order."""
        return [
            ToolUse(use.get("toolUseId") or "", use.get("name") or "", use.get("input"), use.get("type"))
            for use in (block.get("toolUse") for block in self.content)
            if isinstance(use, dict)
        ]

    @property
    def latency_ms(self) -> int | None:
        """``metrics.latencyMs``, when sent."""
        return self.metrics.get("latencyMs") if self.metrics is not None else None

    def to_dict(self) -> dict[str, Any]:
        """boto3's ``converse()`` answer, without ``ResponseMetadata``."""
        answer: dict[str, Any] = {"output": {"message": self.message}, "stopReason": self.stop_reason}
        optional = (
            ("usage", self.usage.to_dict() if self.usage is not None else None),
            ("metrics", self.metrics),
            ("additionalModelResponseFields", self.additional_model_response_fields),
            ("trace", self.trace),
            ("performanceConfig", self.performance_config),
            ("serviceTier", self.service_tier),
        )
        for name, value in optional:
            if value is not None:
                answer[name] = value
        return answer

    @classmethod
    def from_answer(
        cls,
        answer: Mapping[str, Any],
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_attempts: int = 0,
    ) -> ConverseResponse:
        """Build from Converse's parsed JSON answer (base64 members are decoded to ``bytes``, as boto3 does).

        ``request_id``, ``headers`` (lower-case names) and ``retry_attempts`` describe the HTTP exchange.

        Raises :class:`~client.errors.UnexpectedResponseError` when the answer lacks its required members.
        """

        def bad(what: str) -> UnexpectedResponseError:
            return UnexpectedResponseError(
                f"the Converse answer {what}", request_id=request_id, status_code=200
            )

        output = answer.get("output")
        message = output.get("message") if isinstance(output, dict) else None
        if not isinstance(message, dict):
            raise bad("has no output.message")
        role = message.get("role")
        content = message.get("content")
        if not isinstance(role, str) or not isinstance(content, list):
            raise bad("has no output.message.role or output.message.content list")
        stop_reason = answer.get("stopReason")
        if not isinstance(stop_reason, str):
            raise bad("has no stopReason string")
        blocks = []
        for position, block in enumerate(content):
            if not isinstance(block, dict):
                raise bad(f"has a content block #{position} that is not an object")
            try:
                blocks.append(_decode_block_blobs(block))
            except (binascii.Error, ValueError, UnicodeEncodeError, TypeError) as exc:
                raise bad(f"has a content block #{position} with invalid base64: {exc}") from None
        usage = answer.get("usage")
        return cls(
            role,
            tuple(blocks),
            stop_reason,
            Usage.from_dict(usage) if isinstance(usage, dict) else None,
            _object_or_none(answer.get("metrics")),
            answer.get("additionalModelResponseFields"),
            _object_or_none(answer.get("trace")),
            _object_or_none(answer.get("performanceConfig")),
            _object_or_none(answer.get("serviceTier")),
            request_id,
            {name.lower(): value for name, value in headers.items()} if headers is not None else {},
            retry_attempts,
        )


def _object_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _decode_source(holder: Any) -> Any:
    # ``{"format": ..., "source": {"bytes": "<base64>"}}`` -> the same with bytes (a copy; the input is kept).
    if isinstance(holder, dict):
        source = holder.get("source")
        if isinstance(source, dict) and isinstance(source.get("bytes"), str):
            return {**holder, "source": {**source, "bytes": _b64decode(source["bytes"].encode("ascii"))}}
    return holder


_MEDIA = ("image", "document", "video", "audio")


def _decode_block_blobs(block: dict[str, Any]) -> dict[str, Any]:
    """A content block with its blob members (the ``Blob`` shapes of the service model) base64-decoded."""
    for kind in _MEDIA:
        if kind in block:
            return {**block, kind: _decode_source(block[kind])}
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("redactedContent"), str):
        redacted = _b64decode(reasoning["redactedContent"].encode("ascii"))
        return {**block, "reasoningContent": {**reasoning, "redactedContent": redacted}}
    guard = block.get("guardContent")
    if isinstance(guard, dict) and "image" in guard:
        return {**block, "guardContent": {**guard, "image": _decode_source(guard["image"])}}
    result = block.get("toolResult")
    if isinstance(result, dict) and isinstance(result.get("content"), list):
        items = [_decode_block_blobs(item) if isinstance(item, dict) else item for item in result["content"]]
        return {**block, "toolResult": {**result, "content": items}}
    return block


# --- accumulation ------------------------------------------------------------------------------------------


class _Block:
    """What arrived for one content block so far. Pieces are kept in lists and joined once, at the end."""

    __slots__ = (
        "citations",
        "image",
        "input",
        "input_parsed",
        "reasoning",
        "redacted",
        "signature",
        "start",
        "stopped",
        "text",
        "tool_result",
        "unknown",
    )

    def __init__(self) -> None:
        self.start: dict[str, Any] | None = None
        self.text: list[str] = []
        self.input: list[str] = []
        self.input_parsed: tuple[Any] | None = None
        self.reasoning: list[str] = []
        self.signature: list[str] = []
        self.redacted: list[bytes] = []
        self.citations: list[dict[str, Any]] = []
        self.tool_result: list[Any] = []
        self.image: list[ImageDelta] = []
        self.unknown: dict[str, list[Any]] = {}
        self.stopped = False

    def parse_input(self, index: int, request_id: str | None) -> Any:
        if self.input_parsed is None:
            text = "".join(self.input)
            if not text.strip():
                value: Any = {}
            else:
                try:
                    value = json.loads(text)
                except ValueError as exc:
                    tool = _start_member(self.start, "toolUse")
                    tool_id, name = tool.get("toolUseId"), tool.get("name")
                    shown = text if len(text) <= _MAX_SHOWN_INPUT else text[:_MAX_SHOWN_INPUT] + "..."
                    raise ToolInputError(
                        f"content block {index} (tool {name!r}, id {tool_id!r}): the tool input is not valid "
                        f"JSON ({exc}): {shown!r}",
                        content_block_index=index,
                        tool_use_id=tool_id,
                        tool_name=name,
                        input_text=text,
                        request_id=request_id,
                    ) from None
            self.input_parsed = (value,)
        return self.input_parsed[0]

    def empty(self) -> bool:
        return self.start is None and not (
            self.text
            or self.input
            or self.reasoning
            or self.signature
            or self.redacted
            or self.citations
            or self.tool_result
            or self.image
            or self.unknown
        )

    def _only(self, index: int, request_id: str | None, kind: str, *allowed: str) -> None:
        """Raise if the block has deltas of a known kind its own kind would leave out of the answer."""
        extra = sorted(
            {_WIRE_NAMES[name] for name in _WIRE_NAMES if name not in allowed and getattr(self, name)}
        )
        if extra:
            raise StreamError(
                f"content block {index} is a {kind} block but also has {' and '.join(extra)} deltas: "
                "the stream does not make one answer",
                request_id=request_id,
            )

    def to_block(self, index: int, request_id: str | None) -> dict[str, Any]:
        start = self.start or {}
        if "toolUse" in start or self.input:
            self._only(index, request_id, "toolUse", "input")
            tool = _start_member(start, "toolUse")
            use: dict[str, Any] = {
                "toolUseId": tool.get("toolUseId"),
                "name": tool.get("name"),
                "input": self.parse_input(index, request_id),
            }
            if tool.get("type") is not None:
                use["type"] = tool["type"]
            return {"toolUse": use}
        if "toolResult" in start or self.tool_result:
            self._only(index, request_id, "toolResult", "tool_result")
            header = _start_member(start, "toolResult")
            result: dict[str, Any] = {"toolUseId": header.get("toolUseId"), "content": list(self.tool_result)}
            for name in ("status", "type"):
                if header.get(name) is not None:
                    result[name] = header[name]
            return {"toolResult": result}
        if "image" in start or self.image:
            self._only(index, request_id, "image", "image")
            return {"image": _join_image(_start_member(start, "image"), self.image)}
        if self.redacted and not self.reasoning and not self.signature:
            self._only(index, request_id, "redacted reasoning", "redacted")
            return {"reasoningContent": {"redactedContent": b"".join(self.redacted)}}
        if self.reasoning or self.signature:
            self._only(index, request_id, "reasoning", "reasoning", "signature")
            reasoning_text: dict[str, Any] = {"text": "".join(self.reasoning)}
            if self.signature:
                reasoning_text["signature"] = "".join(self.signature)
            return {"reasoningContent": {"reasoningText": reasoning_text}}
        if self.citations:
            return {
                "citationsContent": {
                    "content": [{"text": "".join(self.text)}],
                    "citations": list(self.citations),
                }
            }
        if self.text or not self.unknown:
            if not self.text and start:
                # A start kind this version does not know, without deltas: kept as sent.
                return dict(start)
            # (Deltas of kinds this version does not know, next to text, are yielded as events but have no
            # place in a text block: the service adds kinds, so they are not an error.)
            return {"text": "".join(self.text)}
        block: dict[str, Any] = {}
        for kind, values in self.unknown.items():
            block[kind] = "".join(values) if all(isinstance(v, str) for v in values) else values[-1]
        return block


#: The pieces a block collects, by the wire name of the delta kind they come from.
_WIRE_NAMES = {
    "text": "text",
    "input": "toolUse",
    "reasoning": "reasoningContent.text",
    "signature": "reasoningContent.signature",
    "redacted": "reasoningContent.redactedContent",
    "citations": "citation",
    "tool_result": "toolResult",
    "image": "image",
}


def _start_member(start: Mapping[str, Any] | None, kind: str) -> dict[str, Any]:
    member = start.get(kind) if start else None
    return member if isinstance(member, dict) else {}


def _join_image(header: dict[str, Any], pieces: list[ImageDelta]) -> dict[str, Any]:
    image: dict[str, Any] = {}
    if header.get("format") is not None:
        image["format"] = header["format"]
    data = [piece.source["bytes"] for piece in pieces if piece.source is not None and "bytes" in piece.source]
    if data:
        image["source"] = {"bytes": b"".join(data)}
    else:
        for piece in pieces:
            if piece.source is not None:
                image["source"] = piece.source
    for piece in pieces:
        if piece.error is not None:
            image["error"] = piece.error
    return image


class ConverseAccumulator:
    """Folds ConverseStream events into a :class:`ConverseResponse` (the rules are in the module docstring).

    ``request_id``, ``headers`` and ``retry_attempts`` (of the stream's HTTP response) are passed on to the
    response.

    ``add(event)`` for each event as it comes (cheap: a list append for a text delta), then ``finish()``.
    A tool-use block's input is parsed at its ``contentBlockStop``, so :class:`ToolInputError` is raised by
    the ``add`` of that event.
    """

    __slots__ = (
        "_additional",
        "_blocks",
        "_headers",
        "_metadata",
        "_request_id",
        "_retry_attempts",
        "_role",
        "_stop_reason",
    )

    def __init__(
        self,
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_attempts: int = 0,
    ) -> None:
        self._request_id = request_id
        self._headers = dict(headers) if headers is not None else {}
        self._retry_attempts = retry_attempts
        self._blocks: dict[int, _Block] = {}
        self._role: str | None = None
        self._stop_reason: str | None = None
        self._additional: Any = None
        self._metadata: Metadata | None = None

    @property
    def stopped(self) -> bool:
        """Whether ``messageStop`` has arrived."""
        return self._stop_reason is not None

    def _block(self, index: int) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = _Block()
        return block

    def add(self, event: ConverseEvent) -> None:
        """Take one event into account (unknown event types are ignored)."""
        if type(event) is ContentBlockDelta:
            self._add_delta(event)
        elif type(event) is ContentBlockStart:
            self._block(event.content_block_index).start = event.start
        elif type(event) is ContentBlockStop:
            index = event.content_block_index
            block = self._block(index)
            block.stopped = True
            if block.input or "toolUse" in (block.start or {}):
                block.parse_input(index, self._request_id)
        elif type(event) is MessageStart:
            self._role = event.role
        elif type(event) is MessageStop:
            self._stop_reason = event.stop_reason
            self._additional = event.additional_model_response_fields
        elif type(event) is Metadata:
            self._metadata = event

    def _add_delta(self, event: ContentBlockDelta) -> None:
        block = self._blocks.get(event.content_block_index)
        if block is None:
            block = self._blocks[event.content_block_index] = _Block()
        delta = event.delta
        if type(delta) is TextDelta:
            block.text.append(delta.text)
        elif type(delta) is ToolUseDelta:
            block.input.append(delta.input)
            block.input_parsed = None
        elif type(delta) is ReasoningTextDelta:
            block.reasoning.append(delta.text)
        elif type(delta) is ReasoningSignatureDelta:
            block.signature.append(delta.signature)
        elif type(delta) is ReasoningRedactedDelta:
            block.redacted.append(delta.redacted_content)
        elif type(delta) is CitationDelta:
            block.citations.append(delta.to_dict()["citation"])
        elif type(delta) is ToolResultDelta:
            block.tool_result.extend(delta.content)
        elif type(delta) is ImageDelta:
            block.image.append(delta)
        elif type(delta) is UnknownDelta:
            block.unknown.setdefault(delta.type, []).append(delta.value)

    def finish(self) -> ConverseResponse:
        """The accumulated answer. Raises :class:`~client.errors.StreamError` if ``messageStop`` never came,
        :class:`ToolInputError` if a tool-use block's input is not JSON."""
        if self._stop_reason is None:
            raise StreamError(
                "the stream ended without messageStop: the answer is incomplete", request_id=self._request_id
            )
        content = tuple(
            block.to_block(index, self._request_id)
            for index, block in sorted(self._blocks.items())
            if not block.empty()
        )
        metadata = self._metadata
        return ConverseResponse(
            self._role or "assistant",
            content,
            self._stop_reason,
            metadata.usage if metadata is not None else None,
            metadata.metrics if metadata is not None else None,
            self._additional,
            metadata.trace if metadata is not None else None,
            metadata.performance_config if metadata is not None else None,
            metadata.service_tier if metadata is not None else None,
            self._request_id,
            self._headers,
            self._retry_attempts,
        )
