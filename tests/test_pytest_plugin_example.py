"""A worked example of the ``bedrock_emulator`` pytest fixture: testing *your* code's streaming, error
handling and retries against the local emulator, without an AWS account.

The fixtures come with the package (``pytest11`` entry point); ``pytest_plugins`` below only makes this file
work from a checkout that was not reinstalled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import pytest

import client
from client.emulator import Fault, FaultKind
from client.families import parse_chunk

if TYPE_CHECKING:
    from client.pytest_plugin import BedrockEmulator

pytest_plugins = ["client.pytest_plugin"]

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


# --- the application code under test (yours would live in your package) ---


def summarise(bedrock: client.BedrockRuntimeClient, text: str) -> str:
    """Stream a summary and return its text: what an application would do."""
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": f"Summarise: {text}"}],
    }
    with bedrock.invoke_model_with_response_stream(MODEL, body) as stream:
        return "".join(parse_chunk(None, chunk.json()).text for chunk in stream)


# --- the tests ---


def test_summary_text(bedrock_emulator: BedrockEmulator) -> None:
    summary = summarise(bedrock_emulator.client, "the event stream")
    assert summary.startswith("You asked: Summarise: the event stream")
    (request,) = bedrock_emulator.requests
    assert request.operation == "InvokeModelWithResponseStream"
    assert request.json()["max_tokens"] == 100


def test_throttling_is_retried(bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.inject(Fault(FaultKind.THROTTLING))
    assert summarise(bedrock_emulator.client, "retries").startswith("You asked:")
    assert [request.status for request in bedrock_emulator.requests] == [429, 200]


def test_a_broken_stream_is_an_error_not_a_short_answer(bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.inject(Fault(FaultKind.DROP, after=3))
    with pytest.raises(client.BedrockRuntimeError):
        summarise(bedrock_emulator.client, "a dropped connection")


def test_an_emulator_with_options(make_bedrock_emulator: Callable[..., BedrockEmulator]) -> None:
    emulator = make_bedrock_emulator(chunk_count=4)
    body = {"inputText": "hi"}
    with emulator.client.invoke_model_with_response_stream("amazon.titan-text-lite-v1", body) as stream:
        texts = [parse_chunk(None, chunk.json()).text for chunk in stream]
    assert len([text for text in texts if text]) == 4


def test_async_client(bedrock_emulator: BedrockEmulator) -> None:
    async def main() -> str:
        async with bedrock_emulator.async_client() as bedrock:
            body = {"inputText": "async hello"}
            stream = await bedrock.invoke_model_with_response_stream("amazon.titan-text-lite-v1", body)
            async with stream:
                return "".join([parse_chunk(None, chunk.json()).text async for chunk in stream])

    assert anyio.run(main).startswith("You asked: async hello")


def test_the_session_emulator_is_shared(bedrock_emulator_session: BedrockEmulator) -> None:
    bedrock_emulator_session.reset()
    summarise(bedrock_emulator_session.client, "shared")
    assert len(bedrock_emulator_session.requests) == 1
