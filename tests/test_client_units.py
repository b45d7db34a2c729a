"""The client's pure parts: error mapping, event typing, request building and validation, retry decisions."""

from __future__ import annotations

import base64
import binascii
import json
import pickle
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import client
from client import errors, events, request, retry

# --- errors before the stream ----------------------------------------------------------------------------

DOCUMENTED = [
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ThrottlingException", 429),
    ("ModelNotReadyException", 429),
    ("ModelTimeoutException", 408),
    ("InternalServerException", 500),
    ("ServiceUnavailableException", 503),
    ("ModelStreamErrorException", 424),
    ("ModelErrorException", 424),
    ("ValidationException", 400),
    ("ServiceQuotaExceededException", 400),
]


@pytest.mark.parametrize(("name", "status"), DOCUMENTED)
def test_http_error_is_typed_from_the_error_type_header(name: str, status: int) -> None:
    headers = httpx.Headers(
        {
            "X-Amzn-ErrorType": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "X-Amzn-RequestId": "rid-42",
        }
    )
    err = errors.error_from_http_response(status, headers, b'{"message":"it went wrong"}')
    assert type(err) is getattr(client, name)
    assert isinstance(err, client.BedrockRuntimeError)
    assert (err.message, err.status_code, err.request_id, err.error_code) == (
        "it went wrong",
        status,
        "rid-42",
        name,
    )
    assert not err.in_stream
    assert "it went wrong" in str(err) and name in str(err) and "rid-42" in str(err)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"__type":"com.amazon.coral.validate#ValidationException","message":"m"}', "ValidationException"),
        (b'{"__type":"ThrottlingException:http://x/","message":"m"}', "ThrottlingException"),
        (b'{"code":"ResourceNotFoundException","message":"m"}', "ResourceNotFoundException"),
        (b'{"Code":"AccessDeniedException","Message":"m"}', "AccessDeniedException"),
    ],
)
def test_http_error_is_typed_from_the_json_body_without_the_header(body: bytes, expected: str) -> None:
    err = errors.error_from_http_response(400, httpx.Headers({}), body)
    assert type(err).__name__ == expected
    assert err.message == "m"


def test_header_wins_over_the_body() -> None:
    headers = httpx.Headers({"x-amzn-errortype": "ThrottlingException"})
    err = errors.error_from_http_response(429, headers, b'{"__type":"ValidationException","message":"m"}')
    assert isinstance(err, client.ThrottlingException)


def test_model_errors_carry_their_extra_fields() -> None:
    stream_err = errors.error_from_http_response(
        424,
        httpx.Headers({"x-amzn-errortype": "ModelStreamErrorException"}),
        b'{"message":"m","originalStatusCode":502,"originalMessage":"upstream died"}',
    )
    assert isinstance(stream_err, client.ModelStreamErrorException)
    assert (stream_err.original_status_code, stream_err.original_message) == (502, "upstream died")
    model_err = errors.error_from_http_response(
        424,
        httpx.Headers({"x-amzn-errortype": "ModelErrorException"}),
        b'{"message":"m","originalStatusCode":"500","resourceName":"arn:aws:bedrock:x"}',
    )
    assert isinstance(model_err, client.ModelErrorException)
    assert (model_err.original_status_code, model_err.resource_name) == (500, "arn:aws:bedrock:x")


def test_unknown_error_is_the_base_class_with_the_raw_body() -> None:
    body = b"<html><body>Bad Gateway from some proxy</body></html>"
    err = errors.error_from_http_response(502, httpx.Headers({"x-amzn-requestid": "r"}), body)
    assert type(err) is client.BedrockRuntimeError
    assert err.body == body and err.status_code == 502 and err.error_code is None
    assert "Bad Gateway from some proxy" in str(err)
    coded = errors.error_from_http_response(
        403, httpx.Headers({"x-amzn-errortype": "UnrecognizedClientException"}), b'{"message":"bad token"}'
    )
    assert type(coded) is client.BedrockRuntimeError
    assert (coded.error_code, coded.message) == ("UnrecognizedClientException", "bad token")


