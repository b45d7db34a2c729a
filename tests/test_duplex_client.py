"""InvokeModelWithBidirectionalStream through the public clients: the method on AsyncBedrockRuntimeClient (and
its sync twin on BedrockRuntimeClient), against the h2c duplex emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import client
from client.emulator.duplex import DuplexServer
from sigv4 import Credentials

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
MODEL = "amazon.nova-sonic-v1:0"


@pytest.fixture
def server() -> Iterator[DuplexServer]:
    with DuplexServer() as running:
        yield running


def text(content: str) -> dict[str, Any]:
    return {"event": {"textInput": {"promptName": "p", "contentName": "c", "content": content}}}


def name_and_body(chunk: client.Chunk) -> tuple[str, dict[str, Any]]:
    ((name, body),) = chunk.json()["event"].items()
    return name, body


def test_async_client_method_is_full_duplex(server: DuplexServer) -> None:
    async def main() -> None:
        async with client.AsyncBedrockRuntimeClient(
            "us-east-1", credentials=CREDS, endpoint_url=server.url, timeout=5
        ) as bedrock:
            session = await bedrock.invoke_model_with_bidirectional_stream(MODEL)
            async with session:
                await session.send({"event": {"sessionStart": {"inferenceConfiguration": {"maxTokens": 64}}}})
                await session.send({"event": {"promptStart": {"promptName": "p"}}})
                assert name_and_body(await anext(session))[0] == "completionStart"
                await session.send(text("one"))
                assert name_and_body(await anext(session))[1]["content"] == "You said: one"
                assert not server.sessions[0].input_ended  # answered while input is still open
                await session.send(text("two"))
                assert name_and_body(await anext(session))[1]["content"] == "You said: two"
                await session.send({"event": {"promptEnd": {"promptName": "p"}}})
                await session.end_input()
                assert [name_and_body(c)[0] async for c in session] == ["usageEvent", "completionEnd"]
        assert server.sessions[0].refused_at is None

    anyio.run(main)


def test_sync_client_method(server: DuplexServer) -> None:
    with (
        client.BedrockRuntimeClient(
            "us-east-1", credentials=CREDS, endpoint_url=server.url, timeout=5
        ) as bedrock,
        bedrock.invoke_model_with_bidirectional_stream(MODEL) as session,
    ):
        session.send({"event": {"promptStart": {"promptName": "p"}}})
        assert name_and_body(next(session))[0] == "completionStart"
        session.send(text("sync"))
        assert name_and_body(next(session))[1]["content"] == "You said: sync"
        session.end_input()


def test_bearer_tokens_are_refused_before_connecting(server: DuplexServer) -> None:
    async def main() -> None:
        async with client.AsyncBedrockRuntimeClient(
            "us-east-1", bearer_token="bedrock-api-key-x", endpoint_url=server.url
        ) as bedrock:
            with pytest.raises(client.ParamValidationError, match="bearer"):
                await bedrock.invoke_model_with_bidirectional_stream(MODEL)

    anyio.run(main)
    assert server.sessions == []


def test_missing_credentials_are_the_clients_typed_error(server: DuplexServer) -> None:
    async def main() -> None:
        async with client.AsyncBedrockRuntimeClient("us-east-1", endpoint_url=server.url) as bedrock:
            with pytest.raises(client.NoCredentialsError):
                await bedrock.invoke_model_with_bidirectional_stream(MODEL)

    anyio.run(main)
    assert server.sessions == []


def test_the_emulator_serves_the_duplex_beside_http11() -> None:
    from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator

    keys = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    with Emulator(duplex=True) as emu:
        assert emu.duplex_url != emu.url
        with client.BedrockRuntimeClient("us-east-1", credentials=keys, endpoint_url=emu.url) as bedrock:
            # HTTP/1.1 operations on the main port...
            assert (
                bedrock.count_tokens(
                    "anthropic.claude-3-haiku-20240307-v1:0",
                    messages=[{"role": "user", "content": [{"text": "hi"}]}],
                )
                > 0
            )
        # ...and the bidirectional stream on its HTTP/2 port, with the same keys.
        with (
            client.BedrockRuntimeClient(
                "us-east-1", credentials=keys, endpoint_url=emu.duplex_url
            ) as bedrock,
            bedrock.invoke_model_with_bidirectional_stream(MODEL) as session,
        ):
            session.send({"event": {"promptStart": {"promptName": "p"}}})
            assert name_and_body(next(session))[0] == "completionStart"
            session.send(text("hello"))
            assert name_and_body(next(session))[1]["content"] == "You said: hello"
            session.end_input()
        assert emu.duplex_sessions and emu.duplex_sessions[0].refused_at is None
    with pytest.raises(RuntimeError, match="duplex=True"):
        _ = Emulator().duplex_url
