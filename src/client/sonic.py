"""Amazon Nova Sonic (speech to speech) on a bidirectional session: its input events, its output events.

Every event is one JSON document ``{"event": {<name>: {...}}}`` sent with ``session.send(...)`` or received
as a :class:`client.Chunk`. The shapes follow the Amazon Nova user guide ("Handling input events with the
bidirectional API", "Handling output events ..."): a session is ``sessionStart``, ``promptStart`` (output
formats, tools), then per content block ``contentStart`` + ``textInput`` / ``audioInput`` / ``toolResult`` +
``contentEnd``, and finally ``promptEnd`` and ``sessionEnd``. Audio in is 16-bit little-endian mono PCM
(LPCM) sent base64-encoded, 16 kHz by default; audio out is LPCM at 24 kHz by default.

Pure functions and small frozen classes; no I/O. :func:`parse_event` turns an output event into
:class:`TextOutput`, :class:`AudioOutput` (PCM bytes), :class:`ToolUse`, :class:`Usage`, ... or
:class:`OtherEvent` for names this module does not know (new events are not errors).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import BedrockRuntimeError
from .events import Chunk

__all__ = [
    "AudioOutput",
    "CompletionEnd",
    "CompletionStart",
    "ContentEnd",
    "ContentStart",
    "OtherEvent",
    "SonicEvent",
    "SonicEventError",
    "TextOutput",
    "ToolUse",
    "Usage",
    "audio_input",
    "content_end",
    "content_start_audio",
    "content_start_text",
    "content_start_tool",
    "parse_event",
    "prompt_end",
    "prompt_start",
    "session_end",
    "session_start",
    "text_input",
    "tool_result",
]

Event = dict[str, Any]


class SonicEventError(BedrockRuntimeError, ValueError):
    """An output event that does not have the documented shape (what is wrong, and in which event)."""


# --- input events -------------------------------------------------------------------------------------------


def _event(name: str, body: Mapping[str, Any]) -> Event:
    return {"event": {name: dict(body)}}


def session_start(
    *, max_tokens: int = 1024, top_p: float = 0.9, temperature: float = 0.7, **extra: Any
) -> Event:
    """``sessionStart`` with its ``inferenceConfiguration``; ``extra`` adds members as given (camelCase)."""
    inference = {"maxTokens": max_tokens, "topP": top_p, "temperature": temperature}
    return _event("sessionStart", {"inferenceConfiguration": inference, **extra})


def prompt_start(
    prompt_name: str,
    *,
    voice_id: str = "matthew",
    sample_rate: int = 24_000,
    tools: Sequence[Mapping[str, Any]] = (),
    **extra: Any,
) -> Event:
    """``promptStart``: text, audio (LPCM 16-bit mono at ``sample_rate``, ``voice_id``) and tool-use output
    formats; ``tools`` are ``{"toolSpec": {"name", "description", "inputSchema": {"json": "<schema>"}}}``.
    """
    body: dict[str, Any] = {
        "promptName": prompt_name,
        "textOutputConfiguration": {"mediaType": "text/plain"},
        "audioOutputConfiguration": {
            "mediaType": "audio/lpcm",
            "sampleRateHertz": sample_rate,
            "sampleSizeBits": 16,
            "channelCount": 1,
            "voiceId": voice_id,
            "encoding": "base64",
            "audioType": "SPEECH",
        },
        "toolUseOutputConfiguration": {"mediaType": "application/json"},
    }
    if tools:
        body["toolConfiguration"] = {"tools": [dict(tool) for tool in tools]}
    body.update(extra)
    return _event("promptStart", body)


def content_start_text(
    prompt_name: str, content_name: str, *, role: str = "SYSTEM", interactive: bool = False
) -> Event:
    """``contentStart`` of a text block (``role``: SYSTEM, USER or ASSISTANT; a system prompt or history)."""
    return _event(
        "contentStart",
        {
            "promptName": prompt_name,
            "contentName": content_name,
            "type": "TEXT",
            "interactive": interactive,
            "role": role,
            "textInputConfiguration": {"mediaType": "text/plain"},
        },
    )


def content_start_audio(
    prompt_name: str, content_name: str, *, sample_rate: int = 16_000, role: str = "USER"
) -> Event:
    """``contentStart`` of the (interactive) audio input: LPCM, 16-bit, mono, base64, at ``sample_rate``."""
    return _event(
        "contentStart",
        {
            "promptName": prompt_name,
            "contentName": content_name,
            "type": "AUDIO",
            "interactive": True,
            "role": role,
            "audioInputConfiguration": {
                "mediaType": "audio/lpcm",
                "sampleRateHertz": sample_rate,
                "sampleSizeBits": 16,
                "channelCount": 1,
                "audioType": "SPEECH",
                "encoding": "base64",
            },
        },
    )


def content_start_tool(prompt_name: str, content_name: str, tool_use_id: str) -> Event:
    """``contentStart`` of a tool result answering the ``toolUse`` with ``tool_use_id``."""
    return _event(
        "contentStart",
        {
            "promptName": prompt_name,
            "contentName": content_name,
            "interactive": False,
            "type": "TOOL",
            "role": "TOOL",
            "toolResultInputConfiguration": {
                "toolUseId": tool_use_id,
                "type": "TEXT",
                "textInputConfiguration": {"mediaType": "text/plain"},
            },
        },
    )


def text_input(prompt_name: str, content_name: str, text: str) -> Event:
    """``textInput``: text of the open text block."""
    return _event("textInput", {"promptName": prompt_name, "contentName": content_name, "content": text})


def audio_input(prompt_name: str, content_name: str, pcm: bytes | bytearray | memoryview) -> Event:
    """``audioInput``: raw PCM bytes (16-bit little-endian mono, as announced) sent base64-encoded. The guide
    suggests frames of about 32 ms (1024 bytes at 16 kHz), sent as they are captured."""
    if not isinstance(pcm, (bytes, bytearray, memoryview)):
        raise TypeError(f"pcm must be bytes of 16-bit PCM audio, not {type(pcm).__name__}")
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM has an even number of bytes; got {len(pcm)}")
    content = base64.b64encode(pcm).decode("ascii")
    return _event("audioInput", {"promptName": prompt_name, "contentName": content_name, "content": content})


def tool_result(prompt_name: str, content_name: str, result: str | Mapping[str, Any]) -> Event:
    """``toolResult``: the tool's answer as text (a mapping is sent as its JSON text)."""
    content = result if isinstance(result, str) else json.dumps(result, separators=(",", ":"))
    return _event("toolResult", {"promptName": prompt_name, "contentName": content_name, "content": content})


