"""The Bedrock Runtime operations this package speaks, as one table of rows. Pure data, no I/O.

Everything that names a path, a ``X-Amzn-Bedrock-*`` header, an error and its status, or an event of a stream
reads it from here: the request builder, the error lookup and retry rules, the boto3-shaped drop-in, the CLI
and the emulator's router and faults. ``tests/test_operations.py`` diffs these rows against botocore's
service model (``bedrock-runtime`` 2023-09-30), so the table cannot drift from the service either.

The rows are written by hand, not generated: five operations are easier to read than a code generator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = [
    "ALL_OPERATIONS",
    "CONVERSE",
    "CONVERSE_STREAM",
    "COUNT_TOKENS",
    "ERRORS",
    "EVENTSTREAM_CONTENT_TYPE",
    "INVOKE_MODEL",
    "INVOKE_MODEL_WITH_BIDIRECTIONAL_STREAM",
    "INVOKE_MODEL_WITH_RESPONSE_STREAM",
    "MODEL_HEADERS",
    "SIGNING_NAME",
    "Body",
    "ErrorRow",
    "HeaderParam",
    "Operation",
    "error_row",
    "match_path",
]

#: SigV4 signing name of Bedrock Runtime (not ``bedrock-runtime``): scope ``.../bedrock/aws4_request``.
SIGNING_NAME = "bedrock"
#: Content type of an event stream, in either direction.
EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
#: Longest model id the service accepts (``modelId`` is 1-2048 characters).
MAX_MODEL_ID_LENGTH = 2048


class Body(enum.Enum):
    """What travels in a request or response body."""

    MODEL_JSON = "the model's own JSON (or other content type), passed through"
    CONVERSE_JSON = "Converse's model-agnostic JSON document"
    COUNT_TOKENS_JSON = "CountTokens' JSON document"
    EVENT_STREAM = "an application/vnd.amazon.eventstream stream of frames"


@dataclass(frozen=True)
class ErrorRow:
    """One of the service's modelled exceptions: its HTTP status and whether another attempt may succeed."""

    name: str
    status: int
    retryable: bool
    #: The ``:exception-type`` it carries inside an event stream (lower camel case).
    stream_name: str


def _error(name: str, status: int, *, retryable: bool = False) -> ErrorRow:
    return ErrorRow(name, status, retryable, name[:1].lower() + name[1:])


#: Every modelled exception of the inference operations, by name (statuses from the service model;
#: retryable as botocore's standard retry mode treats them: throttling and 5xx).
ERRORS: dict[str, ErrorRow] = {
    row.name: row
    for row in (
        _error("AccessDeniedException", 403),
        _error("ResourceNotFoundException", 404),
        _error("ThrottlingException", 429, retryable=True),
        _error("ModelNotReadyException", 429, retryable=True),
        _error("ModelTimeoutException", 408),
        _error("InternalServerException", 500, retryable=True),
        _error("ServiceUnavailableException", 503, retryable=True),
        _error("ModelStreamErrorException", 424),
        _error("ModelErrorException", 424),
        _error("ValidationException", 400),
        _error("ServiceQuotaExceededException", 400),
    )
}


def error_row(name: str) -> ErrorRow | None:
    """The row of a modelled exception, by its API name or its in-stream lower-camel-case name."""
    return ERRORS.get(name[:1].upper() + name[1:]) if name else None


@dataclass(frozen=True)
class HeaderParam:
    """A request parameter sent as an HTTP header rather than in the body."""

    #: The keyword argument of our clients (snake case).
    param: str
    #: The HTTP header it travels in.
    header: str
    #: The values the service accepts, when it is an enum; ``None`` for free text.
    allowed: tuple[str, ...] | None = None


TRACE = HeaderParam("trace", "X-Amzn-Bedrock-Trace", ("ENABLED", "DISABLED", "ENABLED_FULL"))
GUARDRAIL_IDENTIFIER = HeaderParam("guardrail_identifier", "X-Amzn-Bedrock-GuardrailIdentifier")
GUARDRAIL_VERSION = HeaderParam("guardrail_version", "X-Amzn-Bedrock-GuardrailVersion")
PERFORMANCE_CONFIG_LATENCY = HeaderParam(
    "performance_config_latency", "X-Amzn-Bedrock-PerformanceConfig-Latency", ("standard", "optimized")
)
SERVICE_TIER = HeaderParam(
    "service_tier", "X-Amzn-Bedrock-Service-Tier", ("priority", "default", "flex", "reserved")
)

#: The ``X-Amzn-Bedrock-*`` headers of the two model-JSON operations (besides the accept header, whose name
#: differs between them).
MODEL_HEADERS = (TRACE, GUARDRAIL_IDENTIFIER, GUARDRAIL_VERSION, PERFORMANCE_CONFIG_LATENCY, SERVICE_TIER)

#: Response headers that describe a model-JSON answer (InvokeModel and its stream).
RESPONSE_CONTENT_TYPE = "X-Amzn-Bedrock-Content-Type"
RESPONSE_PERFORMANCE_CONFIG_LATENCY = PERFORMANCE_CONFIG_LATENCY.header
RESPONSE_SERVICE_TIER = SERVICE_TIER.header
REQUEST_ID = "x-amzn-RequestId"
ERROR_TYPE = "x-amzn-ErrorType"

_COMMON_ERRORS = (
    "AccessDeniedException",
    "ResourceNotFoundException",
    "ThrottlingException",
    "InternalServerException",
    "ServiceUnavailableException",
    "ValidationException",
)
_MODEL_ERRORS = (*_COMMON_ERRORS, "ModelTimeoutException", "ModelNotReadyException", "ModelErrorException")
_STREAM_EXCEPTIONS = (
    "internalServerException",
    "modelStreamErrorException",
    "validationException",
    "throttlingException",
    "modelTimeoutException",
    "serviceUnavailableException",
)


