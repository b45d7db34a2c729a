"""aiobotocore's async ``bedrock-runtime`` client (botocore on aiohttp) pointed at the emulator.

The same operations and errors as boto3's scenario, awaited: the body is read with ``await body.read()``,
streams are iterated with ``async for``. Retries: ``standard`` mode, 2 attempts (see the boto3 scenario).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

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


async def _run(h: Harness) -> None:
    session = get_session()
    config = AioConfig(retries={"mode": "standard", "max_attempts": 2})
    body = json.dumps(ANTHROPIC_BODY)
    inference = {"maxTokens": MAX_TOKENS}
    async with session.create_client(
        "bedrock-runtime",
        endpoint_url=h.url,
        region_name=h.region,
        aws_access_key_id=h.access_key,
        aws_secret_access_key=h.secret_key,
        config=config,
    ) as client:
        with h.op("invoke_model", echo=PROMPT) as op:
            response = await client.invoke_model(modelId=MODEL_ID, body=body)
            async with response["body"] as stream:
                anthropic_answer(op, json.loads(await stream.read()))

        with h.op("invoke_model_with_response_stream", echo=PROMPT) as op:
            response = await client.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)
            async for event in response["body"]:
                anthropic_chunk(op, json.loads(event["chunk"]["bytes"]))

        with h.op("converse", echo=PROMPT) as op:
            answer = await client.converse(
                modelId=MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig=inference
            )
            converse_answer(op, answer)

        with h.op("converse_stream", echo=PROMPT) as op:
            response = await client.converse_stream(
                modelId=MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig=inference
            )
            tools: dict[int, list[str]] = {}
            async for event in response["stream"]:
                converse_event(op, event, tools)

        with h.op("converse, Amazon Nova", echo=PROMPT) as op:
            answer = await client.converse(
                modelId=NOVA_MODEL_ID, messages=CONVERSE_MESSAGES, inferenceConfig=inference
            )
            converse_answer(op, answer)

        with h.op("count_tokens") as op:
            counted = await client.count_tokens(
                modelId=MODEL_ID, input={"converse": {"messages": CONVERSE_MESSAGES}}
            )
            op.usage(counted["inputTokens"], None)

        with h.op("invoke_model, throttled", fault="throttling", fault_times=5) as op:
            try:
                await client.invoke_model(modelId=MODEL_ID, body=body)
            except botocore.exceptions.ClientError as exc:
                code = exc.response["Error"]["Code"]
                h.expect_raised(op, exc, client.exceptions.ThrottlingException, code)

        with h.op(
            "invoke_model_with_response_stream, exception in the stream",
            fault="exception; name=modelStreamErrorException; after=2",
        ) as op:
            try:
                response = await client.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)
                async for event in response["body"]:
                    anthropic_chunk(op, json.loads(event["chunk"]["bytes"]))
            except botocore.exceptions.ClientError as exc:
                code = exc.response["Error"]["Code"]
                h.expect_raised(op, exc, botocore.exceptions.EventStreamError, code)

        tool_messages = [{"role": "user", "content": [{"text": TOOL_PROMPT}]}]
        first: dict[str, Any] = {}
        with h.op("converse, toolUse") as op:
            first = await client.converse(
                modelId=MODEL_ID, messages=tool_messages, toolConfig=TOOL_CONFIG, inferenceConfig=inference
            )
            converse_answer(op, first)
            op.check(first.get("stopReason") == "tool_use", f"stopReason {first.get('stopReason')!r}")
        if first.get("stopReason") == "tool_use":
            with h.op("converse, toolResult", echo=TOOL_RESULT) as op:
                answer = await client.converse(
                    modelId=MODEL_ID,
                    messages=tool_followup(first, TOOL_RESULT),
                    toolConfig=TOOL_CONFIG,
                    inferenceConfig=inference,
                )
                converse_answer(op, answer)

        with h.op("converse_stream, toolUse") as op:
            response = await client.converse_stream(
                modelId=MODEL_ID, messages=tool_messages, toolConfig=TOOL_CONFIG, inferenceConfig=inference
            )
            tools = {}
            async for event in response["stream"]:
                converse_event(op, event, tools)
            for _, (name, arguments) in sorted(tools.items()):
                op.tool_call(name, arguments)
            op.check(bool(tools), "no toolUse block in the stream")


def run(h: Harness) -> None:
    h.versions("aiobotocore", "botocore", "aiohttp")
    asyncio.run(_run(h))


if __name__ == "__main__":
    main(run)
