"""Property tests (hypothesis) of the event-stream codec, and the differential test against botocore.

Fast under the default "ci" profile; ``pytest --hypothesis-profile=deep tests/test_eventstream_properties.py``
runs the long campaign.
"""

from __future__ import annotations

import itertools
import struct
import subprocess
import sys
import uuid
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eventstream import (
    MAX_HEADERS_LENGTH,
    DecodeError,
    Decoder,
    HeaderType,
    HeaderValue,
    InvalidLength,
    MalformedHeader,
    Message,
    PreludeChecksumMismatch,
    Timestamp,
    TruncatedStream,
    decode,
    encode,
)
from eventstream import strategies as es

# Tests that decode a stream once per byte or bit get a share of the profile's example budget.
_BUDGET = settings().max_examples
heavy = settings(max_examples=max(10, _BUDGET // 3), suppress_health_check=[HealthCheck.too_slow])

# --- strategies: the public ones of eventstream.strategies -------------------------------------------------

small_messages = es.messages(payloads=st.binary(max_size=40), max_frame_size=400)


def feed_all(pieces: list[bytes] | list[es.Piece]) -> list[Message]:
    decoder = Decoder()
    out: list[Message] = []
    for piece in pieces:
        out += decoder.feed(piece)
    decoder.close()
    return out


# --- round trip ---------------------------------------------------------------------------------------------


@given(es.messages())
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


@given(es.split_streams())
def test_any_split_of_a_stream_yields_the_same_messages(split: es.SplitStream) -> None:
    assert b"".join(bytes(piece) for piece in split.pieces) == split.data
    assert feed_all(list(split.pieces)) == list(split.messages)


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
@given(es.header_blocks(), st.binary(max_size=20))
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


@given(es.hostile_preludes())
def test_preludes_with_valid_checksums_and_any_lengths(data: bytes) -> None:
    assert zlib.crc32(data[:8]) == struct.unpack_from(">I", data, 8)[0]
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


@given(es.streams(max_messages=4), st.integers(1, 5000))
def test_botocore_decodes_what_we_encode_identically(generated: es.Stream, step: int) -> None:
    batch, stream = list(generated.messages), generated.data
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


# --- the public strategies themselves (eventstream.strategies) ---------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_eventstream_never_imports_hypothesis() -> None:
    done = _python("import sys, eventstream; eventstream.decode(b''); print('hypothesis' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_without_hypothesis_the_import_error_names_the_extra() -> None:
    done = _python(
        "import sys\n"
        "sys.modules['hypothesis'] = None  # as if not installed\n"
        "try:\n"
        "    import eventstream.strategies\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'bedrock-stream[testing]'" in done.stdout
    assert "eventstream.strategies needs hypothesis" in done.stdout


@given(es.frames(es.messages(max_frame_size=2000)), st.data())
def test_frames_and_pieces(frame: bytes, data: st.DataObject) -> None:
    pieces = data.draw(es.pieces(frame))
    assert b"".join(bytes(piece) for piece in pieces) == frame
    assert {type(piece) for piece in pieces} <= {bytes, bytearray, memoryview}
    (message,) = feed_all(pieces)
    assert encode(message) == frame


@given(es.truncated_streams(message_strategy=small_messages))
def test_truncated_streams_stop_at_the_cut_frame(case: es.CutStream) -> None:
    decoder = Decoder()
    assert decoder.feed(case.data) == list(case.messages[: case.complete])
    if case.clean:
        decoder.close()
        return
    try:
        decoder.close()
    except TruncatedStream as exc:
        assert exc.offset == case.end
    else:
        raise AssertionError("a cut inside a frame went unnoticed")


def _decoded_prefix(data: bytes) -> list[Message]:
    """What the decoder accepts from ``data`` before its first error: every message must be canonical."""
    try:
        decoded = decode(data)
    except DecodeError as exc:
        decoded = [message for _, message in exc.decoded]
        assert_canonical(decoded, data[: exc.offset])
        return decoded
    assert_canonical(decoded, data)
    return decoded


@given(es.bit_flipped_streams())
def test_bit_flipped_streams_never_give_a_wrong_message(case: tuple[es.Stream, bytes]) -> None:
    stream, damaged = case
    decoded = _decoded_prefix(damaged)
    bounds = [*stream.offsets, len(stream.data)]
    intact = next(  # the frames before the first damaged one
        (i for i, (a, b) in enumerate(itertools.pairwise(bounds)) if damaged[a:b] != stream.data[a:b]),
        len(stream.messages),
    )
    assert decoded[:intact] == list(stream.messages[:intact])
    assert damaged != stream.data


@given(es.mutated_streams())
def test_mutated_streams_raise_only_decode_errors(data: bytes) -> None:
    _decoded_prefix(data)


@given(es.hostile_frames())
def test_hostile_frames_raise_only_decode_errors(data: bytes) -> None:
    _decoded_prefix(data)


def test_fix_checksums_lets_damage_through_the_crc_gates() -> None:
    frame = bytearray(encode(Message({":event-type": "chunk"}, b"{}")))
    frame[4:8] = struct.pack(">I", 200)  # a headers length longer than the frame
    with pytest.raises(PreludeChecksumMismatch):
        decode(bytes(frame))
    with pytest.raises(InvalidLength):  # past the prelude checksum: the length check itself answers
        decode(es.fix_checksums(frame))
    assert all(hasattr(es, name) for name in es.__all__)
