"""Every fault the emulator injects, observed at the byte level with plain httpx and our decoder.

For in-stream faults the bytes before the fault must be exactly the normal answer's first N frames, so a
client test built on them can tell "delivered every complete event before the fault" from anything else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from client.emulator import (
    EXAMPLE_ACCESS_KEY_ID,
    EXAMPLE_SECRET_ACCESS_KEY,
    FAULT_HEADER,
    STREAM_EXCEPTIONS,
    Emulator,
    Fault,
    FaultKind,
    FaultSyntaxError,
    parse_fault,
)
from eventstream import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Decoder,
    FrameTooLarge,
    Message,
    MessageChecksumMismatch,
    TruncatedStream,
)
from sigv4 import Credentials
from sigv4.signer import sign_request

PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Tell me about faults"}],
    }
).encode()
EXAMPLE = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def headers_for(url: str, extra: dict[str, str] | None = None) -> list[tuple[str, str]]:
    headers = {"Content-Type": "application/json", **(extra or {})}
    return list(
        sign_request(
            "POST", url, headers, BODY, credentials=EXAMPLE, region="us-east-1", service="bedrock"
        ).headers
    )


def post(emu: Emulator, extra: dict[str, str] | None = None) -> httpx.Response:
    url = emu.url + PATH
    return httpx.post(url, headers=headers_for(url, extra), content=BODY, timeout=TIMEOUT)


def read_until_failure(emu: Emulator, timeout: httpx.Timeout = TIMEOUT) -> tuple[bytes, Exception | None]:
    """Every byte received, and the exception that ended the read (None for a clean end)."""
    url = emu.url + PATH
    received = bytearray()
    try:
        with httpx.stream("POST", url, headers=headers_for(url), content=BODY, timeout=timeout) as response:
            assert response.status_code == 200
            for piece in response.iter_raw():
                received += piece
    except httpx.HTTPError as exc:
        return bytes(received), exc
    return bytes(received), None


def frame_bytes(data: bytes) -> list[bytes]:
    """Split a valid stream into its frames' bytes (using the total length of each prelude)."""
    frames = []
    while data:
        total = int.from_bytes(data[:4], "big")
        frames.append(data[:total])
        data = data[total:]
    return frames


@pytest.fixture
def normal(emu: Emulator) -> list[bytes]:
    """The fault-free answer's frames (the same request always gets the same bytes)."""
    response = post(emu)
    assert response.status_code == 200
    emu.clear_requests()
    return frame_bytes(response.content)


# --- before the stream ---