def content_end(prompt_name: str, content_name: str) -> Event:
    """``contentEnd``: closes the content block ``content_name``."""
    return _event("contentEnd", {"promptName": prompt_name, "contentName": content_name})


def prompt_end(prompt_name: str) -> Event:
    """``promptEnd``: closes the prompt (after every open content block is closed)."""
    return _event("promptEnd", {"promptName": prompt_name})


def session_end() -> Event:
    """``sessionEnd``: the last event of a session."""
    return _event("sessionEnd", {})


# --- output events -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletionStart:
    """``completionStart``: the model starts answering."""

    session_id: str | None
    prompt_name: str | None
    completion_id: str | None


@dataclass(frozen=True, slots=True)
class ContentStart:
    """``contentStart`` of an output block: ``type`` TEXT / AUDIO / TOOL, ``role``, and the generation stage
    (``FINAL`` or ``SPECULATIVE``) from ``additionalModelFields`` when given."""

    content_id: str | None
    type: str | None
    role: str | None
    generation_stage: str | None


@dataclass(frozen=True, slots=True)
class TextOutput:
    """``textOutput``: transcript of the user (role USER) or of the answer (role ASSISTANT)."""

    text: str
    role: str | None
    content_id: str | None


@dataclass(frozen=True, slots=True)
class AudioOutput:
    """``audioOutput``: a piece of the spoken answer, decoded to raw PCM bytes."""

    audio: bytes
    content_id: str | None


@dataclass(frozen=True, slots=True)
class ToolUse:
    """``toolUse``: the model asks for ``tool_name``; ``input`` is its parsed JSON (``content`` the raw text).
    Answer with :func:`content_start_tool` (``tool_use_id``), :func:`tool_result` and :func:`content_end`."""

    tool_name: str
    tool_use_id: str
    content: str
    input: Any
    content_id: str | None


@dataclass(frozen=True, slots=True)
class ContentEnd:
    """``contentEnd`` of an output block; ``stop_reason`` e.g. PARTIAL_TURN, END_TURN, INTERRUPTED."""

    content_id: str | None
    type: str | None
    stop_reason: str | None


