"""client.compat against boto3 itself: the same recorded streams and error responses, served from one loopback
server to both, must give the same dicts, events, exception classes, ``.response`` and messages."""

from __future__ import annotations

import io
import json
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

import client
from client import compat
from eventstream import Message, encode
from test_client_helpers import (
    EVENTSTREAM,
    Loopback,
    Reply,
    chunk_frame,
    error_frame,
    event_frame,
    exception_frame,
    json_chunk,
    loopback,
)
from test_converse_botocore import CONVERSE_SHAPE, STREAM_SHAPE, known_members

__all__ = ["loopback"]

KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass
class Outcome:
    """What a caller observes: the response dict (without body), the events, and the error, if any."""

    result: dict[str, Any] | None
    events: list[Any]
    error_class: str | None
    error_response: dict[str, Any] | None
    error_text: str | None


def _observe(make: Any, **kwargs: Any) -> Outcome:
    events: list[Any] = []
    result = None
    try:
        response = make().invoke_model_with_response_stream(**kwargs)
        result = {k: v for k, v in response.items() if k != "body"}
        for event in response["body"]:
            events.append(event)
    except (botocore.exceptions.ClientError, compat.ClientError) as err:
        return Outcome(result, events, type(err).__name__, err.response, str(err))
    return Outcome(result, events, None, None, None)


def _boto3(server: Loopback, total_max_attempts: int) -> Any:
    config = botocore.config.Config(retries={"total_max_attempts": total_max_attempts})
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=config,
    )


def _compat(server: Loopback, total_max_attempts: int) -> compat.BedrockRuntime:
    config = botocore.config.Config(retries={"total_max_attempts": total_max_attempts})
    return compat.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=config,
    )


def differential(server: Loopback, replies: list[Reply], attempts: int = 1, **kwargs: Any) -> Outcome:
    """Serve ``replies`` to boto3, then the same to compat; assert they observed the same; return it."""
    kwargs.setdefault("modelId", MODEL)
    kwargs.setdefault("body", b'{"prompt": "hi"}')
    server.add(*replies)
    expected = _observe(lambda: _boto3(server, attempts), **kwargs)
    assert not server.replies, "boto3 did not consume the scripted replies"
    server.add(*[Reply(**{**r.__dict__, "sent": type(r.sent)()}) for r in replies])
    got = _observe(lambda: _compat(server, attempts), **kwargs)
    assert got == expected
    return got


FAMILY_CHUNKS = [
    {"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "usage": {"input_tokens": 9}}},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hello \u00e9\u4e16"},
    },
    {"outputText": "Hi", "index": 0, "totalOutputTextTokenCount": 2, "completionReason": "FINISH"},
    {"generation": " there", "prompt_token_count": None, "generation_token_count": 3, "stop_reason": None},
    {"outputs": [{"text": "!", "stop_reason": "stop"}]},
    {
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 9,
            "outputTokenCount": 4,
            "invocationLatency": 321,
            "firstByteLatency": 123,
        },
    },
]


def test_stream_matches_boto3(loopback: Loopback) -> None:
    reply = Reply(
        headers=[
            ("Content-Type", EVENTSTREAM),
            ("x-amzn-RequestId", "6f1c9e3a-0000-4000-8000-000000000001"),
            ("X-Amzn-Bedrock-Content-Type", "application/json"),
            ("X-Amzn-Bedrock-PerformanceConfig-Latency", "optimized"),
            ("X-Amzn-Bedrock-Service-Tier", "default"),
            ("Date", "Wed, 25 Nov 2026 12:00:00 GMT"),
        ],
        parts=[json_chunk(c) for c in FAMILY_CHUNKS]
        + [chunk_frame(b"not even json \x00\xff", compact=False), event_frame("someFutureEvent")],
    )
    got = differential(loopback, [reply], attempts=3)
    assert got.error_class is None and len(got.events) == len(FAMILY_CHUNKS) + 1
    assert got.events[1] == {"chunk": {"bytes": json.dumps(FAMILY_CHUNKS[1]).encode()}}
    assert got.result is not None
    assert got.result["performanceConfigLatency"] == "optimized" and got.result["serviceTier"] == "default"
    assert got.result["ResponseMetadata"]["RetryAttempts"] == 0


