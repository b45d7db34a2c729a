"""Clients for Amazon Bedrock Runtime (InvokeModel and its response stream, Converse, ConverseStream,
CountTokens), on httpx alone.

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
local emulator is :mod:`client.emulator`. None of these is imported by ``import client`` (start-up stays
fast): ``client.compat`` and the others are loaded on first attribute access.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import (
    AccessDeniedException,
    BedrockRuntimeError,
    CredentialsError,
    EndpointConnectionError,
    InternalServerException,
    ModelErrorException,
    ModelNotReadyException,
    ModelStreamErrorException,
    ModelTimeoutException,
    NoCredentialsError,
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
from .invoke_response import InvokeModelResponse
from .runtime import AsyncBedrockRuntimeClient, BedrockRuntimeClient
from .stream import AsyncResponseStream, ResponseStream

__all__ = [
    "AccessDeniedException",
    "AsyncBedrockRuntimeClient",
    "AsyncResponseStream",
    "BedrockRuntimeClient",
    "BedrockRuntimeError",
    "Chunk",
    "CredentialsError",
    "EndpointConnectionError",
    "InternalServerException",
    "InvokeModelResponse",
    "ModelErrorException",
    "ModelNotReadyException",
    "ModelStreamErrorException",
    "ModelTimeoutException",
    "NoCredentialsError",
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

# Submodules that ``import client`` does not load (each costs start-up time, and the emulator and the CLI are
# not needed to stream an answer); ``client.compat`` and the others still work as attributes, loaded then.
_LAZY_SUBMODULES = frozenset(
    {"cli", "compat", "emulator", "families", "stdlib_transport", "pytest_plugin", "sonic", "duplex"}
)


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
