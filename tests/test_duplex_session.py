"""Bidirectional streaming against the h2c emulator (client.emulator.duplex) on 127.0.0.1.

Duplex, not just streaming: the answer to event 1 is read before event 2 is sent. Every event's chained
signature is verified by the server, so a flipped byte, a replay or a reordering gets the session refused
at that event. Failures (non-200, GOAWAY, RST_STREAM, a dropped connection, the time limit) are typed.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import anyio
import httpx
import pytest

import eventstream
from client import Chunk, ModelStreamErrorException, ParamValidationError, StreamError, ThrottlingException
from client.duplex import BidirectionalSession, SessionTimeLimitError, open_bidirectional_stream
from client.emulator.duplex import DuplexFault, DuplexServer
from client.errors import BedrockRuntimeError, EndpointConnectionError, ValidationException
from sigv4 import Credentials, EventSigner

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
MODEL = "amazon.nova-sonic-v1:0"


@pytest.fixture
def server() -> Iterator[DuplexServer]:
    with DuplexServer() as running:
        yield running


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        with anyio.fail_after(30):
            await main()

    anyio.run(bounded)


async def open_session(url: str, **kwargs: Any) -> BidirectionalSession:
    options: dict[str, Any] = {
        "endpoint": url,
        "model_id": MODEL,
        "region": "us-east-1",
        "credentials": CREDS,
    }
    options["timeout"] = 5.0
    options.update(kwargs)
    return await open_bidirectional_stream(**options)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for the server thread to reach a state."""
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.01)


def text(content: str) -> dict[str, Any]:
    return {"event": {"textInput": {"promptName": "p", "contentName": "c", "content": content}}}


def audio(pcm: bytes) -> dict[str, Any]:
    return {
        "event": {
            "audioInput": {"promptName": "p", "contentName": "a", "content": base64.b64encode(pcm).decode()}
        }
    }


def event_of(chunk: Chunk) -> tuple[str, dict[str, Any]]:
    ((name, body),) = chunk.json()["event"].items()
    return name, body


# --- duplex -----------------------------------------------------------------------------------------------


def test_the_answer_to_event_one_arrives_before_event_two_is_sent(server: DuplexServer) -> None:
    async def main() -> None:
        session = await open_session(server.url)
        async with session:
            await session.send({"event": {"sessionStart": {"inferenceConfiguration": {"maxTokens": 64}}}})
            await session.send({"event": {"promptStart": {"promptName": "p"}}})
            assert event_of(await anext(session))[0] == "completionStart"
            await session.send(text("first"))
            name, body = event_of(await anext(session))
            assert (name, body["content"]) == ("textOutput", "You said: first")
            # The server has seen exactly what was sent so far: its answer came while input was open.
            assert server.sessions[0].events_verified == 3
            assert not server.sessions[0].input_ended
            await session.send(
                b'{"event":{"textInput":{"promptName":"p","contentName":"c","content":"second"}}}'
            )
            assert event_of(await anext(session))[1]["content"] == "You said: second"
            await session.send({"event": {"promptEnd": {"promptName": "p"}}})
            await session.end_input()
            rest = [event_of(chunk)[0] async for chunk in session]
            assert rest == ["usageEvent", "completionEnd"]
            assert session.request_id == "emulated-1" and session.status_code == 200
        record = server.sessions[0]
        assert record.input_ended and record.refused_at is None
        assert record.events_verified == 6  # five events and the signed end of input
        assert record.model_id == "amazon.nova-sonic-v1%3A0"

    run(main)


def test_one_task_sends_while_another_reads(server: DuplexServer) -> None:
    async def main() -> None:
        received: list[str] = []
        session = await open_session(server.url)
        async with session:

            async def reader() -> None:
                async for chunk in session:
                    received.append(event_of(chunk)[1]["content"])

            async with anyio.create_task_group() as tg:
                tg.start_soon(reader)
                for index in range(50):
                    await session.send(text(f"n{index}"))
                    if index == 10:
                        # Answers flow back while the sender is still going.
                        with anyio.fail_after(5):
                            while len(received) < 5:
                                await anyio.sleep(0.01)
                await session.end_input()
        assert received == [f"You said: n{index}" for index in range(50)]

    run(main)