def test_error_body_is_bounded() -> None:
    err = errors.error_from_http_response(500, httpx.Headers({}), b"x" * 1_000_000)
    assert err.body is not None and len(err.body) <= 16 * 1024
    assert len(str(err)) < 4096


def test_errors_survive_pickling_with_their_attributes() -> None:
    err = errors.error_from_http_response(
        424,
        httpx.Headers({"x-amzn-errortype": "ModelStreamErrorException", "x-amzn-requestid": "r1"}),
        b'{"message":"m","originalStatusCode":500}',
        retry_attempts=2,
    )
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is client.ModelStreamErrorException
    assert (clone.message, clone.request_id, clone.original_status_code, clone.retry_attempts) == (
        "m",
        "r1",
        500,
        2,
    )
    assert str(clone) == str(err)


# --- errors inside the stream ----------------------------------------------------------------------------

IN_STREAM = [
    ("internalServerException", client.InternalServerException),
    ("modelStreamErrorException", client.ModelStreamErrorException),
    ("validationException", client.ValidationException),
    ("throttlingException", client.ThrottlingException),
    ("modelTimeoutException", client.ModelTimeoutException),
    ("serviceUnavailableException", client.ServiceUnavailableException),
]


@pytest.mark.parametrize(("exception_type", "cls"), IN_STREAM)
def test_exception_message_raises_its_class(
    exception_type: str, cls: type[client.BedrockRuntimeError]
) -> None:
    headers = {
        ":message-type": "exception",
        ":exception-type": exception_type,
        ":content-type": "application/json",
    }
    with pytest.raises(cls) as info:
        events.type_message(headers, b'{"message":"boom"}', index=3, request_id="rid")
    err = info.value
    assert type(err) is cls
    assert err.in_stream and err.exception_type == exception_type and err.request_id == "rid"
    assert err.error_code == cls.__name__ and err.message == "boom"
    assert "in the event stream" in str(err)


def test_model_stream_error_in_stream_has_original_fields() -> None:
    headers = {":message-type": "exception", ":exception-type": "modelStreamErrorException"}
    payload = b'{"message":"m","originalStatusCode":429,"originalMessage":"too many tokens"}'
    with pytest.raises(client.ModelStreamErrorException) as info:
        events.type_message(headers, payload, index=0, request_id=None)
    assert (info.value.original_status_code, info.value.original_message) == (429, "too many tokens")


def test_unknown_exception_type_and_non_json_payload_are_kept() -> None:
    headers = {":message-type": "exception", ":exception-type": "brandNewException"}
    with pytest.raises(client.BedrockRuntimeError) as info:
        events.type_message(headers, b"not json at all", index=0, request_id=None)
    assert type(info.value) is client.BedrockRuntimeError
    assert info.value.error_code == "BrandNewException" and info.value.message == "not json at all"
    assert info.value.body == b"not json at all"


def test_error_message_raises_unmodeled_stream_error() -> None:
    headers = {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "oops"}
    with pytest.raises(client.UnmodeledStreamError) as info:
        events.type_message(headers, b"", index=0, request_id="r")
    assert (info.value.error_code, info.value.message, info.value.in_stream) == (
        "InternalFailure",
        "oops",
        True,
    )
    assert "InternalFailure: oops" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({":event-type": "chunk"}, "no :message-type"),
        ({":message-type": "bogus"}, "unknown :message-type 'bogus'"),
    ],
)
def test_message_without_a_valid_type_is_a_stream_error(headers: dict[str, Any], fragment: str) -> None:
    with pytest.raises(client.StreamError, match=fragment):
        events.type_message(headers, b"{}", index=7, request_id=None)


def test_unknown_event_type_is_skipped() -> None:
    headers = {":message-type": "event", ":event-type": "somethingNew"}
    assert events.type_message(headers, b"{}", index=0, request_id=None) is None


