"""Hypothesis strategies for the AWS event-stream format: property-test your own consumer of the decoder.

Needs hypothesis (``pip install 'bedrock-stream[testing]'``); ``import eventstream`` never imports it, only
``import eventstream.strategies`` does. These are the strategies this project's own property and fuzzing tests
use (tests/test_eventstream_properties.py, tests/test_fuzz_decoder.py)::

    from hypothesis import given
    from eventstream import strategies as es

    @given(es.split_streams())
    def test_my_consumer_sees_every_event(split):
        assert my_consumer(split.pieces) == [m.payload for m in split.messages]

    @given(es.mutated_streams())
    def test_my_consumer_fails_cleanly(data):
        try:
            my_consumer([data])
        except MyTypedError:   # whatever your consumer promises on bad input (eventstream.DecodeError inside)
            pass

Valid input:

* :func:`header_names`, :func:`header_values` (every wire type: booleans, ``Int8``..``Int64``, plain ints,
  byte arrays, strings, timestamps as ``datetime`` and ``Timestamp``, UUIDs; boundary sizes included),
  :func:`header_lists`, :func:`payloads`;
* :func:`messages` (:class:`~eventstream.Message`), :func:`frames` (one encoded frame), :func:`streams`
  (:class:`Stream`: messages and their encoded bytes), :func:`split_streams` (:class:`SplitStream`: the same
  cut into random pieces of mixed ``bytes``/``bytearray``/``memoryview``, empty pieces included),
  :func:`pieces` (random pieces of bytes you give).

Hostile input (what a decoder must refuse with a typed error, never a crash, a hang or a wrong message):

* :func:`truncated_streams` (:class:`CutStream`: a valid stream cut anywhere),
  :func:`bit_flipped_streams` (one to eight bits flipped anywhere), :func:`mutated_streams` (a valid stream
  after one to four edits: inserted, deleted, overwritten or flipped bytes, spliced-in parts of other frames,
  duplicated runs, length fields set to hostile values -- 0, 15, 128 KiB + 1, 24 MiB + 1, 2**32 - 1 ... --
  with the checksums fixed so the damage gets past the CRC gates, truncation), :func:`hostile_frames` (random
  frames: any lengths behind a valid prelude checksum, random header bytes), :func:`header_blocks` (nearly
  valid header blocks), :func:`hostile_preludes` (any two lengths behind a valid prelude checksum).

Fast generation: hypothesis spends ~0.1 ms per draw, so a stream assembled from dozens of draws costs several
times what a decoder spends on it. The hostile-stream strategies therefore draw 64 bytes and a seed once
(:func:`entropy`, an :class:`Entropy`) and build the input from it with the ``build_*`` functions; the 64
bytes decide the structure (how many frames, which types, which edits) and shrink toward the simplest input,
a seeded PRNG supplies the bulk. Use the builders directly when one example needs several related inputs
(a stream *and* its split points) from one draw.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import struct
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "eventstream.strategies needs hypothesis, an optional dependency: "
        "pip install 'bedrock-stream[testing]' (or pip install 'hypothesis>=6.100')"
    ) from exc

from .encoder import encode
from .errors import EncodeError
from .header_values import HeaderValue, Int8, Int16, Int32, Int64, Timestamp
from .headers import Headers
from .limits import DEFAULT_MAX_MESSAGE_SIZE
from .message import Message

__all__ = [
    "BOUNDARY_LENGTHS",
    "MUTATIONS",
    "CutStream",
    "Entropy",
    "Piece",
    "SplitStream",
    "Stream",
    "bit_flipped_streams",
    "build_cuts",
    "build_hostile_bytes",
    "build_message",
    "build_mutated_stream",
    "build_stream",
    "build_value",
    "entropy",
    "fix_checksums",
    "frames",
    "header_blocks",
    "header_lists",
    "header_names",
    "header_values",
    "hostile_frames",
    "hostile_preludes",
    "messages",
    "mutated_streams",
    "payloads",
    "pieces",
    "split",
    "split_streams",
    "streams",
    "truncated_streams",
]

#: What a decoder may be fed: any bytes-like piece.
Piece = bytes | bytearray | memoryview

#: Length-field values at and around every limit of the format (and of a decoder's defaults).
BOUNDARY_LENGTHS: tuple[int, ...] = (
    0,
    1,
    11,
    12,
    15,
    16,
    17,
    40,
    100,
    1023,
    1024,
    1025,
    128 * 1024,
    128 * 1024 + 1,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE + 1,
    0x7FFFFFFF,
    0xFFFFFFFF,
)

_PIECE_KINDS: tuple[Callable[[bytes], Piece], ...] = (bytes, bytearray, memoryview)


@dataclass(frozen=True, slots=True)
class Stream:
    """Messages and the bytes they encode to, frame after frame."""

    messages: tuple[Message, ...]
    data: bytes

    @property
    def offsets(self) -> tuple[int, ...]:
        """Where each message's frame starts in :attr:`data`."""
        out: list[int] = []
        pos = 0
        for message in self.messages:
            out.append(pos)
            pos += 16 + len(message.headers.wire_bytes()) + len(message.payload)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class SplitStream:
    """A :class:`Stream` cut into ``pieces`` (which join to ``data``)."""

    messages: tuple[Message, ...]
    data: bytes
    pieces: tuple[Piece, ...]


