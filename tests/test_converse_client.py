"""The four inference operations end to end on both clients, against a scripted loopback server.

ConverseStream: typed events in order, the accumulated answer, a stream cut before ``messageStop`` (a
``StreamError``, never a silent end), in-stream exceptions (typed, retried before the first event like their
HTTP twins). Converse, InvokeModel and CountTokens: the request on the wire, the typed answer, typed errors
and retries. Argument mistakes fail before anything is sent.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from typing import Any

import anyio
import pytest

import client
from test_client_helpers import Loopback, Reply, event_frame, exception_frame, loopback
from test_client_stream import make_async_client, make_client

__all__ = ["loopback"]

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES: list[Any] = [{"role": "user", "content": [{"text": "Say hello"}]}]


def ev(event_type: str, payload: dict[str, Any]) -> bytes:
    # The service pads every event with a random-length "p" member; it must be ignored.
    return event_frame(event_type, json.dumps({**payload, "p": "abcdefgh"}).encode())


def converse_frames(*, stop: bool = True, metadata: bool = True) -> list[bytes]:
    frames = [
        ev("messageStart", {"role": "assistant"}),
        ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
        ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ", world"}}),
        ev("contentBlockStop", {"contentBlockIndex": 0}),
        ev(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t-1", "name": "weather"}}},
        ),
        ev("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city": '}}}),
        ev("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '"Paris"}'}}}),
        ev("contentBlockStop", {"contentBlockIndex": 1}),
    ]
    if stop:
        frames.append(ev("messageStop", {"stopReason": "tool_use"}))
    if metadata:
        frames.append(
            ev(
                "metadata",
                {
                    "usage": {
                        "inputTokens": 12,
                        "outputTokens": 7,
                        "totalTokens": 19,
                        "cacheReadInputTokens": 3,
                    },
                    "metrics": {"latencyMs": 42},
                },
            )
        )
    return frames


def check_answer(response: client.ConverseResponse) -> None:
    assert response.text == "Hello, world"
    assert response.stop_reason == "tool_use"
    assert [(t.tool_use_id, t.name, t.input) for t in response.tool_uses] == [
        ("t-1", "weather", {"city": "Paris"})
    ]
    assert response.usage is not None
    assert response.usage.to_dict() == {
        "inputTokens": 12,
        "outputTokens": 7,
        "totalTokens": 19,
        "cacheReadInputTokens": 3,
    }
    assert response.request_id == "req-1"
    answer = response.to_dict()
    assert answer["output"]["message"]["content"] == [
        {"text": "Hello, world"},
        {"toolUse": {"toolUseId": "t-1", "name": "weather", "input": {"city": "Paris"}}},
    ]
    assert answer["metrics"] == {"latencyMs": 42}


EXPECTED_TYPES = [
    "messageStart",
    "contentBlockDelta",
    "contentBlockDelta",
    "contentBlockStop",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
]


def test_converse_stream_yields_typed_events_and_accumulates(loopback: Loopback) -> None:
    loopback.add(Reply.stream(*converse_frames()))
    with (
        make_client(loopback) as bedrock,
        bedrock.converse_stream(
            MODEL, MESSAGES, inference_config={"maxTokens": 100}, system=[{"text": "be brief"}]
        ) as stream,
    ):
        events = list(stream)
        assert [e.type for e in events] == EXPECTED_TYPES
        assert isinstance(events[0], client.MessageStart) and events[0].role == "assistant"
        delta = events[1]
        assert isinstance(delta, client.ContentBlockDelta) and isinstance(delta.delta, client.TextDelta)
        assert delta.to_dict() == {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hello"}}}
        check_answer(stream.response)
    request = loopback.requests[0]
    assert request.target == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    assert json.loads(request.body) == {
        "messages": MESSAGES,
        "system": [{"text": "be brief"}],
        "inferenceConfig": {"maxTokens": 100},
    }
    assert request.headers["content-type"] == "application/json"
    assert "authorization" in request.headers


def test_converse_stream_text_deltas(loopback: Loopback) -> None:
    loopback.add(Reply.stream(*converse_frames()))
    with make_client(loopback) as bedrock, bedrock.converse_stream(MODEL, MESSAGES) as stream:
        assert "".join(stream.text_deltas()) == "Hello, world"
        check_answer(stream.response)


def test_async_converse_stream(loopback: Loopback) -> None:
    loopback.add(Reply.stream(*converse_frames()))

    async def main() -> tuple[list[str], client.ConverseResponse, str]:
        async with make_async_client(loopback) as bedrock:
            stream = await bedrock.converse_stream(MODEL, MESSAGES)
            async with stream:
                types = [event.type async for event in stream]
                response = stream.response
        loopback.add(Reply.stream(*converse_frames()))
        async with make_async_client(loopback) as bedrock:
            stream = await bedrock.converse_stream(MODEL, MESSAGES)
            async with stream:
                text = "".join([piece async for piece in stream.text_deltas()])
        return types, response, text

    types, response, text = anyio.run(main)
    assert types == EXPECTED_TYPES
    check_answer(response)
    assert text == "Hello, world"


def test_response_before_the_end_is_an_error(loopback: Loopback) -> None:
    loopback.add(Reply.stream(*converse_frames()))
    with make_client(loopback) as bedrock, bedrock.converse_stream(MODEL, MESSAGES) as stream:
        next(stream)
        with pytest.raises(client.StreamError, match="read to its end"):
            _ = stream.response


@pytest.mark.parametrize("metadata", [True, False])
def test_a_stream_without_message_stop_is_a_stream_error_sync(loopback: Loopback, metadata: bool) -> None:
    loopback.add(Reply.stream(*converse_frames(stop=False, metadata=metadata)))
    seen: list[str] = []
    with make_client(loopback) as bedrock, bedrock.converse_stream(MODEL, MESSAGES) as stream:
        with pytest.raises(client.StreamError, match="without messageStop") as caught:
            for event in stream:
                seen.append(event.type)
        assert caught.value.request_id == "req-1"
        # every event before the cut was delivered, once
        assert seen == EXPECTED_TYPES[:8] + (["metadata"] if metadata else [])
        with pytest.raises(client.StreamError):
            _ = stream.response
        with pytest.raises(client.StreamError):  # sticky
            next(stream)


def test_a_stream_without_message_stop_is_a_stream_error_async(loopback: Loopback) -> None:
    loopback.add(Reply.stream(*converse_frames(stop=False)))

    async def main() -> list[str]:
        seen: list[str] = []
        async with make_async_client(loopback) as bedrock:
            stream = await bedrock.converse_stream(MODEL, MESSAGES)
            async with stream:
                with pytest.raises(client.StreamError, match="without messageStop"):
                    async for event in stream:
                        seen.append(event.type)
        return seen

    assert anyio.run(main) == [*EXPECTED_TYPES[:8], "metadata"]


def test_a_stream_cut_mid_frame_is_a_stream_error(loopback: Loopback) -> None:
    frames = converse_frames()
    loopback.add(Reply.stream(*frames[:3], frames[3][:7]))
    with (
        make_client(loopback) as bedrock,
        bedrock.converse_stream(MODEL, MESSAGES) as stream,
        pytest.raises(client.StreamError, match="mid-frame"),
    ):
        list(stream)


def test_in_stream_exception_after_events_raises_its_class(loopback: Loopback) -> None:
    frames = converse_frames()
    loopback.add(
        Reply.stream(
            *frames[:2],
            exception_frame(
                "modelStreamErrorException",
                {"message": "boom", "originalStatusCode": 500, "originalMessage": "model fell over"},
            ),
        )
    )
    seen = []
    with (
        make_client(loopback) as bedrock,
        bedrock.converse_stream(MODEL, MESSAGES) as stream,
        pytest.raises(client.ModelStreamErrorException) as caught,
    ):
        for event in stream:
            seen.append(event.type)
    assert seen == ["messageStart", "contentBlockDelta"]
    assert caught.value.original_status_code == 500
    assert caught.value.in_stream
    assert len(loopback.requests) == 1  # events were yielded: never retried


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_retryable_in_stream_exception_before_any_event_is_retried(loopback: Loopback, mode: str) -> None:
    loopback.add(
        Reply.stream(exception_frame("throttlingException", {"message": "slow down"})),
        Reply.stream(*converse_frames()),
    )
    if mode == "sync":
        with make_client(loopback) as bedrock:
            bedrock._config = dataclasses.replace(bedrock._config, backoff=client.retry.Backoff(base=0.0))
            with bedrock.converse_stream(MODEL, MESSAGES) as stream:
                types = [e.type for e in stream]
                response = stream.response
                retries = stream.retry_attempts
    else:

        async def main() -> tuple[list[str], client.ConverseResponse, int]:
            async with make_async_client(loopback) as bedrock:
                bedrock._config = dataclasses.replace(bedrock._config, backoff=client.retry.Backoff(base=0.0))
                stream = await bedrock.converse_stream(MODEL, MESSAGES)
                async with stream:
                    types = [e.type async for e in stream]
                    return types, stream.response, stream.retry_attempts

        types, response, retries = anyio.run(main)
    assert types == EXPECTED_TYPES
    check_answer(response)
    assert retries == 1
    assert len(loopback.requests) == 2


def test_unknown_event_and_delta_kinds_are_yielded_not_dropped(loopback: Loopback) -> None:
    loopback.add(
        Reply.stream(
            ev("messageStart", {"role": "assistant"}),
            ev("somethingNew", {"x": 1}),
            ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"hologram": {"frames": 3}}}),
            ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "ok"}}),
            ev("contentBlockStop", {"contentBlockIndex": 0}),
            ev("messageStop", {"stopReason": "end_turn"}),
        )
    )
    with make_client(loopback) as bedrock, bedrock.converse_stream(MODEL, MESSAGES) as stream:
        events = list(stream)
        assert isinstance(events[1], client.UnknownEvent)
        assert events[1].type == "somethingNew"
        delta = events[2]
        assert isinstance(delta, client.ContentBlockDelta)
        assert isinstance(delta.delta, client.UnknownDelta) and delta.delta.type == "hologram"
        assert stream.response.text == "ok"


def test_bad_tool_input_json_names_the_block(loopback: Loopback) -> None:
    loopback.add(
        Reply.stream(
            ev("messageStart", {"role": "assistant"}),
            ev(
                "contentBlockStart",
                {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "t", "name": "n"}}},
            ),
            ev("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": '{"a": '}}}),
            ev("contentBlockStop", {"contentBlockIndex": 3}),
            ev("messageStop", {"stopReason": "tool_use"}),
        )
    )
    with (
        make_client(loopback) as bedrock,
        bedrock.converse_stream(MODEL, MESSAGES) as stream,
        pytest.raises(client.ToolInputError, match="3"),
    ):
        list(stream)


CONVERSE_ANSWER = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello, world"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
    "metrics": {"latencyMs": 99},
}


def json_reply(obj: Any, *, status: int = 200, content_type: str = "application/json") -> Reply:
    return Reply(
        status=status,
        headers=[("Content-Type", content_type), ("x-amzn-RequestId", "req-json")],
        parts=[json.dumps(obj).encode() if not isinstance(obj, bytes) else obj],
        chunked=False,
    )


def test_converse_returns_the_answer(loopback: Loopback) -> None:
    loopback.add(json_reply(CONVERSE_ANSWER))
    with make_client(loopback) as bedrock:
        response = bedrock.converse(MODEL, MESSAGES, inference_config={"temperature": 0.5})
    assert response.text == "Hello, world"
    assert response.stop_reason == "end_turn"
    assert response.request_id == "req-json"
    assert response.to_dict() == CONVERSE_ANSWER
    assert loopback.requests[0].target.endswith("/converse")
    assert json.loads(loopback.requests[0].body)["inferenceConfig"] == {"temperature": 0.5}


def test_async_converse_invoke_and_count_tokens(loopback: Loopback) -> None:
    loopback.add(
        json_reply(CONVERSE_ANSWER),
        json_reply({"completion": "hi"}),
        json_reply({"inputTokens": 17}),
    )

    async def main() -> tuple[client.ConverseResponse, client.InvokeModelResponse, int]:
        async with make_async_client(loopback) as bedrock:
            return (
                await bedrock.converse(MODEL, MESSAGES),
                await bedrock.invoke_model(MODEL, {"prompt": "x"}),
                await bedrock.count_tokens(MODEL, messages=MESSAGES),
            )

    response, invoked, tokens = anyio.run(main)
    assert response.to_dict() == CONVERSE_ANSWER
    assert invoked.json() == {"completion": "hi"}
    assert tokens == 17


def test_converse_error_answers_are_typed_and_retried(loopback: Loopback) -> None:
    loopback.add(
        Reply.error(429, "ThrottlingException", "slow down"),
        Reply.error(400, "ValidationException", "bad input", request_id="req-v"),
    )
    with make_client(loopback) as bedrock:
        bedrock._config = dataclasses.replace(bedrock._config, backoff=client.retry.Backoff(base=0.0))
        with pytest.raises(client.ValidationException) as caught:
            bedrock.converse(MODEL, MESSAGES)
    assert caught.value.request_id == "req-v"
    assert caught.value.retry_attempts == 1
    assert len(loopback.requests) == 2


def test_a_converse_answer_that_is_not_json_is_an_unexpected_response(loopback: Loopback) -> None:
    loopback.add(json_reply(b"<html>proxy</html>", content_type="text/html"))
    with make_client(loopback) as bedrock, pytest.raises(client.UnexpectedResponseError, match="proxy"):
        bedrock.converse(MODEL, MESSAGES)


def test_invoke_model(loopback: Loopback) -> None:
    loopback.add(
        Reply(
            headers=[
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", "req-i"),
                ("X-Amzn-Bedrock-PerformanceConfig-Latency", "optimized"),
                ("X-Amzn-Bedrock-Service-Tier", "priority"),
            ],
            parts=[b'{"content": [{"type": "text", "text": "hi"}]}'],
            chunked=True,
        )
    )
    with make_client(loopback) as bedrock:
        answer = bedrock.invoke_model(
            MODEL,
            {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []},
            accept="application/json",
            performance_config_latency="optimized",
            service_tier="priority",
            trace="ENABLED",
        )
    assert answer.body == b'{"content": [{"type": "text", "text": "hi"}]}'
    assert answer.json()["content"][0]["text"] == "hi"
    assert answer.content_type == "application/json"
    assert answer.request_id == "req-i"
    assert answer.performance_config_latency == "optimized"
    assert answer.service_tier == "priority"
    request = loopback.requests[0]
    assert request.target == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
    # InvokeModel's wanted answer type is the HTTP Accept header (the stream's is X-Amzn-Bedrock-Accept).
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-amzn-bedrock-trace"] == "ENABLED"
    assert request.headers["x-amzn-bedrock-service-tier"] == "priority"


def test_invoke_model_answer_that_is_not_json(loopback: Loopback) -> None:
    loopback.add(json_reply(b"\x89PNG", content_type="image/png"))
    with make_client(loopback) as bedrock:
        answer = bedrock.invoke_model(MODEL, b"{}", accept="image/png")
    assert answer.body == b"\x89PNG" and answer.content_type == "image/png"
    with pytest.raises(client.UnexpectedResponseError, match="not JSON"):
        answer.json()


def test_invoke_model_cut_answer_is_retried_then_typed(loopback: Loopback) -> None:
    cut = Reply(
        headers=[("Content-Type", "application/json"), ("Content-Length", "100")],
        parts=[b"{"],
        chunked=False,
        drop=True,
    )
    loopback.add(cut, json_reply({"ok": True}))
    with make_client(loopback) as bedrock:
        bedrock._config = dataclasses.replace(bedrock._config, backoff=client.retry.Backoff(base=0.0))
        answer = bedrock.invoke_model(MODEL, b"{}")
    assert answer.json() == {"ok": True}
    assert answer.retry_attempts == 1


def test_count_tokens_both_forms(loopback: Loopback) -> None:
    loopback.add(json_reply({"inputTokens": 11}), json_reply({"inputTokens": 4}))
    with make_client(loopback) as bedrock:
        assert bedrock.count_tokens(MODEL, body={"prompt": "hello"}) == 11
        assert bedrock.count_tokens(MODEL, messages=MESSAGES, system=[{"text": "s"}]) == 4
    first, second = (json.loads(r.body) for r in loopback.requests)
    assert json.loads(base64.b64decode(first["input"]["invokeModel"]["body"])) == {"prompt": "hello"}
    assert second == {"input": {"converse": {"messages": MESSAGES, "system": [{"text": "s"}]}}}
    assert loopback.requests[0].target.endswith("/count-tokens")


def test_count_tokens_answer_without_a_count_is_an_unexpected_response(loopback: Loopback) -> None:
    loopback.add(json_reply({"tokens": "many"}))
    with make_client(loopback) as bedrock, pytest.raises(client.UnexpectedResponseError, match="inputTokens"):
        bedrock.count_tokens(MODEL, messages=MESSAGES)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda b: b.converse(MODEL, [{"role": "user", "content": "not a list"}]), "messages[0].content"),
        (lambda b: b.converse_stream(MODEL, [{"role": "robot", "content": []}]), "messages[0].role"),
        (lambda b: b.count_tokens(MODEL), "exactly one"),
        (lambda b: b.count_tokens(MODEL, body=b"{}", messages=MESSAGES), "exactly one"),
        (lambda b: b.invoke_model(MODEL, b"{}", trace="LOUD"), "trace"),
        (lambda b: b.invoke_model("", b"{}"), "model_id"),
    ],
)
def test_bad_arguments_fail_before_sending(loopback: Loopback, call: Any, fragment: str) -> None:
    expected = pytest.raises(client.ParamValidationError, match=re.escape(fragment))
    with make_client(loopback) as bedrock, expected:
        call(bedrock)
    assert loopback.requests == []


def test_stream_response_carries_the_http_exchange(loopback: Loopback) -> None:
    loopback.add(
        Reply.stream(exception_frame("throttlingException", {"message": "x"})),
        Reply.stream(*converse_frames()),
    )
    with make_client(loopback) as bedrock:
        bedrock._config = dataclasses.replace(bedrock._config, backoff=client.retry.Backoff(base=0.0))
        with bedrock.converse_stream(MODEL, MESSAGES) as stream:
            list(stream)
            response = stream.response
    assert response.request_id == "req-1"
    assert response.retry_attempts == 1
    assert response.headers["x-amzn-requestid"] == "req-1"