@dataclass(frozen=True)
class Operation:
    """One operation: how its request is addressed and shaped, and what can come back."""

    #: The API's name (``InvokeModelWithResponseStream``).
    name: str
    #: The method name of our clients and of boto3 (``invoke_model_with_response_stream``).
    method: str
    #: The last path segment after ``/model/{modelId}/``.
    action: str
    request_body: Body
    response_body: Body
    #: The header carrying the wanted answer type (``Accept`` for InvokeModel, ``X-Amzn-Bedrock-Accept`` for
    #: its stream, whose HTTP ``Accept`` is the event stream itself); ``None`` when the operation has none.
    accept_header: str | None
    #: ``X-Amzn-Bedrock-*`` header parameters it takes.
    headers: tuple[HeaderParam, ...]
    #: The modelled exceptions it may answer with before any answer (HTTP errors).
    errors: tuple[str, ...]
    #: For a streamed answer: the event names it carries (``:event-type``).
    stream_events: tuple[str, ...] = ()
    #: For a streamed answer: the in-stream exceptions it may carry (``:exception-type``).
    stream_exceptions: tuple[str, ...] = ()
    #: Whether a Bedrock API key (bearer token) may authenticate it.
    bearer_allowed: bool = True

    @property
    def streaming(self) -> bool:
        """Whether the answer is an event stream."""
        return self.response_body is Body.EVENT_STREAM

    def path(self, model_id: str) -> str:
        """The wire path: the model id percent-encoded as one segment (``:`` as ``%3A``, ``/`` as ``%2F``)."""
        return f"/model/{quote(model_id, safe='')}/{self.action}"


INVOKE_MODEL = Operation(
    name="InvokeModel",
    method="invoke_model",
    action="invoke",
    request_body=Body.MODEL_JSON,
    response_body=Body.MODEL_JSON,
    accept_header="Accept",
    headers=MODEL_HEADERS,
    errors=(*_MODEL_ERRORS, "ServiceQuotaExceededException"),
)

INVOKE_MODEL_WITH_RESPONSE_STREAM = Operation(
    name="InvokeModelWithResponseStream",
    method="invoke_model_with_response_stream",
    action="invoke-with-response-stream",
    request_body=Body.MODEL_JSON,
    response_body=Body.EVENT_STREAM,
    accept_header="X-Amzn-Bedrock-Accept",
    headers=MODEL_HEADERS,
    errors=(*_MODEL_ERRORS, "ServiceQuotaExceededException", "ModelStreamErrorException"),
    stream_events=("chunk",),
    stream_exceptions=_STREAM_EXCEPTIONS,
)

CONVERSE = Operation(
    name="Converse",
    method="converse",
    action="converse",
    request_body=Body.CONVERSE_JSON,
    response_body=Body.CONVERSE_JSON,
    accept_header=None,
    headers=(),
    errors=_MODEL_ERRORS,
)

CONVERSE_STREAM = Operation(
    name="ConverseStream",
    method="converse_stream",
    action="converse-stream",
    request_body=Body.CONVERSE_JSON,
    response_body=Body.EVENT_STREAM,
    accept_header=None,
    headers=(),
    errors=_MODEL_ERRORS,
    stream_events=(
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ),
    # As the service model says: ConverseStream has no in-stream modelTimeoutException.
    stream_exceptions=tuple(name for name in _STREAM_EXCEPTIONS if name != "modelTimeoutException"),
)

COUNT_TOKENS = Operation(
    name="CountTokens",
    method="count_tokens",
    action="count-tokens",
    request_body=Body.COUNT_TOKENS_JSON,
    response_body=Body.COUNT_TOKENS_JSON,
    accept_header=None,
    headers=(),
    errors=_COMMON_ERRORS,
)

INVOKE_MODEL_WITH_BIDIRECTIONAL_STREAM = Operation(
    name="InvokeModelWithBidirectionalStream",
    method="invoke_model_with_bidirectional_stream",
    action="invoke-with-bidirectional-stream",
    request_body=Body.EVENT_STREAM,
    response_body=Body.EVENT_STREAM,
    accept_header=None,
    headers=(),
    errors=(*_MODEL_ERRORS, "ServiceQuotaExceededException", "ModelStreamErrorException"),
    stream_events=("chunk",),
    stream_exceptions=_STREAM_EXCEPTIONS,
    # The service accepts only SigV4 here: the event signatures chain from the request's signature.
    bearer_allowed=False,
)

ALL_OPERATIONS = (
    INVOKE_MODEL,
    INVOKE_MODEL_WITH_RESPONSE_STREAM,
    CONVERSE,
    CONVERSE_STREAM,
    COUNT_TOKENS,
    INVOKE_MODEL_WITH_BIDIRECTIONAL_STREAM,
)

_BY_ACTION = {op.action: op for op in ALL_OPERATIONS}


def match_path(path: str) -> tuple[Operation, str] | None:
    """The operation and the decoded model id of a request path, or ``None`` if no operation has that path.

    Accepts the model id percent-encoded (as SDKs send it) or raw (``/model/a.b-v1:0/invoke``, as some
    clients send it): the last segment names the operation, everything between ``/model/`` and it is the id.
    """
    if not path.startswith("/model/"):
        return None
    rest = path[len("/model/") :]
    model_part, slash, action = rest.rpartition("/")
    if not slash or not model_part:
        return None
    op = _BY_ACTION.get(action)
    if op is None:
        return None
    return op, unquote(model_part)
