"""langchain-aws: ``ChatBedrockConverse`` (Converse and ConverseStream) and ``ChatBedrock`` (InvokeModel and
its stream), both given ``endpoint_url`` and the example keys.

Text, ``usage_metadata`` and the stop reason in ``response_metadata`` are checked; tools go through
``bind_tools`` and come back as ``AIMessage.tool_calls``, answered with a ``ToolMessage``; a throttled call
raises botocore's ``ClientError`` (langchain-aws passes it through). Retries: botocore's ``standard`` mode,
2 attempts (see the boto3 scenario).
"""

from __future__ import annotations

from typing import Any

import botocore.config
import botocore.exceptions
from langchain_aws import ChatBedrock, ChatBedrockConverse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

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


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        block.get("text", "") for block in content if isinstance(block, dict) and block.get("type") == "text"
    )


def _stop(message: BaseMessage) -> Any:
    metadata = message.response_metadata
    return metadata.get("stopReason", metadata.get("stop_reason"))


def _message(op: Op, message: BaseMessage) -> None:
    op.text(_text(message.content))
    op.stop_reason(_stop(message))
    usage = getattr(message, "usage_metadata", None)
    if usage:
        op.usage(usage.get("input_tokens"), usage.get("output_tokens"))
    for call in getattr(message, "tool_calls", None) or []:
        op.tool_call(call["name"], call["args"])


def _stream(op: Op, chunks: Any) -> None:
    full: Any = None
    for chunk in chunks:
        op.add_text(_text(chunk.content))
        full = chunk if full is None else full + chunk
    op.check(full is not None, "the stream yielded no chunk")
    if full is not None:
        op.stop_reason(_stop(full))
        usage = full.usage_metadata
        if usage:
            op.usage(usage.get("input_tokens"), usage.get("output_tokens"))


def run(h: Harness) -> None:
    h.versions("langchain-aws", "langchain-core", "boto3", "botocore")
    keys: dict[str, Any] = {
        "endpoint_url": h.url,
        "region_name": h.region,
        "aws_access_key_id": h.access_key,
        "aws_secret_access_key": h.secret_key,
        "config": botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}),
    }
    converse = ChatBedrockConverse(model=MODEL_ID, max_tokens=MAX_TOKENS, **keys)

    with h.op("ChatBedrockConverse.invoke", echo=PROMPT) as op:
        _message(op, converse.invoke(PROMPT))

    with h.op("ChatBedrockConverse.stream", echo=PROMPT) as op:
        _stream(op, converse.stream(PROMPT))

    with h.op("ChatBedrockConverse.invoke, throttled", fault="throttling", fault_times=5) as op:
        try:
            converse.invoke(PROMPT)
        except Exception as exc:
            detail = exc.response["Error"]["Code"] if isinstance(exc, botocore.exceptions.ClientError) else ""
            h.expect_raised(op, exc, botocore.exceptions.ClientError, detail)

    with_tools = converse.bind_tools([TOOL])
    first: AIMessage | None = None
    with h.op("ChatBedrockConverse.bind_tools, tool call") as op:
        answer = with_tools.invoke([HumanMessage(TOOL_PROMPT)])
        assert isinstance(answer, AIMessage)
        first = answer
        _message(op, answer)
        op.check(bool(answer.tool_calls), f"no tool call (stop {_stop(answer)!r})")
    if first is not None and first.tool_calls:
        with h.op("ChatBedrockConverse.bind_tools, ToolMessage", echo=TOOL_RESULT) as op:
            call = first.tool_calls[0]
            follow = [HumanMessage(TOOL_PROMPT), first, ToolMessage(TOOL_RESULT, tool_call_id=call["id"])]
            _message(op, with_tools.invoke(follow))

    invoke = ChatBedrock(model_id=MODEL_ID, model_kwargs={"max_tokens": MAX_TOKENS}, **keys)
    with h.op("ChatBedrock.invoke", echo=PROMPT) as op:
        _message(op, invoke.invoke(PROMPT))

    with h.op("ChatBedrock.stream", echo=PROMPT) as op:
        _stream(op, invoke.stream(PROMPT))

    # ChatBedrock offers tools in the Anthropic Messages body (InvokeModel), not through Converse.
    with h.op("ChatBedrock.bind_tools, tool call") as op:
        answer = invoke.bind_tools([TOOL]).invoke([HumanMessage(TOOL_PROMPT)])
        assert isinstance(answer, AIMessage)
        _message(op, answer)
        op.check(bool(answer.tool_calls), f"no tool call (stop {_stop(answer)!r})")


if __name__ == "__main__":
    main(run)
