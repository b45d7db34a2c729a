"""Conformance against the peers' own test cases: botocore, smithy-python and aws-c-event-stream (event-stream
codec) and botocore and mhart/aws4 (SigV4), as data in the shared folder's peer_data/ (its README gives the
repositories, commits, licences and the format; tests/shared_data.py finds the folder).

Every case in a file's ``cases`` (and botocore's ``suite``) runs here. What is out of scope is the file's own
``skipped`` list, each entry with a category and a reason; ``OUT_OF_SCOPE`` below says why each category does
not apply to this project, and a test checks that no skipped entry has a category we have not accounted for
(so a regenerated peer file cannot quietly drop cases).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import urllib.parse
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from eventstream import (
    DecodeError,
    Decoder,
    EncodeError,
    FrameTooLarge,
    Headers,
    HeaderType,
    HeaderValue,
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
    encode,
)
from shared_data import require
from sigv4 import Credentials, presign_request, sign_request
from sigv4.signer import SignedRequest

PEER_DATA = require("peer_data")


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PEER_DATA / name).read_text(encoding="utf-8"))
    return data


EVENTSTREAM_FILES = ("eventstream_botocore.json", "eventstream_smithy.json", "eventstream_aws_c.json")
SIGV4_FILES = ("sigv4_botocore.json", "sigv4_aws4.json")
PEERS = {name: _load(name) for name in (*EVENTSTREAM_FILES, *SIGV4_FILES)}

# Why each skip category of the peer files (README "Skipped peer tests") is outside this project.
OUT_OF_SCOPE = {
    "other-algorithm": "SigV2, SigV3, HMAC-V1, S3 POST policies and CodeCommit Git signing: only SigV4 is "
    "implemented (Bedrock Runtime accepts nothing else)",
    "s3-specific": "S3's single-encoded canonical URI, UNSIGNED-PAYLOAD presigns and payload-signing policy: "
    "the signer targets Bedrock, not S3",
    "api-gap": "the API cannot express it (endpoint inference, caller-chosen payload hash, presign without "
    "X-Amz-Expires, SDK request plumbing): URL, region and service are explicit arguments",
    "peer-internal": "the peer's own helpers, client layer or object semantics, not the wire format",
    "out-of-scope": "Smithy shape (de)serialisation above the frame codec",
    "limit-policy": "smithy's 16 MiB encoder payload cap: the encoder enforces only the format's limits",
    "duplicate": "aws4's copy of an AWS-suite vector, byte-identical to botocore's (run once, from there)",
}


def _cases(files: tuple[str, ...], key: str = "cases") -> list[Any]:
    return [
        pytest.param(case, id=f"{name.removesuffix('.json')}:{case['name']}")
        for name in files
        for case in PEERS[name].get(key, [])
    ]


def test_every_skipped_peer_case_is_accounted_for() -> None:
    counts = {name: (len(peer["cases"]) + len(peer.get("suite", [])), len(peer["skipped"]))
              for name, peer in PEERS.items()}
    assert counts == {
        "eventstream_botocore.json": (27, 11),
        "eventstream_smithy.json": (56, 19),
        "eventstream_aws_c.json": (18, 0),
        "sigv4_botocore.json": (64, 43),
        "sigv4_aws4.json": (27, 87),
    }
    for peer in PEERS.values():
        for skipped in peer["skipped"]:
            assert skipped["category"] in OUT_OF_SCOPE, skipped
            assert skipped["reason"], skipped


# --- event stream -------------------------------------------------------------------------------------------


def unhex(spec: str | list[Any]) -> bytes:
    """Bytes from the peer format: a hex string, or a list of hex strings and ``[byte_hex, count]`` runs."""
    if isinstance(spec, str):
        return bytes.fromhex(spec)
    return b"".join(bytes.fromhex(part) if isinstance(part, str) else bytes.fromhex(part[0]) * part[1]
                    for part in spec)


_WRAPPERS = {2: Int8, 3: Int16, 4: Int32, 5: Int64}


def header_value(code: int, value: Any) -> HeaderValue:
    """A peer's ``[name, type, value]`` value as the Python value that pins that wire type."""
    if code in (0, 1):
        return bool(value)
    if code in _WRAPPERS:
        return _WRAPPERS[code](value)
    if code == 6:
        return unhex(value)
    if code == 7:
        return str(value)
    if code == 8:
        return Timestamp(value)
    assert code == 9, code
    return uuid.UUID(bytes=unhex(value))