# --- chunks ---------------------------------------------------------------------------------------------

CHUNK_HEADERS = {":message-type": "event", ":event-type": "chunk", ":content-type": "application/json"}


def _chunk(payload: bytes) -> client.Chunk:
    event = events.type_message(CHUNK_HEADERS, payload, index=0, request_id=None)
    assert event is not None
    return event


def test_chunk_decodes_the_service_layout() -> None:
    model = b'{"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}'
    payload = json.dumps({"bytes": base64.b64encode(model).decode(), "p": "abcdefgh"}, separators=(",", ":"))
    chunk = _chunk(payload.encode())
    assert chunk.bytes == model
    assert chunk.json() == {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}


def test_chunk_accepts_any_valid_json_layout() -> None:
    payload = b'{ "p" : "x\\"y" ,\n "bytes" : "aGVsbG8\\u003d" }'
    assert _chunk(payload).bytes == b"hello"
    assert _chunk(b"{}").bytes == b""


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[1,2]", "not an object"),
        (b'{"bytes": 12}', "not a base64 string"),
        (b'{"bytes": "@@@@"}', "not valid base64"),
        (b'{"bytes":"aGk=","p":"x"} trailing', "not JSON"),
        (b'{"bytes":"aGk=","p":"x"}}', "not JSON"),
    ],
)
def test_malformed_chunk_is_a_stream_error(payload: bytes, fragment: str) -> None:
    with pytest.raises(client.StreamError, match=fragment):
        _chunk(payload)


def _reference(payload: bytes) -> bytes | None:
    """What a plain JSON parser plus strict base64 makes of a payload (None: must be rejected)."""
    try:
        parsed = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict):
        return None
    value = parsed.get("bytes")
    if value is None:
        return b""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


@st.composite
def _near_service_payloads(draw: st.DrawFn) -> bytes:
    data = draw(st.binary(max_size=64))
    pad = draw(st.text(alphabet=st.sampled_from('abcXYZ019"\\}{,: \x00\x1f\x7f\u00e9'), max_size=12))
    encoded = base64.b64encode(data).decode()
    payload = '{"bytes":"' + encoded + '","p":"' + pad + '"}'
    raw = payload.encode()
    # Mutate a few bytes so the fast path sees near-misses of its layout as well as exact ones.
    for _ in range(draw(st.integers(0, 3))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.binary(min_size=0, max_size=2)) + raw[at + 1 :]
    return raw


@example(b'{"bytes":"Dg==","p":"b9\x0e1"}')  # a control character in the padding is not JSON
@example(b'{"bytes":"QO0=","p":"@\xedX1"}')  # neither are bytes that are not UTF-8
@example(b'{"bytes":"aGk=","p":"abc\\"}"}')  # an escaped quote inside the padding is
@given(_near_service_payloads())
def test_fast_chunk_path_agrees_with_a_full_json_parser(payload: bytes) -> None:
    expected = _reference(payload)
    if expected is None:
        with pytest.raises(client.StreamError):
            _chunk(payload)
    else:
        assert _chunk(payload).bytes == expected


def test_chunk_is_immutable_hashable_and_picklable() -> None:
    chunk = client.Chunk(b'{"a":1}')
    with pytest.raises(AttributeError):
        chunk.bytes = b"x"
    with pytest.raises(AttributeError):
        del chunk.bytes
    assert chunk == client.Chunk(b'{"a":1}') and chunk != client.Chunk(b"{}")
    assert len({chunk, client.Chunk(b'{"a":1}')}) == 1
    assert pickle.loads(pickle.dumps(chunk)) == chunk
    assert repr(chunk) == "Chunk(bytes=b'{\"a\":1}')"
    with pytest.raises(json.JSONDecodeError):
        client.Chunk(b"not json").json()


# --- building the request --------------------------------------------------------------------------------

ENDPOINT = "https://bedrock-runtime.us-east-1.amazonaws.com"


