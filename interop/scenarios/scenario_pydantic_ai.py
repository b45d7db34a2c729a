"""pydantic-ai: an ``Agent`` on ``BedrockConverseModel`` with ``BedrockProvider(base_url=...)`` and the keys.

``run_sync`` is Converse, ``run_stream`` ConverseStream (text read with ``stream_text(delta=True)``); the
usage is the run's ``usage()``, the stop reason the last response's ``finish_reason`` (pydantic-ai's own
vocabulary, mapped by the judge). A tool registered on the agent makes a two-request run: the tool call,
then the answer to its result. A throttled run raises ``pydantic_ai.exceptions.ModelHTTPError`` (status
429) after botocore's default retries.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models.bedrock import BedrockConverseModel
from pydantic_ai.providers.bedrock import BedrockProvider

from interop.scenarios.harness import MODEL_ID, TOOL_PROMPT, TOOL_RESULT, WEATHER_TOOL, Harness, Op, main

PROMPT = "Say hello to the interoperability suite"


def _last_response(messages: list[Any]) -> ModelResponse | None:
    responses = [message for message in messages if isinstance(message, ModelResponse)]
    return responses[-1] if responses else None


def _report(op: Op, text: str, messages: list[Any], usage: Any) -> None:
    op.text(text)
    last = _last_response(messages)
    if last is not None:
        op.stop_reason(last.finish_reason)
    op.usage(usage.input_tokens, usage.output_tokens)
    for message in messages:
        if isinstance(message, ModelResponse):
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    op.tool_call(part.tool_name, part.args_as_dict())


def run(h: Harness) -> None:
    h.versions("pydantic-ai-slim", "boto3", "botocore")
    provider = BedrockProvider(
        region_name=h.region,
        aws_access_key_id=h.access_key,
        aws_secret_access_key=h.secret_key,
        base_url=h.url,
    )
    model = BedrockConverseModel(MODEL_ID, provider=provider)
    agent = Agent(model)

    with h.op("Agent.run_sync (converse)", echo=PROMPT) as op:
        result = agent.run_sync(PROMPT)
        _report(op, result.output, result.all_messages(), result.usage())

    with h.op("Agent.run_stream (converse-stream)", echo=PROMPT) as op:
        asyncio.run(_stream(op, agent))

    with h.op("Agent.run_sync, throttled", fault="throttling", fault_times=10) as op:
        try:
            agent.run_sync(PROMPT)
        except Exception as exc:
            h.expect_raised(op, exc, ModelHTTPError, f"status {getattr(exc, 'status_code', None)}")

    tool_agent = Agent(model)

    @tool_agent.tool_plain(name=WEATHER_TOOL)
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return TOOL_RESULT

    with h.op("Agent.run_sync with a tool (tool call, then its result)", requests=2, echo=TOOL_RESULT) as op:
        result = tool_agent.run_sync(TOOL_PROMPT)
        _report(op, result.output, result.all_messages(), result.usage())
        op.check(
            any(isinstance(m, ModelResponse) and m.tool_calls for m in result.all_messages()), "no tool call"
        )


async def _stream(op: Op, agent: Agent[None, str]) -> None:
    async with agent.run_stream(PROMPT) as result:
        async for piece in result.stream_text(delta=True):
            op.add_text(piece)
    _report(op, op.result.text or "", result.all_messages(), result.usage())


if __name__ == "__main__":
    main(run)
