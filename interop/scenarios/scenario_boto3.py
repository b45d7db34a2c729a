"""boto3's ``bedrock-runtime`` client pointed at the emulator with ``endpoint_url``.

The four inference operations; a throttled request raises ``ClientError`` with code ``ThrottlingException``
(as ``client.exceptions.ThrottlingException``) after botocore's retries; an exception inside the stream
raises ``botocore.exceptions.EventStreamError`` while iterating; Converse tools round-trip as ``toolUse`` /
``toolResult`` blocks. Retries use botocore's ``standard`` mode with 2 attempts, only to keep the throttled
case short (legacy mode sleeps up to 15 s over 5 attempts).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

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
ANTHROPIC_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": MAX_TOKENS,
    "messages": [{"role": "user", "content": PROMPT}],
}
CONVERSE_MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]
TOOL_CONFIG = {
    "tools": [
        {
            "toolSpec": {
                "name": WEATHER_TOOL,
                "description": WEATHER_TOOL_DESCRIPTION,
                "inputSchema": {"json": WEATHER_TOOL_SCHEMA},
            }
        }
    ]
}


def anthropic_answer(op: Op, body: dict[str, Any]) -> None:
    op.text("".join(block.get("text", "") for block in body["content"] if block.get("type") == "text"))
    op.stop_reason(body.get("stop_reason"))
    op.usage(body["usage"].get("input_tokens"), body["usage"].get("output_tokens"))


def anthropic_chunk(op: Op, chunk: dict[str, Any]) -> None:
    kind = chunk.get("type")
    if kind == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
        op.add_text(chunk["delta"]["text"])
    elif kind == "message_delta":
        op.stop_reason(chunk["delta"].get("stop_reason"))


def converse_answer(op: Op, response: dict[str, Any]) -> None:
    content = response["output"]["message"]["content"]
    op.text("".join(block["text"] for block in content if "text" in block))
    for block in content:
        if "toolUse" in block:
            op.tool_call(block["toolUse"]["name"], block["toolUse"]["input"])
    op.stop_reason(response.get("stopReason"))
    op.usage(response["usage"].get("inputTokens"), response["usage"].get("outputTokens"))


def converse_event(op: Op, event: dict[str, Any], tools: dict[int, list[str]]) -> None:
    if "contentBlockStart" in event:
        start = event["contentBlockStart"]
        if "toolUse" in start.get("start", {}):
            tools[start["contentBlockIndex"]] = [start["start"]["toolUse"]["name"], ""]
    elif "contentBlockDelta" in event:
        block = event["contentBlockDelta"]
        if "text" in block["delta"]:
            op.add_text(block["delta"]["text"])
        elif "toolUse" in block["delta"]:
            tools[block["contentBlockIndex"]][1] += block["delta"]["toolUse"]["input"]
    elif "messageStop" in event:
        op.stop_reason(event["messageStop"].get("stopReason"))
    elif "metadata" in event:
        usage = event["metadata"].get("usage", {})
        op.usage(usage.get("inputTokens"), usage.get("outputTokens"))


def tool_followup(first: dict[str, Any], result: str) -> list[dict[str, Any]]:
    """The Converse messages that answer ``first``'s tool use with ``result``."""
    assistant = first["output"]["message"]
    tool_use = next(block["toolUse"] for block in assistant["content"] if "toolUse" in block)
    return [
        {"role": "user", "content": [{"text": TOOL_PROMPT}]},
        assistant,
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": tool_use["toolUseId"], "content": [{"text": result}]}}],
        },
    ]


def run(h: Harness) -> None:
    h.versions("boto3", "botocore")
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=h.url,
        region_name=h.region,
        aws_access_key_id=h.access_key,
        aws_secret_access_key=h.secret_key,
        config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}),
    )
    body = json.dumps(ANTHROPIC_BODY)

    with h.op("invoke_model") as op:
        response = client.invoke_model(modelId=MODEL_ID, body=body)
        anthropic_answer(op, json.loads(response["body"].read()))

    with h.op("invoke_model_with_response_stream") as op:
        response = client.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)
        for event in response["body"]:
            anthropic_chunk(op, json.loads(event["chunk"]["bytes"]))

    with h.op("converse") as op:
        converse_answer(
            op,
            client.converse(modelId=MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig={"maxTokens": MAX_TOKENS}),
        )

    with h.op("converse_stream") as op:
        response = client.converse_stream(
            modelId=MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig={"maxTokens": MAX_TOKENS}
        )
        tools: dict[int, list[str]] = {}
        for event in response["stream"]:
            converse_event(op, event, tools)

    with h.op("invoke_model, throttled", fault="throttling", fault_times=5) as op:
        try:
            client.invoke_model(modelId=MODEL_ID, body=body)
        except botocore.exceptions.ClientError as exc:
            h.expect_raised(op, exc, client.exceptions.ThrottlingException, exc.response["Error"]["Code"])

    with h.op(
        "invoke_model_with_response_stream, exception in the stream",
        fault="exception; name=modelStreamErrorException; after=2",
    ) as op:
        try:
            response = client.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)
            for event in response["body"]:
                anthropic_chunk(op, json.loads(event["chunk"]["bytes"]))
        except botocore.exceptions.ClientError as exc:
            h.expect_raised(op, exc, botocore.exceptions.EventStreamError, exc.response["Error"]["Code"])
            op.check(exc.response["Error"]["Code"] == "modelStreamErrorException", f"code {exc.response['Error']}")

    tool_messages = [{"role": "user", "content": [{"text": TOOL_PROMPT}]}]
    first: dict[str, Any] = {}
    with h.op("converse, toolUse") as op:
        first = client.converse(
            modelId=MODEL_ID, messages=tool_messages, toolConfig=TOOL_CONFIG, inferenceConfig={"maxTokens": MAX_TOKENS}
        )
        converse_answer(op, first)
        op.check(first.get("stopReason") == "tool_use", f"stopReason {first.get('stopReason')!r}, not tool_use")
    if first.get("stopReason") == "tool_use":
        with h.op("converse, toolResult") as op:
            converse_answer(
                op,
                client.converse(
                    modelId=MODEL_ID,
                    messages=tool_followup(first, TOOL_RESULT),
                    toolConfig=TOOL_CONFIG,
                    inferenceConfig={"maxTokens": MAX_TOKENS},
                ),
            )

    with h.op("converse_stream, toolUse") as op:
        response = client.converse_stream(
            modelId=MODEL_ID, messages=tool_messages, toolConfig=TOOL_CONFIG, inferenceConfig={"maxTokens": MAX_TOKENS}
        )
        tools = {}
        for event in response["stream"]:
            converse_event(op, event, tools)
        for _, (name, arguments) in sorted(tools.items()):
            op.tool_call(name, arguments)
        op.check(bool(tools), "no toolUse block in the stream")


if __name__ == "__main__":
    main(run)
