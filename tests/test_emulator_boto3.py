"""boto3, pointed at the emulator with ``endpoint_url``, streams the same events our client does.

boto3 is the oracle here: it must accept the emulator's signatures checks, headers and frames as it accepts
the service's, and see the same chunks, exceptions and errors as ``client.BedrockRuntimeClient``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

import client
from client.cli import build_body
from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator, Fault, FaultKind
from client.families import family_of, parse_chunk
from sigv4 import Credentials

MODELS = (
    "anthropic.claude-3-haiku-20240307-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.titan-text-express-v1",
    "meta.llama3-8b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "cohere.command-r-v1:0",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
)
REGION = "us-west-2"
TOKEN = "session-token-for-the-emulator"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(region=REGION) as emulator:
        yield emulator


def boto3_client(emu: Emulator) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=emu.url,
        aws_access_key_id=EXAMPLE_ACCESS_KEY_ID,
        aws_secret_access_key=EXAMPLE_SECRET_ACCESS_KEY,
        aws_session_token=TOKEN,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10),
    )


def our_client(emu: Emulator) -> client.BedrockRuntimeClient:
    credentials = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, TOKEN)
    return client.BedrockRuntimeClient(REGION, credentials=credentials, endpoint_url=emu.url, max_attempts=1)


def body_for(model_id: str) -> str:
    family = family_of(model_id)
    assert family is not None
    return json.dumps(build_body(family, f"Which family is {model_id}?", 40))


@pytest.mark.parametrize("model_id", MODELS)
def test_boto3_and_our_client_stream_the_same_events(emu: Emulator, model_id: str) -> None:
    body = body_for(model_id)
    response = boto3_client(emu).invoke_model_with_response_stream(
        modelId=model_id, body=body, performanceConfigLatency="optimized"
    )
    theirs = [event["chunk"]["bytes"] for event in response["body"]]
    assert response["contentType"] == "application/json"
    assert response["performanceConfigLatency"] == "optimized"
    with our_client(emu) as bedrock:
        stream = bedrock.invoke_model_with_response_stream(
            model_id, body, performance_config_latency="optimized"
        )
        with stream:
            ours = [chunk.bytes for chunk in stream]
        assert stream.performance_config_latency == "optimized"
        assert stream.content_type == "application/json"
    assert len(theirs) > 3
    assert ours == theirs
    boto_request, our_request = emu.requests[-2:]
    assert boto_request.status == our_request.status == 200
    assert boto_request.path == our_request.path  # both encode the model id the same way
    assert boto_request.body == our_request.body


@pytest.mark.parametrize("name", ["throttlingException", "modelStreamErrorException", "validationException"])
def test_in_stream_exceptions_agree(emu: Emulator, name: str) -> None:
    model_id = MODELS[0]
    body = body_for(model_id)
    emu.inject(Fault(FaultKind.EXCEPTION, name=name, after=2, message="stopped here"))
    response = boto3_client(emu).invoke_model_with_response_stream(modelId=model_id, body=body)
    theirs: list[bytes] = []
    with pytest.raises(EventStreamError) as boto_error:
        for event in response["body"]:
            theirs.append(event["chunk"]["bytes"])
    assert boto_error.value.response["Error"]["Code"] == name
    assert boto_error.value.response["Error"]["Message"] == "stopped here"

    emu.inject(Fault(FaultKind.EXCEPTION, name=name, after=2, message="stopped here"))
    ours: list[bytes] = []
    with our_client(emu) as bedrock:
        stream = bedrock.invoke_model_with_response_stream(model_id, body)
        with pytest.raises(client.BedrockRuntimeError) as our_error, stream:
            for chunk in stream:
                ours.append(chunk.bytes)
    assert type(our_error.value).__name__ == name[0].upper() + name[1:]
    assert our_error.value.message == "stopped here"
    assert ours == theirs and len(ours) == 2


def test_errors_before_the_stream_agree(emu: Emulator) -> None:
    model_id = MODELS[0]
    body = body_for(model_id)
    emu.inject(Fault(FaultKind.THROTTLING))
    with pytest.raises(ClientError) as boto_error:
        boto3_client(emu).invoke_model_with_response_stream(modelId=model_id, body=body)
    assert boto_error.value.response["Error"]["Code"] == "ThrottlingException"
    assert boto_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    boto_request_id = boto_error.value.response["ResponseMetadata"]["RequestId"]
    assert boto_request_id == emu.requests[-1].request_id

    emu.inject(Fault(FaultKind.THROTTLING))
    with our_client(emu) as bedrock, pytest.raises(client.ThrottlingException) as our_error:
        bedrock.invoke_model_with_response_stream(model_id, body)
    assert our_error.value.status_code == 429
    assert our_error.value.request_id == emu.requests[-1].request_id
    assert our_error.value.message == boto_error.value.response["Error"]["Message"]


def test_boto3_sees_the_unknown_model_and_bad_signature_like_the_service(emu: Emulator) -> None:
    with pytest.raises(ClientError) as unknown:
        boto3_client(emu).invoke_model_with_response_stream(modelId="anthropic.claude-99", body="{}")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    wrong = boto3.client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=emu.url,
        aws_access_key_id=EXAMPLE_ACCESS_KEY_ID,
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as bad:
        wrong.invoke_model_with_response_stream(modelId=MODELS[0], body=body_for(MODELS[0]))
    assert bad.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "The Canonical String for this request should have been" in bad.value.response["Error"]["Message"]


@pytest.mark.parametrize("model_id", MODELS)
def test_invoke_model_and_converse_agree_with_the_stream(emu: Emulator, model_id: str) -> None:
    """The CLI's body through InvokeModel, its stream and Converse: one text, cut at 40 tokens."""
    bedrock = boto3_client(emu)
    body = body_for(model_id)
    family = family_of(model_id)
    streamed = "".join(
        parse_chunk(family, json.loads(event["chunk"]["bytes"])).text
        for event in bedrock.invoke_model_with_response_stream(modelId=model_id, body=body)["body"]
    )
    invoked = bedrock.invoke_model(modelId=model_id, body=body)
    assert invoked["contentType"] == "application/json"
    native = json.loads(invoked["body"].read())
    assert streamed in json.dumps(native, ensure_ascii=False).replace('\\"', '"')
    answer = bedrock.converse(
        modelId=model_id,
        messages=[{"role": "user", "content": [{"text": f"Which family is {model_id}?"}]}],
        inferenceConfig={"maxTokens": 40},
    )
    assert answer["output"]["message"]["content"][0]["text"] == streamed
    tokens = bedrock.count_tokens(modelId=model_id, input={"invokeModel": {"body": body.encode()}})[
        "inputTokens"
    ]
    assert tokens == answer["usage"]["inputTokens"]