def test_leaving_async_with_normally_ends_the_input(server: DuplexServer) -> None:
    async def main() -> None:
        async with await open_session(server.url) as session:
            await session.send(text("x"))
        await until(lambda: bool(server.sessions) and server.sessions[0].input_ended)
        assert server.sessions[0].events_verified == 2
        with pytest.raises(StreamError, match="closed"):
            await session.send(text("y"))
        with pytest.raises(StopAsyncIteration):
            await anext(session)

    run(main)


def test_send_after_end_input_is_refused(server: DuplexServer) -> None:
    async def main() -> None:
        async with await open_session(server.url) as session:
            await session.end_input()
            await session.end_input()  # idempotent
            with pytest.raises(StreamError, match="after the end of the input"):
                await session.send(text("late"))

    run(main)


def test_bad_events_and_arguments_are_refused_before_sending(server: DuplexServer) -> None:
    async def main() -> None:
        async with await open_session(server.url) as session:
            with pytest.raises(ParamValidationError, match="bytes"):
                await session.send("text")  # type: ignore[arg-type]
            with pytest.raises(ParamValidationError, match="JSON"):
                await session.send({"x": object()})
        with pytest.raises(ParamValidationError, match="bearer"):
            await open_session(server.url, bearer_token="key")
        with pytest.raises(ParamValidationError, match="model_id"):
            await open_session(server.url, model_id="")

    run(main)


# --- the signature chain -----------------------------------------------------------------------------------


class TamperingSigner:
    """Wraps the session's signer: changes what goes on the wire for one event, keeps the chain going."""

    def __init__(self, inner: EventSigner, mode: str, at: int) -> None:
        self.inner = inner
        self.mode = mode
        self.at = at
        self.count = 0
        self.previous = b""

    def sign(self, message: bytes, timestamp: datetime | None = None) -> bytes:
        frame = self.inner.sign(message, timestamp)
        index = self.count
        self.count += 1
        if index == self.at and self.mode == "flip":
            (outer,) = eventstream.decode(frame)
            signature = bytearray(outer.headers[":chunk-signature"])  # type: ignore[arg-type]
            signature[7] ^= 0x01
            headers = {":date": outer.headers[":date"], ":chunk-signature": bytes(signature)}
            return eventstream.encode(eventstream.Message(headers, outer.payload))
        if index == self.at and self.mode == "replay":
            return self.previous
        self.previous = frame
        return frame

    def end(self, timestamp: datetime | None = None) -> bytes:
        return self.inner.end(timestamp)


@pytest.mark.parametrize("mode", ["flip", "replay"])
def test_a_broken_signature_chain_is_refused_at_that_event(server: DuplexServer, mode: str) -> None:
    async def main() -> None:
        session = await open_session(server.url)
        session._core._signer = TamperingSigner(session._core._signer, mode, at=2)  # type: ignore[assignment]
        async with session:
            await session.send(text("zero"))
            await session.send(text("one"))
            assert event_of(await anext(session))[1]["content"] == "You said: zero"
            assert event_of(await anext(session))[1]["content"] == "You said: one"
            await session.send(text("two"))
            with pytest.raises(ValidationException, match="signature of event #2 does not match"):
                await anext(session)
            with pytest.raises(ValidationException):  # sticky
                await session.send(text("three"))
        record = server.sessions[0]
        assert record.refused_at == 2 and record.events_verified == 2

    run(main)


def test_reordered_events_are_refused(server: DuplexServer) -> None:
    async def main() -> None:
        session = await open_session(server.url)
        core = session._core
        signer: EventSigner = core._signer
        frames: list[bytes] = []

        class Reorder:
            def sign(self, message: bytes, timestamp: datetime | None = None) -> bytes:
                # Sign two events in chain order, put the second on the wire first.
                frames.append(signer.sign(message, timestamp))
                frames.append(signer.sign(message, timestamp))
                return frames[1]

            def end(self, timestamp: datetime | None = None) -> bytes:
                return signer.end(timestamp)

        core._signer = Reorder()  # type: ignore[assignment]
        async with session:
            await session.send(text("a"))
            with pytest.raises(ValidationException, match="event #0"):
                await anext(session)
        assert server.sessions[0].refused_at == 0

    run(main)


