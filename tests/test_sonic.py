"""client.sonic: Nova Sonic input builders, output parsing, and a whole session against the h2c emulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest

from client import Chunk, sonic
from client.duplex import open_bidirectional_stream
from client.emulator.duplex import DuplexServer
from sigv4 import Credentials

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def body(event: dict[str, Any], name: str) -> dict[str, Any]:
    assert list(event) == ["event"] and list(event["event"]) == [name]
    inner: dict[str, Any] = event["event"][name]
    return inner


def test_input_builders_have_the_documented_shapes() -> None:
    start = body(sonic.session_start(max_tokens=512, top_p=0.5, temperature=0.1), "sessionStart")
    assert start == {"inferenceConfiguration": {"maxTokens": 512, "topP": 0.5, "temperature": 0.1}}
    tool = {"toolSpec": {"name": "getWeather", "description": "d", "inputSchema": {"json": "{}"}}}
    prompt = body(sonic.prompt_start("p", voice_id="tiffany", tools=[tool]), "promptStart")
    assert prompt["promptName"] == "p"
    assert prompt["textOutputConfiguration"] == {"mediaType": "text/plain"}
    assert prompt["audioOutputConfiguration"] == {
        "mediaType": "audio/lpcm",
        "sampleRateHertz": 24000,
        "sampleSizeBits": 16,
        "channelCount": 1,
        "voiceId": "tiffany",
        "encoding": "base64",
        "audioType": "SPEECH",
    }
    assert prompt["toolUseOutputConfiguration"] == {"mediaType": "application/json"}
    assert prompt["toolConfiguration"] == {"tools": [tool]}
    assert "toolConfiguration" not in body(sonic.prompt_start("p"), "promptStart")
    text = body(sonic.content_start_text("p", "c"), "contentStart")
    assert (text["type"], text["role"], text["interactive"]) == ("TEXT", "SYSTEM", False)
    audio = body(sonic.content_start_audio("p", "a"), "contentStart")
    assert (audio["type"], audio["role"], audio["interactive"]) == ("AUDIO", "USER", True)
    assert audio["audioInputConfiguration"]["sampleRateHertz"] == 16000
    assert audio["audioInputConfiguration"]["encoding"] == "base64"
    result = body(sonic.content_start_tool("p", "t", "tool-1"), "contentStart")
    assert (result["type"], result["role"]) == ("TOOL", "TOOL")
    assert result["toolResultInputConfiguration"]["toolUseId"] == "tool-1"
    assert body(sonic.text_input("p", "c", "hi"), "textInput") == {
        "promptName": "p",
        "contentName": "c",
        "content": "hi",
    }
    pcm = b"\x01\x00\xff\x7f"
    assert base64.b64decode(body(sonic.audio_input("p", "a", pcm), "audioInput")["content"]) == pcm
    assert body(sonic.tool_result("p", "t", {"temp": 21}), "toolResult")["content"] == '{"temp":21}'
    assert body(sonic.content_end("p", "c"), "contentEnd") == {"promptName": "p", "contentName": "c"}
    assert body(sonic.prompt_end("p"), "promptEnd") == {"promptName": "p"}
    assert body(sonic.session_end(), "sessionEnd") == {}
    with pytest.raises(ValueError, match="even"):
        sonic.audio_input("p", "a", b"\x00")


def chunk(name: str, fields: dict[str, Any]) -> Chunk:
    return Chunk(json.dumps({"event": {name: fields}}).encode())


def test_output_events_are_typed() -> None:
    ids = {"sessionId": "s", "promptName": "p", "completionId": "c", "contentId": "x"}
    assert sonic.parse_event(chunk("textOutput", {**ids, "content": "hi", "role": "ASSISTANT"})) == (
        sonic.TextOutput("hi", "ASSISTANT", "x")
    )
    audio = sonic.parse_event(
        chunk("audioOutput", {**ids, "content": base64.b64encode(b"\x00\x01").decode()})
    )
    assert audio == sonic.AudioOutput(b"\x00\x01", "x")
    tool = sonic.parse_event(
        chunk("toolUse", {**ids, "toolName": "getWeather", "toolUseId": "t1", "content": '{"city":"Paris"}'})
    )
    assert isinstance(tool, sonic.ToolUse) and tool.input == {"city": "Paris"} and tool.tool_use_id == "t1"
    usage = sonic.parse_event(
        {
            "event": {
                "usageEvent": {
                    **ids,
                    "details": {
                        "delta": {"input": {"speechTokens": 1, "textTokens": 2}},
                        "total": {
                            "input": {"speechTokens": 0, "textTokens": 22},
                            "output": {"speechTokens": 5, "textTokens": 3},
                        },
                    },
                    "totalInputTokens": 22,
                    "totalOutputTokens": 8,
                    "totalTokens": 30,
                }
            }
        }
    )
    assert usage == sonic.Usage(22, 8, 30, 0, 22, 5, 3)
    start = sonic.parse_event(
        chunk(
            "contentStart",
            {
                **ids,
                "type": "TEXT",
                "role": "ASSISTANT",
                "additionalModelFields": '{"generationStage":"SPECULATIVE"}',
            },
        )
    )
    assert start == sonic.ContentStart("x", "TEXT", "ASSISTANT", "SPECULATIVE")
    assert sonic.parse_event(chunk("contentEnd", {**ids, "type": "AUDIO", "stopReason": "INTERRUPTED"})) == (
        sonic.ContentEnd("x", "AUDIO", "INTERRUPTED")
    )
    assert sonic.parse_event(chunk("completionStart", ids)) == sonic.CompletionStart("s", "p", "c")
    assert sonic.parse_event(chunk("completionEnd", {**ids, "stopReason": "END_TURN"})) == (
        sonic.CompletionEnd("c", "END_TURN")
    )
    assert sonic.parse_event(chunk("somethingNew", {"a": 1})) == sonic.OtherEvent("somethingNew", {"a": 1})


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"not json", "not JSON"),
        (b'{"event": {}}', "one event name"),
        (b'{"event": {"textOutput": {}}}', "textOutput.content"),
        (b'{"event": {"audioOutput": {"content": "***"}}}', "base64"),
        (b'{"event": {"toolUse": {"toolUseId": "t"}}}', "toolUse.toolName"),
        (b'{"event": {"usageEvent": {"totalTokens": "many"}}}', "usageEvent.totalTokens"),
    ],
)
def test_malformed_output_events_are_typed_errors(raw: bytes, match: str) -> None:
    with pytest.raises(sonic.SonicEventError, match=match):
        sonic.parse_event(raw)


def test_a_whole_session_with_the_helpers() -> None:
    pcm = bytes(range(256)) * 8  # 2 KiB of "audio"

    async def main(url: str) -> None:
        session = await open_bidirectional_stream(
            endpoint=url,
            model_id="amazon.nova-sonic-v1:0",
            region="us-east-1",
            credentials=CREDS,
            timeout=5.0,
        )
        async with session:
            await session.send(sonic.session_start())
            await session.send(sonic.prompt_start("p"))
            assert isinstance(sonic.parse_event(await anext(session)), sonic.CompletionStart)
            await session.send(sonic.content_start_text("p", "sys"))
            await session.send(sonic.text_input("p", "sys", "What is the weather in Paris?"))
            tool = sonic.parse_event(await anext(session))
            assert isinstance(tool, sonic.ToolUse) and tool.tool_name == "getWeather"
            await session.send(sonic.content_end("p", "sys"))
            await session.send(sonic.content_start_tool("p", "t", tool.tool_use_id))
            await session.send(sonic.tool_result("p", "t", {"temperature": 21}))
            await session.send(sonic.content_end("p", "t"))
            answer = sonic.parse_event(await anext(session))
            assert isinstance(answer, sonic.TextOutput) and answer.role == "ASSISTANT"
            await session.send(sonic.content_start_audio("p", "mic"))
            for offset in range(0, len(pcm), 1024):
                await session.send(sonic.audio_input("p", "mic", pcm[offset : offset + 1024]))
            heard = b""
            for _ in range(2):
                out = sonic.parse_event(await anext(session))
                assert isinstance(out, sonic.AudioOutput)
                heard += out.audio
            assert len(heard) == len(pcm)  # audio out in proportion to audio in
            await session.send(sonic.content_end("p", "mic"))
            await session.send(sonic.prompt_end("p"))
            await session.send(sonic.session_end())
            await session.end_input()
            rest = [sonic.parse_event(event) async for event in session]
            assert isinstance(rest[0], sonic.Usage) and rest[0].total_tokens > 0
            assert rest[-1] == sonic.CompletionEnd("c1", "END_TURN")

    with DuplexServer() as server:
        anyio.run(main, server.url)
        assert server.sessions[0].refused_at is None