def peer_view(headers: Headers) -> list[list[Any]]:
    """Our decoded headers in the peer format (``[name, type, value]``)."""
    out: list[list[Any]] = []
    for header in headers.typed_items():
        value: Any = header.value
        if header.type is HeaderType.BYTE_ARRAY:
            value = bytes(value).hex()
        elif header.type is HeaderType.UUID:
            value = value.bytes.hex()
        elif header.type is HeaderType.TIMESTAMP:
            value = int(value) if isinstance(value, Timestamp) else int(Timestamp.from_datetime(value))
        elif header.type not in (HeaderType.BOOL_TRUE, HeaderType.BOOL_FALSE, HeaderType.STRING):
            value = int(value)
        out.append([header.name, int(header.type), value])
    return out


def build_message(headers: list[list[Any]], payload: str | list[Any]) -> Message:
    return Message([(name, header_value(code, value)) for name, code, value in headers], unhex(payload))


ERRORS: dict[str, tuple[type[DecodeError], ...]] = {
    "checksum": (PreludeChecksumMismatch, MessageChecksumMismatch),  # the peers' ChecksumMismatch: either CRC
    "header": (MalformedHeader,),
    "length": (InvalidLength, FrameTooLarge),
    "truncated": (TruncatedStream,),
}


def feed(data: bytes, cuts: list[int], max_message_size: int | None = None) -> list[Message]:
    decoder = Decoder() if max_message_size is None else Decoder(max_message_size)
    bounds = [0, *sorted(cuts), len(data)]
    out: list[Message] = []
    for start, end in itertools.pairwise(bounds):
        out += decoder.feed(data[start:end])
    decoder.close()
    return out


def _splits(data: bytes, chunks: list[int] | None) -> list[list[int]]:
    """One piece, the peer's own read boundaries if any, and (for small inputs) 1- and 7-byte reads."""
    splits: list[list[int]] = [[]]
    if chunks:
        splits.append(chunks)
    if len(data) <= 4096:
        splits += [list(range(1, len(data))), list(range(7, len(data), 7))]
    return splits


def _by_kind(kind: str) -> list[Any]:
    return [param for param in _cases(EVENTSTREAM_FILES) if param.values[0]["kind"] == kind]


@pytest.mark.parametrize("case", _by_kind("decode"))
def test_decode(case: dict[str, Any]) -> None:
    data = unhex(case["data"])
    expected = [[m["headers"], m["payload"]] for m in case["messages"]]
    for cuts in _splits(data, case.get("chunks")):
        got = feed(data, cuts)
        assert [[peer_view(m.headers), m.payload.hex()] for m in got] == [
            [h, unhex(p).hex()] for h, p in expected
        ], cuts
        # and the encoder writes exactly these bytes back, also from the expected values alone
        assert b"".join(encode(m) for m in got) == data
        assert b"".join(encode(build_message(h, p)) for h, p in expected) == data


@pytest.mark.parametrize("case", _by_kind("decode_error"))
def test_decode_error(case: dict[str, Any]) -> None:
    data = unhex(case["data"])
    limit = case.get("decoder", {}).get("max_message_size")
    for cuts in _splits(data, case.get("chunks")):
        with pytest.raises(ERRORS[case["error"]]) as info:
            feed(data, cuts, limit)
        assert info.value.offset == 0, cuts  # every case is one bad frame at the start
        assert not info.value.decoded