@pytest.mark.parametrize(
    ("fault", "status", "name"),
    [
        (Fault(FaultKind.THROTTLING), 429, "ThrottlingException"),
        (Fault(FaultKind.MODEL_NOT_READY), 429, "ModelNotReadyException"),
        (Fault(FaultKind.INTERNAL_ERROR), 500, "InternalServerException"),
        (Fault(FaultKind.SERVICE_UNAVAILABLE), 503, "ServiceUnavailableException"),
        (Fault(FaultKind.HTTP_ERROR, name="ModelTimeoutException"), 408, "ModelTimeoutException"),
        (Fault(FaultKind.HTTP_ERROR, name="AccessDeniedException"), 403, "AccessDeniedException"),
        (
            Fault(FaultKind.HTTP_ERROR, name="ServiceQuotaExceededException"),
            400,
            "ServiceQuotaExceededException",
        ),
    ],
)
def test_http_error_faults(emu: Emulator, fault: Fault, status: int, name: str) -> None:
    emu.inject(fault)
    response = post(emu)
    assert response.status_code == status
    assert (
        response.headers["x-amzn-errortype"] == f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"] == fault.error_message
    assert response.headers["x-amzn-requestid"] == emu.requests[-1].request_id
    assert emu.requests[-1].fault == fault
    assert emu.requests[-1].error == name
    assert post(emu).status_code == 200  # consumed by one request


def test_model_stream_and_model_error_carry_their_extra_members(emu: Emulator) -> None:
    emu.inject(Fault(FaultKind.HTTP_ERROR, name="ModelStreamErrorException", code="400"))
    emu.inject(Fault(FaultKind.HTTP_ERROR, name="ModelErrorException", message="bad model"))
    first = post(emu)
    assert first.status_code == 424
    assert first.json()["originalStatusCode"] == 400
    assert first.json()["originalMessage"]
    second = post(emu)
    assert second.status_code == 424
    assert second.json() == {
        "message": "bad model",
        "originalStatusCode": 500,
        "resourceName": "emulated-model",
    }


def test_proxy_bad_gateway_is_html_without_service_marks(emu: Emulator) -> None:
    emu.inject(Fault(FaultKind.BAD_GATEWAY))
    response = post(emu)
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    assert "x-amzn-errortype" not in response.headers
    assert "x-amzn-requestid" not in response.headers
    assert b"<h1>502 Bad Gateway</h1>" in response.content


def test_not_an_event_stream(emu: Emulator) -> None:
    emu.inject(Fault(FaultKind.NOT_EVENTSTREAM))
    response = post(emu)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "not an event stream" in response.json()["message"]


def test_fault_queue_is_consumed_by_valid_invocations_in_order() -> None:
    with Emulator(faults=[Fault(FaultKind.MODEL_NOT_READY)]) as emu:
        emu.inject(Fault(FaultKind.THROTTLING), times=2)
        assert [f.kind for f in emu.pending_faults] == [
            FaultKind.MODEL_NOT_READY,
            FaultKind.THROTTLING,
            FaultKind.THROTTLING,
        ]
        # An unauthenticated request does not consume a fault.
        unsigned = httpx.post(emu.url + PATH, content=BODY, timeout=TIMEOUT)
        assert unsigned.status_code == 403
        statuses = [post(emu).status_code for _ in range(4)]
        assert statuses == [429, 429, 429, 200]
        assert [r.error for r in emu.requests] == [
            "MissingAuthenticationTokenException",
            "ModelNotReadyException",
            "ThrottlingException",
            "ThrottlingException",
            None,
        ]
        emu.inject(Fault(FaultKind.THROTTLING))
        emu.clear_faults()
        assert post(emu).status_code == 200
        with pytest.raises(ValueError, match="times"):
            emu.inject(Fault(FaultKind.THROTTLING), times=0)


def test_fault_header(emu: Emulator) -> None:
    response = post(emu, {FAULT_HEADER: "http-error; name=ModelTimeoutException; message=too%20slow"})
    assert response.status_code == 408
    assert response.json()["message"] == "too slow"
    bad = post(emu, {FAULT_HEADER: "explode"})
    assert bad.status_code == 400
    assert "Bad X-Emulator-Fault header: unknown fault kind 'explode'" in bad.json()["message"]


def test_fault_header_can_be_disabled() -> None:
    with Emulator(allow_fault_header=False) as emu:
        assert post(emu, {FAULT_HEADER: "throttling"}).status_code == 200


# --- in the stream ---


def decode_all(data: bytes) -> list[Message]:
    decoder = Decoder()
    messages = decoder.feed(data)
    decoder.close()
    return messages


@pytest.mark.parametrize("name", STREAM_EXCEPTIONS)
def test_each_in_stream_exception_after_n_chunks(emu: Emulator, normal: list[bytes], name: str) -> None:
    emu.inject(Fault(FaultKind.EXCEPTION, name=name, after=3))
    data, error = read_until_failure(emu)
    assert error is None  # the HTTP body ends cleanly after the exception
    frames = frame_bytes(data)
    assert frames[:3] == normal[:3]
    assert len(frames) == 4
    (exception,) = decode_all(frames[3])
    assert dict(exception.headers) == {
        ":exception-type": name,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    payload = json.loads(exception.payload)
    assert payload["message"]
    if name == "modelStreamErrorException":
        assert payload["originalStatusCode"] == 500
        assert payload["originalMessage"]
    else:
        assert set(payload) == {"message"}


def test_exception_names_may_be_upper_camel_case(emu: Emulator, normal: list[bytes]) -> None:
    response = post(emu, {FAULT_HEADER: "exception; name=ThrottlingException; after=0; message=slow down"})
    (exception,) = decode_all(response.content)
    assert exception.headers[":exception-type"] == "throttlingException"
    assert json.loads(exception.payload) == {"message": "slow down"}


def test_after_beyond_the_answer_acts_at_the_end(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.EXCEPTION, name="validationException", after=10_000))
    frames = frame_bytes(post(emu).content)
    assert frames[:-1] == normal
    assert decode_all(frames[-1])[0].headers[":message-type"] == "exception"


def test_error_message_after_n_chunks(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.ERROR, after=2, code="InternalFailure", message="it broke"))
    frames = frame_bytes(post(emu).content)
    assert frames[:2] == normal[:2]
    (error,) = decode_all(frames[2])
    assert dict(error.headers) == {
        ":error-code": "InternalFailure",
        ":error-message": "it broke",
        ":message-type": "error",
    }
    assert error.payload == b""
    assert len(frames) == 3


def test_drop_between_frames(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.DROP, after=4))
    data, error = read_until_failure(emu)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert data == b"".join(normal[:4])