def test_request_url_encodes_the_model_id_as_one_segment() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    built = request.build_invoke_request(ENDPOINT, arn, b"{}")
    assert built.url == (
        ENDPOINT + "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
        "us.anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
    )
    assert httpx.URL(built.url).raw_path.startswith(b"/model/arn%3Aaws%3Abedrock")
    tricky = request.build_invoke_request(ENDPOINT, "a b%c~d_e.f-g", b"")
    assert "/model/a%20b%25c~d_e.f-g/" in tricky.url


def test_request_headers_and_optional_headers() -> None:
    built = request.build_invoke_request(ENDPOINT, "m", b"{}")
    assert dict(built.headers) == {
        "Content-Type": "application/json",
        "X-Amzn-Bedrock-Accept": "application/json",
        "Accept-Encoding": "identity",
    }
    full = request.build_invoke_request(
        ENDPOINT,
        "m",
        b"{}",
        content_type="application/json",
        accept="*/*",
        trace="ENABLED_FULL",
        guardrail_identifier="gr-abc123",
        guardrail_version="DRAFT",
        performance_config_latency="optimized",
        service_tier="flex",
    )
    assert dict(full.headers) == {
        "Content-Type": "application/json",
        "X-Amzn-Bedrock-Accept": "*/*",
        "Accept-Encoding": "identity",
        "X-Amzn-Bedrock-Trace": "ENABLED_FULL",
        "X-Amzn-Bedrock-GuardrailIdentifier": "gr-abc123",
        "X-Amzn-Bedrock-GuardrailVersion": "DRAFT",
        "X-Amzn-Bedrock-PerformanceConfig-Latency": "optimized",
        "X-Amzn-Bedrock-Service-Tier": "flex",
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1}', b'{"a": 1}'),
        ('{"text": "h\u00e9"}', '{"text": "h\u00e9"}'.encode()),
        ({"text": "h\u00e9", "n": [1, 2]}, '{"text":"h\u00e9","n":[1,2]}'.encode()),
        (bytearray(b"xy"), b"xy"),
    ],
)
def test_request_body_forms(body: Any, expected: bytes) -> None:
    assert request.build_invoke_request(ENDPOINT, "m", body).body == expected


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model_id": ""}, "model_id must not be empty"),
        ({"model_id": "m" * 2049}, "at most 2048"),
        ({"model_id": 5}, "model_id must be a string"),
        ({"model_id": "a\nb"}, "control character"),
        ({"guardrail_identifier": "g"}, "guardrail_identifier was given without guardrail_version"),
        ({"guardrail_version": "1"}, "guardrail_version was given without guardrail_identifier"),
        ({"guardrail_identifier": "g", "guardrail_version": "0"}, "guardrail_version must be"),
        ({"guardrail_identifier": "g", "guardrail_version": "123456789"}, "guardrail_version must be"),
        ({"guardrail_identifier": "g" * 2049, "guardrail_version": "1"}, "at most 2048"),
        ({"trace": "enabled"}, "trace must be one of 'ENABLED', 'DISABLED', 'ENABLED_FULL'"),
        ({"performance_config_latency": "fast"}, "performance_config_latency must be one of"),
        ({"service_tier": "gold"}, "service_tier must be one of"),
        ({"content_type": ""}, "content_type must not be empty"),
        ({"accept": "text/\r\nX-Injected: 1"}, "control character"),
        ({"accept": "caf\u00e9"}, "must be ASCII"),
        ({"body": 3.5}, "body must be bytes, str or a JSON-serialisable dict"),
        ({"body": {"x": object()}}, "not JSON-serialisable"),
        ({"body": {"x": float("nan")}}, "not JSON-serialisable"),
    ],
)
def test_invalid_arguments_are_rejected_with_a_clear_message(kwargs: dict[str, Any], fragment: str) -> None:
    args: dict[str, Any] = {"model_id": "m", "body": b"{}"}
    args.update(kwargs)
    model_id, body = args.pop("model_id"), args.pop("body")
    with pytest.raises(client.ParamValidationError, match=fragment) as info:
        request.build_invoke_request(ENDPOINT, model_id, body, **args)
    assert isinstance(info.value, ValueError)