@pytest.mark.parametrize(
    "exception_type",
    [
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "modelTimeoutException",
        "serviceUnavailableException",
    ],
)
def test_in_stream_exceptions_match_boto3(loopback: Loopback, exception_type: str) -> None:
    payload: dict[str, Any] = {"message": f"{exception_type} after two chunks"}
    if exception_type == "modelStreamErrorException":
        payload.update(originalStatusCode=500, originalMessage="the model crashed")
    reply = Reply.stream(json_chunk({"n": 1}), json_chunk({"n": 2}), exception_frame(exception_type, payload))
    got = differential(loopback, [reply], attempts=3)
    assert got.error_class == "EventStreamError" and len(got.events) == 2
    assert got.error_response == {"Error": {"Code": exception_type, "Message": payload["message"]}}


def test_in_stream_error_message_and_odd_payloads_match_boto3(loopback: Loopback) -> None:
    got = differential(loopback, [Reply.stream(json_chunk({}), error_frame("InternalFailure", "boom"))])
    assert got.error_response == {"Error": {"Code": "InternalFailure", "Message": "boom"}}
    got = differential(
        loopback, [Reply.stream(exception_frame("throttlingException", b"plain text, not JSON"))]
    )
    assert got.error_response == {"Error": {"Code": "throttlingException", "Message": "plain text, not JSON"}}
    got = differential(loopback, [Reply.stream(exception_frame("validationException", {"other": 1}))])
    assert got.error_response == {"Error": {"Code": "validationException", "Message": ""}}


DOCUMENTED = [
    ("AccessDeniedException", 403, {}),
    ("ResourceNotFoundException", 404, {}),
    ("ThrottlingException", 429, {}),
    ("ModelNotReadyException", 429, {}),
    ("ModelTimeoutException", 408, {}),
    ("InternalServerException", 500, {}),
    ("ServiceUnavailableException", 503, {}),
    ("ModelStreamErrorException", 424, {"originalStatusCode": 502, "originalMessage": "upstream"}),
    ("ModelErrorException", 424, {"originalStatusCode": 500, "resourceName": "arn:aws:bedrock:x"}),
    ("ValidationException", 400, {}),
    ("ServiceQuotaExceededException", 400, {}),
]


