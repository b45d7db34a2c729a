"""Sizes fixed by the event-stream format, and the decoder's default frame-size limit."""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_HEADERS_LENGTH",
    "MAX_HEADER_NAME_LENGTH",
    "MAX_HEADER_VALUE_LENGTH",
    "MAX_TOTAL_LENGTH",
    "MIN_FRAME_LENGTH",
    "PRELUDE_LENGTH",
]

#: total length u32 + headers length u32 + CRC-32 of those 8 bytes.
PRELUDE_LENGTH = 12
#: prelude + trailing message CRC: a frame with no headers and an empty payload.
MIN_FRAME_LENGTH = 16
#: the total length field is a u32.
MAX_TOTAL_LENGTH = 0xFFFFFFFF
#: largest headers block the format allows (botocore and the AWS C runtime use the same bound).
MAX_HEADERS_LENGTH = 128 * 1024
#: a header name's length is one unsigned byte; names are 1..255 bytes of UTF-8.
MAX_HEADER_NAME_LENGTH = 255
#: bytes/string header values: the length field is u16 but the format caps values at 32767 bytes.
MAX_HEADER_VALUE_LENGTH = 32767
#: the decoder's default ``max_message_size`` (Bedrock response bodies stay far below it).
DEFAULT_MAX_MESSAGE_SIZE = 24 * 1024 * 1024
