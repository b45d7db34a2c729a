"""Sans-I/O codec for the AWS binary event-stream format (``application/vnd.amazon.eventstream``).

Standard library only, so it can be vendored anywhere. A frame is a 12-byte prelude (total length u32,
headers length u32, CRC-32 of those 8 bytes), a headers block, a payload and the CRC-32 of everything
before it (IEEE CRC-32 as computed by ``zlib.crc32``; all integers big-endian).

* :class:`Decoder` -- incremental: ``feed(bytes) -> list[Message]``, ``close()``; sticky errors.
* :func:`decode` -- a whole buffer at once; :func:`encode` -- one Message to one frame.
* :class:`Message` -- frozen ``(headers, payload)``; :class:`Headers` -- immutable ordered typed mapping.
* Width wrappers :class:`Int8` ... :class:`Int64` and :class:`Timestamp` pin a header's wire type.
* Errors: :class:`DecodeError` (``offset``, ``prelude``) and its subclasses; :class:`EncodeError`.
* ``python -m eventstream FILE`` dumps a recorded stream as JSON lines (:mod:`eventstream.dump`).
"""

from __future__ import annotations

from .decoder import Decoder, decode
from .encoder import encode
from .errors import (
    DecodeError,
    EncodeError,
    FrameTooLarge,
    InvalidLength,
    MalformedHeader,
    MessageChecksumMismatch,
    PreludeChecksumMismatch,
    TruncatedStream,
)
from .header_type import HeaderType
from .header_values import HeaderValue, Int8, Int16, Int32, Int64, Timestamp
from .headers import Header, HeaderInputValue, Headers, HeadersInput
from .limits import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_HEADER_NAME_LENGTH,
    MAX_HEADER_VALUE_LENGTH,
    MAX_HEADERS_LENGTH,
)
from .message import Message

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_HEADERS_LENGTH",
    "MAX_HEADER_NAME_LENGTH",
    "MAX_HEADER_VALUE_LENGTH",
    "DecodeError",
    "Decoder",
    "EncodeError",
    "FrameTooLarge",
    "Header",
    "HeaderInputValue",
    "HeaderType",
    "HeaderValue",
    "Headers",
    "HeadersInput",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "InvalidLength",
    "MalformedHeader",
    "Message",
    "MessageChecksumMismatch",
    "PreludeChecksumMismatch",
    "Timestamp",
    "TruncatedStream",
    "decode",
    "encode",
]