@pytest.mark.parametrize(("name", "status", "extra"), DOCUMENTED)
def test_http_errors_match_boto3(loopback: Loopback, name: str, status: int, extra: dict[str, Any]) -> None:
    reply = Reply.error(status, name, f"{name}: details", request_id="b7a5e0c2-1111", **extra)
    got = differential(loopback, [reply], attempts=1)
    assert got.error_class == name
    assert got.error_response is not None
    assert got.error_response["Error"] == {"Message": f"{name}: details", "Code": name}
    assert got.error_response["ResponseMetadata"]["RequestId"] == "b7a5e0c2-1111"
    for key, value in extra.items():
        assert got.error_response[key] == value


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (418, [("Content-Type", "application/json"), ("x-amzn-RequestId", "r1")], b'{"message": "teapot"}'),
        (
            400,
            [("Content-Type", "application/json")],
            b'{"__type": "com.amazon#ValidationException", "message": "m"}',
        ),
        (403, [("x-amzn-ErrorType", "UnrecognizedClientException:http://x/")], b'{"Message": "bad token"}'),
        (400, [("Content-Type", "text/plain"), ("x-amzn-RequestId", "r2")], b"not json at all"),
        (
            502,
            [("Content-Type", "text/html"), ("x-amzn-RequestId", "r3")],
            b"<html><b>Bad Gateway</b></html>",
        ),
        (504, [], b""),
        (
            400,
            [("Content-Type", "application/json")],
            b'{"code": "ServiceQuotaExceededException", "message": "q"}',
        ),
    ],
)
def test_unusual_error_responses_match_boto3(
    loopback: Loopback, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    reply = Reply(status=status, headers=headers, parts=[body], chunked=False)
    got = differential(loopback, [reply], attempts=1)
    assert got.error_class is not None


def test_retry_metadata_matches_boto3(loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ours sleeps through client.runtime; boto3 through time.sleep in its retry handler. Neither is needed.
    monkeypatch.setattr(client.runtime, "_sleep", lambda _delay: None)
    monkeypatch.setattr("botocore.retries.standard.time.sleep", lambda _delay: None, raising=False)
    throttled = Reply.error(429, "ThrottlingException", "slow down")
    got = differential(loopback, [throttled, Reply.stream(json_chunk({"n": 1}))], attempts=3)
    assert got.result is not None and got.result["ResponseMetadata"]["RetryAttempts"] == 1
    exhausted = [Reply.error(503, "ServiceUnavailableException", "busy") for _ in range(2)]
    got = differential(loopback, exhausted, attempts=2)
    assert got.error_response is not None
    assert got.error_response["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert got.error_text is not None and "(reached max retries: 1)" in got.error_text


def test_request_matches_boto3(loopback: Loopback) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    kwargs = {
        "modelId": arn,
        "body": b'{"anthropic_version": "bedrock-2023-05-31"}',
        "contentType": "application/json",
        "accept": "application/json",
        "trace": "ENABLED_FULL",
        "guardrailIdentifier": "abc123",
        "guardrailVersion": "DRAFT",
        "performanceConfigLatency": "standard",
        "serviceTier": "flex",
    }
    differential(loopback, [Reply.stream(json_chunk({}))], attempts=3, **kwargs)
    theirs, ours = loopback.requests
    assert ours.target == theirs.target and ours.body == theirs.body
    wanted = {"content-type", "accept-encoding"}
    picked = [
        {k: v for k, v in r.headers.items() if k.startswith("x-amzn-bedrock-") or k in wanted}
        for r in (theirs, ours)
    ]
    assert picked[0] == picked[1] and len(picked[0]) == 8
    assert (
        ours.headers["authorization"]
        .split("Signature=")[0]
        .startswith(theirs.headers["authorization"].split("SignedHeaders=")[0])
    )


# --- where compat deliberately differs -------------------------------------------------------------------


def test_truncated_stream_raises_where_boto3_ends_silently(loopback: Loopback) -> None:
    frames = [json_chunk({"n": 1}), json_chunk({"n": 2})[:20]]
    loopback.add(Reply.stream(*frames))
    response = _boto3(loopback, 1).invoke_model_with_response_stream(modelId=MODEL, body=b"{}")
    assert len(list(response["body"])) == 1  # boto3: one event, then a silent end
    loopback.add(Reply.stream(*frames))
    response = _compat(loopback, 1).invoke_model_with_response_stream(modelId=MODEL, body=b"{}")
    got = []
    with pytest.raises(client.StreamError, match="mid-frame"):
        for event in response["body"]:
            got.append(event)
    assert got == [{"chunk": {"bytes": b'{"n": 1}'}}]


def test_200_json_raises_where_boto3_feeds_it_to_the_decoder(loopback: Loopback) -> None:
    short = Reply(headers=[("Content-Type", "application/json")], parts=[b'{"x": 1}'], chunked=False)
    long = Reply(
        headers=[("Content-Type", "application/json")],
        parts=[b'{"message": "an error explained in JSON, long enough"}'],
        chunked=False,
    )
    loopback.add(short, long)
    boto = _boto3(loopback, 1)
    # boto3 decodes the JSON as frames: a short body ends silently, a longer one is a "checksum mismatch".
    assert list(boto.invoke_model_with_response_stream(modelId=MODEL, body=b"{}")["body"]) == []
    with pytest.raises(Exception, match="Checksum mismatch"):
        list(boto.invoke_model_with_response_stream(modelId=MODEL, body=b"{}")["body"])
    for reply in (short, long):
        loopback.add(Reply(**{**reply.__dict__, "sent": type(reply.sent)()}))
        with pytest.raises(client.UnexpectedResponseError, match="application/json"):
            _compat(loopback, 1).invoke_model_with_response_stream(modelId=MODEL, body=b"{}")


# --- the drop-in's surface --------------------------------------------------------------------------------


def test_exceptions_namespace_mirrors_boto3() -> None:
    theirs = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    ours = compat.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    names = {n for n in dir(theirs.exceptions) if not n.startswith("_")}
    assert names <= set(vars(ours.exceptions)) | {"from_code"}
    for name in names - {"from_code", "ClientError"}:
        assert issubclass(getattr(ours.exceptions, name), compat.ClientError)
    assert ours.exceptions.from_code("ThrottlingException") is compat.ThrottlingException
    assert ours.exceptions.from_code("Nope") is compat.ClientError
    assert issubclass(compat.EventStreamError, compat.ClientError)
    assert ours.meta.region_name == "us-east-1"
    ours.close()


def test_arguments_are_checked_like_boto3(loopback: Loopback) -> None:
    bedrock = _compat(loopback, 1)
    with pytest.raises(TypeError, match="only accepts keyword arguments"):
        bedrock.invoke_model_with_response_stream(MODEL, b"{}")
    with pytest.raises(client.ParamValidationError, match='Missing required parameter in input: "modelId"'):
        bedrock.invoke_model_with_response_stream(body=b"{}")
    with pytest.raises(client.ParamValidationError, match='Unknown parameter in input: "modelID"'):
        bedrock.invoke_model_with_response_stream(modelID=MODEL, body=b"{}")
    with pytest.raises(client.ParamValidationError, match="not supported"):
        bedrock.invoke_model_with_response_stream(modelId=MODEL, body=b"{}", requestMetadata={"a": "b"})
    assert loopback.requests == []


def test_file_like_body_session_and_close(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({"n": 1})), Reply.stream(json_chunk({"n": 2})))
    with compat.Session(
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, region_name="eu-west-1"
    ).client("bedrock-runtime", endpoint_url=loopback.url) as bedrock:
        response = bedrock.invoke_model_with_response_stream(
            modelId=MODEL, body=io.BytesIO(b'{"from": "file"}')
        )
        with response["body"] as body:
            assert list(body) == [{"chunk": {"bytes": b'{"n": 1}'}}]
        assert isinstance(response["body"].native, client.ResponseStream)
        assert bedrock.native.region == "eu-west-1"
        response = bedrock.invoke_model_with_response_stream(modelId=MODEL, body='{"text": "str body"}')
        list(response["body"])
    assert (
        loopback.requests[0].body == b'{"from": "file"}'
        and loopback.requests[1].body == b'{"text": "str body"}'
    )
    assert "/eu-west-1/bedrock/aws4_request" in loopback.requests[0].headers["authorization"]


def test_client_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="bedrock-runtime"):
        compat.client("s3")
    with pytest.raises(client.ParamValidationError, match="Partial credentials"):
        compat.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="only-the-id")
    plain = compat.client(
        "bedrock-runtime",
        region_name="us-west-2",
        use_ssl=False,
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    assert plain.meta.endpoint_url == "http://bedrock-runtime.us-west-2.amazonaws.com"
    config = botocore.config.Config(
        region_name="ca-central-1", connect_timeout=3, read_timeout=90, retries={"max_attempts": 4}
    )
    configured = compat.client(
        "bedrock-runtime", config=config, aws_access_key_id="a", aws_secret_access_key="b"
    )
    settings = configured.native._config
    assert configured.meta.region_name == "ca-central-1"
    assert settings.max_attempts == 5  # botocore's max_attempts counts retries
    assert settings.timeout is not None and (settings.timeout.connect, settings.timeout.read) == (3.0, 90.0)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    assert compat.client("bedrock-runtime", region_name="us-east-1").native._config.max_attempts == 7


def test_client_errors_pickle() -> None:
    err = compat.ThrottlingException({"Error": {"Code": "ThrottlingException", "Message": "m"}}, "Op")
    clone = pickle.loads(pickle.dumps(err))
    assert (
        type(clone) is compat.ThrottlingException
        and clone.response == err.response
        and str(clone) == str(err)
    )


# --- invoke_model, count_tokens, converse, converse_stream against boto3 -----------------------------------

REAL_DATA = Path(
    os.environ.get("BEDROCK_STREAM_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "real_data")
)
# A spread of real ConverseStream bodies: text, tool use, reasoning (signed and redacted), citations,
# server-side tool results, guardrail traces, prompt caching.
CONVERSE_STREAMS = [
    "dd-trace-py__cs_us.anthropic.claude-3-7-sonnet-20250219-_bedrock_converse_stream_prompt_caching_22a5ae48.bin",
    "envoy-ai-gateway__cs_anthropic.claude_openai_awsbedrock_test_28ed4077.bin",
    "langchain-aws__cs_us.anthropic.claude-sonnet-4-20250514-v1_test_citations_9f2ee896.bin",
    "langchain-aws__cs_us.anthropic.claude-sonnet-5_test_thinking-v0_4183fe78.bin",
    "openllmetry__cs_amazon.nova-lite-v1-0_test_nova_converse_stream_77ac65b1.bin",
    "pydantic-ai__cs_us.amazon.nova-2-lite-v1-0_test_bedrock_model_code_execution_tool_stream_2720111c.bin",
    "pydantic-ai__cs_us.anthropic.claude-3-7-sonnet-20250219-_test_bedrock_model_thinking_part_redacted_stream_04b6e716.bin",
    "vercel-ai__cs_eu.anthropic.claude-sonnet-4-6_issue-18994-live-converse-stream_72483ff4.bin",
]
CONVERSE_ANSWERS = [
    "langchain-aws__converse_us.anthropic.claude-sonnet-4-5-20250929-_200_c4c565ed.json",
    "langchain-aws__converse_us.anthropic.claude-sonnet-4-20250514-v1_200_9770d3e6.json",
    "openllmetry__converse_arn-aws-bedrock-us-east-1-012345678901-i_200_9c15ef5e.json",
    "pydantic-ai__converse_openai.gpt-oss-120b-1-0_200_9cc96380.json",
]
MESSAGES = [{"role": "user", "content": [{"text": "What is 2 + 2? \u00e9"}]}]


def _observe_op(make: Any, method: str, **kwargs: Any) -> Outcome:
    """Call ``method``; the result without its body or stream, and what they held (read whole)."""
    events: list[Any] = []
    result = None
    try:
        response = getattr(make(), method)(**kwargs)
        result = {k: v for k, v in response.items() if k not in ("body", "stream")}
        if "body" in response:
            events.append(response["body"].read())
        if "stream" in response:
            for event in response["stream"]:
                events.append(event)
    except (botocore.exceptions.ClientError, compat.ClientError) as err:
        return Outcome(result, events, type(err).__name__, err.response, str(err))
    return Outcome(result, events, None, None, None)


def differential_op(
    server: Loopback, replies: list[Reply], method: str, attempts: int = 1, **kwargs: Any
) -> Outcome:
    """:func:`differential` for any operation: boto3 first, then compat, on the same replies."""
    kwargs.setdefault("modelId", MODEL)
    server.add(*replies)
    expected = _observe_op(lambda: _boto3(server, attempts), method, **kwargs)
    assert not server.replies, "boto3 did not consume the scripted replies"
    server.add(*[Reply(**{**r.__dict__, "sent": type(r.sent)()}) for r in replies])
    got = _observe_op(lambda: _compat(server, attempts), method, **kwargs)
    if method == "converse_stream":
        # Members newer than this botocore's model (serverToolUsage...) are kept by us, dropped by boto3:
        # compare what the model knows (test_converse_botocore checks exactly which members those are).
        got.events = [known_members(event, STREAM_SHAPE) for event in got.events]
    elif method == "converse" and got.result is not None:
        got.result = {
            "ResponseMetadata": got.result["ResponseMetadata"],
            **known_members({k: v for k, v in got.result.items() if k != "ResponseMetadata"}, CONVERSE_SHAPE),
        }
    assert got == expected
    return got


def _json_reply(
    body: bytes, *, request_id: str = "9d7e0c1a-2222", extra: Sequence[tuple[str, str]] = ()
) -> Reply:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id), *extra]
    return Reply(headers=headers, parts=[body], chunked=False)