@dataclass(frozen=True, slots=True)
class CutStream:
    """A valid stream cut at ``cut``: ``data`` is its first ``cut`` bytes. ``complete`` is how many of
    ``messages`` fit whole in ``data``; ``clean`` is whether the cut fell between two frames (then ``data``
    is a valid stream of ``messages[:complete]``, else a decoder must report a truncated frame at ``end``)."""

    messages: tuple[Message, ...]
    data: bytes
    cut: int
    complete: int
    end: int
    clean: bool


# --- header values, headers, messages ---------------------------------------------------------------------


def header_names() -> st.SearchStrategy[str]:
    """Header names: any text up to the 255-byte UTF-8 limit, and the names Bedrock and AWS use."""
    return st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
        st.sampled_from(
            [":event-type", ":content-type", ":message-type", ":exception-type", "n" * 255, "é" * 127]
        ),
    ).filter(lambda name: len(name.encode("utf-8")) <= 255)


def _fixed_offsets() -> st.SearchStrategy[dt.timezone]:
    return st.builds(
        dt.timezone,
        st.timedeltas(
            min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)
        ),
    )


def header_values(*, small: bool = False) -> st.SearchStrategy[HeaderValue]:
    """Header values of every wire type, as you would pass them to :class:`~eventstream.Message`.

    Booleans; ``Int8``/``Int16``/``Int32``/``Int64`` over their whole ranges; plain ints (int32 or int64 by
    size); byte arrays and strings up to the 32767-byte limit (multi-byte UTF-8 included); timestamps as aware
    ``datetime`` (UTC and fixed offsets) and as :class:`~eventstream.Timestamp` over the whole int64 range;
    UUIDs. ``small=True``: short values only (a few bytes each), for many cheap examples.
    """
    if small:
        return st.one_of(
            st.booleans(),
            st.integers(-(1 << 7), (1 << 7) - 1).map(Int8),
            st.integers(-(1 << 15), (1 << 15) - 1).map(Int16),
            st.integers(-(1 << 63), (1 << 63) - 1),
            st.binary(max_size=8),
            st.text(max_size=6),
            st.integers(-(1 << 63), (1 << 63) - 1).map(Timestamp),
            st.uuids(),
        )
    return st.one_of(
        st.booleans(),
        st.integers(-(1 << 7), (1 << 7) - 1).map(Int8),
        st.integers(-(1 << 15), (1 << 15) - 1).map(Int16),
        st.integers(-(1 << 31), (1 << 31) - 1).map(Int32),
        st.integers(-(1 << 63), (1 << 63) - 1).map(Int64),
        st.integers(-(1 << 63), (1 << 63) - 1),  # plain ints: int32 or int64 by size
        st.sampled_from([-(1 << 63), (1 << 63) - 1, -(1 << 31) - 1, 1 << 31, 0, -1]),
        st.binary(max_size=64),
        st.sampled_from([b"", b"\xff" * 32767]),
        st.text(max_size=40),
        st.sampled_from(["", "a" * 32767, "é" * 16383, "\U0001f600" * 8191]),
        st.datetimes(timezones=st.just(dt.timezone.utc)),
        st.datetimes(timezones=_fixed_offsets()),
        st.integers(-(1 << 63), (1 << 63) - 1).map(Timestamp),
        st.sampled_from([Timestamp(-(1 << 63)), Timestamp((1 << 63) - 1), Timestamp(253_402_300_800_000)]),
        st.uuids(),
    )


