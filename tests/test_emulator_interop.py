"""The emulator accepts what real clients send: extra headers, raw model ids, keep-alive, 100-continue, SDKs.

Each rule of "refuse only what the service is documented to refuse" gets a request here that a real client
sends and that must be answered. Anthropic's SDK (``anthropic[bedrock]``) is exercised when it is installed
(the interoperability suite installs it; the test extra does not).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
from client.operations import CONVERSE, INVOKE_MODEL, INVOKE_MODEL_WITH_RESPONSE_STREAM
from sigv4 import Credentials
from sigv4.signer import sign_request

REGION = "us-east-1"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
EXAMPLE = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "Hello there"}],
}
EXPECTED = f"You asked: Hello there -- answered by the bedrock-stream emulator ({CLAUDE})."


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def signed(url: str, body: bytes, extra: dict[str, str] | None = None) -> list[tuple[str, str]]:
    headers = {"Content-Type": "application/json", **(extra or {})}
    request = sign_request("POST", url, headers, body, credentials=EXAMPLE, region=REGION, service="bedrock")
    return list(request.headers)


def invoke(emu: Emulator, path: str, document: Any, extra: dict[str, str] | None = None) -> httpx.Response:
    body = json.dumps(document).encode()
    url = emu.url + path
    return httpx.post(url, headers=signed(url, body, extra), content=body, timeout=10)


def test_unmodelled_headers_are_ignored_signed_or_not(emu: Emulator) -> None:
    extra = {
        "anthropic-beta": "interleaved-thinking-2025-05-14",
        "User-Agent": "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux lang/python#3.11",
        "amz-sdk-invocation-id": "0f9c0c3e-6c1c-4c55-9a43-1c3b9b0d1f00",
        "amz-sdk-request": "attempt=1; max=3",
        "X-Amzn-Bedrock-Some-Future-Header": "yes",
        "X-Stainless-Lang": "python",
    }
    response = invoke(emu, INVOKE_MODEL.path(CLAUDE), BODY, extra)
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == EXPECTED


def test_a_dated_anthropic_version_is_accepted(emu: Emulator) -> None:
    response = invoke(emu, INVOKE_MODEL.path(CLAUDE), {**BODY, "anthropic_version": "2023-06-01"})
    assert response.status_code == 200, response.text
    with Emulator(strict=True) as strict:
        refused = invoke(strict, INVOKE_MODEL.path(CLAUDE), {**BODY, "anthropic_version": "2023-06-01"})
    assert refused.status_code == 400 and "anthropic_version" in refused.json()["message"]


def test_unknown_keys_are_accepted(emu: Emulator) -> None:
    document = {**BODY, "anthropic_beta": ["token-efficient-tools-2025-02-19"], "metadata": {"user_id": "u"}}
    assert invoke(emu, INVOKE_MODEL.path(CLAUDE), document).status_code == 200
    converse = {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "futureMember": True}
    assert invoke(emu, CONVERSE.path(CLAUDE), converse).status_code == 200
    with Emulator(strict=True) as strict:
        assert invoke(strict, CONVERSE.path(CLAUDE), converse).status_code == 400


def test_a_legacy_prompt_body_is_refused_for_claude_3_only(emu: Emulator) -> None:
    legacy = {"prompt": "\n\nHuman: Hello there\n\nAssistant:", "max_tokens_to_sample": 20}
    assert invoke(emu, INVOKE_MODEL.path("anthropic.claude-v2:1"), legacy).status_code == 200
    refused = invoke(emu, INVOKE_MODEL.path(CLAUDE), legacy)
    assert refused.status_code == 400 and "Messages API" in refused.json()["message"]


@pytest.mark.parametrize("op", [INVOKE_MODEL, INVOKE_MODEL_WITH_RESPONSE_STREAM])
def test_the_model_id_unencoded_in_the_path(emu: Emulator, op: Any) -> None:
    raw_path = f"/model/{CLAUDE}/{op.action}"
    assert ":" in raw_path
    body = json.dumps(BODY).encode()
    head = [f"POST {raw_path} HTTP/1.1", f"Host: 127.0.0.1:{emu.port}"]
    head += [f"{k}: {v}" for k, v in signed(emu.url + raw_path, body) if k.lower() != "host"]
    head += [f"Content-Length: {len(body)}", "Connection: close"]
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert emu.requests[-1].model_id == CLAUDE


def test_keep_alive_across_many_calls_of_every_operation() -> None:
    with Emulator() as emu, httpx.Client(timeout=10) as http:
        for index in range(30):
            op = (INVOKE_MODEL, INVOKE_MODEL_WITH_RESPONSE_STREAM, CONVERSE)[index % 3]
            document = (
                BODY if op is not CONVERSE else {"messages": [{"role": "user", "content": [{"text": "x"}]}]}
            )
            body = json.dumps(document).encode()
            url = emu.url + op.path(CLAUDE)
            response = http.post(url, headers=signed(url, body), content=body)
            assert response.status_code == 200
        assert emu.connections_accepted == 1


def test_expect_100_continue(emu: Emulator) -> None:
    path = INVOKE_MODEL.path(CLAUDE)
    body = json.dumps(BODY).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{emu.port}", "Expect: 100-continue"]
    head += [f"{k}: {v}" for k, v in signed(emu.url + path, body) if k.lower() != "host"]
    head += [f"Content-Length: {len(body)}", "Connection: close"]
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        sock.sendall(body)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["content"][0]["text"] == EXPECTED


# --- Anthropic's SDK, defaults untouched ---


def _anthropic_client(emu: Emulator, *, asynchronous: bool = False) -> Any:
    bedrock = pytest.importorskip("anthropic")
    cls = bedrock.AsyncAnthropicBedrock if asynchronous else bedrock.AnthropicBedrock
    return cls(
        base_url=emu.url,
        aws_access_key=EXAMPLE_ACCESS_KEY_ID,
        aws_secret_key=EXAMPLE_SECRET_ACCESS_KEY,
        aws_region=REGION,
    )


def test_anthropic_sdk_create_and_stream(emu: Emulator) -> None:
    sdk = _anthropic_client(emu)
    message = sdk.messages.create(
        model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "Hello there"}]
    )
    assert message.content[0].text == EXPECTED
    assert message.stop_reason == "end_turn"
    with sdk.messages.stream(
        model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "Hello there"}]
    ) as stream:
        assert "".join(stream.text_stream) == EXPECTED
        assert stream.get_final_message().usage.output_tokens == len(EXPECTED.split())


def test_anthropic_sdk_async(emu: Emulator) -> None:
    sdk = _anthropic_client(emu, asynchronous=True)

    async def main() -> tuple[str, str]:
        messages = [{"role": "user", "content": "Hello there"}]
        message = await sdk.messages.create(model=CLAUDE, max_tokens=50, messages=messages)
        async with sdk.messages.stream(model=CLAUDE, max_tokens=50, messages=messages) as stream:
            text = "".join([piece async for piece in stream.text_stream])
        return message.content[0].text, text

    created, streamed = anyio.run(main)
    assert created == streamed == EXPECTED


def test_anthropic_sdk_tool_use_round_trip_with_thinking(emu: Emulator) -> None:
    sdk = _anthropic_client(emu)
    tools = [
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris? Use get_weather"}]
    thinking = {"type": "enabled", "budget_tokens": 1024}
    created = sdk.messages.create(
        model=CLAUDE, max_tokens=500, messages=messages, tools=tools, thinking=thinking
    )
    assert created.stop_reason == "tool_use"
    assert [block.type for block in created.content] == ["thinking", "tool_use"]
    with sdk.messages.stream(
        model=CLAUDE, max_tokens=500, messages=messages, tools=tools, thinking=thinking
    ) as stream:
        streamed = stream.get_final_message()
    assert (
        streamed.content[1].input == created.content[1].input == {"city": "Weather in Paris? Use get_weather"}
    )
    assert streamed.content[0].signature == created.content[0].signature
    tool_use = created.content[1]
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in created.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "Sunny, 21 C"}],
        },
    ]
    answer = sdk.messages.create(model=CLAUDE, max_tokens=500, messages=messages, tools=tools)
    assert answer.stop_reason == "end_turn"
    assert "Sunny, 21 C" in answer.content[0].text
