"""A streaming client for Amazon Bedrock Runtime's InvokeModelWithResponseStream, on httpx alone.

::

    import client

    with client.BedrockRuntimeClient("us-east-1") as bedrock:
        stream = bedrock.invoke_model_with_response_stream(model_id, body)
        with stream:
            for event in stream:           # client.Chunk
                print(event.json())

Every error derives from :class:`BedrockRuntimeError`. The service's exceptions keep the API's names
(``ThrottlingException``...); :class:`StreamError` means the stream itself broke (cut, dropped, corrupt).
The boto3-shaped drop-in is :mod:`client.compat`; model-family helpers are in :mod:`client.families`; the
local emulator is :mod:`client.emulator` (none of these is imported here, to keep start-up fast).
"""

from __future__ import annotations

from .errors import (
    AccessDeniedException,
    BedrockRuntimeError,
    EndpointConnectionError,
    InternalServerException,
    ModelErrorException,
    ModelNotReadyException,
    ModelStreamErrorException,
    ModelTimeoutException,
    NoRegionError,
    ParamValidationError,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ServiceUnavailableException,
    StreamError,
    ThrottlingException,
    UnexpectedResponseError,
    UnmodeledStreamError,
    ValidationException,
)
from .events import Chunk
from .runtime import AsyncBedrockRuntimeClient, BedrockRuntimeClient
from .stream import AsyncResponseStream, ResponseStream

__all__ = [
    "AccessDeniedException",
    "AsyncBedrockRuntimeClient",
    "AsyncResponseStream",
    "BedrockRuntimeClient",
    "BedrockRuntimeError",
    "Chunk",
    "EndpointConnectionError",
    "InternalServerException",
    "ModelErrorException",
    "ModelNotReadyException",
    "ModelStreamErrorException",
    "ModelTimeoutException",
    "NoRegionError",
    "ParamValidationError",
    "ResourceNotFoundException",
    "ResponseStream",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "StreamError",
    "ThrottlingException",
    "UnexpectedResponseError",
    "UnmodeledStreamError",
    "ValidationException",
]
