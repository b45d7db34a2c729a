"""litellm's ``completion`` on its Bedrock routes, given ``aws_bedrock_runtime_endpoint`` and the keys.

``bedrock/converse/<model>`` (Converse, ConverseStream) and ``bedrock/invoke/<model>`` (InvokeModel and its
stream), each plain and ``stream=True`` (with ``stream_options={"include_usage": True}``). litellm answers
in OpenAI's shape: ``choices[0].message.content``, ``finish_reason`` (``stop``, ``length``,
``tool_calls``: mapped by the judge) and ``usage.prompt_tokens`` / ``completion_tokens``. A throttled call
raises ``litellm.RateLimitError``; tools are OpenAI ``tools`` and come back as ``tool_calls``.
"""

from __future__ import annotations

import json
from typing import Any

import litellm

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
TOOL = {
    "type": "function",
    "function": {
        "name": WEATHER_TOOL,
        "description": WEATHER_TOOL_DESCRIPTION,
        "parameters": WEATHER_TOOL_SCHEMA,
    },
}


def _answer(op: Op, response: Any) -> None:
    choice = response.choices[0]
    op.text(choice.message.content or "")
    op.stop_reason(choice.finish_reason)
    usage = getattr(response, "usage", None)
    if usage is not None:
        op.usage(usage.prompt_tokens, usage.completion_tokens)
    for call in choice.message.tool_calls or []:
        op.tool_call(call.function.name, call.function.arguments)


def _stream(op: Op, chunks: Any) -> None:
    for chunk in chunks:
        if chunk.choices:
            choice = chunk.choices[0]
            op.add_text(choice.delta.content)
            if choice.finish_reason:
                op.stop_reason(choice.finish_reason)
        usage = getattr(chunk, "usage", None)
        if usage is not None and usage.completion_tokens:
            op.usage(usage.prompt_tokens, usage.completion_tokens)


def run(h: Harness) -> None:
    h.versions("litellm", "boto3", "botocore", "httpx")
    litellm.telemetry = False
    keys: dict[str, Any] = {
        "aws_bedrock_runtime_endpoint": h.url,
        "aws_access_key_id": h.access_key,
        "aws_secret_access_key": h.secret_key,
        "aws_region_name": h.region,
        "max_tokens": MAX_TOKENS,
    }
    user = [{"role": "user", "content": PROMPT}]
    for route in ("converse", "invoke"):
        model = f"bedrock/{route}/{MODEL_ID}"
        with h.op(f"completion bedrock/{route}", echo=PROMPT) as op:
            _answer(op, litellm.completion(model=model, messages=user, **keys))
        with h.op(f"completion bedrock/{route}, stream=True", echo=PROMPT) as op:
            stream = litellm.completion(
                model=model, messages=user, stream=True, stream_options={"include_usage": True}, **keys
            )
            _stream(op, stream)

    with h.op("completion bedrock/converse, throttled", fault="throttling", fault_times=10) as op:
        try:
            litellm.completion(model=f"bedrock/converse/{MODEL_ID}", messages=user, **keys)
        except Exception as exc:
            h.expect_raised(op, exc, litellm.RateLimitError, f"status {getattr(exc, 'status_code', None)}")

    ask = [{"role": "user", "content": TOOL_PROMPT}]
    # The invoke route offers tools in the Anthropic Messages body rather than Converse's toolConfig.
    with h.op("completion bedrock/invoke, tools: tool call") as op:
        answer = litellm.completion(model=f"bedrock/invoke/{MODEL_ID}", messages=ask, tools=[TOOL], **keys)
        _answer(op, answer)
        op.check(bool(answer.choices[0].message.tool_calls), "no tool call")

    first: Any = None
    with h.op("completion bedrock/converse, tools: tool call") as op:
        first = litellm.completion(model=f"bedrock/converse/{MODEL_ID}", messages=ask, tools=[TOOL], **keys)
        _answer(op, first)
        op.check(bool(first.choices[0].message.tool_calls), "no tool call")
    if first is not None and first.choices[0].message.tool_calls:
        with h.op("completion bedrock/converse, tools: tool result", echo=TOOL_RESULT) as op:
            call = first.choices[0].message.tool_calls[0]
            follow = [
                *ask,
                {
                    "role": "assistant",
                    "content": first.choices[0].message.content,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.function.name, "arguments": call.function.arguments},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(TOOL_RESULT)},
            ]
            _answer(
                op,
                litellm.completion(
                    model=f"bedrock/converse/{MODEL_ID}", messages=follow, tools=[TOOL], **keys
                ),
            )


if __name__ == "__main__":
    main(run)
