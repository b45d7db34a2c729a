"""Typed errors of the event-stream codec.

Decoding errors all derive from :class:`DecodeError` and carry the byte offset of the bad frame in the
stream (``offset``) and the bytes of its prelude that had arrived (``prelude``, at most 12 bytes), so a caller
can report *where* a stream went wrong and a debugging tool can show the raw prelude. Encoding errors derive
from :class:`EncodeError`, a :class:`ValueError`: the message asked for something the wire format cannot
carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Message

__all__ = [
    "DecodeError",
    "EncodeError",
    "FrameTooLarge",
    "InvalidLength",
    "MalformedHeader",
    "MessageChecksumMismatch",
    "PreludeChecksumMismatch",
    "TruncatedStream",
]


class DecodeError(Exception):
    """A frame of the event stream could not be decoded.

    Attributes:
        reason: what was wrong, without the location.
        offset: byte offset in the stream of the first byte of the bad frame.
        prelude: the first bytes of that frame (up to the 12 prelude bytes; fewer if the stream ended
            sooner).
        decoded: the ``(offset, message)`` pairs that the call which first raised this error had decoded
            before reaching the bad frame (``Decoder.feed`` and ``decode`` fill it in): nothing is lost.
    """

    def __init__(self, reason: str, *, offset: int, prelude: bytes = b"") -> None:
        super().__init__(f"{reason} (frame at byte offset {offset})")
        self.reason = reason
        self.offset = offset
        self.prelude = bytes(prelude)
        self.decoded: tuple[tuple[int, Message], ...] = ()

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructor arguments are not in self.args; keep the error picklable (multiprocessing).
        return (_rebuild, (type(self), self.reason, self.offset, self.prelude))


def _rebuild(cls: type[DecodeError], reason: str, offset: int, prelude: bytes) -> DecodeError:
    return cls(reason, offset=offset, prelude=prelude)


class PreludeChecksumMismatch(DecodeError):  # noqa: N818  -- names fixed by the public API
    """The CRC-32 of the 8 length bytes does not match the prelude's checksum field."""


class MessageChecksumMismatch(DecodeError):  # noqa: N818  -- names fixed by the public API
    """The CRC-32 of the frame does not match its trailing checksum field."""


class InvalidLength(DecodeError):  # noqa: N818  -- names fixed by the public API
    """The prelude's lengths are inconsistent: total length < 16, headers length > total length - 16, or a
    headers block larger than the format's 128 KiB limit."""


class FrameTooLarge(DecodeError):  # noqa: N818  -- names fixed by the public API
    """The prelude announces a frame larger than the decoder's ``max_message_size``.

    Raised as soon as the 12 prelude bytes arrive, before any of the frame body is buffered.
    """


class MalformedHeader(DecodeError):  # noqa: N818  -- names fixed by the public API
    """The headers block is malformed: unknown value type, a name or value running past the block, an empty
    name, invalid UTF-8, a value longer than 32767 bytes, or a duplicate name."""


class TruncatedStream(DecodeError):  # noqa: N818  -- names fixed by the public API
    """The stream ended inside a frame."""


class EncodeError(ValueError):
    """The message cannot be written in the event-stream format (e.g. a header name longer than 255 bytes, a
    value longer than 32767 bytes, a headers block over 128 KiB, an integer that does not fit its width)."""
