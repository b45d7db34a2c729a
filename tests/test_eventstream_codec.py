"""Unit tests of the event-stream codec: values and wire types, Message/Headers, encode, Decoder behaviour."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pickle
import struct
import tracemalloc
import uuid
import zlib
from types import TracebackType

import pytest

from eventstream import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_HEADER_VALUE_LENGTH,
    MAX_HEADERS_LENGTH,
    DecodeError,
    Decoder,
    EncodeError,
    FrameTooLarge,
    Header,
    Headers,
    HeaderType,
    Int8,
    Int16,
    Int32,
    Int64,
    InvalidLength,
    MalformedHeader,
    Message,
    MessageChecksumMismatch,
    PreludeChecksumMismatch,
    Timestamp,
    TruncatedStream,
    decode,
    encode,
)
from eventstream.header_cache import HeaderCache

UTC = dt.timezone.utc


# --- an independent frame writer (struct + zlib), so decoder tests do not depend on our encoder -------------


def raw_header(name: bytes, code: int, value: bytes = b"") -> bytes:
    return bytes([len(name)]) + name + bytes([code]) + value


def frame(
    headers: bytes = b"", payload: bytes = b"", *, total: int | None = None, headers_length: int | None = None
) -> bytes:
    total = 16 + len(headers) + len(payload) if total is None else total
    headers_length = len(headers) if headers_length is None else headers_length
    prelude = struct.pack(">II", total, headers_length)
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


CHUNK_HEADERS = (
    raw_header(b":event-type", 7, b"\x00\x05chunk")
    + raw_header(b":content-type", 7, b"\x00\x10application/json")
    + raw_header(b":message-type", 7, b"\x00\x05event")
)


# --- values and wire types ----------------------------------------------------------------------------------


def test_plain_values_map_to_wire_types() -> None:
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    ident = uuid.UUID("b79bc914-de21-4e13-b8b2-bc47e85b7f0b")
    headers = Headers(
        {
            "t": True,
            "f": False,
            "small": 7,
            "big": 1 << 40,
            "neg": -(1 << 31),
            "s": "text",
            "b": b"raw",
            "ba": bytearray(b"arr"),
            "mv": memoryview(b"view"),
            "when": when,
            "id": ident,
        }
    )
    assert [(h.name, h.type) for h in headers.typed_items()] == [
        ("t", HeaderType.BOOL_TRUE),
        ("f", HeaderType.BOOL_FALSE),
        ("small", HeaderType.INTEGER),
        ("big", HeaderType.LONG),
        ("neg", HeaderType.INTEGER),
        ("s", HeaderType.STRING),
        ("b", HeaderType.BYTE_ARRAY),
        ("ba", HeaderType.BYTE_ARRAY),
        ("mv", HeaderType.BYTE_ARRAY),
        ("when", HeaderType.TIMESTAMP),
        ("id", HeaderType.UUID),
    ]
    assert type(headers["small"]) is Int32 and type(headers["big"]) is Int64
    assert headers["ba"] == b"arr" and type(headers["ba"]) is bytes and headers["mv"] == b"view"
    assert headers["when"] == when and headers["id"] == ident
    assert headers.wire_type("big") is HeaderType.LONG


def test_width_wrappers_pin_the_wire_type_and_check_their_range() -> None:
    headers = Headers([("a", Int8(-128)), ("b", Int16(32767)), ("c", Int32(5)), ("d", Int64(5))])
    assert [h.type for h in headers.typed_items()] == [
        HeaderType.BYTE,
        HeaderType.SHORT,
        HeaderType.INTEGER,
        HeaderType.LONG,
    ]
    wire = encode(Message(headers))
    assert raw_header(b"a", 2, b"\x80") + raw_header(b"b", 3, b"\x7f\xff") in wire
    assert raw_header(b"d", 5, b"\x00" * 7 + b"\x05") in wire
    for wrapper, bits in ((Int8, 8), (Int16, 16), (Int32, 32), (Int64, 64), (Timestamp, 64)):
        assert wrapper(-(1 << (bits - 1))) == -(1 << (bits - 1))
        with pytest.raises(EncodeError, match="does not fit"):
            wrapper(1 << (bits - 1))
        with pytest.raises(EncodeError):
            wrapper(-(1 << (bits - 1)) - 1)
    with pytest.raises(TypeError):
        Int8(1.5)  # type: ignore[arg-type]
    assert repr(Int16(3)) == "Int16(3)" and Int16(3) + 1 == 4 and type(Int16(3) + 1) is int
    with pytest.raises(EncodeError, match="does not fit in a signed 64-bit"):
        Headers({"x": 1 << 63})


def test_decoded_integers_keep_their_width_so_reencoding_is_byte_exact() -> None:
    raw = frame(
        raw_header(b"i8", 2, b"\x05")
        + raw_header(b"i16", 3, b"\x00\x05")
        + raw_header(b"i32", 4, b"\x00\x00\x00\x05")
        + raw_header(b"i64", 5, b"\x00" * 7 + b"\x05")
    )
    (message,) = decode(raw)
    assert [type(v) for v in message.headers.values()] == [Int8, Int16, Int32, Int64]
    assert list(message.headers.values()) == [5, 5, 5, 5]
    assert encode(message) == raw
    # A plain-int copy of the same values is a different message: int32 everywhere.
    plain = Message({k: int(v) for k, v in message.headers.items()})  # type: ignore[arg-type]
    assert plain != message and encode(plain) != raw


def test_timestamps_decode_to_utc_datetimes_and_out_of_range_ones_to_timestamp() -> None:
    raw = frame(raw_header(b"t", 8, struct.pack(">q", 1_700_000_000_123)))
    (message,) = decode(raw)
    assert message.headers["t"] == dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert message.headers["t"].tzinfo is UTC  # type: ignore[union-attr]
    for millis in (-(1 << 63), (1 << 63) - 1, 253_402_300_800_000, -62_135_596_800_001):
        raw = frame(raw_header(b"t", 8, struct.pack(">q", millis)))
        (message,) = decode(raw)
        value = message.headers["t"]
        assert type(value) is Timestamp and value == millis
        assert message.headers.wire_type("t") is HeaderType.TIMESTAMP
        assert encode(message) == raw
        with pytest.raises(OverflowError):
            value.to_datetime()
    # The edges of datetime's range are still datetimes.
    for millis, year in ((253_402_300_799_999, 9999), (-62_135_596_800_000, 1)):
        (message,) = decode(frame(raw_header(b"t", 8, struct.pack(">q", millis))))
        assert isinstance(message.headers["t"], dt.datetime) and message.headers["t"].year == year


def test_user_timestamps_are_normalised_to_what_decoding_returns() -> None:
    local = dt.timezone(dt.timedelta(hours=2))
    given = dt.datetime(2024, 1, 1, 2, 0, 0, 123999, tzinfo=local)
    headers = Headers({"t": given, "ts": Timestamp(0), "far": Timestamp(1 << 62)})
    assert headers["t"] == dt.datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)  # floored to the millisecond
    assert headers["ts"] == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert headers["far"] == Timestamp(1 << 62)
    assert decode(encode(Message(headers)))[0].headers == headers
    assert Timestamp.from_datetime(dt.datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC)) == -1
    with pytest.raises(EncodeError, match="naive datetime"):
        Headers({"t": dt.datetime(2024, 1, 1)})


def test_unsupported_values_and_names_are_type_errors() -> None:
    with pytest.raises(TypeError, match="unsupported value type float"):
        Headers({"x": 1.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="unsupported value type NoneType"):
        Message({"x": None})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="header name must be str"):
        Headers([(b"x", 1)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="mapping or \\(name, value\\) pairs"):
        Headers(["abc"])  # type: ignore[list-item]
    with pytest.raises(EncodeError, match="duplicate header name 'a'"):
        Headers([("a", 1), ("a", 2)])
    with pytest.raises(TypeError, match="payload must be bytes-like"):
        Message({}, "text")  # type: ignore[call-overload]


# --- Message and Headers ------------------------------------------------------------------------------------


def test_message_is_frozen_hashable_and_compares_by_wire_content() -> None:
    message = Message([("b", "x"), ("a", 1)], bytearray(b"payload"))
    assert message.payload == b"payload" and type(message.payload) is bytes
    assert list(message.headers) == ["b", "a"]  # order kept
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.payload = b"other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.headers["a"] = 2  # type: ignore[index]
    assert message == Message({"b": "x", "a": 1}, b"payload")
    assert hash(message) == hash(Message({"b": "x", "a": 1}, b"payload"))
    assert message != Message([("a", 1), ("b", "x")], b"payload")  # other order: other bytes
    assert message != Message([("b", "x"), ("a", Int64(1))], b"payload")  # other width
    assert message.headers == {"a": 1, "b": "x"}  # against a plain mapping only names and values count
    assert Message() == Message({}, b"") and len(Message().headers) == 0
    assert Headers(message.headers) == message.headers
    assert "a" in message.headers and "z" not in message.headers and message.headers.get("z") is None
    assert message.headers.get("z", 5) == 5 and message.headers.get("b") == "x"


def test_reprs_are_readable_and_bounded() -> None:
    message = Message({"n": Int8(1), "s": "v"}, b"x" * 1000)
    text = repr(message)
    assert "Headers({'n': Int8(1), 's': 'v'})" in text and "(1000 bytes)" in text and len(text) < 300
    assert repr(Timestamp(-5)) == "Timestamp(-5)"
    assert Header("a", HeaderType.STRING, "v").type is HeaderType.STRING


# --- encode -------------------------------------------------------------------------------------------------


def test_encode_writes_the_documented_layout() -> None:
    message = Message(
        [(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")],
        b'{"bytes":"e30="}',
    )
    assert encode(message) == frame(CHUNK_HEADERS, b'{"bytes":"e30="}')
    assert encode(Message()) == bytes.fromhex(
        "000000100000000005c248eb7d98c8ff"
    )  # aws-c-event-stream's empty frame


def test_encode_rejects_what_the_format_cannot_carry() -> None:
    assert (
        decode(encode(Message({"n" * 255: "v" * MAX_HEADER_VALUE_LENGTH})))[0].headers["n" * 255]
        == "v" * MAX_HEADER_VALUE_LENGTH
    )
    cases: list[tuple[Message, str]] = [
        (Message({"n" * 256: 1}), "256 bytes of UTF-8; it must be 1 to 255"),
        (Message({"é" * 128: 1}), "256 bytes of UTF-8"),
        (Message({"": 1}), "0 bytes of UTF-8"),
        (Message({"s": "v" * (MAX_HEADER_VALUE_LENGTH + 1)}), "32768 bytes; the limit is 32767"),
        (Message({"s": "é" * 16384}), "32768 bytes"),
        (Message({"b": b"\0" * (MAX_HEADER_VALUE_LENGTH + 1)}), "32768 bytes"),
        (Message({f"h{i}": b"\0" * 30000 for i in range(5)}), f"the limit is {MAX_HEADERS_LENGTH}"),
        (Message({"bad\ud800": 1}), "cannot be encoded as UTF-8"),
        (Message({"s": "bad\udfff"}), "cannot be encoded as UTF-8"),
    ]
    for message, reason in cases:
        with pytest.raises(EncodeError, match=reason.replace("(", r"\(")):
            encode(message)
    assert issubclass(EncodeError, ValueError)
    with pytest.raises(TypeError):
        encode(b"not a message")  # type: ignore[arg-type]


# --- Decoder: errors ----------------------------------------------------------------------------------------


def test_invalid_lengths_are_refused_from_the_prelude_alone() -> None:
    for total, headers_length in ((15, 0), (0, 0), (16, 1), (100, 85)):
        prelude = frame(total=total, headers_length=headers_length)[:12]
        with pytest.raises(InvalidLength, match=f"total length {total}, headers length {headers_length}"):
            Decoder().feed(prelude)
    too_many_headers = frame(total=200_000, headers_length=MAX_HEADERS_LENGTH + 1)[:12]
    with pytest.raises(InvalidLength, match="exceeds the format's limit of 131072"):
        Decoder().feed(too_many_headers)


def test_oversized_frame_is_refused_as_soon_as_its_prelude_arrives() -> None:
    prelude = frame(total=DEFAULT_MAX_MESSAGE_SIZE + 1, headers_length=0)[:12]
    decoder = Decoder()
    for byte in prelude[:11]:
        assert decoder.feed(bytes([byte])) == []
    with pytest.raises(FrameTooLarge, match=f"{DEFAULT_MAX_MESSAGE_SIZE + 1} bytes exceeds max_message_size"):
        decoder.feed(prelude[11:])
    small = Decoder(max_message_size=100)
    assert small.max_message_size == 100
    assert small.feed(frame(payload=b"x" * 84)) != []  # exactly 100 bytes
    with pytest.raises(FrameTooLarge) as info:
        small.feed(frame(payload=b"x" * 85)[:12])
    assert info.value.offset == 100
    with pytest.raises(ValueError):
        Decoder(max_message_size=15)
    with pytest.raises(TypeError):
        Decoder(max_message_size="big")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        (raw_header(b"", 7, b"\x00\x00"), "empty header name"),
        (b"\x05abc", "header name of 5 bytes runs past"),
        (b"\x03abc", "header name of 3 bytes runs past"),  # no room for the type byte
        (raw_header(b"\xff\xfe", 0), "is not valid UTF-8"),
        (raw_header(b"a", 0) + raw_header(b"a", 1), "duplicate header name 'a'"),
        (raw_header(b"a", 10), "unknown value type 10 of header 'a'"),
        (raw_header(b"a", 255), "unknown value type 255"),
        (raw_header(b"a", 2), "1-byte value of header 'a' runs past"),
        (raw_header(b"a", 3, b"\x00"), "2-byte value"),
        (raw_header(b"a", 4, b"\x00\x00\x00"), "4-byte value"),
        (raw_header(b"a", 5, b"\x00" * 7), "8-byte value"),
        (raw_header(b"a", 8, b"\x00" * 7), "timestamp of header 'a' runs past"),
        (raw_header(b"a", 9, b"\x00" * 15), "UUID of header 'a' runs past"),
        (raw_header(b"a", 6, b"\x00"), "value length of header 'a' runs past"),
        (raw_header(b"a", 7, b"\x00\x05abcd"), "5-byte value of header 'a' runs past"),
        (raw_header(b"a", 7, b"\x80\x00" + b"x" * 32768), "32768 bytes, over the 32767-byte limit"),
        (raw_header(b"a", 7, b"\x00\x02\xc3\x28"), "string value of header 'a' is not valid UTF-8"),
        (raw_header(b"a", 7, b"\x00\x03\xed\xa0\x80"), "not valid UTF-8"),  # an encoded surrogate
    ],
)
def test_malformed_header_blocks_raise_malformed_header(block: bytes, reason: str) -> None:
    good = frame(CHUNK_HEADERS, b"first")
    with pytest.raises(MalformedHeader, match=reason) as info:
        decode(good + frame(block, b"payload"))
    assert info.value.offset == len(good)
    assert info.value.prelude == frame(block, b"payload")[:12]
    assert [offset for offset, _ in info.value.decoded] == [0]


def test_checksum_errors_name_both_values_and_the_frame_offset() -> None:
    good = frame(CHUNK_HEADERS, b"ok")
    bad_prelude = bytearray(frame(b"", b"abc"))
    bad_prelude[8] ^= 0x01
    with pytest.raises(PreludeChecksumMismatch) as info:
        decode(good + good + bytes(bad_prelude))
    assert info.value.offset == 2 * len(good)
    assert "prelude checksum mismatch: computed 0x" in str(info.value)
    assert f"(frame at byte offset {2 * len(good)})" in str(info.value)
    bad_body = bytearray(frame(b"", b"abc"))
    bad_body[13] ^= 0x80
    with pytest.raises(MessageChecksumMismatch) as info2:
        decode(good + bytes(bad_body))
    assert info2.value.offset == len(good)
    assert [m.payload for _, m in info2.value.decoded] == [b"ok"]


def test_errors_are_sticky_and_keep_the_messages_decoded_before_them() -> None:
    good = frame(CHUNK_HEADERS, b"ok")
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    decoder = Decoder()
    assert len(decoder.feed(good)) == 1
    with pytest.raises(MessageChecksumMismatch) as info:
        decoder.feed(good + bytes(bad) + good)
    error = info.value
    assert error.offset == 2 * len(good) and decoder.offset == 2 * len(good)
    assert [offset for offset, _ in error.decoded] == [len(good)]
    assert decoder.error is error
    for later in (good, b"", bytearray(b"x")):
        with pytest.raises(MessageChecksumMismatch) as again:
            decoder.feed(later)
        assert again.value is error
    with pytest.raises(MessageChecksumMismatch) as at_close:
        decoder.close()
    assert at_close.value is error
    # Re-raising does not grow the traceback without bound.
    assert error.__traceback__ is not None
    depth = 0
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    assert depth < 10


def test_errors_pickle_with_their_location() -> None:
    error = PreludeChecksumMismatch("prelude checksum mismatch", offset=42, prelude=b"\x00" * 12)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is PreludeChecksumMismatch and copy.offset == 42 and str(copy) == str(error)
    assert issubclass(PreludeChecksumMismatch, DecodeError)


# --- Decoder: streaming -------------------------------------------------------------------------------------


def test_truncated_stream_is_reported_by_close_with_the_frame_offset() -> None:
    good = frame(CHUNK_HEADERS, b"ok")
    for cut in (1, 11, 12, 13, len(good) - 1):
        decoder = Decoder()
        assert len(decoder.feed(good + good[:cut])) == 1
        assert decoder.pending == cut and decoder.offset == len(good)
        with pytest.raises(TruncatedStream) as info:
            decoder.close()
        assert info.value.offset == len(good) and info.value.prelude == good[: min(cut, 12)]
        expected = "prelude" if cut < 12 else f"{cut} of {len(good)} bytes"
        assert expected in str(info.value)
        with pytest.raises(TruncatedStream):
            decoder.feed(good)  # sticky
    with pytest.raises(TruncatedStream) as by_decode:
        decode(good + good[:20])
    assert [offset for offset, _ in by_decode.value.decoded] == [0]
    decoder = Decoder()
    decoder.close()  # nothing pending: a clean end
    assert decoder.feed(good)[0].payload == b"ok"


def test_feed_accepts_bytes_like_inputs_and_copies_mutable_ones() -> None:
    good = frame(CHUNK_HEADERS, b"payload")
    buffer = bytearray(good[:30])
    decoder = Decoder()
    assert decoder.feed(buffer) == []
    buffer[:] = b"\xff" * 30  # the caller reuses its buffer for the next read
    (message,) = decoder.feed(memoryview(good)[30:])
    assert message.payload == b"payload" and message.headers[":event-type"] == "chunk"
    with pytest.raises(TypeError, match="feed\\(\\) takes bytes"):
        decoder.feed("text")  # type: ignore[arg-type]
    assert decoder.feed(b"") == []


def test_feed_with_offsets_reports_each_frame_start() -> None:
    frames = [frame(CHUNK_HEADERS, b"a" * n) for n in (0, 5, 300)]
    stream = b"".join(frames)
    decoder = Decoder()
    got = decoder.feed_with_offsets(stream[:100]) + decoder.feed_with_offsets(stream[100:])
    assert [offset for offset, _ in got] == [0, len(frames[0]), len(frames[0]) + len(frames[1])]
    assert decoder.offset == len(stream) and decoder.pending == 0


def test_large_frames_decode_in_any_read_size() -> None:
    payload = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4: the CRC runs over a view, not a copy
    raw = frame(CHUNK_HEADERS, payload)
    (message,) = decode(raw)
    assert message.payload == payload
    decoder = Decoder()
    messages = []
    for i in range(0, len(raw), 4096):
        messages += decoder.feed(raw[i : i + 4096])
    decoder.close()
    assert [m.payload for m in messages] == [payload]
    corrupted = bytearray(raw)
    corrupted[len(raw) // 2] ^= 0x10
    with pytest.raises(MessageChecksumMismatch):
        decode(bytes(corrupted))


def test_repeated_header_blocks_share_one_headers_object() -> None:
    stream = b"".join(frame(CHUNK_HEADERS, b"p%d" % i) for i in range(5))
    stream += frame(raw_header(b"other", 0), b"x") + frame(CHUNK_HEADERS, b"again")
    messages = decode(stream)
    chunk_headers = {id(m.headers) for m in messages if ":event-type" in m.headers}
    assert len(chunk_headers) == 1
    assert messages[-1].headers == messages[0].headers and messages[5].headers == {"other": True}


def test_header_cache_stays_bounded_under_endless_distinct_blocks() -> None:
    decoder = Decoder()
    stream = b"".join(frame(raw_header(b"n", 7, struct.pack(">H", 8) + b"%08d" % i)) for i in range(2000))
    big = frame(raw_header(b"big", 6, struct.pack(">H", 20000) + b"\0" * 20000))
    messages = decoder.feed(stream + big * 3)
    assert [m.headers["n"] for m in messages[:2000]] == [b"%08d".decode() % i for i in range(2000)]
    cache = decoder._cache
    assert len(cache) <= cache.max_entries
    assert cache.stored_bytes() <= cache.max_entries * cache.max_block_size


def test_header_cache_evicts_first_in_first_out_and_skips_big_blocks() -> None:
    cache = HeaderCache(max_entries=2, max_block_size=10)
    one, two, three = Headers({"a": 1}), Headers({"b": 2}), Headers({"c": 3})
    cache.put(b"1", one)
    cache.put(b"2", two)
    cache.put(b"3", three)
    assert cache.get(b"1") is None and cache.get(b"2") is two and cache.get(b"3") is three
    cache.put(b"x" * 11, one)
    assert cache.get(b"x" * 11) is None and len(cache) == 2
    with pytest.raises(ValueError):
        HeaderCache(max_entries=0)


def test_a_frame_trickled_one_byte_per_read_costs_about_its_own_size_in_memory() -> None:
    raw = frame(CHUNK_HEADERS, bytes(256 * 1024))
    decoder = Decoder()
    tracemalloc.start()
    try:
        for i in range(len(raw) - 1):
            decoder.feed(raw[i : i + 1])
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoder.pending == len(raw) - 1
    # Not one Python object per byte (that would be ~40x): the pending bytes plus a little slack.
    assert held < 2 * len(raw)
    (message,) = decoder.feed(raw[-1:])
    assert message.payload == bytes(256 * 1024)


def test_messages_pickle_and_copy_with_their_wire_types() -> None:
    when = dt.datetime(2024, 5, 1, tzinfo=UTC)
    (message,) = decode(encode(Message({"a": Int8(3), "t": when, "far": Timestamp(-(1 << 63))}, b"x")))
    for clone in (pickle.loads(pickle.dumps(message)), copy.deepcopy(message)):
        assert clone == message and encode(clone) == encode(message)
        assert type(clone.headers["a"]) is Int8 and type(clone.headers["far"]) is Timestamp


def _feed_in(decoder: Decoder, data: bytes, size: int) -> list[tuple[int, Message]]:
    out: list[tuple[int, Message]] = []
    for i in range(0, len(data), size):
        out += decoder.feed_with_offsets(data[i : i + size])
    return out


def test_large_frames_mixed_with_small_ones_in_any_read_size() -> None:
    big_a, big_b = bytes(range(256)) * 800, b"\x07" * 300_000  # both above the piecewise threshold
    frames = [
        frame(CHUNK_HEADERS, big_a),
        frame(CHUNK_HEADERS, b"small"),
        frame(raw_header(b"k", 0), big_b),
        frame(b"", b""),
        frame(CHUNK_HEADERS, b"tail"),
    ]
    stream = b"".join(frames)
    starts = [sum(len(f) for f in frames[:i]) for i in range(len(frames))]
    for size in (7, 4096, 65_536, 200_001, len(stream)):
        decoder = Decoder()
        got = _feed_in(decoder, stream, size)
        decoder.close()
        assert [offset for offset, _ in got] == starts, size
        assert [m.payload for _, m in got] == [big_a, b"small", big_b, b"", b"tail"]
        assert got[2][1].headers == {"k": True}
        assert decoder.offset == len(stream)


def test_errors_in_and_after_a_large_frame_arriving_in_pieces() -> None:
    big = frame(CHUNK_HEADERS, bytes(200_000))
    corrupted = bytearray(big)
    corrupted[150_000] ^= 0x01
    decoder = Decoder()
    with pytest.raises(MessageChecksumMismatch) as info:
        _feed_in(decoder, frame(b"", b"first") + bytes(corrupted), 65_536)
    assert info.value.offset == 21 and info.value.prelude == big[:12]
    with pytest.raises(MessageChecksumMismatch):
        decoder.feed(b"more")  # sticky
    bad_block = frame(raw_header(b"a", 42), bytes(200_000))
    with pytest.raises(MalformedHeader, match="unknown value type 42") as info2:
        _feed_in(Decoder(), bad_block, 50_000)
    assert info2.value.offset == 0
    # A good large frame completed by the same read that carries a bad small one: the large one is kept.
    bad_small = bytearray(frame(b"", b"xyz"))
    bad_small[-1] ^= 0xFF
    decoder = Decoder()
    assert decoder.feed(big[:100_000]) == []
    with pytest.raises(MessageChecksumMismatch) as info3:
        decoder.feed(big[100_000:] + bytes(bad_small))
    assert info3.value.offset == len(big)
    assert [(offset, m.payload) for offset, m in info3.value.decoded] == [(0, bytes(200_000))]


def test_an_idle_decoder_keeps_no_header_block_larger_than_the_cache_allows() -> None:
    big_block = b"".join(raw_header(b"h%05d" % i, 0) for i in range(1000))  # 8 KB, 1000 headers
    decoder = Decoder()
    small, big = frame(CHUNK_HEADERS, b"a"), frame(big_block, b"b")
    messages = decoder.feed(small + big + big)
    assert [len(m.headers) for m in messages] == [3, 1000, 1000]
    del messages
    assert len(decoder._last_raw) <= decoder._cache.max_block_size
    assert decoder._last_raw == CHUNK_HEADERS  # the front entry still serves the common small block
    assert decoder._cache.stored_bytes() <= decoder._cache.max_entries * decoder._cache.max_block_size