def header_lists(
    *, max_size: int = 8, values: st.SearchStrategy[HeaderValue] | None = None
) -> st.SearchStrategy[list[tuple[str, HeaderValue]]]:
    """``(name, value)`` pairs with distinct names: the headers of one message."""
    return st.lists(
        st.tuples(header_names(), header_values() if values is None else values),
        max_size=max_size,
        unique_by=lambda pair: pair[0],
    )


def payloads() -> st.SearchStrategy[bytes]:
    """Payloads: short random bytes, and sizes that take a decoder's large-frame paths (70 kB, 150 kB)."""
    return st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"{}", bytes(70_000), b"\x01" * 150_000]))


@st.composite
def _messages(
    draw: st.DrawFn,
    headers: st.SearchStrategy[list[tuple[str, HeaderValue]]],
    payload: st.SearchStrategy[bytes],
) -> Message:
    message = Message(draw(headers), draw(payload))
    try:
        message.headers.wire_bytes()
    except EncodeError:  # several maximal values can exceed the 128 KiB headers-block limit together
        assume(False)
    return message


def messages(
    *,
    payloads: st.SearchStrategy[bytes] | None = None,
    headers: st.SearchStrategy[list[tuple[str, HeaderValue]]] | None = None,
    max_frame_size: int | None = None,
) -> st.SearchStrategy[Message]:
    """Valid messages (headers of every wire type, see :func:`header_values`; payloads from :func:`payloads`
    unless given). ``max_frame_size`` keeps only messages whose frame is at most that many bytes."""
    strategy = _messages(header_lists() if headers is None else headers, _default_payloads(payloads))
    if max_frame_size is not None:
        limit = max_frame_size
        strategy = strategy.filter(lambda m: 16 + len(m.headers.wire_bytes()) + len(m.payload) <= limit)
    return strategy


def _default_payloads(given: st.SearchStrategy[bytes] | None) -> st.SearchStrategy[bytes]:
    return payloads() if given is None else given


def frames(message_strategy: st.SearchStrategy[Message] | None = None) -> st.SearchStrategy[bytes]:
    """One encoded frame (of a message from :func:`messages` unless given)."""
    return (messages() if message_strategy is None else message_strategy).map(encode)


def streams(
    *,
    min_messages: int = 1,
    max_messages: int = 5,
    message_strategy: st.SearchStrategy[Message] | None = None,
) -> st.SearchStrategy[Stream]:
    """A :class:`Stream`: several messages and their frames back to back."""
    return st.lists(
        messages() if message_strategy is None else message_strategy,
        min_size=min_messages,
        max_size=max_messages,
    ).map(lambda batch: Stream(tuple(batch), b"".join(encode(m) for m in batch)))