def test_invoke_model_matches_boto3(loopback: Loopback) -> None:
    answer = json.dumps(
        {"content": [{"type": "text", "text": "Hi \u00e9"}], "stop_reason": "end_turn"}
    ).encode()
    reply = _json_reply(
        answer,
        extra=[
            ("X-Amzn-Bedrock-PerformanceConfig-Latency", "optimized"),
            ("X-Amzn-Bedrock-Service-Tier", "flex"),
        ],
    )
    kwargs = {
        "body": b'{"messages": []}',
        "contentType": "application/json",
        "accept": "application/json",
        "trace": "ENABLED",
        "guardrailIdentifier": "g1",
        "guardrailVersion": "2",
        "performanceConfigLatency": "optimized",
        "serviceTier": "flex",
    }
    got = differential_op(loopback, [reply], "invoke_model", attempts=3, **kwargs)
    assert got.events == [answer]
    assert got.result is not None
    assert got.result["contentType"] == "application/json"
    assert (got.result["performanceConfigLatency"], got.result["serviceTier"]) == ("optimized", "flex")
    theirs, ours = loopback.requests
    assert ours.target == theirs.target and ours.body == theirs.body
    picked = [
        {
            k: v
            for k, v in r.headers.items()
            if k.startswith("x-amzn-bedrock-") or k in ("content-type", "accept")
        }
        for r in (theirs, ours)
    ]
    assert picked[0] == picked[1]


