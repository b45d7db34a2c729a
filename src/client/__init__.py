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
from typing import TYPE_CHECKING, Any

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
from .runtime import AsyncBedrockRuntimeClient, BedrockRuntimeClient
from .stream import AsyncResponseStream, ResponseStream

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and editors
    from .converse_events import (
        CitationDelta,
        ContentBlockDelta,
        ContentBlockStart,
        ContentBlockStop,
        ImageDelta,
        MessageStart,
        MessageStop,
        Metadata,
        ReasoningRedactedDelta,
        ReasoningSignatureDelta,
        ReasoningTextDelta,
        TextDelta,
        ToolResultDelta,
        ToolUseDelta,
        UnknownDelta,
        UnknownEvent,
        Usage,
    )
    from .converse_events import (
        ConverseEvent as ConverseEvent,  # a Union: usable in annotations, not documented on its own
    )
    from .converse_events import (
        Delta as Delta,
    )
    from .converse_request import (
        CachePointBlock,
        ContentBlock,
        DocumentBlock,
        DocumentSource,
        GuardrailConfig,
        ImageBlock,
        ImageSource,
        InferenceConfig,
        JsonSchemaDefinition,
        Message,
        OutputConfig,
        OutputFormat,
        OutputFormatStructure,
        PerformanceConfig,
        ReasoningContentBlock,
        ReasoningTextBlock,
        S3Location,
        ServiceTier,
        SystemContentBlock,
        Tool,
        ToolChoice,
        ToolConfig,
        ToolInputSchema,
        ToolResultBlock,
        ToolSpec,
        ToolUseBlock,
    )
    from .converse_response import (
        ConverseAccumulator,
        ConverseResponse,
        ToolInputError,
        ToolUse,
    )
    from .converse_stream import (
        AsyncConverseStream,
        ConverseStream,
    )
    from .invoke_response import InvokeModelResponse

__all__ = [
    "AccessDeniedException",
    "AsyncBedrockRuntimeClient",
    "AsyncConverseStream",
    "AsyncResponseStream",
    "BedrockRuntimeClient",
    "BedrockRuntimeError",
    "CachePointBlock",
    "Chunk",
    "CitationDelta",
    "ContentBlock",
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "ConverseAccumulator",
    "ConverseResponse",
    "ConverseStream",
    "CredentialsError",
    "DocumentBlock",
    "DocumentSource",
    "EndpointConnectionError",
    "GuardrailConfig",
    "ImageBlock",
    "ImageDelta",
    "ImageSource",
    "InferenceConfig",
    "InternalServerException",
    "InvokeModelResponse",
    "JsonSchemaDefinition",
    "Message",
    "MessageStart",
    "MessageStop",
    "Metadata",
    "ModelErrorException",
    "ModelNotReadyException",
    "ModelStreamErrorException",
    "ModelTimeoutException",
    "NoCredentialsError",
    "NoRegionError",
    "OutputConfig",
    "OutputFormat",
    "OutputFormatStructure",
    "ParamValidationError",
    "PerformanceConfig",
    "ReasoningContentBlock",
    "ReasoningRedactedDelta",
    "ReasoningSignatureDelta",
    "ReasoningTextBlock",
    "ReasoningTextDelta",
    "ResourceNotFoundException",
    "ResponseStream",
    "S3Location",
    "ServiceQuotaExceededException",
    "ServiceTier",
    "ServiceUnavailableException",
    "StreamError",
    "SystemContentBlock",
    "TextDelta",
    "ThrottlingException",
    "Tool",
    "ToolChoice",
    "ToolConfig",
    "ToolInputError",
    "ToolInputSchema",
    "ToolResultBlock",
    "ToolResultDelta",
    "ToolSpec",
    "ToolUse",
    "ToolUseBlock",
    "ToolUseDelta",
    "UnexpectedResponseError",
    "UnknownDelta",
    "UnknownEvent",
    "UnmodeledStreamError",
    "Usage",
    "ValidationException",
]

# Submodules that ``import client`` does not load (each costs start-up time, and the emulator and the CLI are
# not needed to stream an answer); ``client.compat`` and the others still work as attributes, loaded then.
_LAZY_SUBMODULES = frozenset(
    {"cli", "compat", "emulator", "families", "stdlib_transport", "pytest_plugin", "sonic", "duplex"}
)


# Converse's public names, by the module that defines them: loaded on first use, so that an application
# that only streams InvokeModel answers never imports them (tests/test_startup_imports.py pins that).
_LAZY_NAMES = {
    "InvokeModelResponse": "invoke_response",
    "CitationDelta": "converse_events",
    "ContentBlockDelta": "converse_events",
    "ContentBlockStart": "converse_events",
    "ContentBlockStop": "converse_events",
    "ConverseEvent": "converse_events",
    "Delta": "converse_events",
    "ImageDelta": "converse_events",
    "MessageStart": "converse_events",
    "MessageStop": "converse_events",
    "Metadata": "converse_events",
    "ReasoningRedactedDelta": "converse_events",
    "ReasoningSignatureDelta": "converse_events",
    "ReasoningTextDelta": "converse_events",
    "TextDelta": "converse_events",
    "ToolResultDelta": "converse_events",
    "ToolUseDelta": "converse_events",
    "UnknownDelta": "converse_events",
    "UnknownEvent": "converse_events",
    "Usage": "converse_events",
    "ConverseAccumulator": "converse_response",
    "ConverseResponse": "converse_response",
    "ToolInputError": "converse_response",
    "ToolUse": "converse_response",
    "CachePointBlock": "converse_request",
    "ContentBlock": "converse_request",
    "DocumentBlock": "converse_request",
    "DocumentSource": "converse_request",
    "GuardrailConfig": "converse_request",
    "ImageBlock": "converse_request",
    "ImageSource": "converse_request",
    "InferenceConfig": "converse_request",
    "JsonSchemaDefinition": "converse_request",
    "Message": "converse_request",
    "OutputConfig": "converse_request",
    "OutputFormat": "converse_request",
    "OutputFormatStructure": "converse_request",
    "PerformanceConfig": "converse_request",
    "ReasoningContentBlock": "converse_request",
    "ReasoningTextBlock": "converse_request",
    "S3Location": "converse_request",
    "ServiceTier": "converse_request",
    "SystemContentBlock": "converse_request",
    "Tool": "converse_request",
    "ToolChoice": "converse_request",
    "ToolConfig": "converse_request",
    "ToolInputSchema": "converse_request",
    "ToolResultBlock": "converse_request",
    "ToolSpec": "converse_request",
    "ToolUseBlock": "converse_request",
    "ConverseStream": "converse_stream",
    "AsyncConverseStream": "converse_stream",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _LAZY_NAMES.get(name)
    if module is not None:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES | set(_LAZY_NAMES))