# --- errors before and during the stream ---------------------------------------------------------------


def test_a_wrong_secret_gets_the_typed_http_error(server: DuplexServer) -> None:
    async def main() -> None:
        session = await open_session(server.url, credentials=Credentials("AKIDEXAMPLE", "wrong"))
        async with session:
            with pytest.raises(BedrockRuntimeError) as info:
                await anext(session)
            assert info.value.status_code == 403
            assert info.value.error_code == "InvalidSignatureException"
            with pytest.raises(BedrockRuntimeError):
                await session.send(text("x"))

    run(main)


def test_throttling_before_the_stream() -> None:
    async def main(url: str) -> None:
        async with await open_session(url) as session:
            with pytest.raises(ThrottlingException) as info:
                await anext(session)
            assert info.value.status_code == 429

    with DuplexServer(fault=DuplexFault("throttle")) as server:
        run(lambda: main(server.url))


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("reset", StreamError, "RST_STREAM, error code INTERNAL_ERROR"),
        ("goaway", StreamError, "GOAWAY, error code PROTOCOL_ERROR"),
        ("drop", StreamError, "connection closed"),
        ("exception", ModelStreamErrorException, "model stream failed"),
    ],
)
def test_failures_in_the_stream_are_typed(kind: str, error: type[Exception], match: str) -> None:
    async def main(url: str) -> None:
        async with await open_session(url) as session:
            await session.send(text("one"))
            assert event_of(await anext(session))[1]["content"] == "You said: one"
            await session.send(text("two"))
            with pytest.raises(error, match=match):
                await anext(session)
            with pytest.raises(error):  # sticky
                await anext(session)

    with DuplexServer(fault=DuplexFault(kind, after=1)) as server:
        run(lambda: main(server.url))


def test_the_session_time_limit_is_a_typed_error(server: DuplexServer) -> None:
    async def main() -> None:
        async with await open_session(server.url, session_limit=0.5) as session:
            await session.send(text("quick"))
            assert event_of(await anext(session))[0] == "textOutput"
            with pytest.raises(SessionTimeLimitError, match="time limit"):
                await anext(session)  # nothing more comes; the limit ends the wait
            with pytest.raises(SessionTimeLimitError):
                await session.send(text("late"))

    run(main)


def test_a_silent_server_hits_the_read_timeout(server: DuplexServer) -> None:
    async def main() -> None:
        session = await open_session(server.url, timeout=httpx.Timeout(5.0, read=0.3))
        async with session:
            await session.send({"event": {"sessionStart": {}}})  # no answer to that
            with pytest.raises(StreamError, match="read timeout"):
                await anext(session)

    run(main)


def test_nothing_listening_is_an_endpoint_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        with pytest.raises(EndpointConnectionError, match="could not connect"):
            await open_session(f"http://127.0.0.1:{port}")

    run(main)


def test_missing_h2_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['h2'] = None\n"
        "import client.duplex as d\n"
        "try:\n"
        "    d.open_bidirectional_stream\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, isinstance(exc, d.H2NotInstalledError), exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("H2NotInstalledError True ")
    assert "pip install 'bedrock-stream[bidi]'" in result.stdout


def test_documents_reach_the_server_intact(server: DuplexServer) -> None:
    sent = [
        {"event": {"sessionStart": {"inferenceConfiguration": {"maxTokens": 1024, "topP": 0.9}}}},
        text("é ✓"),
    ]

    async def main() -> None:
        async with await open_session(server.url) as session:
            for document in sent:
                await session.send(document)

        await until(lambda: bool(server.sessions) and server.sessions[0].input_ended)

    run(main)
    assert server.sessions[0].documents == sent
    assert json.dumps(sent)  # plain JSON both ways
