"""Event-stream signing (sigv4.event_signing) and sign_request(payload_hash=...).

Vectors: aws-sdk-go-v2 ``aws/signer/v4/stream_test.go`` (TestStreamSigner_GetSignature: raw header and
payload bytes, hence the lower-level ``event_signature``), smithy-rs ``aws-sigv4/src/event_stream.rs``
(the ``string_to_sign`` test), and a differential against an independent reference written below.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import datetime, timedelta, timezone
from unittest import mock

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

import eventstream
import sigv4
from sigv4 import Credentials, EventSigner, EventSignerClosedError, SignedEvent, sign_event, sign_request
from sigv4.event_signing import STREAMING_PAYLOAD, event_signature, event_string_to_sign

GO_CREDS = Credentials("AKID", "SECRET")
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN")
WHEN = datetime(2024, 5, 1, 12, 0, 7, 654321, tzinfo=timezone.utc)
SEED = "a" * 64
URL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream"


# --- the published vectors --------------------------------------------------------------------------------


def test_aws_sdk_go_v2_stream_signer_vectors() -> None:
    # (header bytes = payload bytes, unix seconds, expected signature), seed = raw bytes "foobarbazqux".
    vectors = [
        (b"foo", 10, "e3a136405ec1152f62136742efd41f8639cd647a1cf21fab12aedb22cccd8999"),
        (b"bar", 20, "92a6ad677e839d3003672cb2cefc71ef80d42e8cb300fefce0807e8398c74068"),
        (b"baz", 30, "46d6660bd40f2ff5d6246a347895cabe7f4e89d9e1f4c6dad6dabdc801923be1"),
        (b"", 30, "492bcb3e21de447c85f8a9bef6c0eb833e992e405b9b3584be84edaccc5aad18"),
    ]
    prior = b"foobarbazqux".hex()
    for data, seconds, expected in vectors:
        prior = event_signature(
            data,
            data,
            prior_signature=prior,
            credentials=GO_CREDS,
            region="us-east-1",
            service="transcribestreaming",
            seconds=seconds,
        )
        assert prior == expected


def test_smithy_rs_string_to_sign_vector() -> None:
    inner = eventstream.encode(eventstream.Message({"some-header": "value"}, b"test payload"))
    when = datetime.fromtimestamp(123_456_789, timezone.utc)
    date_header = eventstream.Headers({":date": when}).wire_bytes()
    prior = hashlib.sha256(b"last message sts").hexdigest()
    expected = (
        "AWS4-HMAC-SHA256-PAYLOAD\n"
        "19731129T213309Z\n"
        "19731129/us-east-1/testservice/aws4_request\n"
        "be1f8c7d79ef8e1abc5254a2c70e4da3bfaf4f07328f527444e1fc6ea67273e2\n"
        "0c0e3b3bf66b59b976181bd7d401927bbd624107303c713fd1e5f3d3c8dd1b1e\n"
        "f2eba0f2e95967ee9fbc6db5e678d2fd599229c0d04b11e4fc8e0f2a02a806c6"
    )
    sts = event_string_to_sign(
        date_header,
        inner,
        prior_signature=prior,
        seconds=123_456_789,
        region="us-east-1",
        service="testservice",
    )
    assert sts == expected
    # sign_event hashes the same :date header (time given with sub-seconds, truncated as smithy-rs does).
    creds = Credentials("ANOTREAL", "notrealrnrELgWzOk3IfjzDKtFBhDby")
    signed = sign_event(
        inner,
        prior_signature=prior,
        credentials=creds,
        region="us-east-1",
        service="testservice",
        timestamp=when + timedelta(microseconds=1),
    )
    assert signed.signature == _reference_signature(
        creds.secret_access_key, "us-east-1", "testservice", expected
    )


# --- an independent reference -----------------------------------------------------------------------------


def _hmac(key: bytes, data: str | bytes) -> bytes:
    return hmac.new(key, data.encode() if isinstance(data, str) else data, hashlib.sha256).digest()


def _reference_signature(secret: str, region: str, service: str, string_to_sign: str) -> str:
    date = string_to_sign.split("\n")[1][:8]
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _reference_sign(message: bytes, prior: str, seconds: int, region: str, service: str) -> tuple[str, bytes]:
    """Signature and frame, built from the format description with struct and zlib only."""
    import zlib

    stamp = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    date_header = b"\x05:date\x08" + struct.pack(">q", seconds * 1000)
    sts = "\n".join(
        [
            "AWS4-HMAC-SHA256-PAYLOAD",
            stamp,
            f"{stamp[:8]}/{region}/{service}/aws4_request",
            prior,
            hashlib.sha256(date_header).hexdigest(),
            hashlib.sha256(message).hexdigest(),
        ]
    )
    signature = _reference_signature(CREDS.secret_access_key, region, service, sts)
    block = date_header + b"\x10:chunk-signature\x06" + struct.pack(">H", 32) + bytes.fromhex(signature)
    prelude = struct.pack(">II", 16 + len(block) + len(message), len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + block + message
    return signature, body + struct.pack(">I", zlib.crc32(body))


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    start=st.integers(0, 4_000_000_000),
    micros=st.integers(0, 999_999),
    region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"]),
)
def test_signer_matches_an_independent_reference(
    messages: list[bytes], start: int, micros: int, region: str
) -> None:
    signer = EventSigner(CREDS, region, "bedrock", SEED)
    prior = SEED
    for index, message in enumerate(messages):
        seconds = start + index
        when = datetime.fromtimestamp(seconds, timezone.utc) + timedelta(microseconds=micros)
        signature, frame = _reference_sign(message, prior, seconds, region, "bedrock")
        one = sign_event(
            message,
            prior_signature=prior,
            credentials=CREDS,
            region=region,
            service="bedrock",
            timestamp=when,
        )
        assert (one.signature, one.frame) == (signature, frame)
        assert signer.sign(message, when) == frame
        prior = signature
    assert signer.signature == prior
    signature, frame = _reference_sign(b"", prior, start, region, "bedrock")
    assert signer.end(datetime.fromtimestamp(start, timezone.utc)) == frame


# --- the result and the chain -----------------------------------------------------------------------------


def test_signed_event_headers_frame_and_truncation() -> None:
    inner = eventstream.encode(eventstream.Message({":event-type": "chunk"}, b'{"bytes":"e30="}'))
    signed = sign_event(
        inner, prior_signature=SEED, credentials=CREDS, region="us-east-1", service="bedrock", timestamp=WHEN
    )
    assert isinstance(signed, SignedEvent)
    assert list(signed.headers) == [":date", ":chunk-signature"]
    assert signed.headers[":date"] == WHEN.replace(microsecond=0)
    assert signed.headers[":chunk-signature"] == bytes.fromhex(signed.signature)
    assert len(signed.signature) == 64
    (outer,) = eventstream.decode(signed.frame)
    assert list(outer.headers) == [":date", ":chunk-signature"]
    assert outer.headers.wire_type(":date") is eventstream.HeaderType.TIMESTAMP
    assert outer.headers[":date"] == WHEN.replace(microsecond=0)
    assert outer.payload == inner
    end = sign_event(
        b"",
        prior_signature=signed.signature,
        credentials=CREDS,
        region="us-east-1",
        service="bedrock",
        timestamp=WHEN,
    )
    assert eventstream.decode(end.frame)[0].payload == b""
    assert end.signature != signed.signature


def test_event_signer_chains_and_closes() -> None:
    signer = EventSigner(CREDS, "us-east-1", "bedrock", SEED)
    first = signer.sign(b"one", WHEN)
    second = signer.sign(b"two", WHEN)
    expected_first = sign_event(
        b"one", prior_signature=SEED, credentials=CREDS, region="us-east-1", service="bedrock", timestamp=WHEN
    )
    expected_second = sign_event(
        b"two",
        prior_signature=expected_first.signature,
        credentials=CREDS,
        region="us-east-1",
        service="bedrock",
        timestamp=WHEN,
    )
    assert (first, second) == (expected_first.frame, expected_second.frame)
    assert signer.signature == expected_second.signature
    assert not signer.closed
    signer.end(WHEN)
    assert signer.closed
    with pytest.raises(EventSignerClosedError, match="after the end"):
        signer.sign(b"three")
    with pytest.raises(EventSignerClosedError):
        signer.end()
    assert "wJalr" not in repr(signer)


def test_default_timestamp_is_now() -> None:
    with mock.patch("time.time", return_value=1_700_000_000.9):
        frame = EventSigner(CREDS, "us-east-1", "bedrock", SEED).sign(b"x")
    assert eventstream.decode(frame)[0].headers[":date"] == datetime.fromtimestamp(
        1_700_000_000, timezone.utc
    )


def test_bad_arguments_are_typed() -> None:
    kwargs = {"credentials": CREDS, "region": "us-east-1", "service": "bedrock"}
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_event(b"", prior_signature=SEED, timestamp=datetime(2024, 1, 1), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hex"):
        sign_event(b"", prior_signature="not hex", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        EventSigner(CREDS, "us-east-1", "bedrock", "")
    with pytest.raises(TypeError, match="bytes"):
        sign_event("text", prior_signature=SEED, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="region"):
        sign_event(b"", prior_signature=SEED, credentials=CREDS, region="us/east", service="bedrock")


def test_lazy_exports() -> None:
    assert sigv4.sign_event is sign_event
    assert "EventSigner" in dir(sigv4)


# --- the seed request: sign_request(payload_hash=...) ------------------------------------------------------

HEADERS = [("Content-Type", "application/vnd.amazon.eventstream")]


def _sign(**kwargs: object) -> sigv4.SignedRequest:
    options: dict[str, object] = {
        "credentials": CREDS,
        "region": "us-east-1",
        "service": "bedrock",
        "timestamp": WHEN,
    }
    options.update(kwargs)
    headers = options.pop("headers", HEADERS)
    body = options.pop("body", b"")
    return sign_request("POST", URL, headers, body, **options)  # type: ignore[arg-type]


def test_payload_hash_literal_is_sent_signed_and_hashed() -> None:
    signed = _sign(payload_hash=STREAMING_PAYLOAD)
    assert signed.header("x-amz-content-sha256") == STREAMING_PAYLOAD
    assert [name.lower() for name, _ in signed.headers].count("x-amz-content-sha256") == 1
    assert "x-amz-content-sha256" in signed.signed_headers.split(";")
    assert signed.canonical_request.endswith("\n" + STREAMING_PAYLOAD)
    assert f"x-amz-content-sha256:{STREAMING_PAYLOAD}\n" in signed.canonical_request
    # The body is not read: the literal replaces its hash, and a caller header of another value is replaced.
    other = _sign(
        payload_hash=STREAMING_PAYLOAD, body=b"ignored", headers=[*HEADERS, ("X-Amz-Content-Sha256", "x")]
    )
    assert other.signature == signed.signature
    digest = hashlib.sha256(b"abc").hexdigest()
    assert _sign(payload_hash=digest).canonical_request.endswith("\n" + digest)


def test_a_caller_supplied_content_sha256_header_is_the_payload_hash() -> None:
    via_header = _sign(headers=[*HEADERS, ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")], body=b"body")
    via_keyword = _sign(payload_hash="UNSIGNED-PAYLOAD", body=b"body")
    assert via_header.canonical_request.endswith("\nUNSIGNED-PAYLOAD")
    assert via_header.signature == via_keyword.signature
    # sign_body keeps its meaning: the body's own hash, replacing the given header.
    body_signed = _sign(
        headers=[*HEADERS, ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")], body=b"body", sign_body=True
    )
    assert body_signed.header("x-amz-content-sha256") == hashlib.sha256(b"body").hexdigest()


@pytest.mark.parametrize("bad", ["", "two words", "line\nbreak", "caf\u00e9"])
def test_invalid_payload_hash(bad: str) -> None:
    with pytest.raises(ValueError, match="payload_hash"):
        _sign(payload_hash=bad)
    with pytest.raises(TypeError, match="payload_hash"):
        _sign(payload_hash=b"UNSIGNED-PAYLOAD")


@pytest.mark.parametrize("value", [STREAMING_PAYLOAD, "UNSIGNED-PAYLOAD", hashlib.sha256(b"x").hexdigest()])
def test_payload_hash_matches_botocore(value: str) -> None:
    # botocore takes a request's X-Amz-Content-SHA256 header as the payload hash: the same contract.
    request = AWSRequest(
        method="POST", url=URL, data=b"body", headers={**dict(HEADERS), "X-Amz-Content-SHA256": value}
    )
    naive = WHEN.replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: naive):
        botocore.auth.SigV4Auth(
            BotoCredentials("AKIDEXAMPLE", CREDS.secret_access_key, "TOKEN"), "bedrock", "us-east-1"
        ).add_auth(request)
    theirs = request.headers["Authorization"].rpartition("Signature=")[2]
    assert _sign(payload_hash=value, body=b"body").signature == theirs
