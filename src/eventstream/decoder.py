"""Decoder: incremental, sans-I/O decoding of an event stream; decode() for a whole buffer.

Feed it bytes as they arrive, in any split; it returns the messages completed so far. Design notes:

* Linear time in any split. Unparsed bytes wait in a list of chunks that is joined only once enough bytes are
  there to finish the pending prelude or frame, and a feed then parses every complete frame of the joined
  buffer in one pass, advancing an index instead of re-slicing the buffer per frame (botocore's
  ``EventStreamBuffer`` copies the whole remaining buffer after each frame: quadratic for a large read).
  Each byte is copied a bounded number of times whatever the read sizes.
* Bounded memory for a pending frame: reads under 1 KiB are merged into one bytearray, so a peer trickling
  a frame one byte per read costs about the frame's size, not a Python object per byte. A frame of 128 KiB
  or more is completed piecewise: CRC over each read in place and one copy of the payload, never a joined
  copy of the whole frame.
* A prelude is validated as soon as its 12 bytes are present: its CRC, its lengths, and the frame size against
  ``max_message_size``, so an oversized or nonsensical frame is refused before any of its body is buffered.
* Check order within a frame: prelude CRC, lengths, headers, message CRC. Headers are parsed before the
  message CRC is checked so that a malformed block is reported as such (the same order as the AWS Rust
  runtime); the parser is strict and bounds-checked, and nothing from a frame is returned before its CRC
  matches.
* Sticky failure: after a DecodeError every later feed/close raises that same error (the stream position is
  lost; resynchronising would mean guessing).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from zlib import crc32

from .errors import (
    DecodeError,
    FrameTooLarge,
    InvalidLength,
    MessageChecksumMismatch,
    PreludeChecksumMismatch,
    TruncatedStream,
)
from .header_cache import HeaderCache
from .headers import Headers
from .limits import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_HEADERS_LENGTH,
    MAX_TOTAL_LENGTH,
    MIN_FRAME_LENGTH,
    PRELUDE_LENGTH,
)
from .message import Message, _new_message, _set_headers, _set_payload

__all__ = ["Decoder", "decode"]

BytesLike = bytes | bytearray | memoryview

_unpack_prelude = struct.Struct(">III").unpack_from
_unpack_u32 = struct.Struct(">I").unpack_from
_EMPTY_HEADERS = Headers()
# Above this size the message CRC runs over a memoryview instead of a copied slice: for megabyte payloads the
# copy would cost as much as the CRC itself, for small frames the memoryview costs more than the copy.
_CRC_IN_PLACE_FROM = 64 * 1024
# A pending frame at least this large is completed piecewise (_complete_large) instead of joined first.
_LARGE_FRAME = 128 * 1024
# Reads smaller than this, while a frame is pending, are appended to a bytearray instead of kept as objects.
_COALESCE_BELOW = 1024


class Decoder:
    """Incremental event-stream decoder (no I/O: give it bytes, get :class:`Message` objects).

    ``max_message_size`` bounds a frame's total length (default 24 MiB); a prelude announcing more raises
    :class:`FrameTooLarge` as soon as its 12 bytes arrive.

    Usage::

        decoder = Decoder()
        for chunk in chunks:
            for message in decoder.feed(chunk):
                ...
        decoder.close()  # TruncatedStream if the stream stopped inside a frame
    """

    __slots__ = (
        "_cache",
        "_error",
        "_have",
        "_last_headers",
        "_last_raw",
        "_max_message_size",
        "_need",
        "_offset",
        "_parts",
    )

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if isinstance(max_message_size, bool) or not isinstance(max_message_size, int):
            raise TypeError("max_message_size must be an int")
        if not MIN_FRAME_LENGTH <= max_message_size <= MAX_TOTAL_LENGTH:
            raise ValueError(f"max_message_size must be between {MIN_FRAME_LENGTH} and {MAX_TOTAL_LENGTH}")
        self._max_message_size = max_message_size
        # Bytes of the pending (incomplete) frame, as received; joined only when _have reaches _need.
        self._parts: list[bytes | bytearray | memoryview] = []
        self._have = 0
        # Bytes the pending frame needs before parsing can progress: the prelude, then the whole frame.
        self._need = PRELUDE_LENGTH
        # Stream offset of the pending frame's first byte (= bytes consumed by completed frames).
        self._offset = 0
        self._error: DecodeError | None = None
        self._cache = HeaderCache()
        # One-entry front for the cache: consecutive frames usually share their headers block, and comparing
        # in place (bytes.startswith at an index) needs neither a slice nor a hash.
        self._last_raw = b""
        self._last_headers = _EMPTY_HEADERS

    @property
    def max_message_size(self) -> int:
        """The largest frame (total length in bytes) this decoder accepts."""
        return self._max_message_size

    @property
    def offset(self) -> int:
        """Stream offset of the next frame: the number of bytes consumed by the frames decoded so far."""
        return self._offset

    @property
    def pending(self) -> int:
        """Number of bytes received of a frame not yet complete."""
        return self._have

    @property
    def error(self) -> DecodeError | None:
        """The error that stopped this decoder, or None while it is healthy."""
        return self._error

    def feed(self, data: BytesLike) -> list[Message]:
        """Add bytes from the stream; return the messages they complete, in order.

        Raises a :class:`DecodeError` subclass on a bad frame; its ``decoded`` attribute holds the
        ``(offset, message)`` pairs this call decoded before the bad frame, so nothing is lost. After an
        error, every later call raises the same error.
        """
        try:
            return self._feed(data, False)  # type: ignore[return-value]
        except DecodeError as exc:
            error = exc
        # Raised from here, without the traceback through the parsing frames: their locals hold the failed
        # frame's bytes, and a failed decoder (or an error the caller keeps) must not pin them.
        del data
        raise error.with_traceback(None)

    def feed_with_offsets(self, data: BytesLike) -> list[tuple[int, Message]]:
        """Like :meth:`feed`, but each message comes with the stream offset of its frame's first byte."""
        try:
            return self._feed(data, True)  # type: ignore[return-value]
        except DecodeError as exc:
            error = exc
        del data  # see feed()
        raise error.with_traceback(None)

    def close(self) -> None:
        """Declare the end of the stream: raises :class:`TruncatedStream` if a frame is incomplete.

        A decoder that has failed raises its error again.
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._have:
            pending = b"".join(self._parts)
            if self._have < PRELUDE_LENGTH:
                reason = f"stream ended inside a frame's prelude ({self._have} of {PRELUDE_LENGTH} bytes)"
            else:
                reason = f"stream ended inside a frame ({self._have} of {self._need} bytes)"
            self._error = TruncatedStream(reason, offset=self._offset, prelude=pending[:PRELUDE_LENGTH])
            raise self._error

    def _feed(self, data: BytesLike, with_offsets: bool) -> list[Message] | list[tuple[int, Message]]:
        if self._error is not None:
            # with_traceback(None): re-raising one instance would otherwise grow its traceback on every call.
            raise self._error.with_traceback(None)
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"feed() takes bytes, bytearray or memoryview, got {type(data).__name__}")
            # A private immutable copy: the caller may reuse a bytearray/memoryview buffer for its next read.
            data = bytes(data)
        size = len(data)
        if not size:
            return []
        have = self._have + size
        if have < self._need:
            parts = self._parts
            if size < _COALESCE_BELOW:
                # Small reads are merged into one growing bytearray: a peer trickling a big frame one byte per
                # read must not cost a Python object per byte (40x the frame size in memory).
                last = parts[-1] if parts else None
                if type(last) is bytearray:
                    last += data
                else:
                    parts.append(bytearray(data))
            else:
                parts.append(data)
            self._have = have
            return []
        if self._need >= _LARGE_FRAME:
            return self._complete_large(data, with_offsets)
        if self._parts:
            self._parts.append(data)
            buf = b"".join(self._parts)
        else:
            buf = data
        try:
            messages, pos = self._drain(buf, with_offsets)
        except DecodeError as exc:
            # The stream position is lost: keep nothing but the error.
            self._parts = []
            self._have = 0
            self._error = exc
            raise
        rest = len(buf) - pos
        if rest:
            self._parts = [buf[pos:] if pos else buf]
        else:
            self._parts = []
            self._need = PRELUDE_LENGTH
        self._have = rest
        return messages

    def _complete_large(self, data: bytes, with_offsets: bool) -> list[Message] | list[tuple[int, Message]]:
        """Finish the large pending frame whose last bytes are in ``data``, then decode the rest of ``data``.

        The pieces are not joined into one frame buffer: the CRC runs over each piece in place and the
        payload is gathered with a single copy, so a megabyte frame arriving in network-sized reads costs one
        CRC pass and one copy, as when it arrives in one buffer.
        """
        total = self._need
        split = total - self._have  # bytes of `data` that belong to the pending frame
        pieces = self._parts
        pieces.append(data if split == len(data) else memoryview(data)[:split])
        base = self._offset
        # The first piece is the frame's start as left by _drain: it holds at least the (validated) prelude.
        _, headers_length, prelude_crc = _unpack_prelude(pieces[0], 0)
        prelude = bytes(pieces[0][:PRELUDE_LENGTH])
        headers_end = PRELUDE_LENGTH + headers_length
        try:
            raw = _gather(pieces, PRELUDE_LENGTH, headers_end)
            cached = self._cache.get(raw)
            headers = Headers.from_wire(raw, base, prelude) if cached is None else cached
            crc = _crc_range(pieces, 8, total - 4, prelude_crc)
            message_crc = int.from_bytes(_gather(pieces, total - 4, total), "big")
            if crc != message_crc:
                raise MessageChecksumMismatch(
                    f"message checksum mismatch: computed 0x{crc:08x}, frame says 0x{message_crc:08x}",
                    offset=base,
                    prelude=prelude,
                )
        except DecodeError as exc:
            self._parts = []
            self._have = 0
            self._error = exc
            raise
        if cached is None:
            self._cache.put(raw, headers)
        message = _new_message(Message)
        _set_headers(message, headers)
        _set_payload(message, _gather(pieces, headers_end, total - 4))
        self._parts = []
        self._have = 0
        self._need = PRELUDE_LENGTH
        self._offset = base + total
        done: list[tuple[int, Message]] = [(base, message)]
        if split < len(data):
            try:
                later = self._feed(data[split:], True)
            except DecodeError as exc:
                exc.decoded = (*done, *exc.decoded)
                raise
            done += later  # type: ignore[arg-type]
        if with_offsets:
            return done
        return [message for _, message in done]

    def _drain(self, buf: bytes, with_offsets: bool) -> tuple[list[Message] | list[tuple[int, Message]], int]:
        """Decode every complete frame at the start of ``buf``; return them and the index after the last one.

        Sets _need for the incomplete frame left at that index (if any) and advances _offset.
        """
        out: list[Message] | list[tuple[int, Message]] = []
        append = out.append
        end = len(buf)
        pos = 0
        base = self._offset
        max_size = self._max_message_size
        last_raw = self._last_raw
        last_length = len(last_raw)
        last_headers = self._last_headers
        front_limit = self._cache.max_block_size
        new_message, set_headers, set_payload = _new_message, _set_headers, _set_payload
        try:
            while end - pos >= PRELUDE_LENGTH:
                total, headers_length, prelude_crc = _unpack_prelude(buf, pos)
                crc = crc32(buf[pos : pos + 8])
                # One combined test on the hot path; _prelude_error sorts out which rule was broken.
                # (total < 16 needs no test of its own: then total - 16 < 0 <= headers_length.)
                if (
                    crc != prelude_crc
                    or headers_length > total - MIN_FRAME_LENGTH
                    or total > max_size
                    or headers_length > MAX_HEADERS_LENGTH
                ):
                    raise _prelude_error(
                        crc,
                        prelude_crc,
                        total,
                        headers_length,
                        max_size=max_size,
                        offset=base + pos,
                        prelude=buf[pos : pos + PRELUDE_LENGTH],
                    )
                frame_end = pos + total
                if frame_end > end:
                    self._need = total
                    break
                headers_start = pos + PRELUDE_LENGTH
                headers_end = headers_start + headers_length
                if headers_length == last_length and buf.startswith(last_raw, headers_start):
                    headers = last_headers
                    miss = False
                else:
                    raw = buf[headers_start:headers_end]
                    cached = self._cache.get(raw)
                    miss = cached is None
                    if cached is None:
                        headers = Headers.from_wire(raw, base + pos, buf[pos:headers_start])
                    else:
                        headers = cached
                payload_end = frame_end - 4
                if total < _CRC_IN_PLACE_FROM:
                    crc = crc32(buf[pos + 8 : payload_end], crc)
                else:
                    with memoryview(buf) as view:
                        crc = crc32(view[pos + 8 : payload_end], crc)
                (message_crc,) = _unpack_u32(buf, payload_end)
                if crc != message_crc:
                    raise MessageChecksumMismatch(
                        f"message checksum mismatch: computed 0x{crc:08x}, frame says 0x{message_crc:08x}",
                        offset=base + pos,
                        prelude=buf[pos:headers_start],
                    )
                if headers is not last_headers:
                    if miss:
                        # Only blocks of frames whose CRC matched enter the cache.
                        self._cache.put(raw, headers)
                    if headers_length <= front_limit:
                        # The front entry obeys the cache's size bound too: an idle decoder must not keep
                        # a 128 KiB block of tiny headers (megabytes once decoded) alive.
                        last_raw = raw
                        last_length = headers_length
                        last_headers = headers
                # Headers and payload are already valid: build the Message without __init__'s checks.
                message = new_message(Message)
                set_headers(message, headers)
                set_payload(message, buf[headers_end:payload_end])
                if with_offsets:
                    append((base + pos, message))  # type: ignore[arg-type]
                else:
                    append(message)  # type: ignore[arg-type]
                pos = frame_end
            else:
                self._need = PRELUDE_LENGTH
        except DecodeError as exc:
            exc.decoded = _with_offsets(out, buf, base, with_offsets)
            self._offset = base + pos
            raise
        self._last_raw = last_raw
        self._last_headers = last_headers
        self._offset = base + pos
        return out, pos


def _slices(
    pieces: list[bytes | bytearray | memoryview], start: int, stop: int
) -> Iterator[bytes | bytearray | memoryview]:
    """Bytes ``start:stop`` of the concatenated pieces, as zero-copy slices of the pieces they lie in."""
    offset = 0
    for piece in pieces:
        size = len(piece)
        if offset + size > start:
            low = max(start - offset, 0)
            high = min(stop - offset, size)
            yield piece if low == 0 and high == size else memoryview(piece)[low:high]
        offset += size
        if offset >= stop:
            break


def _gather(pieces: list[bytes | bytearray | memoryview], start: int, stop: int) -> bytes:
    """Bytes ``start:stop`` of the concatenated pieces, copying only that range (once)."""
    return b"".join(_slices(pieces, start, stop))


def _crc_range(pieces: list[bytes | bytearray | memoryview], start: int, stop: int, crc: int) -> int:
    """CRC-32 of bytes ``start:stop`` of the concatenated pieces, continuing ``crc``, without copying."""
    for view in _slices(pieces, start, stop):
        crc = crc32(view, crc)
    return crc


def _prelude_error(
    crc: int, prelude_crc: int, total: int, headers_length: int, *, max_size: int, offset: int, prelude: bytes
) -> DecodeError:
    """The error for a prelude that failed the decoder's combined check, in check order."""
    if crc != prelude_crc:
        return PreludeChecksumMismatch(
            f"prelude checksum mismatch: computed 0x{crc:08x}, frame says 0x{prelude_crc:08x}",
            offset=offset,
            prelude=prelude,
        )
    if total < MIN_FRAME_LENGTH or headers_length > total - MIN_FRAME_LENGTH:
        return InvalidLength(
            f"invalid lengths: total length {total}, headers length {headers_length} (a frame needs "
            f"total >= {MIN_FRAME_LENGTH} and headers length <= total - {MIN_FRAME_LENGTH})",
            offset=offset,
            prelude=prelude,
        )
    if headers_length > MAX_HEADERS_LENGTH:
        return InvalidLength(
            f"headers length {headers_length} exceeds the format's limit of {MAX_HEADERS_LENGTH}",
            offset=offset,
            prelude=prelude,
        )
    return FrameTooLarge(
        f"frame of {total} bytes exceeds max_message_size {max_size}", offset=offset, prelude=prelude
    )


def _with_offsets(
    out: list[Message] | list[tuple[int, Message]], buf: bytes, base: int, with_offsets: bool
) -> tuple[tuple[int, Message], ...]:
    """The (offset, message) pairs decoded before an error (offsets recomputed from the frame lengths)."""
    if with_offsets:
        return tuple(out)  # type: ignore[arg-type]
    pairs = []
    pos = 0
    for message in out:
        pairs.append((base + pos, message))
        pos += _unpack_u32(buf, pos)[0]
    return tuple(pairs)  # type: ignore[arg-type]


def decode(data: BytesLike, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> list[Message]:
    """Decode a complete stream held in one buffer.

    Raises a :class:`DecodeError` subclass on a bad frame, :class:`TruncatedStream` if the buffer ends inside
    a frame; the error's ``decoded`` attribute holds the ``(offset, message)`` pairs decoded before it.
    """
    decoder = Decoder(max_message_size)
    pairs = decoder.feed_with_offsets(data)
    try:
        decoder.close()
    except TruncatedStream as exc:
        exc.decoded = tuple(pairs)
        raise
    return [message for _, message in pairs]