@dataclass(frozen=True, slots=True)
class Usage:
    """``usageEvent``: running totals; the per-kind counts come from ``details.total`` when present."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_speech_tokens: int | None
    input_text_tokens: int | None
    output_speech_tokens: int | None
    output_text_tokens: int | None


@dataclass(frozen=True, slots=True)
class CompletionEnd:
    """``completionEnd``: the answer is complete (``stop_reason`` e.g. END_TURN, INTERRUPTED)."""

    completion_id: str | None
    stop_reason: str | None


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An output event this module has no class for, kept as its name and JSON body."""

    name: str
    body: Mapping[str, Any]


SonicEvent = (
    CompletionStart
    | ContentStart
    | TextOutput
    | AudioOutput
    | ToolUse
    | ContentEnd
    | Usage
    | CompletionEnd
    | OtherEvent
)


def _str(body: Mapping[str, Any], key: str, name: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise SonicEventError(f"{name}.{key} must be a string, got {type(value).__name__}")
    return value


def _int(body: Mapping[str, Any], key: str, name: str) -> int:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SonicEventError(f"{name}.{key} must be an integer, got {value!r}")
    return value


def _count(total: Any, side: str, kind: str) -> int | None:
    part = total.get(side) if isinstance(total, Mapping) else None
    value = part.get(kind) if isinstance(part, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_event(event: Chunk | bytes | Mapping[str, Any]) -> SonicEvent:
    """Type one Nova Sonic output event (a :class:`client.Chunk`, its bytes, or the parsed document).

    Raises :class:`SonicEventError` for a document that is not ``{"event": {<name>: {...}}}`` or whose
    known event lacks a documented field (``textOutput.content``, ``toolUse.toolName``, ...).
    """
    if isinstance(event, Chunk):
        event = event.bytes
    if isinstance(event, (bytes, bytearray)):
        try:
            document: Any = json.loads(event)
        except ValueError as exc:
            raise SonicEventError(f"the output event is not JSON: {exc}") from None
    else:
        document = event
    inner = document.get("event") if isinstance(document, Mapping) else None
    if not isinstance(inner, Mapping) or len(inner) != 1:
        raise SonicEventError('a Nova Sonic event is {"event": {<one event name>: {...}}}')
    ((name, body),) = inner.items()
    if not isinstance(body, Mapping):
        raise SonicEventError(f"event {name!r} must be a JSON object")
    content_id = body.get("contentId") if isinstance(body.get("contentId"), str) else None
    if name == "textOutput":
        text = _str(body, "content", name, required=True)
        assert text is not None
        return TextOutput(text, _str(body, "role", name), content_id)
    if name == "audioOutput":
        encoded = _str(body, "content", name, required=True)
        assert encoded is not None
        try:
            audio = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SonicEventError("audioOutput.content is not valid base64") from None
        return AudioOutput(audio, content_id)
    if name == "toolUse":
        tool_name = _str(body, "toolName", name, required=True)
        tool_use_id = _str(body, "toolUseId", name, required=True)
        content = _str(body, "content", name) or ""
        try:
            parsed: Any = json.loads(content) if content else None
        except ValueError:
            parsed = content
        assert tool_name is not None and tool_use_id is not None
        return ToolUse(tool_name, tool_use_id, content, parsed, content_id)
    if name == "usageEvent":
        total = body.get("details", {}).get("total") if isinstance(body.get("details"), Mapping) else None
        return Usage(
            _int(body, "totalInputTokens", name),
            _int(body, "totalOutputTokens", name),
            _int(body, "totalTokens", name),
            _count(total, "input", "speechTokens"),
            _count(total, "input", "textTokens"),
            _count(total, "output", "speechTokens"),
            _count(total, "output", "textTokens"),
        )
    if name == "completionStart":
        return CompletionStart(
            _str(body, "sessionId", name), _str(body, "promptName", name), _str(body, "completionId", name)
        )
    if name == "contentStart":
        stage = None
        fields = body.get("additionalModelFields")
        if isinstance(fields, str):
            try:
                decoded = json.loads(fields)
            except ValueError:
                decoded = None
            if isinstance(decoded, Mapping) and isinstance(decoded.get("generationStage"), str):
                stage = decoded["generationStage"]
        return ContentStart(content_id, _str(body, "type", name), _str(body, "role", name), stage)
    if name == "contentEnd":
        return ContentEnd(content_id, _str(body, "type", name), _str(body, "stopReason", name))
    if name == "completionEnd":
        return CompletionEnd(_str(body, "completionId", name), _str(body, "stopReason", name))
    return OtherEvent(name, body)