@pytest.mark.parametrize(("name", "status", "extra"), DOCUMENTED)
def test_invoke_model_errors_match_boto3(
    loopback: Loopback, name: str, status: int, extra: dict[str, Any]
) -> None:
    reply = Reply.error(status, name, f"{name}: details", request_id="c0ffee00-3333", **extra)
    got = differential_op(loopback, [reply], "invoke_model", body=b"{}")
    assert got.error_class == name
    assert got.error_text is not None and "when calling the InvokeModel operation" in got.error_text


def test_invoke_model_retry_metadata_matches_boto3(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.runtime, "_sleep", lambda _delay: None)
    monkeypatch.setattr("botocore.retries.standard.time.sleep", lambda _delay: None, raising=False)
    got = differential_op(
        loopback,
        [Reply.error(429, "ThrottlingException", "slow down"), _json_reply(b'{"ok": true}')],
        "invoke_model",
        attempts=3,
        body=b"{}",
    )
    assert got.result is not None and got.result["ResponseMetadata"]["RetryAttempts"] == 1


def test_invoke_model_streaming_body_reads_like_botocores(loopback: Loopback) -> None:
    lines = b"first line\nsecond line\r\nthird" + b"x" * 3000
    loopback.add(_json_reply(lines))
    body = _compat(loopback, 1).invoke_model(modelId=MODEL, body=b"{}")["body"]
    assert body.read(5) == b"first" and body.tell() == 5
    assert list(body.iter_lines()) == [b" line", b"second line", b"third" + b"x" * 3000]
    loopback.add(_json_reply(lines))
    body = _compat(loopback, 1).invoke_model(modelId=MODEL, body=b"{}")["body"]
    chunks = list(body)
    assert [len(c) for c in chunks] == [1024, 1024, len(lines) - 2048]
    assert b"".join(chunks) == lines
    assert body.read() == b""
    body.close()