def test_body_size_limit_is_the_service_limit() -> None:
    assert len(request.build_invoke_request(ENDPOINT, "m", b"x" * 25_000_000).body) == 25_000_000
    with pytest.raises(client.ParamValidationError, match="at most 25000000 bytes"):
        request.build_invoke_request(ENDPOINT, "m", b"x" * 25_000_001)


def test_endpoint_resolution() -> None:
    assert request.resolve_endpoint(None, "eu-west-3") == "https://bedrock-runtime.eu-west-3.amazonaws.com"
    assert request.resolve_endpoint("http://127.0.0.1:8000/", None) == "http://127.0.0.1:8000"
    assert request.resolve_endpoint("https://proxy.example/bedrock", "x") == "https://proxy.example/bedrock"
    for bad in ("ftp://host", "127.0.0.1:8000", "http://h/?q=1"):
        with pytest.raises(client.ParamValidationError, match="endpoint_url"):
            request.resolve_endpoint(bad, "us-east-1")
    for region in ("us-east-1.evil.com/", "US-EAST-1", "", "a..b"):
        with pytest.raises(client.ParamValidationError, match="region"):
            request.resolve_endpoint(None, region)


# --- retry decisions -------------------------------------------------------------------------------------


def test_backoff_is_full_jitter_capped_exponential() -> None:
    backoff = retry.Backoff(base=0.5, cap=20.0)
    assert [backoff.delay(n, rand=lambda: 1.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 20, 20]
    assert backoff.delay(3, rand=lambda: 0.0) == 0.0
    assert backoff.delay(3, rand=lambda: 0.25) == 0.5
    assert backoff.delay(10_000, rand=lambda: 1.0) == 20.0
    with pytest.raises(ValueError, match="starts at 1"):
        backoff.delay(0)
    samples = [backoff.delay(4) for _ in range(300)]
    assert all(0.0 <= s <= 4.0 for s in samples)
    assert min(samples) < 1.0 and max(samples) > 3.0  # spread over the whole range, not a fixed value


def _http_error(
    status: int, name: str | None, message: str = "m", **headers: str
) -> client.BedrockRuntimeError:
    hdrs = httpx.Headers(headers)
    if name:
        hdrs["x-amzn-errortype"] = name
    return errors.error_from_http_response(status, hdrs, json.dumps({"message": message}).encode())


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (_http_error(429, "ThrottlingException"), True),
        (_http_error(429, "ModelNotReadyException"), True),
        (_http_error(500, "InternalServerException"), True),
        (_http_error(503, "ServiceUnavailableException"), True),
        (_http_error(502, None), True),
        (_http_error(504, None), True),
        (_http_error(400, "ValidationException"), False),
        (_http_error(403, "AccessDeniedException"), False),
        (_http_error(404, "ResourceNotFoundException"), False),
        (_http_error(408, "ModelTimeoutException"), False),
        (_http_error(424, "ModelStreamErrorException"), False),
        (_http_error(400, "ServiceQuotaExceededException"), False),
    ],
)
def test_which_http_errors_are_retryable(error: client.BedrockRuntimeError, retryable: bool) -> None:
    assert retry.is_retryable(error) is retryable


def test_transport_and_stream_failures_retryability() -> None:
    def with_cause(err: client.BedrockRuntimeError, cause: BaseException) -> client.BedrockRuntimeError:
        err.__cause__ = cause
        return err

    assert retry.is_retryable(with_cause(client.EndpointConnectionError("x"), httpx.ConnectError("refused")))
    assert retry.is_retryable(with_cause(client.EndpointConnectionError("x"), httpx.ReadTimeout("slow")))
    assert not retry.is_retryable(
        with_cause(client.EndpointConnectionError("x"), httpx.UnsupportedProtocol("x"))
    )
    assert retry.is_retryable(with_cause(client.StreamError("x"), httpx.RemoteProtocolError("cut")))
    assert not retry.is_retryable(client.StreamError("corrupt frame"))
    assert not retry.is_retryable(client.UnexpectedResponseError("html", status_code=200))
    in_stream = client.ThrottlingException("t", in_stream=True, status_code=200)
    assert retry.is_retryable(in_stream)
    assert not retry.is_retryable(client.ModelStreamErrorException("m", in_stream=True, status_code=200))


