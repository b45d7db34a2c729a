"""``bedrock-stream converse``: ConverseStream from the command line, against a scripted server on 127.0.0.1.

The server answers every request with a fixed ConverseStream (text, a tool call, cache token counts) and
keeps the request body, so the tests check both what is sent and what the user sees.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from client.cli import main
from eventstream import Message, encode

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _frame(event_type: str, payload: dict[str, object]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode(Message(headers, json.dumps(payload).encode()))


ANSWER = b"".join(
    [
        _frame("messageStart", {"role": "assistant"}),
        _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me look"}}),
        _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": " that up."}}),
        _frame("contentBlockStop", {"contentBlockIndex": 0}),
        _frame(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tool-1", "name": "weather"}}},
        ),
        _frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"city": '}}}),
        _frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '"Paris"}'}}}),
        _frame("contentBlockStop", {"contentBlockIndex": 1}),
        _frame("messageStop", {"stopReason": "tool_use"}),
        _frame(
            "metadata",
            {
                "usage": {
                    "inputTokens": 11,
                    "outputTokens": 7,
                    "totalTokens": 18,
                    "cacheReadInputTokens": 5,
                    "cacheWriteInputTokens": 2,
                },
                "metrics": {"latencyMs": 321},
            },
        ),
    ]
)


class _Server(ThreadingHTTPServer):
    bodies: list[tuple[str, bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("x-amzn-RequestId", "req-42")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.bodies = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _argv(server: _Server, *extra: str) -> list[str]:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    return ["converse", "--endpoint-url", url, "--example-keys", "--region", "us-east-1", MODEL, *extra]


def test_converse_streams_text_and_summarises(capsys: pytest.CaptureFixture[str], server: _Server) -> None:
    assert main(_argv(server, "What is the weather in Paris?")) == 0
    out, err = capsys.readouterr()
    assert out == "Let me look that up.\n"
    summary = err.strip().splitlines()
    assert "10 events" in summary[0] and "first event" in summary[0] and "stop tool_use" in summary[0]
    assert "tokens 11 in / 7 out (cache: 5 read, 2 written)" in summary[0]
    assert "model latency 321 ms" in summary[0] and "request req-42" in summary[0]
    assert 'tool call weather (tool-1): {"city": "Paris"}' in summary[1]
    path, body = server.bodies[0]
    assert path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    sent = json.loads(body)
    assert sent["messages"] == [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}]
    assert sent["inferenceConfig"] == {"maxTokens": 512}


def test_converse_options_are_sent(
    capsys: pytest.CaptureFixture[str], server: _Server, tmp_path: Path
) -> None:
    tools = tmp_path / "tools.json"
    spec = {"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}
    tools.write_text(json.dumps([spec]))
    argv = _argv(server, "hi", "--system", "Be brief.", "--max-tokens", "40", "--temperature", "0.2")
    assert main([*argv, "--tools", str(tools), "-q"]) == 0
    assert capsys.readouterr().err == ""
    sent = json.loads(server.bodies[0][1])
    assert sent["system"] == [{"text": "Be brief."}]
    assert sent["inferenceConfig"] == {"maxTokens": 40, "temperature": 0.2}
    assert sent["toolConfig"] == {"tools": [spec]}


def test_converse_json_prints_one_event_per_line(capsys: pytest.CaptureFixture[str], server: _Server) -> None:
    assert main(_argv(server, "hi", "--json", "-q")) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(events) == 10
    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert events[1] == {"contentBlockDelta": {"delta": {"text": "Let me look"}, "contentBlockIndex": 0}}
    assert events[-1]["metadata"]["usage"]["cacheReadInputTokens"] == 5


def test_converse_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["converse", MODEL]) == 2
    assert "PROMPT" in capsys.readouterr().err
    assert main(["converse", MODEL, "hi", "--temperature", "7"]) == 2
    assert "--temperature" in capsys.readouterr().err
    bad = tmp_path / "tools.json"
    bad.write_text("{not json")
    assert main(["converse", MODEL, "hi", "--tools", str(bad)]) == 2
    assert "--tools" in capsys.readouterr().err


def test_converse_record_then_decode_text(
    capsys: pytest.CaptureFixture[str], server: _Server, tmp_path: Path
) -> None:
    recording = tmp_path / "converse.bin"
    assert main(_argv(server, "hi", "-q", "--record", str(recording))) == 0
    answer = capsys.readouterr().out
    assert main(["decode", "--text", str(recording)]) == 0
    captured = capsys.readouterr()
    assert captured.out == answer
    assert "stop tool_use" in captured.err and "tokens 11 in / 7 out" in captured.err
