"""encode(): a Message to the bytes of one event-stream frame."""

from __future__ import annotations

import struct
from zlib import crc32

from .errors import EncodeError
from .limits import MAX_TOTAL_LENGTH, MIN_FRAME_LENGTH
from .message import Message

__all__ = ["encode"]

_LENGTHS = struct.Struct(">II")
_U32 = struct.Struct(">I")


def encode(message: Message) -> bytes:
    """The wire bytes of ``message`` as one frame.

    Raises :class:`EncodeError` when the message cannot be represented: a header name of 0 or more than 255
    UTF-8 bytes, a bytes/string value over 32767 bytes, a headers block over 128 KiB, a frame over 4 GiB.
    """
    if not isinstance(message, Message):
        raise TypeError(f"encode() takes a Message, got {type(message).__name__}")
    block = message.headers.wire_bytes()
    payload = message.payload
    total = MIN_FRAME_LENGTH + len(block) + len(payload)
    if total > MAX_TOTAL_LENGTH:
        raise EncodeError(f"frame would be {total} bytes; the format's limit is {MAX_TOTAL_LENGTH}")
    lengths = _LENGTHS.pack(total, len(block))
    prelude_crc = crc32(lengths)
    prelude_crc_bytes = _U32.pack(prelude_crc)
    # CRC-32 continues across pieces, so the payload is hashed in place and copied only once, by join().
    message_crc = crc32(payload, crc32(block, crc32(prelude_crc_bytes, prelude_crc)))
    return b"".join((lengths, prelude_crc_bytes, block, payload, _U32.pack(message_crc)))