@pytest.mark.parametrize("case", _by_kind("header_block"))
def test_header_block(case: dict[str, Any]) -> None:
    block = unhex(case["block"])
    headers = Headers.from_wire(block)
    assert peer_view(headers) == case["headers"]
    rebuilt = Headers([(name, header_value(code, value)) for name, code, value in case["headers"]])
    assert rebuilt.wire_bytes() == block


@pytest.mark.parametrize("case", _by_kind("header_block_error"))
def test_header_block_error(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]):
        Headers.from_wire(unhex(case["block"]))


@pytest.mark.parametrize("case", _by_kind("encode"))
def test_encode(case: dict[str, Any]) -> None:
    frame = unhex(case["frame"])
    assert encode(build_message(case["headers"], case["payload"])) == frame
    (decoded,) = feed(frame, [])
    assert peer_view(decoded.headers) == case["headers"] and decoded.payload == unhex(case["payload"])


@pytest.mark.parametrize("case", _by_kind("encode_block"))
def test_encode_block(case: dict[str, Any]) -> None:
    headers = Headers([(name, header_value(code, value)) for name, code, value in case["headers"]])
    assert headers.wire_bytes() == unhex(case["block"])


@pytest.mark.parametrize("case", _by_kind("encode_error"))
def test_encode_error(case: dict[str, Any]) -> None:
    with pytest.raises(EncodeError):
        encode(build_message(case["headers"], case["payload"]))


def test_every_event_stream_case_has_a_runner() -> None:
    kinds = {param.values[0]["kind"] for param in _cases(EVENTSTREAM_FILES)}
    assert kinds == {"decode", "decode_error", "header_block", "header_block_error", "encode", "encode_block",
                     "encode_error"}


# --- SigV4 ------------------------------------------------------------------------------------------------


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sign_case(case: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> SignedRequest:
    creds = case["credentials"]
    options = dict(case.get("options", {}))
    common: dict[str, Any] = {
        "credentials": Credentials(creds["access_key"], creds["secret_key"], creds.get("token")),
        "region": case["region"],
        "service": case["service"],
        "timestamp": _timestamp(case["timestamp"]),
    }
    if "normalize_path" in options:
        common["normalize_path"] = options.pop("normalize_path")
    if "sign_body" in options:
        common["sign_body"] = options.pop("sign_body")
    request_headers = [tuple(pair) for pair in case["headers"]] if headers is None else headers
    body = case.get("body", "").encode("utf-8")
    if case["op"] == "presign":
        expires_in = options.pop("expires_in")
        assert not options, options
        return presign_request(case["method"], case["url"], request_headers, body, expires_in=expires_in,
                               **common)
    assert case["op"] == "sign" and not options, options
    return sign_request(case["method"], case["url"], request_headers, body, **common)


def _field(signed: SignedRequest, name: str) -> str:
    if name == "authorization":
        value = signed.header("Authorization")
        assert value is not None
        return value
    text: str = getattr(signed, name)
    return text


def check_expectations(case: dict[str, Any], signed: SignedRequest) -> None:
    """Every ``expect`` key of the peer format (README, "Format"); an unknown key fails."""
    creq_lines = signed.canonical_request.split("\n")
    header_lines = creq_lines[3:creq_lines.index("", 3)]
    signed_names = signed.signed_headers.split(";")
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(signed.url).query, keep_blank_values=True)
    for key, want in case["expect"].items():
        if key in ("canonical_request", "string_to_sign", "authorization"):
            assert _field(signed, key) == want, key
        elif key == "canonical_uri":
            assert creq_lines[1] == want
        elif key == "canonical_query":
            assert creq_lines[2] == want
        elif key == "canonical_lines":
            assert {index: creq_lines[int(index)] for index in want} == want
        elif key == "canonical_header_lines_include":
            assert set(want) <= set(header_lines), header_lines
        elif key == "signed_headers_exclude":
            assert not set(want) & set(signed_names), signed_names
        elif key == "payload_hash":
            assert creq_lines[-1] == want
        elif key == "sent_headers":
            assert {name: signed.header(name) for name in want} == want
        elif key == "query":
            assert dict(query) == want and len(query) == len(want)
        elif key == "query_subset":
            assert {name: value for name, value in query if name in want} == want
        elif key == "url_contains":
            assert all(part in signed.url for part in want), signed.url
        elif key == "url_unchanged":
            assert (signed.url == case["url"]) is want
        elif key == "contains":
            for name, parts in want.items():
                assert all(part in _field(signed, name) for part in parts), (name, parts)
        elif key == "authorization_prefix":
            assert _field(signed, "authorization").startswith(want)
        elif key == "resign_stable":
            again = sign_case(case, list(signed.headers))
            assert [v for k, v in again.headers if k.lower() == "authorization"] == [
                _field(signed, "authorization")
            ]
        else:
            raise AssertionError(f"unknown expectation {key!r}")