@pytest.mark.parametrize(
    "count_input",
    [
        {"invokeModel": {"body": b'{"anthropic_version": "bedrock-2023-05-31", "messages": []}'}},
        {
            "converse": {
                "messages": MESSAGES,
                "system": [{"text": "Be brief."}],
                "additionalModelRequestFields": {"k": 1},
            }
        },
    ],
)
def test_count_tokens_matches_boto3(loopback: Loopback, count_input: dict[str, Any]) -> None:
    got = differential_op(loopback, [_json_reply(b'{"inputTokens": 42}')], "count_tokens", input=count_input)
    assert got.result is not None and got.result["inputTokens"] == 42
    theirs, ours = loopback.requests
    assert ours.target == theirs.target
    assert json.loads(ours.body) == json.loads(theirs.body)


def test_count_tokens_errors_match_boto3(loopback: Loopback) -> None:
    reply = Reply.error(400, "ValidationException", "The model does not support counting")
    got = differential_op(loopback, [reply], "count_tokens", input={"invokeModel": {"body": b"{}"}})
    assert got.error_class == "ValidationException"
    assert got.error_text is not None and "CountTokens operation" in got.error_text


def test_new_methods_check_arguments_like_boto3(loopback: Loopback) -> None:
    bedrock = _compat(loopback, 1)
    for method in ("invoke_model", "converse", "converse_stream", "count_tokens"):
        with pytest.raises(TypeError, match="only accepts keyword arguments"):
            getattr(bedrock, method)(MODEL)
        with pytest.raises(
            client.ParamValidationError, match='Missing required parameter in input: "modelId"'
        ):
            getattr(bedrock, method)()
        with pytest.raises(client.ParamValidationError, match='Unknown parameter in input: "modelID"'):
            getattr(bedrock, method)(modelID=MODEL)
    with pytest.raises(client.ParamValidationError, match='"input"'):
        bedrock.count_tokens(modelId=MODEL)
    bad_inputs: list[dict[str, Any]] = [{}, {"invokeModel": {}, "converse": {}}, {"other": {}}]
    for bad in bad_inputs:
        with pytest.raises(client.ParamValidationError, match="input"):
            bedrock.count_tokens(modelId=MODEL, input=bad)
    with pytest.raises(client.ParamValidationError, match="not supported"):
        bedrock.converse(modelId=MODEL, messages=MESSAGES, projectIdentifier="p")
    assert loopback.requests == []


