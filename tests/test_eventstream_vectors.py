"""Conformance: the AWS event-stream test vectors (aws-sdk-go / aws-c-event-stream and smithy-rs), copied
byte-for-byte into fixtures/eventstream/ (see fixtures/NOTICE)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

import eventstream
from eventstream import (
    DecodeError,
    Decoder,
    HeaderType,
    InvalidLength,
    MalformedHeader,
    Message,
    MessageChecksumMismatch,
    PreludeChecksumMismatch,
    Timestamp,
    decode,
    encode,
)

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "eventstream"
SDK_GO = VECTORS / "aws-sdk-go"
SMITHY = VECTORS / "smithy-rs"
SMITHY_EXPECTED: dict[str, dict[str, Any]] = json.loads((VECTORS / "smithy-rs-expected.json").read_text())[
    "cases"
]

GO_POSITIVE = sorted(p.name for p in (SDK_GO / "encoded" / "positive").iterdir())
GO_NEGATIVE = sorted(p.name for p in (SDK_GO / "encoded" / "negative").iterdir())
SMITHY_VALID = sorted(name for name, case in SMITHY_EXPECTED.items() if case["valid"])
SMITHY_INVALID = sorted(name for name, case in SMITHY_EXPECTED.items() if not case["valid"])

PYTHON_TYPES: dict[HeaderType, type] = {
    HeaderType.BOOL_TRUE: bool,
    HeaderType.BOOL_FALSE: bool,
    HeaderType.BYTE: eventstream.Int8,
    HeaderType.SHORT: eventstream.Int16,
    HeaderType.INTEGER: eventstream.Int32,
    HeaderType.LONG: eventstream.Int64,
    HeaderType.BYTE_ARRAY: bytes,
    HeaderType.STRING: str,
    HeaderType.TIMESTAMP: dt.datetime,
    HeaderType.UUID: uuid.UUID,
}
GO_ERRORS: dict[str, type[DecodeError]] = {
    "Prelude checksum mismatch": PreludeChecksumMismatch,
    "Message checksum mismatch": MessageChecksumMismatch,
}
# smithy-rs error kind -> ours. smithy-rs reads a header name before bounding it by the headers block, hence
# its InvalidUtf8String for a name that runs past the block; we report the overrun itself (a MalformedHeader).
SMITHY_ERRORS: dict[str, type[DecodeError]] = {
    "PreludeChecksumMismatch": PreludeChecksumMismatch,
    "MessageChecksumMismatch": MessageChecksumMismatch,
    "InvalidHeadersLength": InvalidLength,
    "InvalidHeaderValueType": MalformedHeader,
    "InvalidHeaderNameLength": MalformedHeader,
    "InvalidHeaderValue": MalformedHeader,
    "InvalidUtf8String": MalformedHeader,
}


def _expected_value_bytes(kind: int, value: Any) -> Any:
    """The vector's JSON value in the form our decoded value is compared with."""
    if kind in (6, 7, 9):
        return base64.b64decode(value)
    return value


def _our_value(kind: HeaderType, value: Any) -> Any:
    if kind is HeaderType.STRING:
        return value.encode("utf-8")
    if kind is HeaderType.UUID:
        return value.bytes
    if kind is HeaderType.TIMESTAMP:
        return int(Timestamp.from_datetime(value)) if not isinstance(value, Timestamp) else int(value)
    return value


def _check_decoded(raw: bytes, expected: dict[str, Any]) -> Message:
    (message,) = decode(raw)
    total, headers_length, prelude_crc = struct.unpack_from(">III", raw)
    assert total == len(raw) == expected["total_length"]
    assert headers_length == expected["headers_length"]
    assert prelude_crc == expected["prelude_crc"] & 0xFFFFFFFF
    assert struct.unpack_from(">I", raw, total - 4)[0] == expected["message_crc"] & 0xFFFFFFFF
    got = [(h.name, int(h.type), _our_value(h.type, h.value)) for h in message.headers.typed_items()]
    want = [(h["name"], h["type"], _expected_value_bytes(h["type"], h["value"])) for h in expected["headers"]]
    assert got == want
    for header in message.headers.typed_items():
        assert type(header.value) is PYTHON_TYPES[header.type]
    assert message.payload == base64.b64decode(expected["payload"])
    return message


_FROM_JSON: dict[int, Callable[[Any], Any]] = {
    0: bool,
    1: bool,
    2: eventstream.Int8,
    3: eventstream.Int16,
    4: int,
    5: eventstream.Int64,
    6: bytes,
    7: lambda v: v.decode("utf-8"),
    8: Timestamp,
    9: lambda v: uuid.UUID(bytes=v),
}


def _message_from_expected(expected: dict[str, Any]) -> Message:
    """The vector's message built from plain Python values (widths pinned by the wrappers)."""
    pairs: list[tuple[str, Any]] = []
    for header in expected["headers"]:
        kind, value = header["type"], header["value"]
        if kind in (6, 7, 9):
            value = base64.b64decode(value)
        pairs.append((header["name"], _FROM_JSON[kind](value)))
    return Message(pairs, base64.b64decode(expected["payload"]))