@pytest.mark.parametrize("case", _cases(SIGV4_FILES))
def test_sigv4_case(case: dict[str, Any]) -> None:
    signed = sign_case(case)
    check_expectations(case, signed)
    # the string to sign always ends with the hash of the canonical request (whatever the case checks)
    assert signed.string_to_sign.endswith(hashlib.sha256(signed.canonical_request.encode()).hexdigest())


def parse_raw_request(text: str) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """An AWS-suite ``.req``: request line, ``Name:value`` lines (leading whitespace continues a value)."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rpartition(" ")[0]
    headers: list[tuple[str, str]] = []
    for line in filter(None, lines[1:]):  # a file may end with a newline
        if line[:1] in (" ", "\t"):
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, target, headers, body.encode("utf-8")


TOKEN = "x-amz-security-token:"


@pytest.mark.parametrize("case", _cases(("sigv4_botocore.json",), "suite"))
def test_sigv4_botocore_suite(case: dict[str, Any]) -> None:
    """botocore's run of the AWS suite: creq, sts and Authorization exact; a token in the creq is signed, a
    token only in the .sreq is sent unsigned (``omit_session_token``)."""
    defaults = PEERS["sigv4_botocore.json"]["suite_defaults"]
    method, target, headers, body = parse_raw_request(case["raw_request"])
    signed_token = [line[len(TOKEN):] for line in case["creq"].split("\n") if line.startswith(TOKEN)]
    sreq_lines = case["sreq"].split("\n")
    sent_token = [line.partition(":")[2] for line in sreq_lines if line.lower().startswith(TOKEN)]
    token = (signed_token or sent_token or [None])[0]
    creds = defaults["credentials"]
    amz_date = dict((name.lower(), value) for name, value in headers)["x-amz-date"]
    signed = sign_request(
        method, "https://example.amazonaws.com" + target, headers, body,
        credentials=Credentials(creds["access_key"], creds["secret_key"], token),
        region=defaults["region"], service=defaults["service"],
        timestamp=datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc),
        omit_session_token=bool(token) and not signed_token,
    )
    assert signed.canonical_request == case["creq"]
    assert signed.string_to_sign == case["sts"]
    assert signed.header("Authorization") == case["authz"]


def test_peer_files_name_their_sources() -> None:
    repos = {name: (peer["repo"], len(peer["commit"])) for name, peer in PEERS.items()}
    assert repos == {
        "eventstream_botocore.json": ("boto/botocore", 40),
        "eventstream_smithy.json": ("smithy-lang/smithy-python", 40),
        "eventstream_aws_c.json": ("awslabs/aws-c-event-stream", 40),
        "sigv4_botocore.json": ("boto/botocore", 40),
        "sigv4_aws4.json": ("mhart/aws4", 40),
    }
    assert Path(PEER_DATA / "README.md").is_file()
