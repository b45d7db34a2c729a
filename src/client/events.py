"""Typed events of the Bedrock response stream, and typing one decoded event-stream message.

The response stream carries one event type, ``chunk``: a JSON payload ``{"bytes": "<base64>", "p": "..."}``
whose ``bytes`` is the model's own output (``p`` is padding that hides the text length; it is dropped).
Exceptions and errors inside the stream are not events: :func:`type_message` raises them as the typed errors
of :mod:`client.errors`.
"""

from __future__ import annotations

import binascii
import builtins
import json
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from .errors import (
    BedrockRuntimeError,
    StreamError,
    error_from_error_message,
    error_from_exception_message,
)

__all__ = ["Chunk", "fast_chunk_bytes", "new_chunk", "type_message"]


class Chunk:
    """One ``chunk`` event: a piece of the model's answer.

    ``bytes`` is the model's own JSON event exactly as the model produced it (the base64-decoded ``bytes``
    field, what boto3 gives as ``event["chunk"]["bytes"]``). Immutable and hashable.
    """

    # A plain slotted class rather than a frozen dataclass: one is created per streamed event and the
    # dataclass's generated __init__ costs about three times as much.
    __slots__ = ("bytes",)

    bytes: builtins.bytes

    def __init__(self, data: builtins.bytes) -> None:
        object.__setattr__(self, "bytes", data)

    def json(self) -> Any:
        """The chunk's bytes parsed as JSON (the model family's event object).

        Raises ``ValueError`` (``json.JSONDecodeError``) when the model sent something that is not JSON.
        """
        return json.loads(self.bytes)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Chunk is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Chunk is immutable (cannot delete {name!r})")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Chunk):
            return self.bytes == other.bytes
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Chunk, self.bytes))

    def __repr__(self) -> str:
        return f"Chunk(bytes={self.bytes!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Chunk, (self.bytes,))


_new_object = object.__new__
_set_chunk_bytes: Any = Chunk.__dict__["bytes"].__set__


def new_chunk(data: builtins.bytes) -> Chunk:
    """A Chunk without going through ``__init__`` (the per-event hot path; ``data`` must be bytes)."""
    chunk: Chunk = _new_object(Chunk)
    _set_chunk_bytes(chunk, data)
    return chunk


if sys.version_info >= (3, 11):

    def _b64decode(data: builtins.bytes) -> builtins.bytes:
        return binascii.a2b_base64(data, strict_mode=True)

else:  # pragma: no cover - exercised only on 3.10
    import base64

    def _b64decode(data: builtins.bytes) -> builtins.bytes:
        return base64.b64decode(data, validate=True)


_FAST_PREFIX = b'{"bytes":"'
_FAST_START = len(_FAST_PREFIX)
_PAD_MEMBER = b'","p":"'
_PAD_START = len(_PAD_MEMBER)
_OBJECT_END = b'"}'


def fast_chunk_bytes(payload: builtins.bytes) -> builtins.bytes | None:
    """Decode the service's exact compact layout without a JSON parser, or return None to fall back.

    Every chunk the service sends looks like ``{"bytes":"<base64>","p":"<letters>"}``. A base64 alphabet has
    no ``"`` or ``\\``, so the value ends at the next quote; what follows must be exactly the padding member
    (ASCII letters and digits only) and the closing brace, so nothing a full parser would reject, or read
    differently, slips through. This is several times cheaper than json.loads + base64 and runs once per
    streamed event.
    """
    if payload[:_FAST_START] != _FAST_PREFIX:
        return None
    end = payload.find(b'"', _FAST_START)
    if payload[end : end + _PAD_START] == _PAD_MEMBER:
        if payload[-2:] != _OBJECT_END:
            return None
        pad = payload[end + _PAD_START : -2]
        # The service pads with ASCII letters and digits; anything else (an escape, a control character,
        # non-ASCII bytes that may not be UTF-8) goes to the full parser, which knows every JSON rule.
        if pad and not pad.isalnum():
            return None
    elif payload[end:] != _OBJECT_END:
        return None
    try:
        return _b64decode(payload[_FAST_START:end])
    except (binascii.Error, ValueError):
        return None


def _chunk_from_payload(payload: builtins.bytes, index: int) -> Chunk:
    data = fast_chunk_bytes(payload)
    if data is not None:
        return Chunk(data)
    try:
        parsed = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StreamError(f"chunk event #{index} has a payload that is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise StreamError(f"chunk event #{index} has a JSON payload that is not an object")
    encoded = parsed.get("bytes")
    if encoded is None:
        # The model allows a chunk without bytes (PayloadPart.bytes is optional): an empty piece.
        return Chunk(b"")
    if not isinstance(encoded, str):
        raise StreamError(f"chunk event #{index}: 'bytes' is a {type(encoded).__name__}, not a base64 string")
    try:
        return Chunk(_b64decode(encoded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise StreamError(f"chunk event #{index}: 'bytes' is not valid base64: {exc}") from exc


def _fail(error: BedrockRuntimeError) -> NoReturn:
    raise error


def type_message(
    headers: Mapping[str, Any],
    payload: builtins.bytes,
    *,
    index: int,
    request_id: str | None,
) -> Chunk | None:
    """Turn one decoded message into an event, or raise the error it carries.

    Returns a :class:`Chunk` for a ``chunk`` event and ``None`` for an event type this client does not know
    (the service may add event types; like the AWS SDKs, unknown ones are skipped). Raises the typed service
    exception for an ``exception`` message, :class:`~client.errors.UnmodeledStreamError` for an ``error``
    message, and :class:`~client.errors.StreamError` for a message without a valid ``:message-type`` or a
    malformed chunk. ``index`` (0-based position in the stream) is only used in messages.
    """
    message_type = headers.get(":message-type")
    if message_type == "event":
        if headers.get(":event-type") == "chunk":
            return _chunk_from_payload(payload, index)
        return None
    if message_type == "exception":
        _fail(error_from_exception_message(headers, payload, request_id=request_id))
    if message_type == "error":
        _fail(error_from_error_message(headers, payload, request_id=request_id))
    if message_type is None:
        raise StreamError(f"event-stream message #{index} has no :message-type header", request_id=request_id)
    raise StreamError(
        f"event-stream message #{index} has an unknown :message-type {message_type!r}", request_id=request_id
    )