class _FakeConverseStream:
    """A stand-in for client.ConverseStream (its contract's surface) to unit-test ConverseEventStream."""

    def __init__(self, items: list[Any]) -> None:
        self._items = items
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.closed = True


def test_converse_event_stream_yields_boto3_dicts_and_maps_errors() -> None:
    from client.converse_events import ContentBlockDelta, MessageStart, TextDelta, UnknownEvent

    bedrock = compat.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    throttled = client.ThrottlingException(
        "slow",
        in_stream=True,
        exception_type="throttlingException",
        body=b'{"message": "slow"}',
        status_code=200,
    )
    fake = _FakeConverseStream(
        [
            MessageStart("assistant"),
            UnknownEvent("newKind", {}),
            ContentBlockDelta(0, TextDelta("a")),
            throttled,
        ]
    )
    events: list[Any] = []
    with (
        compat.ConverseEventStream(fake, bedrock) as stream,
        pytest.raises(compat.EventStreamError) as caught,
    ):
        for event in stream:
            events.append(event)
    assert fake.closed and stream.native is fake
    # boto3 skips event types it does not know; so does the drop-in.
    assert events == [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "a"}, "contentBlockIndex": 0}},
    ]
    assert caught.value.response == {"Error": {"Code": "throttlingException", "Message": "slow"}}
    assert "ConverseStream operation" in str(caught.value)
    cut = client.StreamError("the stream ended without messageStop")
    with pytest.raises(client.StreamError, match="messageStop"):
        list(compat.ConverseEventStream(_FakeConverseStream([cut]), bedrock))
    bedrock.close()


@pytest.mark.parametrize("name", CONVERSE_STREAMS, ids=lambda n: n[:60])
def test_converse_stream_matches_boto3_on_real_recordings(loopback: Loopback, name: str) -> None:
    data = (REAL_DATA / name).read_bytes()
    reply = Reply.stream(data, request_id="3c5b8a55-4444")
    got = differential_op(loopback, [reply], "converse_stream", attempts=3, messages=MESSAGES)
    assert got.error_class is None and got.events
    assert "messageStop" in got.events[-2] and "metadata" in got.events[-1]
    assert got.result is not None and got.result["ResponseMetadata"]["RequestId"] == "3c5b8a55-4444"