def test_drop_mid_frame(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.DROP_MID_FRAME, after=2))
    data, error = read_until_failure(emu)
    assert isinstance(error, httpx.RemoteProtocolError)
    half = normal[2][: len(normal[2]) // 2]
    assert data == b"".join(normal[:2]) + half
    decoder = Decoder()
    assert len(decoder.feed(data)) == 2
    with pytest.raises(TruncatedStream):
        decoder.close()


def test_truncate_ends_the_body_cleanly_inside_a_frame(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.TRUNCATE, after=1))
    data, error = read_until_failure(emu)
    assert error is None
    assert data == normal[0] + normal[1][: len(normal[1]) // 2]
    with pytest.raises(TruncatedStream) as info:
        decode_all(data)
    assert info.value.offset == len(normal[0])


def test_bad_crc(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.BAD_CRC, after=2))
    data, error = read_until_failure(emu)
    assert error is None
    frames = frame_bytes(data)
    assert len(frames) == len(normal)
    assert frames[:2] == normal[:2] and frames[3:] == normal[3:]
    assert frames[2][:-4] == normal[2][:-4] and frames[2][-4:] != normal[2][-4:]
    decoder = Decoder()
    with pytest.raises(MessageChecksumMismatch) as info:
        decoder.feed(data)
    assert info.value.offset == len(normal[0]) + len(normal[1])


def test_oversized_frame(emu: Emulator, normal: list[bytes]) -> None:
    size = 2 * 1024 * 1024
    emu.inject(Fault(FaultKind.OVERSIZED_FRAME, after=1, size=size))
    data, error = read_until_failure(emu)
    assert error is None
    assert data[: len(normal[0])] == normal[0]
    oversized = data[len(normal[0]) :]
    assert len(oversized) == size
    (message,) = decode_all(oversized)  # well formed: lengths and CRCs are valid
    assert message.headers[":event-type"] == "chunk"
    with pytest.raises(FrameTooLarge):
        Decoder(max_message_size=1024 * 1024).feed(data)


def test_default_oversized_frame_exceeds_the_default_decoder_limit() -> None:
    assert Fault(FaultKind.OVERSIZED_FRAME).size > DEFAULT_MAX_MESSAGE_SIZE


def test_stall_longer_than_the_read_timeout(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.STALL, after=2))
    started = time.monotonic()
    data, error = read_until_failure(emu, httpx.Timeout(5.0, read=0.3))
    assert isinstance(error, httpx.ReadTimeout)
    assert data == b"".join(normal[:2])
    assert time.monotonic() - started < 5


def test_short_stall_then_the_rest(emu: Emulator, normal: list[bytes]) -> None:
    emu.inject(Fault(FaultKind.STALL, after=1, seconds=0.3))
    started = time.monotonic()
    data, error = read_until_failure(emu)
    assert error is None
    assert data == b"".join(normal)
    assert time.monotonic() - started >= 0.25


def test_stall_is_interrupted_by_close() -> None:
    emu = Emulator(faults=[Fault(FaultKind.STALL, after=0)]).start()
    try:
        url = emu.url + PATH
        with httpx.stream("POST", url, headers=headers_for(url), content=BODY, timeout=TIMEOUT) as response:
            assert response.status_code == 200
            started = time.monotonic()
            emu.close()
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()
        assert time.monotonic() - started < 5
    finally:
        emu.close()


# --- the fault syntax ---


@pytest.mark.parametrize(
    "fault",
    [
        Fault(FaultKind.THROTTLING),
        Fault(FaultKind.EXCEPTION, name="modelStreamErrorException", after=2, code="429"),
        Fault(FaultKind.ERROR, after=1, code="Boom", message="a; b = c %"),
        Fault(FaultKind.STALL, after=3, seconds=2.5),
        Fault(FaultKind.OVERSIZED_FRAME, size=1000),
        Fault(FaultKind.HTTP_ERROR, name="ModelTimeoutException"),
    ],
)
def test_fault_header_round_trip(fault: Fault) -> None:
    assert parse_fault(fault.to_header()) == fault


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("nope", "unknown fault kind"),
        ("drop; after", "not key=value"),
        ("drop; after=x", "bad number"),
        ("drop; after=-1", "after must be >= 0"),
        ("drop; colour=red", "unknown fault parameter"),
        ("drop; after=1; after=2", "given twice"),
        ("exception; name=fooException", "exception needs name="),
        ("http-error", "http-error needs name="),
        ("stall; seconds=nan", "seconds must be >= 0"),
        ("oversized-frame; size=3", "size must be >= 16"),
    ],
)
def test_fault_syntax_errors(text: str, needle: str) -> None:
    with pytest.raises(FaultSyntaxError, match=needle):
        parse_fault(text)


def test_a_fault_kind_may_be_given_by_its_header_name() -> None:
    assert Fault("throttling") == Fault(FaultKind.THROTTLING)  # type: ignore[arg-type]
    assert Fault("exception", name="throttlingException", after=2).kind is FaultKind.EXCEPTION  # type: ignore[arg-type]
    with pytest.raises(FaultSyntaxError, match="unknown fault kind 'throttle'"):
        Fault("throttle")  # type: ignore[arg-type]
