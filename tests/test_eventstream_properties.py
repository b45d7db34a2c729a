"""Property tests (hypothesis) of the event-stream codec, and the differential test against botocore.

Fast under the default "ci" profile; ``pytest --hypothesis-profile=deep tests/test_eventstream_properties.py``
runs the long campaign.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
import zlib
from typing import Any

from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from eventstream import (
    MAX_HEADERS_LENGTH,
    DecodeError,
    Decoder,
    EncodeError,
    Headers,
    HeaderType,
    HeaderValue,
    Int8,
    Int16,
    Int32,
    Int64,
    MalformedHeader,
    Message,
    Timestamp,
    TruncatedStream,
    decode,
    encode,
)

# Tests that decode a stream once per byte or bit get a share of the profile's example budget.
_BUDGET = settings().max_examples
heavy = settings(max_examples=max(10, _BUDGET // 3), suppress_health_check=[HealthCheck.too_slow])

# --- strategies ---------------------------------------------------------------------------------------------

names = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
    st.sampled_from(
        [":event-type", ":content-type", ":message-type", ":exception-type", "n" * 255, "é" * 127]
    ),
).filter(lambda name: len(name.encode("utf-8")) <= 255)

fixed_offsets = st.builds(
    dt.timezone,
    st.timedeltas(
        min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)
    ),
)
values: st.SearchStrategy[HeaderValue] = st.one_of(
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
    st.datetimes(timezones=fixed_offsets),
    st.integers(-(1 << 63), (1 << 63) - 1).map(Timestamp),
    st.sampled_from([Timestamp(-(1 << 63)), Timestamp((1 << 63) - 1), Timestamp(253_402_300_800_000)]),
    st.uuids(),
)
header_lists = st.lists(st.tuples(names, values), max_size=8, unique_by=lambda pair: pair[0])
payloads = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"{}", bytes(70_000), b"\x01" * 150_000]))


@st.composite
def messages(draw: st.DrawFn, payload: st.SearchStrategy[bytes] = payloads) -> Message:
    message = Message(draw(header_lists), draw(payload))
    try:
        message.headers.wire_bytes()
    except EncodeError:  # several maximal values can exceed the 128 KiB block limit together
        assume(False)
    return message


small_messages = messages(payload=st.binary(max_size=40)).filter(lambda m: len(encode(m)) <= 400)


def feed_all(pieces: list[bytes]) -> list[Message]:
    decoder = Decoder()
    out: list[Message] = []
    for piece in pieces:
        out += decoder.feed(piece)
    decoder.close()
    return out


# --- round trip ---------------------------------------------------------------------------------------------


@given(messages())
def test_messages_round_trip_byte_for_byte(message: Message) -> None:
    wire = encode(message)
    (decoded,) = decode(wire)
    assert decoded == message
    assert decoded.headers.typed_items() == message.headers.typed_items()
    for header in message.headers.typed_items():
        assert decoded.headers.wire_type(header.name) is header.type
        assert type(decoded.headers[header.name]) is type(header.value)
    assert encode(decoded) == wire
    # A message rebuilt from the decoded (name, value) pairs is the same message.
    assert encode(Message(list(decoded.headers.items()), decoded.payload)) == wire


@given(st.lists(messages(), min_size=1, max_size=5), st.data())
def test_any_split_of_a_stream_yields_the_same_messages(batch: list[Message], data: st.DataObject) -> None:
    stream = b"".join(encode(m) for m in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    bounds = [0, *cuts, len(stream)]
    kinds = data.draw(
        st.lists(st.sampled_from([bytes, bytearray, memoryview]), min_size=len(bounds), max_size=len(bounds))
    )
    pieces: list[Any] = [kind(stream[a:b]) for kind, a, b in zip(kinds, bounds, bounds[1:], strict=False)]
    assert feed_all(pieces) == batch


@given(st.lists(small_messages, min_size=1, max_size=3))
def test_one_byte_feeds_yield_the_same_messages(batch: list[Message]) -> None:
    stream = b"".join(encode(m) for m in batch)
    assert feed_all([stream[i : i + 1] for i in range(len(stream))]) == batch


@heavy
@given(st.lists(small_messages, min_size=1, max_size=3))
def test_every_strict_prefix_is_a_truncated_stream(batch: list[Message]) -> None:
    frames = [encode(m) for m in batch]
    stream = b"".join(frames)
    starts = [sum(len(f) for f in frames[:i]) for i in range(len(frames) + 1)]
    for cut in range(1, len(stream)):
        decoder = Decoder()
        got = decoder.feed(stream[:cut])
        complete = sum(1 for end in starts[1:] if end <= cut)
        assert got == batch[:complete]
        if cut in starts:
            decoder.close()
            continue
        try:
            decoder.close()
        except TruncatedStream as exc:
            assert exc.offset == starts[complete]
        else:
            raise AssertionError(f"close() after a {cut}-byte prefix did not raise")


@heavy
@given(small_messages, st.integers(0, 2))
def test_every_single_bit_flip_is_detected(message: Message, position: int) -> None:
    target = encode(message)
    neighbour = encode(Message({":event-type": "chunk"}, b"x"))
    before = [neighbour] * position
    prefix = b"".join(before)
    for bit in range(len(target) * 8):
        corrupted = bytearray(target)
        corrupted[bit // 8] ^= 1 << (bit % 8)
        try:
            decode(prefix + bytes(corrupted) + neighbour)
        except DecodeError as exc:
            # Nothing from the bad frame: only the frames before it, intact.
            assert exc.offset == len(prefix) or isinstance(exc, TruncatedStream)
            assert [m for _, m in exc.decoded] == [Message({":event-type": "chunk"}, b"x")] * position
        else:
            raise AssertionError(f"flipping bit {bit} went unnoticed")


# --- hostile input ------------------------------------------------------------------------------------------


def assert_canonical(decoded: list[Message], data: bytes) -> None:
    """Anything the decoder accepts is canonical: rebuilt from its plain (name, value) pairs -- so through the
    header writer, not the kept wire bytes -- it encodes to exactly the input."""
    rebuilt = [Message(list(m.headers.items()), m.payload) for m in decoded]
    assert rebuilt == decoded
    assert b"".join(encode(m) for m in rebuilt) == data


def checked_frame(headers: bytes, payload: bytes) -> bytes:
    """A frame with correct lengths and CRCs around arbitrary header bytes (reaches the header parser)."""
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


small_values: st.SearchStrategy[HeaderValue] = st.one_of(
    st.booleans(),
    st.integers(-(1 << 7), (1 << 7) - 1).map(Int8),
    st.integers(-(1 << 15), (1 << 15) - 1).map(Int16),
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.binary(max_size=8),
    st.text(max_size=6),
    st.integers(-(1 << 63), (1 << 63) - 1).map(Timestamp),
    st.uuids(),
)


@st.composite
def header_soup(draw: st.DrawFn) -> bytes:
    """Header blocks that are nearly valid: well-formed headers written one by one (names from a small pool,
    so duplicates happen), then up to three byte edits (overwrite, cut, insert) anywhere in the block."""
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(["a", "b", "\U0001f600"]) | names, small_values), max_size=5)
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


@settings(max_examples=_BUDGET * 2)
@given(st.binary(max_size=200), st.integers(1, 64))
@example(
    b"\x00\x00\x00\x0f\x00\x00\x00\x00" + struct.pack(">I", zlib.crc32(b"\x00\x00\x00\x0f\x00\x00\x00\x00")),
    1,
)
def test_arbitrary_bytes_raise_only_decode_errors(data: bytes, step: int) -> None:
    try:
        decoded = feed_all([data[i : i + step] for i in range(0, len(data), step)])
    except DecodeError:
        return
    assert_canonical(decoded, data)


@settings(max_examples=_BUDGET * 2)
@given(header_soup(), st.binary(max_size=20))
def test_arbitrary_header_blocks_behind_valid_checksums(block: bytes, payload: bytes) -> None:
    raw = checked_frame(block, payload)
    try:
        decoded = decode(raw)
    except MalformedHeader as exc:
        assert exc.offset == 0 and exc.prelude == raw[:12]
        return
    except DecodeError as exc:  # only a block over 128 KiB could be refused otherwise; these are small
        raise AssertionError(f"unexpected {exc!r}") from exc
    assert_canonical(decoded, raw)


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), st.binary(max_size=64))
def test_preludes_with_valid_checksums_and_any_lengths(total: int, headers_length: int, rest: bytes) -> None:
    lengths = struct.pack(">II", total, headers_length)
    data = lengths + struct.pack(">I", zlib.crc32(lengths)) + rest
    try:
        decoded = feed_all([data])
    except DecodeError:
        return
    assert_canonical(decoded, data)


# --- differential: botocore decodes what we write -----------------------------------------------------------


def botocore_view(kind: HeaderType, value: HeaderValue) -> object:
    """Our header value as botocore's parser represents it."""
    if kind is HeaderType.UUID:
        assert isinstance(value, uuid.UUID)
        return value.bytes
    if kind is HeaderType.TIMESTAMP:
        return int(value) if isinstance(value, Timestamp) else int(Timestamp.from_datetime(value))  # type: ignore[arg-type]
    return value


@given(st.lists(messages(), min_size=1, max_size=4), st.integers(1, 5000))
def test_botocore_decodes_what_we_encode_identically(batch: list[Message], step: int) -> None:
    stream = b"".join(encode(m) for m in batch)
    assert all(len(m.headers.wire_bytes()) <= MAX_HEADERS_LENGTH for m in batch)
    buffer = EventStreamBuffer()
    theirs = []
    for i in range(0, len(stream), step):
        buffer.add_data(stream[i : i + step])
        theirs += list(buffer)
    assert len(theirs) == len(batch)
    for ours, their in zip(batch, theirs, strict=True):
        assert their.payload == ours.payload
        assert list(their.headers.items()) == [
            (h.name, botocore_view(h.type, h.value)) for h in ours.headers.typed_items()
        ]
        assert their.prelude.total_length == len(encode(ours))