@pytest.mark.parametrize("name", CONVERSE_ANSWERS, ids=lambda n: n[:60])
def test_converse_matches_boto3_on_real_recordings(loopback: Loopback, name: str) -> None:
    reply = _json_reply((REAL_DATA / name).read_bytes())
    kwargs = {
        "messages": MESSAGES,
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.2},
        "additionalModelRequestFields": {"top_k": 5},
    }
    got = differential_op(loopback, [reply], "converse", attempts=3, **kwargs)
    assert got.error_class is None and got.result is not None and "output" in got.result
    theirs, ours = loopback.requests
    assert ours.target == theirs.target and json.loads(ours.body) == json.loads(theirs.body)


@pytest.mark.parametrize(
    "exception_type",
    [
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "serviceUnavailableException",
    ],
)
def test_converse_stream_in_stream_exceptions_match_boto3(loopback: Loopback, exception_type: str) -> None:
    start = encode(
        Message(
            {":event-type": "messageStart", ":content-type": "application/json", ":message-type": "event"},
            b'{"role":"assistant","p":"abc"}',
        )
    )
    payload = {"message": f"{exception_type} after one event"}
    reply = Reply.stream(start, exception_frame(exception_type, payload))
    got = differential_op(loopback, [reply], "converse_stream", messages=MESSAGES)
    assert got.error_class == "EventStreamError" and got.events == [{"messageStart": {"role": "assistant"}}]
    assert got.error_response == {"Error": {"Code": exception_type, "Message": payload["message"]}}


@pytest.mark.parametrize(("name", "status", "extra"), DOCUMENTED[:7])
def test_converse_http_errors_match_boto3(
    loopback: Loopback, name: str, status: int, extra: dict[str, Any]
) -> None:
    for method in ("converse", "converse_stream"):
        reply = Reply.error(status, name, f"{name}: details", request_id="d00d0000-5555", **extra)
        got = differential_op(loopback, [reply], method, messages=MESSAGES)
        assert got.error_class == name


def test_converse_stream_without_message_stop_raises_where_boto3_ends_silently(loopback: Loopback) -> None:
    frames = eventstream_frames((REAL_DATA / CONVERSE_STREAMS[-1]).read_bytes())
    cut = b"".join(frames[:-2])  # everything before messageStop and metadata
    loopback.add(Reply.stream(cut))
    response = _boto3(loopback, 1).converse_stream(modelId=MODEL, messages=MESSAGES)
    assert len(list(response["stream"])) == len(frames) - 2
    loopback.add(Reply.stream(cut))
    response = _compat(loopback, 1).converse_stream(modelId=MODEL, messages=MESSAGES)
    with pytest.raises(client.StreamError, match="messageStop"):
        list(response["stream"])


def eventstream_frames(data: bytes) -> list[bytes]:
    """The frames of a recorded body, one byte string each (a frame's total length is its first u32)."""
    frames = []
    while data:
        length = int.from_bytes(data[:4], "big")
        frames.append(data[:length])
        data = data[length:]
    return frames


@pytest.mark.parametrize("operation", ["invoke_model_with_response_stream", "converse_stream", "converse"])
def test_no_credentials_is_botocores_no_credentials_error(loopback: Loopback, operation: str) -> None:
    """With no credentials anywhere, boto3 raises botocore's NoCredentialsError; the drop-in raises its
    boto3-shaped twin (same message), which is also a client.NoCredentialsError listing where it looked."""
    import botocore.exceptions

    arguments: dict[str, Any] = {"modelId": MODEL}
    if operation == "invoke_model_with_response_stream":
        arguments["body"] = b"{}"
    else:
        arguments["messages"] = MESSAGES
    theirs = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=loopback.url)
    with pytest.raises(botocore.exceptions.NoCredentialsError) as expected:
        getattr(theirs, operation)(**arguments)
    ours = compat.client("bedrock-runtime", region_name="us-east-1", endpoint_url=loopback.url)
    with pytest.raises(compat.NoCredentialsError) as got:
        getattr(ours, operation)(**arguments)
    assert str(got.value) == str(expected.value) == "Unable to locate credentials"
    assert isinstance(got.value, compat.BotoCoreError)
    assert isinstance(got.value, client.NoCredentialsError)
    assert "Looked in, in order" in str(got.value.__cause__)
    assert loopback.requests == []