@pytest.mark.parametrize("name", GO_POSITIVE)
def test_aws_sdk_go_positive_vectors_decode_to_expected_form(name: str) -> None:
    raw = (SDK_GO / "encoded" / "positive" / name).read_bytes()
    expected = json.loads((SDK_GO / "decoded" / "positive" / name).read_text())
    message = _check_decoded(raw, expected)
    assert encode(message) == raw
    # Built from the expected form, independently of the decoder, the encoder writes the vector's bytes.
    rebuilt = _message_from_expected(expected)
    assert rebuilt == message
    assert encode(rebuilt) == raw


@pytest.mark.parametrize("name", GO_NEGATIVE)
def test_aws_sdk_go_negative_vectors_raise_the_matching_error(name: str) -> None:
    raw = (SDK_GO / "encoded" / "negative" / name).read_bytes()
    text = (SDK_GO / "decoded" / "negative" / name).read_text()
    error_type = GO_ERRORS[text]
    with pytest.raises(error_type) as info:
        decode(raw)
    assert text.lower() in str(info.value).lower()
    assert info.value.offset == 0
    assert info.value.prelude == raw[:12]


@pytest.mark.parametrize("name", SMITHY_VALID)
def test_smithy_rs_valid_vectors_decode_to_expected_form(name: str) -> None:
    raw = (SMITHY / name).read_bytes()
    message = _check_decoded(raw, SMITHY_EXPECTED[name])
    assert encode(message) == raw
    assert encode(_message_from_expected(SMITHY_EXPECTED[name])) == raw


@pytest.mark.parametrize("name", SMITHY_INVALID)
def test_smithy_rs_invalid_vectors_raise_the_matching_error(name: str) -> None:
    raw = (SMITHY / name).read_bytes()
    kind = SMITHY_EXPECTED[name]["smithy_rs_error"].split("(")[0]
    with pytest.raises(SMITHY_ERRORS[kind]) as info:
        decode(raw)
    assert info.value.offset == 0
    # The same error whatever the read size: byte by byte too.
    decoder = Decoder()
    with pytest.raises(SMITHY_ERRORS[kind]):
        for i in range(len(raw)):
            decoder.feed(raw[i : i + 1])
        decoder.close()


def test_smithy_rs_invalid_vectors_carry_the_documented_defects() -> None:
    raw = (SMITHY / "invalid_prelude_checksum").read_bytes()
    with pytest.raises(PreludeChecksumMismatch, match="computed 0x8bb495fb, frame says 0xdeadbeef"):
        decode(raw)
    raw = (SMITHY / "invalid_message_checksum").read_bytes()
    with pytest.raises(MessageChecksumMismatch, match="computed 0x01a05860, frame says 0xdeadbeef"):
        decode(raw)
    with pytest.raises(MalformedHeader, match="unknown value type 96 of header 'byte'"):
        decode((SMITHY / "invalid_header_value_type").read_bytes())
    with pytest.raises(MalformedHeader, match="65535 bytes, over the 32767-byte limit"):
        decode((SMITHY / "invalid_header_string_value_length").read_bytes())
    with pytest.raises(InvalidLength, match="total length 89, headers length 77"):
        decode((SMITHY / "invalid_headers_length").read_bytes())


@pytest.mark.parametrize(
    "path",
    [SDK_GO / "encoded" / "positive" / n for n in GO_POSITIVE] + [SMITHY / n for n in SMITHY_VALID],
    ids=lambda p: p.name,
)
def test_botocore_agrees_on_every_valid_vector(path: Path) -> None:
    raw = path.read_bytes()
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    (theirs,) = list(buffer)
    (ours,) = decode(raw)
    assert theirs.payload == ours.payload
    assert list(theirs.headers) == list(ours.headers)
    for name, value in theirs.headers.items():
        kind = ours.headers.wire_type(name)
        mine = ours.headers[name]
        if kind is HeaderType.UUID:
            assert value == mine.bytes  # type: ignore[union-attr]
        elif kind is HeaderType.TIMESTAMP:
            assert value == int(Timestamp.from_datetime(mine))  # type: ignore[arg-type]
        else:
            assert value == mine


def test_vectors_are_the_upstream_bytes() -> None:
    # The README of the shared material pins these: a guard against an accidental re-encode of a fixture.
    sizes = {p.name: p.stat().st_size for p in (SDK_GO / "encoded" / "positive").iterdir()}
    assert sizes == {
        "all_headers": 204,
        "empty_message": 16,
        "int32_header": 45,
        "payload_no_headers": 29,
        "payload_one_str_header": 61,
    }
    for name, case in SMITHY_EXPECTED.items():
        raw = (SMITHY / name).read_bytes()
        assert len(raw) == case.get("file_length", case["total_length"])
        if case["valid"]:
            assert zlib.crc32(raw[:-4]) == case["message_crc"]