def split(
    data: bytes, cuts: Sequence[int], kinds: Sequence[Callable[[bytes], Piece]] = (bytes,)
) -> list[Piece]:
    """``data`` cut at ``cuts`` (any order; repeats give empty pieces), piece types cycling over ``kinds``."""
    bounds = [0, *sorted(cuts), len(data)]
    return [kinds[i % len(kinds)](data[a:b]) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


@st.composite
def pieces(draw: st.DrawFn, data: bytes, max_cuts: int = 20) -> list[Piece]:
    """``data`` cut at up to ``max_cuts`` random offsets into pieces of random types (bytes, bytearray,
    memoryview); empty pieces included. The pieces join to ``data``."""
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=max_cuts))
    kinds = draw(st.lists(st.sampled_from(_PIECE_KINDS), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    return [kinds[i](bytes(piece)) for i, piece in enumerate(split(data, cuts))]


@st.composite
def split_streams(
    draw: st.DrawFn,
    *,
    min_messages: int = 1,
    max_messages: int = 5,
    message_strategy: st.SearchStrategy[Message] | None = None,
) -> SplitStream:
    """A :class:`SplitStream`: a valid stream in random pieces (see :func:`pieces`)."""
    stream = draw(
        streams(min_messages=min_messages, max_messages=max_messages, message_strategy=message_strategy)
    )
    return SplitStream(stream.messages, stream.data, tuple(draw(pieces(stream.data))))


# --- hostile input ------------------------------------------------------------------------------------------


@st.composite
def truncated_streams(
    draw: st.DrawFn, *, max_messages: int = 3, message_strategy: st.SearchStrategy[Message] | None = None
) -> CutStream:
    """A valid stream cut at any byte (see :class:`CutStream`)."""
    stream = draw(streams(max_messages=max_messages, message_strategy=message_strategy))
    cut = draw(st.integers(0, len(stream.data)))
    starts = [*stream.offsets, len(stream.data)]
    complete = sum(1 for end in starts[1:] if end <= cut)
    return CutStream(stream.messages, stream.data[:cut], cut, complete, starts[complete], cut in starts)


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    """Nearly valid header blocks: well-formed headers written one by one (names from a small pool, so
    duplicates happen), then up to three byte edits (overwrite, cut, insert) anywhere in the block. Put one
    in a frame with correct lengths and checksums to reach a header parser (:func:`hostile_frames` does)."""
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "\U0001f600"]) | header_names(), header_values(small=True)),
            max_size=5,
        )
    )
    block = bytearray(b"".join(Headers([pair]).wire_bytes() for pair in pairs))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        if not block:
            break
        at = draw(st.integers(0, len(block) - 1))
        edit = draw(st.sampled_from(["overwrite", "cut", "insert"]))
        if edit == "overwrite":
            block[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del block[at : at + draw(st.integers(1, 4))]
        else:
            block[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(block)


def hostile_preludes(max_rest: int = 64) -> st.SearchStrategy[bytes]:
    """A prelude with any total and headers lengths (0 .. 2**32 - 1) and a *valid* prelude checksum, followed
    by up to ``max_rest`` random bytes: what gets past the first gate of a decoder."""

    def build(total: int, headers_length: int, rest: bytes) -> bytes:
        lengths = struct.pack(">II", total, headers_length)
        return lengths + struct.pack(">I", zlib.crc32(lengths)) + rest

    return st.builds(
        build, st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), st.binary(max_size=max_rest)
    )


def fix_checksums(data: bytes | bytearray, at: int = 0) -> bytes:
    """``data`` with the prelude and message checksums of the frame at ``at`` rewritten (as far as its length
    field allows), so damage to its lengths or headers reaches the checks behind the CRC gates."""
    out = bytearray(data)
    _fix_frame(out, at)
    return bytes(out)


def _fix_frame(data: bytearray, pos: int) -> None:
    if len(data) - pos < 12:
        return
    (total,) = struct.unpack_from(">I", data, pos)
    struct.pack_into(">I", data, pos + 8, zlib.crc32(data[pos : pos + 8]))
    if 16 <= total <= len(data) - pos:
        struct.pack_into(">I", data, pos + total - 4, zlib.crc32(data[pos : pos + total - 4]))


# --- fast builders: 64 drawn bytes and a seed per example ---------------------------------------------------


class Entropy:
    """Choices read from a byte string: the drawn prefix, then a seeded PRNG's bytes, then zeros.

    Draw one with :func:`entropy` and pass it to the ``build_*`` functions; every choice they make comes from
    it, so hypothesis still owns the budget, the example database, replay and shrinking (of the prefix).
    """

    __slots__ = ("data", "pos", "prefix", "seed")

    def __init__(self, prefix: bytes, seed: int = 0) -> None:
        self.prefix, self.seed = prefix, seed
        self.data = prefix + random.Random(seed).randbytes(2048)
        self.pos = 0

    def __repr__(self) -> str:  # how hypothesis shows a falsifying example: enough to rebuild it
        return f"Entropy({self.prefix!r}, {self.seed})"

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes (zeros once the source is used up)."""
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk if len(chunk) == count else chunk + bytes(count - len(chunk))

    def number(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        span = hi - lo
        if span <= 0:
            return lo
        return lo + int.from_bytes(self.take((span.bit_length() + 7) // 8), "big") % (span + 1)

    def signed(self, width: int) -> int:
        """A signed big-endian integer of ``width`` bytes."""
        return int.from_bytes(self.take(width), "big", signed=True)

    def pick(self, options: Sequence[Any]) -> Any:
        """One of ``options``."""
        return options[self.number(0, len(options) - 1)]

    def text(self, max_bytes: int) -> str:
        """Text of up to ``max_bytes`` random bytes (invalid UTF-8 replaced)."""
        return self.take(self.number(0, max_bytes)).decode("utf-8", "replace")


def entropy() -> st.SearchStrategy[Entropy]:
    """An :class:`Entropy`: 64 drawn bytes (they shrink) and a PRNG seed."""
    return st.builds(Entropy, st.binary(min_size=64, max_size=64), st.integers(0, 2**32 - 1))


_NAME_POOL = (
    ":event-type",
    ":content-type",
    ":message-type",
    ":exception-type",
    "n" * 255,
    "é" * 127,
    "a",
    "b",
)
_SPECIAL_VALUES: tuple[HeaderValue, ...] = (
    "chunk",
    "event",
    "application/json",
    "",
    b"",
    b"\xff" * 300,
    "é" * 16383,
    Int64(-(1 << 63)),
    Int64((1 << 63) - 1),
    Int32(-(1 << 31)),
    Timestamp(253_402_300_800_000),
    Timestamp(-62_135_596_800_001),
)
_DATETIME_MS = (-62_135_596_800_000, 253_402_300_799_999)
# Over 64 KiB a decoder may check the CRC in place; a pending frame over 128 KiB may be completed piecewise.
_LARGE_PAYLOADS = (bytes(70_000), bytes(range(256)) * 550)


def build_value(e: Entropy) -> HeaderValue:
    """A header value of any wire type (Int8..Int64, plain ints, bytes, str, timestamps, UUIDs, booleans)."""
    kind = e.number(0, 11)
    if kind == 0:
        return bool(e.number(0, 1))
    if kind <= 4:
        return (Int8, Int16, Int32, Int64)[kind - 1](e.signed(1 << (kind - 1)))
    if kind == 5:
        return e.signed(8)  # a plain int: int32 when it fits, else int64
    if kind == 6:
        return e.take(e.number(0, 24))
    if kind == 7:
        return e.text(24)
    if kind == 8:
        return Timestamp(e.number(*_DATETIME_MS))  # comes back as a UTC datetime
    if kind == 9:
        return Timestamp(e.signed(8))  # mostly outside datetime's range: stays a Timestamp
    if kind == 10:
        return uuid.UUID(bytes=e.take(16))
    value: HeaderValue = e.pick(_SPECIAL_VALUES)
    return value


def build_message(e: Entropy) -> Message:
    """A valid message: up to five headers (common names or random text), a small, JSON-like or large
    payload."""
    headers: dict[str, HeaderValue] = {}
    for _ in range(e.number(0, 5)):
        name = e.pick(_NAME_POOL) if e.number(0, 1) else e.text(12) or "x"
        headers[name] = build_value(e)
    kind = e.number(0, 15)
    payload = (
        b""
        if kind == 0
        else b'{"bytes":"eyJ0eXBlIjoibWVzc2FnZV9zdG9wIn0="}'
        if kind == 1
        else _LARGE_PAYLOADS[kind - 2]
        if kind <= 3
        else e.take(e.number(0, 64))
    )
    message = Message(headers, payload)
    try:
        message.headers.wire_bytes()
    except EncodeError:  # several maximal values together can exceed the 128 KiB block limit
        return Message({}, payload)
    return message


def build_stream(e: Entropy, max_frames: int = 4) -> Stream:
    """A valid stream of 1 to ``max_frames`` messages."""
    batch = tuple(build_message(e) for _ in range(e.number(1, max_frames)))
    return Stream(batch, b"".join(encode(message) for message in batch))


def build_cuts(e: Entropy, size: int) -> list[int]:
    """Split points for ``size`` bytes: up to 8 anywhere (repeats make empty pieces), or every byte of short
    data."""
    if size <= 600 and e.number(0, 9) == 0:
        return list(range(1, size))
    return [e.number(0, size) for _ in range(e.number(0, 8))]


def _frame_starts(data: bytes | bytearray) -> list[int]:
    """Where a decoder would look for frames if every length field were believed."""
    starts = []
    pos = 0
    while len(data) - pos >= 12:
        starts.append(pos)
        (total,) = struct.unpack_from(">I", data, pos)
        if total < 16:
            break
        pos += total
    return starts or [0]


MUTATIONS = ("insert", "delete", "overwrite", "flip", "splice", "duplicate", "lengths", "fix", "truncate")


def build_mutated_stream(e: Entropy) -> bytes:
    """A valid stream after 1-4 edits (see :func:`mutated_streams`)."""
    data = bytearray(build_stream(e).data)
    for _ in range(e.number(1, 4)):
        op = e.pick(MUTATIONS)
        at = e.number(0, len(data))
        if op == "insert":
            data[at:at] = e.take(e.number(1, 8))
        elif op == "delete":
            del data[at : at + e.number(1, 16)]
        elif op == "overwrite":
            replacement = e.take(e.number(1, 4))
            data[at : at + len(replacement)] = replacement
        elif op == "flip" and at < len(data):
            data[at] ^= 1 << e.number(0, 7)
        elif op == "splice":
            # Part of another stream (a frame's head, tail or middle, or whole frames) put in anywhere.
            donor = build_stream(e, 2).data
            a = e.number(0, len(donor))
            data[at : at + e.number(0, 24)] = donor[a : e.number(a, len(donor))]
        elif op == "duplicate":
            a = e.number(0, len(data))
            data[at:at] = data[a : a + e.number(1, 200)]
        elif op == "lengths":
            start = e.pick(_frame_starts(data))
            if len(data) - start >= 12:
                struct.pack_into(">I", data, start + e.pick([0, 4]), e.pick(BOUNDARY_LENGTHS))
                _fix_frame(data, start)
        elif op == "fix":
            _fix_frame(data, e.pick(_frame_starts(data)))
        elif op == "truncate":
            del data[at:]
    return bytes(data)


def _build_hostile_frame(e: Entropy) -> bytes:
    headers = e.take(e.number(0, 40))
    payload = e.take(e.number(0, 20))
    total = e.pick(BOUNDARY_LENGTHS) if e.number(0, 2) == 0 else 16 + len(headers) + len(payload)
    headers_length = e.pick(BOUNDARY_LENGTHS) if e.number(0, 2) == 0 else len(headers)
    prelude = struct.pack(">II", total, headers_length)
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + (struct.pack(">I", zlib.crc32(body)) if e.number(0, 1) else e.take(4))


def build_hostile_bytes(e: Entropy) -> bytes:
    """Random bytes (up to 300), or one to three :func:`hostile_frames`-style frames."""
    if e.number(0, 1):
        return e.take(e.number(0, 300))
    return b"".join(_build_hostile_frame(e) for _ in range(e.number(1, 3)))


def mutated_streams() -> st.SearchStrategy[bytes]:
    """A valid stream after one to four edits: bytes inserted, deleted, overwritten or bit-flipped; part of
    another stream spliced in (a frame's head, tail or middle, or whole frames); a run duplicated; a total or
    headers length set to a hostile value (:data:`BOUNDARY_LENGTHS`) with that frame's checksums fixed; a
    frame's checksums rewritten after earlier damage (so it reaches the length checks and the header parser);
    the stream truncated."""
    return entropy().map(build_mutated_stream)


def hostile_frames() -> st.SearchStrategy[bytes]:
    """Random frames: hostile or consistent lengths behind a valid prelude checksum, random header bytes, a
    right or wrong message checksum -- or plain random bytes."""
    return entropy().map(build_hostile_bytes)


@st.composite
def bit_flipped_streams(draw: st.DrawFn, *, max_flips: int = 8) -> tuple[Stream, bytes]:
    """A valid stream and a copy with one to ``max_flips`` bits flipped anywhere (prelude, headers, payload or
    checksums). Damage within one frame that CRC-32 detects -- up to 32 bits in a row, any change of one
    byte -- must stop a decoder at that frame."""
    stream = build_stream(draw(entropy()))
    data = bytearray(stream.data)
    for bit in draw(st.lists(st.integers(0, len(data) * 8 - 1), min_size=1, max_size=max_flips, unique=True)):
        data[bit // 8] ^= 1 << (bit % 8)
    return stream, bytes(data)
