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

from interop.scenarios.harness import MODEL_ID, NOVA_MODEL_ID, TOOL_PROMPT, TOOL_RESULT, Harness, main
from interop.scenarios.shapes import (
    ANTHROPIC_BODY,
    CONVERSE_MESSAGES,
    MAX_TOKENS,
    PROMPT,
    TOOL_CONFIG,
    anthropic_answer,
    anthropic_chunk,
    converse_answer,
    converse_event,
    tool_followup,
)


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

    with h.op("invoke_model", echo=PROMPT) as op:
        response = client.invoke_model(modelId=MODEL_ID, body=body)
        anthropic_answer(op, json.loads(response["body"].read()))

    with h.op("invoke_model_with_response_stream", echo=PROMPT) as op:
        response = client.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)
        for event in response["body"]:
            anthropic_chunk(op, json.loads(event["chunk"]["bytes"]))

    with h.op("converse", echo=PROMPT) as op:
        converse_answer(
            op,
            client.converse(
                modelId=MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig={"maxTokens": MAX_TOKENS}
            ),
        )

    with h.op("converse_stream", echo=PROMPT) as op:
        response = client.converse_stream(
            modelId=MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig={"maxTokens": MAX_TOKENS}
        )
        tools: dict[int, list[str]] = {}
        for event in response["stream"]:
            converse_event(op, event, tools)

    with h.op("converse, Amazon Nova", echo=PROMPT) as op:
        converse_answer(
            op,
            client.converse(
                modelId=NOVA_MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig={"maxTokens": MAX_TOKENS}
            ),
        )

    with h.op("count_tokens") as op:
        counted = client.count_tokens(modelId=MODEL_ID, input={"converse": {"messages": CONVERSE_MESSAGES}})
        op.usage(counted["inputTokens"], None)

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
            op.check(
                exc.response["Error"]["Code"] == "modelStreamErrorException", f"code {exc.response['Error']}"
            )

    tool_messages = [{"role": "user", "content": [{"text": TOOL_PROMPT}]}]
    first: dict[str, Any] = {}
    with h.op("converse, toolUse") as op:
        first = client.converse(
            modelId=MODEL_ID,
            messages=tool_messages,
            toolConfig=TOOL_CONFIG,
            inferenceConfig={"maxTokens": MAX_TOKENS},
        )
        converse_answer(op, first)
        op.check(
            first.get("stopReason") == "tool_use", f"stopReason {first.get('stopReason')!r}, not tool_use"
        )
    if first.get("stopReason") == "tool_use":
        with h.op("converse, toolResult", echo=TOOL_RESULT) as op:
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
            modelId=MODEL_ID,
            messages=tool_messages,
            toolConfig=TOOL_CONFIG,
            inferenceConfig={"maxTokens": MAX_TOKENS},
        )
        tools = {}
        for event in response["stream"]:
            converse_event(op, event, tools)
        for _, (name, arguments) in sorted(tools.items()):
            op.tool_call(name, arguments)
        op.check(bool(tools), "no toolUse block in the stream")


if __name__ == "__main__":
    main(run)
