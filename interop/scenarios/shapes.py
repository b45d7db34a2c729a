"""Request and answer shapes shared by the botocore-based scenarios (standard library only)."""

from __future__ import annotations

from typing import Any

from interop.scenarios.harness import (
    TOOL_PROMPT,
    WEATHER_TOOL,
    WEATHER_TOOL_DESCRIPTION,
    WEATHER_TOOL_SCHEMA,
    Op,
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
