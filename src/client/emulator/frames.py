"""Building the event-stream frames the service sends: chunks, modelled exceptions, errors — and broken ones.

Everything here is a pure function of its input, so the same request always gets byte-identical frames:
the padding the service adds to hide the text's length (``"p"``) is derived from the chunk itself instead of
being random.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

from eventstream import Message, encode

__all__ = [
    "chunk_frame",
    "chunk_payload",
    "corrupt_crc",
    "error_frame",
    "event_frame",
    "exception_frame",
    "oversized_frame",
    "padding",
]

# The service pads with a prefix of this alphabet, of a length that varies from chunk to chunk.
_PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

_CHUNK_HEADERS = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}

# Prelude (total length, headers length) + prelude CRC, and the trailing message CRC.
_PRELUDE = struct.Struct(">II")
_PRELUDE_LEN = 12
_CRC_LEN = 4


def padding(seed: bytes) -> str:
    """The ``"p"`` padding for a chunk whose model bytes are ``seed``: 1..62 characters, deterministic."""
    length = 1 + hashlib.sha256(seed).digest()[0] % len(_PAD_ALPHABET)
    return _PAD_ALPHABET[:length]


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    # Compact separators, like the service; non-ASCII text stays UTF-8 rather than \u escapes.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chunk_payload(model_bytes: bytes) -> bytes:
    """The JSON payload of a chunk event: ``{"bytes": <base64 of the model's bytes>, "p": <padding>}``."""
    return _json_bytes({"bytes": base64.b64encode(model_bytes).decode("ascii"), "p": padding(model_bytes)})


def chunk_frame(event: Mapping[str, Any]) -> bytes:
    """The frame carrying one of the model's JSON events (``:message-type`` event, ``:event-type`` chunk)."""
    return encode(Message(headers=dict(_CHUNK_HEADERS), payload=chunk_payload(_json_bytes(event))))


def event_frame(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """A typed event (ConverseStream's ``messageStart``, ``contentBlockDelta``...): ``:event-type`` is
    ``event_type``,
    the event's JSON as payload, padded with a ``"p"`` member like the service's."""
    body = _json_bytes(payload)
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode(Message(headers=headers, payload=_json_bytes({**payload, "p": padding(body)})))


def exception_frame(name: str, body: Mapping[str, Any]) -> bytes:
    """A modelled exception in the stream: ``:exception-type`` ``name`` (lower camel case), JSON ``body``."""
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return encode(Message(headers=headers, payload=_json_bytes(body)))


def error_frame(code: str, message: str) -> bytes:
    """An unmodelled error in the stream: ``:message-type`` error with ``:error-code``/``:error-message``."""
    headers = {":error-code": code, ":error-message": message, ":message-type": "error"}
    return encode(Message(headers=headers, payload=b""))


def corrupt_crc(frame: bytes) -> bytes:
    """``frame`` with its trailing message CRC flipped (the prelude stays valid, so lengths still parse)."""
    if len(frame) < _PRELUDE_LEN + _CRC_LEN:
        raise ValueError(f"not an event-stream frame: {len(frame)} bytes is shorter than the minimum 16")
    (crc,) = struct.unpack_from(">I", frame, len(frame) - _CRC_LEN)
    return frame[:-_CRC_LEN] + struct.pack(">I", crc ^ 0xFFFFFFFF)


def oversized_frame(size: int) -> bytes:
    """A well-formed chunk frame (valid lengths and CRCs) exactly ``size`` bytes long.

    Built by hand rather than with ``encode`` because an encoder rightly refuses to produce a frame over its
    own limit — and exceeding the client's limit is the point of this frame.
    """
    header_block = encode(Message(headers=dict(_CHUNK_HEADERS), payload=b""))[_PRELUDE_LEN:-_CRC_LEN]
    overhead = _PRELUDE_LEN + len(header_block) + _CRC_LEN
    if size < overhead:
        raise ValueError(f"an oversized frame must be at least {overhead} bytes, got {size}")
    payload = b"p" * (size - overhead)
    prelude = _PRELUDE.pack(size, len(header_block))
    prelude_crc = struct.pack(">I", zlib.crc32(prelude))
    crc = zlib.crc32(payload, zlib.crc32(header_block, zlib.crc32(prelude_crc, zlib.crc32(prelude))))
    return b"".join((prelude, prelude_crc, header_block, payload, struct.pack(">I", crc)))
