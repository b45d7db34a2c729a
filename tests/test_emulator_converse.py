"""The emulator's Converse, ConverseStream, InvokeModel and CountTokens, with boto3 as the oracle.

boto3 parses every answer through botocore's service model, so an answer it accepts has the service's shape;
raw httpx requests check what boto3 would refuse before sending (the service-side validation rules), and the
faults on the new paths.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator, Fault, FaultKind
from client.emulator.models import answer_body, resolve_model
from client.operations import CONVERSE, CONVERSE_STREAM, COUNT_TOKENS, INVOKE_MODEL
from eventstream import DecodeError, Decoder, Message
from sigv4 import Credentials
from sigv4.signer import sign_request

REGION = "us-east-1"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
PROMPT = "Name three colours of the rainbow"
# One model per family, and the native body that asks each the same PROMPT with the same limit.
NATIVE: dict[str, dict[str, Any]] = {
    CLAUDE: {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": PROMPT}],
    },
    "amazon.nova-lite-v1:0": {
        "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
        "inferenceConfig": {"maxTokens": 200},
    },
    "amazon.titan-text-express-v1": {"inputText": PROMPT, "textGenerationConfig": {"maxTokenCount": 200}},
    "meta.llama3-8b-instruct-v1:0": {"prompt": PROMPT, "max_gen_len": 200},
    "mistral.mistral-7b-instruct-v0:2": {"prompt": f"<s>[INST] {PROMPT} [/INST]", "max_tokens": 200},
    "cohere.command-r-v1:0": {"message": PROMPT, "max_tokens": 200},
}
WEATHER_TOOL: dict[str, Any] = {
    "toolSpec": {
        "name": "get_weather",
        "description": "The weather in a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            }
        },
    }
}
EXAMPLE = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def fresh() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def boto(emu: Emulator, **config: Any) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=emu.url,
        aws_access_key_id=EXAMPLE_ACCESS_KEY_ID,
        aws_secret_access_key=EXAMPLE_SECRET_ACCESS_KEY,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10, **config),
    )


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def post(
    emu: Emulator,
    model_id: str,
    action: str,
    document: Any,
    extra: dict[str, str] | None = None,
    *,
    timeout: httpx.Timeout | float = 10,
) -> httpx.Response:
    op = {o.action: o for o in (CONVERSE, CONVERSE_STREAM, COUNT_TOKENS, INVOKE_MODEL)}[action]
    url = emu.url + op.path(model_id)
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/json", **(extra or {})}
    signed = sign_request("POST", url, headers, body, credentials=EXAMPLE, region=REGION, service="bedrock")
    return httpx.post(url, headers=list(signed.headers), content=body, timeout=timeout)


def frames_of(data: bytes) -> list[Message]:
    decoder = Decoder()
    messages = decoder.feed(data)
    decoder.close()
    return messages


def stream_text(events: list[dict[str, Any]]) -> str:
    return "".join(
        event["contentBlockDelta"]["delta"].get("text", "")
        for event in events
        if "contentBlockDelta" in event
    )


# --- boto3 gets correct answers for all four operations ---


@pytest.mark.parametrize("model_id", sorted(NATIVE))
def test_converse_text_equals_the_invoke_answer_for_every_family(emu: Emulator, model_id: str) -> None:
    bedrock = boto(emu)
    invoked = bedrock.invoke_model(modelId=model_id, body=json.dumps(NATIVE[model_id]))
    assert invoked["contentType"] == "application/json"
    native = json.loads(invoked["body"].read())
    assert native == answer_body(resolve_model(model_id), model_id, NATIVE[model_id])
    answer = bedrock.converse(modelId=model_id, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 200})
    text = answer["output"]["message"]["content"][0]["text"]
    assert text.startswith("You asked: Name three colours of the rainbow")
    assert text in json.dumps(native, ensure_ascii=False) or text == _native_text(native)
    assert answer["stopReason"] == "end_turn"
    usage = answer["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert answer["metrics"]["latencyMs"] > 0
    streamed = list(
        bedrock.converse_stream(
            modelId=model_id, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 200}
        )["stream"]
    )
    assert stream_text(streamed) == text
    assert [next(iter(e)) for e in streamed[-2:]] == ["messageStop", "metadata"]
    assert streamed[-1]["metadata"]["usage"] == usage
    assert streamed[-1]["metadata"]["metrics"]["latencyMs"] == answer["metrics"]["latencyMs"]


def _native_text(native: dict[str, Any]) -> str:
    for path in (
        ("content", 0, "text"),
        ("output", "message", "content", 0, "text"),
        ("results", 0, "outputText"),
        ("generation",),
        ("outputs", 0, "text"),
        ("text",),
    ):
        node: Any = native
        try:
            for key in path:
                node = node[key]
        except (KeyError, IndexError, TypeError):
            continue
        return str(node)
    raise AssertionError(f"no text in {native}")


@pytest.mark.parametrize("model_id", sorted(NATIVE))
def test_invoke_and_converse_give_the_same_text(emu: Emulator, model_id: str) -> None:
    bedrock = boto(emu)
    native = json.loads(
        bedrock.invoke_model(modelId=model_id, body=json.dumps(NATIVE[model_id]))["body"].read()
    )
    answer = bedrock.converse(modelId=model_id, messages=[user(PROMPT)], inferenceConfig={"maxTokens": 200})
    assert answer["output"]["message"]["content"][0]["text"] == _native_text(native)


def test_invoke_model_headers_and_max_tokens(emu: Emulator) -> None:
    body = dict(NATIVE[CLAUDE], max_tokens=3)
    response = boto(emu).invoke_model(modelId=CLAUDE, body=json.dumps(body), accept="application/json")
    native = json.loads(response["body"].read())
    assert native["stop_reason"] == "max_tokens"
    assert native["content"][0]["text"] == "You asked: Name"
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-output-token-count"] == "3"
    assert headers["x-amzn-bedrock-input-token-count"] == str(native["usage"]["input_tokens"])
    assert response["performanceConfigLatency"] == "standard"


def test_count_tokens_both_forms_agree_with_usage(emu: Emulator) -> None:
    bedrock = boto(emu)
    answer = bedrock.converse(modelId=CLAUDE, messages=[user(PROMPT)])
    by_converse = bedrock.count_tokens(modelId=CLAUDE, input={"converse": {"messages": [user(PROMPT)]}})
    body = json.dumps(NATIVE[CLAUDE]).encode()
    by_invoke = bedrock.count_tokens(modelId=CLAUDE, input={"invokeModel": {"body": body}})
    assert by_converse["inputTokens"] == by_invoke["inputTokens"] == answer["usage"]["inputTokens"] == 6


def test_same_converse_request_gives_byte_identical_answers(emu: Emulator) -> None:
    document = {"messages": [user(PROMPT)], "inferenceConfig": {"maxTokens": 50}}
    for action in ("converse", "converse-stream"):
        first, second = post(emu, CLAUDE, action, document), post(emu, CLAUDE, action, document)
        assert first.status_code == 200
        assert first.content == second.content


def test_converse_stream_frames_are_typed_events_with_padding(emu: Emulator) -> None:
    response = post(emu, CLAUDE, "converse-stream", {"messages": [user("hi")]})
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    frames = frames_of(response.content)
    types = [frame.headers[":event-type"] for frame in frames]
    assert types[0] == "messageStart" and types[-2:] == ["messageStop", "metadata"]
    assert set(types) <= set(CONVERSE_STREAM.stream_events)
    for frame in frames:
        assert frame.headers[":message-type"] == "event"
        assert "p" in json.loads(frame.payload)


# --- tool use and reasoning ---


def test_tool_use_is_streamed_as_several_json_fragments(emu: Emulator) -> None:
    bedrock = boto(emu)
    kwargs: dict[str, Any] = {
        "modelId": CLAUDE,
        "messages": [user("What is the weather in Paris? Use get_weather please")],
        "toolConfig": {"tools": [WEATHER_TOOL]},
    }
    events = list(bedrock.converse_stream(**kwargs)["stream"])
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert starts[0]["start"]["toolUse"]["name"] == "get_weather"
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e
    ]
    assert len(fragments) >= 2
    tool_input = json.loads("".join(fragments))
    assert set(tool_input) == {"city", "days"} and isinstance(tool_input["days"], int)
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    answer = bedrock.converse(**kwargs)
    assert answer["stopReason"] == "tool_use"
    tool_use = answer["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["input"] == tool_input
    assert tool_use["toolUseId"] == starts[0]["start"]["toolUse"]["toolUseId"]
    # The round trip: the tool's result goes back, the model answers with text.
    result = {"toolResult": {"toolUseId": tool_use["toolUseId"], "content": [{"text": "Sunny, 21 C"}]}}
    follow_up = bedrock.converse(
        modelId=CLAUDE,
        messages=[kwargs["messages"][0], answer["output"]["message"], {"role": "user", "content": [result]}],
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    assert follow_up["stopReason"] == "end_turn"
    assert "Sunny, 21 C" in follow_up["output"]["message"]["content"][0]["text"]


def test_no_tool_use_unless_the_prompt_names_a_tool(emu: Emulator) -> None:
    answer = boto(emu).converse(
        modelId=CLAUDE, messages=[user("hello")], toolConfig={"tools": [WEATHER_TOOL]}
    )
    assert answer["stopReason"] == "end_turn"
    forced = boto(emu).converse(
        modelId=CLAUDE,
        messages=[user("hello")],
        toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_weather"}}},
    )
    assert forced["stopReason"] == "tool_use"


def test_thinking_adds_a_reasoning_block_with_a_signature(emu: Emulator) -> None:
    bedrock = boto(emu)
    kwargs: dict[str, Any] = {
        "modelId": CLAUDE,
        "messages": [user(PROMPT)],
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    }
    events = list(bedrock.converse_stream(**kwargs)["stream"])
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    reasoning = [d["delta"]["reasoningContent"] for d in deltas if d["contentBlockIndex"] == 0]
    assert any("text" in r for r in reasoning) and "signature" in reasoning[-1]
    assert all("text" in d["delta"] for d in deltas if d["contentBlockIndex"] == 1)
    content = bedrock.converse(**kwargs)["output"]["message"]["content"]
    assert content[0]["reasoningContent"]["reasoningText"]["signature"] == reasoning[-1]["signature"]
    assert content[1]["text"].startswith("You asked:")


def test_additional_model_response_field_paths(emu: Emulator) -> None:
    answer = boto(emu).converse(
        modelId=CLAUDE, messages=[user(PROMPT)], additionalModelResponseFieldPaths=["/stop_sequence", "/nope"]
    )
    assert answer["additionalModelResponseFields"] == {"stop_sequence": None}


# --- validation like the service ---


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        (
            {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]},
            "must start with a user message",
        ),
        ({"messages": [user("a"), user("b")]}, "must alternate between user and assistant"),
        (
            {
                "messages": [
                    user("a"),
                    {"role": "assistant", "content": [{"text": "b"}]},
                    {
                        "role": "user",
                        "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}}],
                    },
                ]
            },
            "exceeds the number of toolUse blocks",
        ),
        (
            {
                "messages": [
                    user("a"),
                    {
                        "role": "assistant",
                        "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}],
                    },
                    {
                        "role": "user",
                        "content": [{"toolResult": {"toolUseId": "t2", "content": [{"text": "x"}]}}],
                    },
                ]
            },
            "Expected toolResult blocks at messages.2.content for the following Ids: t1",
        ),
        ({"messages": [user("a")], "promptVariables": {"x": {"text": "y"}}}, "promptVariables"),
        ({"messages": [user("a")], "inferenceConfig": {"maxTokens": 0}}, "inferenceConfig.maxTokens"),
        ({"messages": [user("a")], "inferenceConfig": {"temperature": 1.5}}, "inferenceConfig.temperature"),
        ({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]}, "exactly one member"),
        ({"messages": [user("a")], "toolConfig": {"tools": []}}, "toolConfig.tools"),
        ({"messages": []}, "messages"),
    ],
)
def test_converse_refuses_what_the_service_refuses(
    emu: Emulator, document: dict[str, Any], needle: str
) -> None:
    for action in ("converse", "converse-stream"):
        response = post(emu, CLAUDE, action, document)
        assert response.status_code == 400, response.text
        assert response.headers["x-amzn-errortype"].startswith("ValidationException:")
        assert needle in response.json()["message"]


def test_converse_accepts_unknown_keys_and_block_kinds(emu: Emulator) -> None:
    document = {
        "messages": [
            {"role": "user", "content": [{"text": "a"}, {"cachePoint": {"type": "default"}}, {"newKind": {}}]}
        ],
        "someFutureMember": 1,
    }
    assert post(emu, CLAUDE, "converse", document).status_code == 200


def test_converse_on_an_unknown_model_is_404(emu: Emulator) -> None:
    response = post(emu, "anthropic.claude-99", "converse", {"messages": [user("a")]})
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"].startswith("ResourceNotFoundException:")


def test_count_tokens_needs_one_input_form(emu: Emulator) -> None:
    assert post(emu, CLAUDE, "count-tokens", {"input": {}}).status_code == 400
    bad = {"input": {"invokeModel": {"body": base64.b64encode(b'{"messages": 1}').decode()}}}
    response = post(emu, CLAUDE, "count-tokens", bad)
    assert response.status_code == 400 and "Malformed input request" in response.json()["message"]


def test_converse_signatures_are_verified(emu: Emulator) -> None:
    url = emu.url + CONVERSE.path(CLAUDE)
    response = httpx.post(url, json={"messages": [user("a")]}, timeout=10)
    assert response.status_code == 403


# --- faults on the new paths ---


def test_drop_before_message_stop(fresh: Emulator) -> None:
    fresh.inject(Fault(FaultKind.DROP, before="messageStop"))
    url = fresh.url + CONVERSE_STREAM.path(CLAUDE)
    body = json.dumps({"messages": [user("hi")]}).encode()
    headers = {"Content-Type": "application/json"}
    signed = sign_request("POST", url, headers, body, credentials=EXAMPLE, region=REGION, service="bedrock")
    received = bytearray()
    with (
        httpx.Client(timeout=10) as http,
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", url, headers=list(signed.headers), content=body) as streamed,
    ):
        for piece in streamed.iter_raw():
            received += piece
    types = [frame.headers[":event-type"] for frame in Decoder().feed(bytes(received))]
    assert "messageStop" not in types and types[-1] == "contentBlockStop"


def test_drop_before_message_stop_via_the_header(emu: Emulator) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(
            emu,
            CLAUDE,
            "converse-stream",
            {"messages": [user("hi")]},
            {"X-Emulator-Fault": "drop; before=messageStop"},
        )


@pytest.mark.parametrize("kind", ["throttling", "model-not-ready", "internal-error", "service-unavailable"])
def test_before_stream_faults_on_every_operation(fresh: Emulator, kind: str) -> None:
    bedrock = boto(fresh)
    calls: dict[str, Callable[[], Any]] = {
        "converse": lambda: bedrock.converse(modelId=CLAUDE, messages=[user("a")]),
        "converse_stream": lambda: bedrock.converse_stream(modelId=CLAUDE, messages=[user("a")]),
        "invoke_model": lambda: bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(NATIVE[CLAUDE])),
        "count_tokens": lambda: bedrock.count_tokens(
            modelId=CLAUDE, input={"converse": {"messages": [user("a")]}}
        ),
    }
    fault = Fault(FaultKind(kind))
    for call in calls.values():
        fresh.inject(fault)
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == fault.error_name


def test_in_stream_exception_on_converse_stream(fresh: Emulator) -> None:
    fresh.inject(Fault(FaultKind.EXCEPTION, name="modelStreamErrorException", after=2))
    events: list[dict[str, Any]] = []
    with pytest.raises(EventStreamError) as caught:
        for event in boto(fresh).converse_stream(modelId=CLAUDE, messages=[user(PROMPT)])["stream"]:
            events.append(event)
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert len(events) == 2


def test_in_stream_exception_on_converse_is_the_http_error(fresh: Emulator) -> None:
    fresh.inject(Fault(FaultKind.EXCEPTION, name="modelStreamErrorException"))
    with pytest.raises(ClientError) as caught:
        boto(fresh).converse(modelId=CLAUDE, messages=[user("a")])
    assert caught.value.response["Error"]["Code"] == "ModelStreamErrorException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


@pytest.mark.parametrize("action", ["converse", "invoke", "count-tokens"])
def test_body_faults_break_one_piece_answers(fresh: Emulator, action: str) -> None:
    document: Any = {
        "converse": {"messages": [user(PROMPT)]},
        "invoke": NATIVE[CLAUDE],
        "count-tokens": {"input": {"converse": {"messages": [user(PROMPT)]}}},
    }[action]
    good = post(fresh, CLAUDE, action, document).content
    fresh.inject(Fault(FaultKind.TRUNCATE))
    truncated = post(fresh, CLAUDE, action, document)
    assert truncated.status_code == 200 and truncated.content == good[: len(good) // 2]
    fresh.inject(Fault(FaultKind.BAD_CRC))
    corrupted = post(fresh, CLAUDE, action, document).content
    assert len(corrupted) == len(good) and corrupted != good
    fresh.inject(Fault(FaultKind.OVERSIZED_FRAME, size=4096))
    padded = post(fresh, CLAUDE, action, document).content
    assert len(padded) == 4096 and json.loads(padded) == json.loads(good)
    fresh.inject(Fault(FaultKind.DROP))
    with pytest.raises(httpx.RemoteProtocolError):
        post(fresh, CLAUDE, action, document)
    fresh.inject(Fault(FaultKind.STALL, seconds=5))
    with pytest.raises(httpx.ReadTimeout):
        post(fresh, CLAUDE, action, document, timeout=httpx.Timeout(10, read=0.3))


def test_frame_faults_on_converse_stream(fresh: Emulator) -> None:
    document = {"messages": [user(PROMPT)]}
    good = frames_of(post(fresh, CLAUDE, "converse-stream", document).content)
    fresh.inject(Fault(FaultKind.TRUNCATE, after=3))
    truncated = Decoder()
    assert len(truncated.feed(post(fresh, CLAUDE, "converse-stream", document).content)) == 3
    with pytest.raises(DecodeError):
        truncated.close()
    fresh.inject(Fault(FaultKind.BAD_CRC, after=3))
    with pytest.raises(DecodeError):
        frames_of(post(fresh, CLAUDE, "converse-stream", document).content)
    fresh.inject(Fault(FaultKind.ERROR, after=3, code="Boom"))
    errored = frames_of(post(fresh, CLAUDE, "converse-stream", document).content)
    assert [f.headers[":event-type"] for f in errored[:3]] == [f.headers[":event-type"] for f in good[:3]]
    assert errored[3].headers[":message-type"] == "error" and errored[3].headers[":error-code"] == "Boom"
    fresh.inject(Fault(FaultKind.DROP_MID_FRAME, after=3))
    with pytest.raises(httpx.RemoteProtocolError):
        post(fresh, CLAUDE, "converse-stream", document)
    fresh.inject(Fault(FaultKind.STALL, after=2, seconds=5))
    with pytest.raises(httpx.ReadTimeout):
        post(fresh, CLAUDE, "converse-stream", document, timeout=httpx.Timeout(10, read=0.3))


def test_not_eventstream_on_converse_stream(fresh: Emulator) -> None:
    fresh.inject(Fault(FaultKind.NOT_EVENTSTREAM))
    response = post(fresh, CLAUDE, "converse-stream", {"messages": [user("a")]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_requests_are_recorded_decoded(fresh: Emulator) -> None:
    boto(fresh).converse(modelId=CLAUDE, messages=[user("hi")])
    (record,) = fresh.requests
    assert (record.operation, record.model_id, record.auth, record.status) == (
        "Converse",
        CLAUDE,
        "sigv4",
        200,
    )
    assert record.json() == {"messages": [user("hi")]}
    authorization = dict(record.safe_headers)["Authorization"]
    assert authorization == "<redacted>"
    assert "Signature=" not in repr(record)


def test_claude_native_tool_use_and_thinking_through_invoke(emu: Emulator) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"name": "get_weather", "input_schema": WEATHER_TOOL["toolSpec"]["inputSchema"]["json"]}],
        "messages": [{"role": "user", "content": "Paris weather via get_weather"}],
    }
    bedrock = boto(emu)
    native = json.loads(bedrock.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())
    assert native["stop_reason"] == "tool_use"
    thinking, tool_use = native["content"]
    assert thinking["type"] == "thinking" and thinking["signature"]
    assert tool_use["type"] == "tool_use" and tool_use["name"] == "get_weather"
    stream = bedrock.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps(body))["body"]
    events = [json.loads(event["chunk"]["bytes"]) for event in stream]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    fragments = [d["partial_json"] for d in deltas if d["type"] == "input_json_delta"]
    assert len(fragments) >= 2 and json.loads("".join(fragments)) == tool_use["input"]
    assert [d["signature"] for d in deltas if d["type"] == "signature_delta"] == [thinking["signature"]]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    usage = events[-2]["usage"]["output_tokens"]
    assert usage == native["usage"]["output_tokens"]


def test_count_tokens_refuses_a_converse_input_that_is_not_a_structure(emu: Emulator) -> None:
    response = post(emu, CLAUDE, "count-tokens", {"input": {"converse": [1]}})
    assert response.status_code == 400 and "input.converse" in response.json()["message"]


def test_recent_models_are_served(emu: Emulator) -> None:
    for model_id in ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.amazon.nova-2-lite-v1:0"):
        answer = boto(emu).converse(modelId=model_id, messages=[user("hi")])
        assert answer["output"]["message"]["content"][0]["text"].startswith("You asked: hi")


def test_invoke_model_token_headers_agree_with_a_tool_use_body() -> None:
    # Found by the interop suite (langchain-aws ChatBedrock.bind_tools): the header states the body's count.
    import httpx

    from client.emulator import Emulator

    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}],
        "messages": [{"role": "user", "content": "Use get_weather for Paris"}],
    }
    with Emulator(auth=False) as emu:
        for thinking in (None, {"type": "enabled", "budget_tokens": 1024}):
            request = body if thinking is None else {**body, "thinking": thinking}
            response = httpx.post(
                f"{emu.url}/model/anthropic.claude-3-7-sonnet-20250219-v1%3A0/invoke",
                json=request,
                timeout=10,
            )
            assert response.status_code == 200, response.text
            answer = response.json()
            assert any(block["type"] == "tool_use" for block in answer["content"])
            usage = answer["usage"]
            assert int(response.headers["x-amzn-bedrock-output-token-count"]) == usage["output_tokens"]
            assert int(response.headers["x-amzn-bedrock-input-token-count"]) == usage["input_tokens"]