SKEWED = (
    "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z (20240101T001000Z - 5 min.)"
)


def test_clock_skew_errors_are_recognised() -> None:
    assert retry.is_clock_skew_error(_http_error(403, "InvalidSignatureException", SKEWED))
    assert retry.is_clock_skew_error(
        _http_error(403, "InvalidSignatureException", "Signature not yet current: x")
    )
    assert retry.is_clock_skew_error(_http_error(403, "RequestTimeTooSkewed", "anything"))
    assert not retry.is_clock_skew_error(
        _http_error(403, "InvalidSignatureException", "The signature does not match")
    )
    assert not retry.is_clock_skew_error(_http_error(500, None, "signature expired"))


def test_clock_skew_offset_from_the_date_header() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    ahead = format_datetime(now + timedelta(minutes=17, seconds=3), usegmt=True)
    assert retry.clock_skew_offset(ahead, now) == timedelta(minutes=17, seconds=3)
    behind = format_datetime(now - timedelta(hours=2), usegmt=True)
    assert retry.clock_skew_offset(behind, now) == timedelta(hours=-2)
    assert retry.clock_skew_offset(None, now) is None
    assert retry.clock_skew_offset("not a date", now) is None
    assert retry.clock_skew_offset(format_datetime(now + timedelta(days=3), usegmt=True), now) is None


def test_retry_policy_counts_attempts_and_allows_one_skew_correction() -> None:
    policy = retry.RetryPolicy(3, retry.Backoff(base=1.0), rand=lambda: 1.0)
    throttled = _http_error(429, "ThrottlingException")
    policy.start_attempt()
    assert policy.after_failure(throttled) == retry.RetryAction(retry=True, delay=1.0)
    policy.start_attempt()
    assert policy.after_failure(throttled) == retry.RetryAction(retry=True, delay=2.0)
    policy.start_attempt()
    assert policy.after_failure(throttled) == retry.RetryAction(retry=False)
    assert policy.retries == 2

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    skewed = _http_error(403, "InvalidSignatureException", SKEWED)
    policy = retry.RetryPolicy(1, retry.Backoff())
    policy.start_attempt()
    date = format_datetime(now + timedelta(minutes=30), usegmt=True)
    action = policy.after_failure(skewed, date_header=date, local_now=now)
    assert action == retry.RetryAction(retry=True, delay=0.0, clock_offset=timedelta(minutes=30))
    policy.start_attempt()  # the corrected attempt does not use up the single allowed attempt...
    assert policy.after_failure(skewed, date_header=date, local_now=now) == retry.RetryAction(retry=False)
    assert policy.retries == 1  # ...but is reported as a retry

    with pytest.raises(ValueError, match="at least 1"):
        retry.RetryPolicy(0, retry.Backoff())


def test_public_names_are_exported() -> None:
    expected = {
        "BedrockRuntimeClient",
        "AsyncBedrockRuntimeClient",
        "ResponseStream",
        "AsyncResponseStream",
        "Chunk",
        "BedrockRuntimeError",
        "StreamError",
        "UnmodeledStreamError",
        *(name for name, _ in DOCUMENTED),
    }
    assert expected <= set(client.__all__)
    for name in client.__all__:
        assert getattr(client, name).__doc__, f"client.{name} has no docstring"
    for name, status in DOCUMENTED:
        assert issubclass(getattr(client, name), client.BedrockRuntimeError), (name, status)
