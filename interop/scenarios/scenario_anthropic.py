"""Anthropic's SDK (``anthropic[bedrock]``), defaults untouched: ``AnthropicBedrock`` and its async twin.

``messages.create`` is InvokeModel and ``messages.stream`` InvokeModelWithResponseStream (the SDK decodes the
event stream with botocore's parser); a throttled request raises ``anthropic.RateLimitError`` after the
SDK's own retries; tools round-trip as ``tool_use`` / ``tool_result`` blocks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic

from interop.scenarios.harness import (
    MODEL_ID,
    TOOL_PROMPT,
    TOOL_RESULT,
    WEATHER_TOOL,
    WEATHER_TOOL_DESCRIPTION,
    WEATHER_TOOL_SCHEMA,
    Harness,
    Op,
    main,
)

PROMPT = "Say hello to the interoperability suite"
MAX_TOKENS = 256
TOOLS: list[Any] = [
    {"name": WEATHER_TOOL, "description": WEATHER_TOOL_DESCRIPTION, "input_schema": WEATHER_TOOL_SCHEMA}
]


def _message(op: Op, message: Any) -> None:
    op.text("".join(block.text for block in message.content if block.type == "text"))
    op.stop_reason(message.stop_reason)
    op.usage(message.usage.input_tokens, message.usage.output_tokens)
    for block in message.content:
        if block.type == "tool_use":
            op.tool_call(block.name, block.input)


def run(h: Harness) -> None:
    h.versions("anthropic", "botocore")
    sync = anthropic.AnthropicBedrock(
        base_url=h.url, aws_access_key=h.access_key, aws_secret_key=h.secret_key, aws_region=h.region
    )
    user: Any = [{"role": "user", "content": PROMPT}]

    with h.op("messages.create", echo=PROMPT) as op:
        _message(op, sync.messages.create(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=user))

    with h.op("messages.stream", echo=PROMPT) as op:
        with sync.messages.stream(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=user) as stream:
            for piece in stream.text_stream:
                op.add_text(piece)
            final = stream.get_final_message()
        op.stop_reason(final.stop_reason)
        op.usage(final.usage.input_tokens, final.usage.output_tokens)

    with h.op("messages.create(stream=True)", echo=PROMPT) as op:
        events: Any = sync.messages.create(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=user, stream=True)
        for event in events:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                op.add_text(event.delta.text)
            elif event.type == "message_delta":
                op.stop_reason(event.delta.stop_reason)

    # A beta flag travels as the anthropic-beta header, which the SDK copies into the body's anthropic_beta.
    beta: Any = sync.beta
    with h.op("beta.messages.create(betas=[...])", echo=PROMPT) as op:
        _message(
            op,
            beta.messages.create(
                model=MODEL_ID,
                max_tokens=MAX_TOKENS,
                messages=user,
                betas=["token-efficient-tools-2025-02-19"],
            ),
        )

    with h.op("messages.create, throttled", fault="throttling", fault_times=10) as op:
        try:
            sync.messages.create(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=user)
        except anthropic.APIError as exc:
            h.expect_raised(op, exc, anthropic.RateLimitError, f"status {getattr(exc, 'status_code', None)}")

    # Tools: the emulator answers with a tool use when the last user message names an offered tool.
    ask: Any = [{"role": "user", "content": TOOL_PROMPT}]
    tool_use: Any = None
    with h.op("messages.create, tool_use") as op:
        first = sync.messages.create(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=ask, tools=TOOLS)
        _message(op, first)
        tool_use = next((block for block in first.content if block.type == "tool_use"), None)
        op.check(tool_use is not None, f"no tool_use block in the answer (stop_reason {first.stop_reason!r})")
    if tool_use is not None:
        with h.op("messages.create, tool_result", echo=TOOL_RESULT) as op:
            follow: Any = [
                *ask,
                {"role": "assistant", "content": [block.model_dump() for block in first.content]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": TOOL_RESULT}],
                },
            ]
            _message(
                op, sync.messages.create(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=follow, tools=TOOLS)
            )
    try:
        sync.messages.count_tokens(model=MODEL_ID, messages=user)
    except anthropic.APIStatusError:
        pass  # it reached the emulator: the table's other rows say what the emulator serves
    except anthropic.AnthropicError as exc:
        h.unsupported("messages.count_tokens", f"the SDK refuses it on Bedrock before sending: {exc}")
    sync.close()
    asyncio.run(_async(h, user))


async def _async(h: Harness, user: list[Any]) -> None:
    client = anthropic.AsyncAnthropicBedrock(
        base_url=h.url, aws_access_key=h.access_key, aws_secret_key=h.secret_key, aws_region=h.region
    )
    with h.op("async messages.create", echo=PROMPT) as op:
        _message(op, await client.messages.create(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=user))

    with h.op("async messages.stream", echo=PROMPT) as op:
        async with client.messages.stream(model=MODEL_ID, max_tokens=MAX_TOKENS, messages=user) as stream:
            async for piece in stream.text_stream:
                op.add_text(piece)
            final = await stream.get_final_message()
        op.stop_reason(final.stop_reason)
        op.usage(final.usage.input_tokens, final.usage.output_tokens)
    await client.close()


if __name__ == "__main__":
    main(run)
