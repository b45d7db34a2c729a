"""A boto3-shaped drop-in for ``bedrock-runtime``: ``invoke_model_with_response_stream``, ``invoke_model``,
``converse``, ``converse_stream`` and ``count_tokens``.

Code written for boto3 moves over by changing its import::

    from client import compat as boto3             # was: import boto3

    bedrock = boto3.client("bedrock-runtime", region_name="us-east-1")
    messages = [{"role": "user", "content": [{"text": "Hi"}]}]
    response = bedrock.converse_stream(modelId=model_id, messages=messages)
    for event in response["stream"]:
        if "contentBlockDelta" in event:
            print(event["contentBlockDelta"]["delta"].get("text", ""), end="")

What matches boto3 (checked by differential tests against boto3 itself):

* the response dicts: ``body`` (``invoke_model_with_response_stream``: iterable of ``{"chunk": {"bytes":
  b"..."}}``; ``invoke_model``: a :class:`StreamingBody`), ``stream`` (``converse_stream``: iterable of
  ``{"messageStart": ...}``, ``{"contentBlockDelta": ...}``...; base64 members as bytes), ``converse``'s
  ``output`` / ``stopReason`` / ``usage`` / ``metrics``..., ``count_tokens``' ``inputTokens``,
  ``contentType``, ``performanceConfigLatency`` / ``serviceTier`` when the service sent them, and
  ``ResponseMetadata`` (``RequestId``, ``HTTPStatusCode``, ``HTTPHeaders``, ``RetryAttempts``,
  ``MaxAttemptsReached``);
* HTTP errors: ``bedrock.exceptions.ThrottlingException`` etc. (all subclasses of :class:`ClientError`), whose
  ``response`` has ``Error.Code``/``Error.Message``, ``ResponseMetadata`` and the modelled fields
  (``message``, ``originalStatusCode``...), and whose ``str()`` is botocore's (with the operation's name);
* in-stream exceptions and ``error`` messages: :class:`EventStreamError` (a :class:`ClientError`) with
  ``response["Error"]["Code"]`` the ``:exception-type`` (``"throttlingException"``) or ``:error-code``.

Where it deliberately differs: a stream that is truncated, dropped or corrupt raises
:class:`client.StreamError` (boto3 ends silently or raises a parser error), and so does a ConverseStream that
ends without ``messageStop``; Converse members newer than boto3's model (``usage.serverToolUsage``...) are
kept, not dropped; a 200 that is not an event stream raises :class:`client.UnexpectedResponseError` (boto3
returns a dict without ``body``); unreachable endpoints raise :class:`client.EndpointConnectionError`; bad
arguments raise :class:`client.ParamValidationError`, and enum values and Converse shapes are checked before
sending. Retries follow :mod:`client.retry` (standard-mode-like: 3 attempts by default,
``retries={"total_max_attempts": n}`` or ``{"max_attempts": retries}`` in ``config``).
"""

from __future__ import annotations

import http.client
import io
import json
import os
from collections.abc import Iterator, Mapping
from types import SimpleNamespace, TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from . import errors
from .errors import (
    BedrockRuntimeError,
    EndpointConnectionError,
    NoRegionError,
    ParamValidationError,
    StreamError,
    UnexpectedResponseError,
)
from .operations import CONVERSE
from .retry import DEFAULT_MAX_ATTEMPTS
from .runtime import BedrockRuntimeClient
from .stream import ResponseStream

if TYPE_CHECKING:
    from typing_extensions import Self

    from sigv4 import CredentialProvider, Credentials

__all__ = [
    "AccessDeniedException",
    "BedrockRuntime",
    "BotoCoreError",
    "ClientError",
    "ConflictException",
    "ConverseEventStream",
    "EndpointConnectionError",
    "EventStream",
    "EventStreamError",
    "InternalServerException",
    "ModelErrorException",
    "ModelNotReadyException",
    "ModelStreamErrorException",
    "ModelTimeoutException",
    "NoCredentialsError",
    "NoRegionError",
    "ParamValidationError",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "Session",
    "StreamError",
    "StreamingBody",
    "ThrottlingException",
    "UnexpectedResponseError",
    "ValidationException",
    "client",
]

OPERATION_NAME = "InvokeModelWithResponseStream"
SERVICE_NAME = "bedrock-runtime"
API_VERSION = "2023-09-30"
# botocore's defaults for Config(connect_timeout=..., read_timeout=...).
_BOTOCORE_CONNECT_TIMEOUT = 60.0
_BOTOCORE_READ_TIMEOUT = 60.0


class ClientError(Exception):
    """An error response from the service, shaped like ``botocore.exceptions.ClientError``.

    ``response`` is the parsed error dict (``response["Error"]["Code"]``, ``["Message"]``,
    ``["ResponseMetadata"]``, plus modelled fields); ``operation_name`` is
    ``"InvokeModelWithResponseStream"``.
    The client's own typed error is chained as ``__cause__``.
    """

    MSG_TEMPLATE = (
        "An error occurred ({error_code}) when calling the {operation_name} operation{retry_info}: "
        "{error_message}"
    )

    def __init__(self, error_response: dict[str, Any], operation_name: str) -> None:
        error = error_response.get("Error", {})
        metadata = error_response.get("ResponseMetadata", {})
        retry_info = ""
        if metadata.get("MaxAttemptsReached", False) and "RetryAttempts" in metadata:
            retry_info = f" (reached max retries: {metadata['RetryAttempts']})"
        super().__init__(
            self.MSG_TEMPLATE.format(
                error_code=error.get("Code", "Unknown"),
                error_message=error.get("Message", "Unknown"),
                operation_name=operation_name,
                retry_info=retry_info,
            )
        )
        self.response = error_response
        self.operation_name = operation_name

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.response, self.operation_name))


class EventStreamError(ClientError):
    """An exception or error message inside the event stream (botocore's ``EventStreamError``)."""


class BotoCoreError(Exception):
    """Base of the errors boto3 raises on the client's side of the wire (``botocore.exceptions``)."""


class NoCredentialsError(BotoCoreError, errors.NoCredentialsError):
    """No credentials were found: ``str()`` is botocore's ``"Unable to locate credentials"``.

    Also a :class:`client.NoCredentialsError` (so a :class:`client.BedrockRuntimeError`); the credential
    chain's own error, which lists every place that was looked at, is the ``__cause__``.
    """

    def __init__(self) -> None:
        errors.NoCredentialsError.__init__(self, "Unable to locate credentials")

    def __str__(self) -> str:
        return "Unable to locate credentials"


# The service's modelled errors, as boto3 exposes them on ``client.exceptions`` (names from the service
# model, which also lists ConflictException for other operations).
class AccessDeniedException(ClientError):  # noqa: N818 - the API's own name
    """403 AccessDeniedException."""


class ConflictException(ClientError):  # noqa: N818 - the API's own name
    """400 ConflictException (not returned by this operation; present for parity with boto3)."""


class InternalServerException(ClientError):  # noqa: N818 - the API's own name
    """500 InternalServerException."""


class ModelErrorException(ClientError):  # noqa: N818 - the API's own name
    """424 ModelErrorException."""


class ModelNotReadyException(ClientError):  # noqa: N818 - the API's own name
    """429 ModelNotReadyException."""


class ModelStreamErrorException(ClientError):  # noqa: N818 - the API's own name
    """424 ModelStreamErrorException."""


class ModelTimeoutException(ClientError):  # noqa: N818 - the API's own name
    """408 ModelTimeoutException."""


class ResourceNotFoundException(ClientError):  # noqa: N818 - the API's own name
    """404 ResourceNotFoundException."""


class ServiceQuotaExceededException(ClientError):  # noqa: N818 - the API's own name
    """400 ServiceQuotaExceededException."""


class ServiceUnavailableException(ClientError):  # noqa: N818 - the API's own name
    """503 ServiceUnavailableException."""


class ThrottlingException(ClientError):  # noqa: N818 - the API's own name
    """429 ThrottlingException."""


class ValidationException(ClientError):  # noqa: N818 - the API's own name
    """400 ValidationException."""


_MODELED: dict[str, type[ClientError]] = {
    cls.__name__: cls
    for cls in (
        AccessDeniedException,
        ConflictException,
        InternalServerException,
        ModelErrorException,
        ModelNotReadyException,
        ModelStreamErrorException,
        ModelTimeoutException,
        ResourceNotFoundException,
        ServiceQuotaExceededException,
        ServiceUnavailableException,
        ThrottlingException,
        ValidationException,
    )
}
# Members of each error shape beyond ``message`` (all strings except the status code).
_EXTRA_MEMBERS: dict[str, tuple[tuple[str, type], ...]] = {
    "ModelErrorException": (("originalStatusCode", int), ("resourceName", str)),
    "ModelStreamErrorException": (("originalStatusCode", int), ("originalMessage", str)),
}


class _Exceptions(SimpleNamespace):
    """``client.exceptions``: the modelled error classes by name, ``ClientError`` and ``from_code``."""

    def from_code(self, code: str) -> type[ClientError]:
        """The class for an error code (``ClientError`` for codes the service model does not define)."""
        return _MODELED.get(code, ClientError)


_EXCEPTIONS = _Exceptions(ClientError=ClientError, **_MODELED)


# --- building boto3's dicts (pure) ----------------------------------------------------------------------


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _metadata(
    status: int,
    headers: Mapping[str, str],
    retries: int,
    attempts: int,
    max_attempts: int,
    *,
    request_id: bool,
) -> dict[str, Any]:
    lowered = _lower_headers(headers)
    metadata: dict[str, Any] = {}
    if request_id and "x-amzn-requestid" in lowered:
        metadata["RequestId"] = lowered["x-amzn-requestid"]
    metadata["HTTPStatusCode"] = status
    metadata["HTTPHeaders"] = lowered
    # botocore's standard retry mode marks every response of the last allowed attempt, success included.
    if attempts >= max_attempts:
        metadata["MaxAttemptsReached"] = True
    metadata["RetryAttempts"] = retries
    return metadata


def _parse_json_body(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body.decode("utf-8"))
    except ValueError:
        # botocore keeps an unparsable body as the message.
        return {"message": body.decode("utf-8", "replace")}
    return parsed if isinstance(parsed, dict) else {}


def _short_code(code: str) -> str:
    return code.split(":", 1)[0].rsplit("#", 1)[-1]


def error_response(
    status: int, headers: Mapping[str, str], body: bytes, *, retries: int, attempts: int, max_attempts: int
) -> dict[str, Any]:
    """The dict botocore's rest-json parser makes of an HTTP error response (``ClientError.response``)."""
    lowered = _lower_headers(headers)
    stripped = body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        # A load balancer's page, not a service error: botocore reports the status and its reason phrase.
        return {
            "Error": {"Code": str(status), "Message": http.client.responses.get(status, "")},
            "ResponseMetadata": _metadata(status, lowered, retries, attempts, max_attempts, request_id=False),
        }
    fields = _parse_json_body(body)
    message = fields.get("message", fields.get("Message", ""))
    code: Any = fields.get("__type", str(status))
    if isinstance(code, str):
        code = _short_code(code)
    if "x-amzn-errortype" in lowered:
        code = _short_code(lowered["x-amzn-errortype"])
    elif "code" in fields or "Code" in fields:
        raw = fields.get("code", fields.get("Code", ""))
        code = _short_code(raw) if isinstance(raw, str) else raw
    response: dict[str, Any] = {
        "Error": {"Message": message, "Code": code},
        "ResponseMetadata": _metadata(status, lowered, retries, attempts, max_attempts, request_id=True),
    }
    if isinstance(code, str) and code in _MODELED:
        # botocore then parses the body again with the error's own shape and merges the members it knows.
        if isinstance(fields.get("message"), str):
            response["message"] = fields["message"]
        for member, kind in _EXTRA_MEMBERS.get(code, ()):
            value = fields.get(member)
            if value is None:
                continue
            if kind is int and not isinstance(value, bool):
                try:
                    response[member] = int(value)
                except (TypeError, ValueError):
                    continue
            elif kind is str and isinstance(value, str):
                response[member] = value
    return response


def _in_stream_error(err: BedrockRuntimeError, operation_name: str = OPERATION_NAME) -> EventStreamError:
    message: Any
    if err.exception_type is not None:
        # botocore: Code is the :exception-type exactly as sent, Message the payload's "message".
        code = err.exception_type
        # (botocore keeps only the shape's "message" member, and a non-JSON payload as the message.)
        message = _parse_json_body(err.body or b"").get("message", "")
    else:
        code = err.error_code or ""
        message = err.message
    error = EventStreamError({"Error": {"Code": code, "Message": message}}, operation_name)
    error.__cause__ = err
    return error


# --- the client -----------------------------------------------------------------------------------------


class EventStream:
    """``response["body"]``: iterate it for ``{"chunk": {"bytes": b"..."}}`` events (botocore's EventStream).

    In-stream exceptions raise :class:`EventStreamError`; a broken stream raises :class:`client.StreamError`.
    ``close()`` closes the connection (also a context manager).
    """

    def __init__(self, stream: ResponseStream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[dict[str, dict[str, bytes]]]:
        stream = self._stream
        try:
            for event in stream:
                yield {"chunk": {"bytes": event.bytes}}
        except StreamError:
            raise
        except BedrockRuntimeError as err:
            if err.in_stream:
                raise _in_stream_error(err) from err
            raise

    def close(self) -> None:
        """Close the underlying connection."""
        self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def native(self) -> ResponseStream:
        """The :class:`client.ResponseStream` underneath (typed :class:`client.Chunk` events)."""
        return self._stream


class ConverseEventStream:
    """``response["stream"]`` of ``converse_stream``: iterate it for boto3's event dicts.

    Each event is what boto3 yields (``{"messageStart": {...}}``, ``{"contentBlockDelta": {...}}``...); event
    types this version does not know are skipped, as boto3 skips them. In-stream exceptions raise
    :class:`EventStreamError`; a broken stream, or one that ends without ``messageStop``, raises
    :class:`client.StreamError` (boto3 ends silently). ``close()`` closes the connection.
    """

    def __init__(self, stream: Any, owner: BedrockRuntime) -> None:
        self._stream = stream
        self._owner = owner

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from .converse_events import UnknownEvent  # noqa: PLC0415 - Converse loads on first use

        try:
            for event in self._stream:
                if type(event) is not UnknownEvent:
                    yield event.to_dict()
        except BedrockRuntimeError as err:
            translated = self._owner._translate(err, "ConverseStream")
            if translated is err:
                raise
            raise translated from err

    def close(self) -> None:
        """Close the underlying connection."""
        self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def native(self) -> Any:
        """The :class:`client.ConverseStream` underneath (typed events, ``.response`` after the end)."""
        return self._stream


class StreamingBody(io.RawIOBase):
    """``response["body"]`` of ``invoke_model`` (botocore's ``StreamingBody``) over the received bytes.

    ``read(amt=None)``, ``iter_chunks``, ``iter_lines``, ``readlines``; iterating yields 1 KiB chunks.
    """

    _DEFAULT_CHUNK_SIZE = 1024

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._buffer = io.BytesIO(data)

    def readable(self) -> bool:
        """True."""
        return True

    def read(self, amt: int | None = None) -> bytes:
        """At most ``amt`` bytes (all the rest when ``amt`` is None or negative)."""
        return self._buffer.read(amt if amt is None or amt >= 0 else None)

    def readinto(self, b: Any) -> int:
        """Read into a pre-allocated buffer."""
        return self._buffer.readinto(b)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """The remaining lines, with their line endings."""
        return self._buffer.readlines(hint)

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks(self._DEFAULT_CHUNK_SIZE)

    def __next__(self) -> bytes:
        chunk = self.read(self._DEFAULT_CHUNK_SIZE)
        if chunk:
            return chunk
        raise StopIteration

    def iter_chunks(self, chunk_size: int = _DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Chunks of ``chunk_size`` bytes."""
        while chunk := self.read(chunk_size):
            yield chunk

    def iter_lines(self, chunk_size: int = _DEFAULT_CHUNK_SIZE, keepends: bool = False) -> Iterator[bytes]:
        """The lines of the body (as botocore splits them)."""
        pending = b""
        for chunk in self.iter_chunks(chunk_size):
            lines = (pending + chunk).splitlines(True)
            for line in lines[:-1]:
                yield line.splitlines(keepends)[0]
            pending = lines[-1]
        if pending:
            yield pending.splitlines(keepends)[0]

    def tell(self) -> int:
        """The read position."""
        return self._buffer.tell()

    def close(self) -> None:
        """Release the bytes."""
        self._buffer.close()
        super().close()


_KNOWN_UNSUPPORTED = ("requestMetadata", "projectIdentifier")
_PARAMETERS = (
    "modelId",
    "body",
    "contentType",
    "accept",
    "trace",
    "guardrailIdentifier",
    "guardrailVersion",
    "performanceConfigLatency",
    "serviceTier",
)


#: boto3's keywords of converse / converse_stream, and the native keyword each becomes.
_CONVERSE_KEYWORDS = {
    "system": "system",
    "inferenceConfig": "inference_config",
    "toolConfig": "tool_config",
    "guardrailConfig": "guardrail_config",
    "additionalModelRequestFields": "additional_model_request_fields",
    "promptVariables": "prompt_variables",
    "additionalModelResponseFieldPaths": "additional_model_response_field_paths",
    "requestMetadata": "request_metadata",
    "performanceConfig": "performance_config",
    "serviceTier": "service_tier",
    "outputConfig": "output_config",
}
_CONVERSE_PARAMETERS = ("modelId", "messages", *_CONVERSE_KEYWORDS)


def _invoke_options(kwargs: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    body = kwargs.get("body", b"")
    if hasattr(body, "read"):
        body = body.read()
    options: dict[str, Any] = {
        "trace": kwargs.get("trace"),
        "guardrail_identifier": kwargs.get("guardrailIdentifier"),
        "guardrail_version": kwargs.get("guardrailVersion"),
        "performance_config_latency": kwargs.get("performanceConfigLatency"),
        "service_tier": kwargs.get("serviceTier"),
    }
    if kwargs.get("contentType") is not None:
        options["content_type"] = kwargs["contentType"]
    if kwargs.get("accept") is not None:
        options["accept"] = kwargs["accept"]
    return body, options


def _converse_options(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        native: kwargs[name] for name, native in _CONVERSE_KEYWORDS.items() if kwargs.get(name) is not None
    }


def _count_tokens_arguments(value: Any) -> dict[str, Any]:
    if (
        not isinstance(value, Mapping)
        or len(value) != 1
        or next(iter(value)) not in ("invokeModel", "converse")
    ):
        raise ParamValidationError(
            'Invalid value for parameter input: must have exactly one of "invokeModel" or "converse"'
        )
    ((kind, member),) = value.items()
    if not isinstance(member, Mapping):
        raise ParamValidationError(f"Invalid type for parameter input.{kind}: expected a dict")
    if kind == "invokeModel":
        if "body" not in member:
            raise ParamValidationError('Missing required parameter in input.invokeModel: "body"')
        body = member["body"]
        return _count_tokens_keywords(body=body.read() if hasattr(body, "read") else body)
    names = {
        "messages": "messages",
        "system": "system",
        "toolConfig": "tool_config",
        "additionalModelRequestFields": "additional_model_request_fields",
    }
    unknown = [name for name in member if name not in names]
    if unknown:
        raise ParamValidationError(
            f'Unknown parameter in input.converse: "{unknown[0]}", must be one of: {", ".join(names)}'
        )
    arguments = {native: member[name] for name, native in names.items() if member.get(name) is not None}
    # boto3 lets messages be left out here; CountTokens then counts an empty conversation.
    arguments.setdefault("messages", [])
    return _count_tokens_keywords(**arguments)


def _count_tokens_keywords(**given: Any) -> dict[str, Any]:
    # Every keyword of the native count_tokens(), the ones not given as None.
    names = ("body", "messages", "system", "tool_config", "additional_model_request_fields")
    return {name: given.get(name) for name in names}


class BedrockRuntime:
    """The object :func:`client` returns: the operations below, ``exceptions`` and ``meta``."""

    exceptions = _EXCEPTIONS

    def __init__(
        self,
        native: BedrockRuntimeClient,
        max_attempts: int,
        *,
        owned_http_client: httpx.Client | None = None,
    ) -> None:
        self._native = native
        self._max_attempts = max_attempts
        self._owned_http_client = owned_http_client
        self.meta = SimpleNamespace(
            service_name=SERVICE_NAME,
            region_name=native.region,
            endpoint_url=native.endpoint_url,
        )

    @property
    def native(self) -> BedrockRuntimeClient:
        """The :class:`client.BedrockRuntimeClient` underneath."""
        return self._native

    def _check_arguments(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], parameters: tuple[str, ...]
    ) -> None:
        if args:
            raise TypeError(f"{method}() only accepts keyword arguments.")
        for name in kwargs:
            if name in parameters:
                continue
            if name in _KNOWN_UNSUPPORTED:
                raise ParamValidationError(f'Parameter "{name}" is not supported by client.compat')
            raise ParamValidationError(
                f'Unknown parameter in input: "{name}", must be one of: {", ".join(parameters)}'
            )
        if "modelId" not in kwargs:
            raise ParamValidationError('Missing required parameter in input: "modelId"')

    def _translate(self, err: BedrockRuntimeError, operation_name: str) -> BaseException:
        """The error boto3 raises for the same failure (our own error when boto3 has none for it)."""
        if isinstance(err, errors.NoCredentialsError):
            missing = NoCredentialsError()
            missing.__cause__ = err
            return missing
        if isinstance(
            err, (StreamError, EndpointConnectionError, UnexpectedResponseError, ParamValidationError)
        ):
            return err
        if err.in_stream:
            return _in_stream_error(err, operation_name)
        if err.status_code is None:
            return err
        response = error_response(
            err.status_code,
            err.headers,
            err.body or b"",
            retries=err.retry_attempts,
            attempts=err.retry_attempts + 1,
            max_attempts=self._max_attempts,
        )
        code = response["Error"]["Code"]
        cls = _MODELED.get(code, ClientError) if isinstance(code, str) else ClientError
        error = cls(response, operation_name)
        error.__cause__ = err
        return error

    def _response_metadata(self, status: int, headers: Mapping[str, str], retries: int) -> dict[str, Any]:
        return _metadata(status, headers, retries, retries + 1, self._max_attempts, request_id=True)

    def invoke_model_with_response_stream(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model_with_response_stream(modelId=..., body=..., ...)`` (keywords only)."""
        self._check_arguments("invoke_model_with_response_stream", args, kwargs, _PARAMETERS)
        body, options = _invoke_options(kwargs)
        try:
            stream = self._native.invoke_model_with_response_stream(kwargs["modelId"], body, **options)
        except BedrockRuntimeError as err:
            raise self._translate(err, OPERATION_NAME) from err
        result: dict[str, Any] = {
            "ResponseMetadata": self._response_metadata(
                stream.status_code, stream.headers, stream.retry_attempts
            )
        }
        if stream.content_type is not None:
            result["contentType"] = stream.content_type
        if stream.performance_config_latency is not None:
            result["performanceConfigLatency"] = stream.performance_config_latency
        if stream.service_tier is not None:
            result["serviceTier"] = stream.service_tier
        result["body"] = EventStream(stream)
        return result

    def invoke_model(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``invoke_model(modelId=..., body=..., ...)``: ``body`` is a :class:`StreamingBody`."""
        self._check_arguments("invoke_model", args, kwargs, _PARAMETERS)
        body, options = _invoke_options(kwargs)
        try:
            answer = self._native.invoke_model(kwargs["modelId"], body, **options)
        except BedrockRuntimeError as err:
            raise self._translate(err, "InvokeModel") from err
        result: dict[str, Any] = {
            "ResponseMetadata": self._response_metadata(200, answer.headers, answer.retry_attempts)
        }
        if answer.content_type is not None:
            result["contentType"] = answer.content_type
        if answer.performance_config_latency is not None:
            result["performanceConfigLatency"] = answer.performance_config_latency
        if answer.service_tier is not None:
            result["serviceTier"] = answer.service_tier
        result["body"] = StreamingBody(answer.body)
        return result

    def converse(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse(modelId=..., messages=[...], ...)``: the answer, with ``ResponseMetadata``."""
        self._check_arguments("converse", args, kwargs, _CONVERSE_PARAMETERS)
        arguments = {native: kwargs.get(name) for name, native in _CONVERSE_KEYWORDS.items()}
        arguments["messages"] = kwargs.get("messages")
        native = self._native
        try:
            # The native converse() as it runs, keeping the response's headers and retries for
            # ResponseMetadata (the ConverseResponse it returns need not carry them).
            prepared = native._prepare_converse(CONVERSE, kwargs["modelId"], arguments)
            accepted, _ = native._run(native._flow(prepared, native._policy()))
            response = native._converse_answer(accepted)
        except BedrockRuntimeError as err:
            raise self._translate(err, "Converse") from err
        return {
            "ResponseMetadata": self._response_metadata(200, accepted.head.headers, accepted.retries),
            **response.to_dict(),
        }

    def converse_stream(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``converse_stream(modelId=..., messages=[...], ...)``: ``{"stream", "ResponseMetadata"}``.

        Iterate ``response["stream"]`` for boto3's event dicts (``{"contentBlockDelta": {...}}``...).
        """
        self._check_arguments("converse_stream", args, kwargs, _CONVERSE_PARAMETERS)
        try:
            stream = self._native.converse_stream(
                kwargs["modelId"], kwargs.get("messages"), **_converse_options(kwargs)
            )
        except BedrockRuntimeError as err:
            raise self._translate(err, "ConverseStream") from err
        return {
            "ResponseMetadata": self._response_metadata(200, stream.headers, stream.retry_attempts),
            "stream": ConverseEventStream(stream, self),
        }

    def count_tokens(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """boto3's ``count_tokens(modelId=..., input={"invokeModel": {"body"}} | {"converse": {...}})``."""
        self._check_arguments("count_tokens", args, kwargs, ("modelId", "input"))
        if "input" not in kwargs:
            raise ParamValidationError('Missing required parameter in input: "input"')
        arguments = _count_tokens_arguments(kwargs["input"])
        native = self._native
        try:
            # The native count_tokens() as it runs: it returns the bare count, and boto3's answer also has
            # the response's headers and retries.
            prepared = native._prepare_count_tokens(kwargs["modelId"], arguments)
            accepted, _ = native._run(native._flow(prepared, native._policy()))
            tokens = native._count_tokens_answer(accepted)
        except BedrockRuntimeError as err:
            raise self._translate(err, "CountTokens") from err
        return {
            "ResponseMetadata": self._response_metadata(200, accepted.head.headers, accepted.retries),
            "inputTokens": tokens,
        }

    def close(self) -> None:
        """Close the connection pool."""
        self._native.close()
        if self._owned_http_client is not None:
            self._owned_http_client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _config_value(config: Any, name: str) -> Any:
    return getattr(config, name, None) if config is not None else None


def _max_attempts(config: Any) -> int:
    retries = _config_value(config, "retries") or {}
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if "max_attempts" in retries:
        # botocore's Config(retries={"max_attempts": n}) counts retries, not attempts.
        return int(retries["max_attempts"]) + 1
    env = os.environ.get("AWS_MAX_ATTEMPTS")
    if env and env.strip().isdigit() and int(env) >= 1:
        return int(env)
    return DEFAULT_MAX_ATTEMPTS


def client(  # noqa: PLR0917 - boto3.client's own positional signature
    service_name: str,
    region_name: str | None = None,
    api_version: str | None = None,
    use_ssl: bool = True,
    verify: bool | str | None = None,
    endpoint_url: str | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    config: Any = None,
    aws_account_id: str | None = None,
    *,
    profile_name: str | None = None,
) -> BedrockRuntime:
    """``boto3.client("bedrock-runtime", ...)`` with the same arguments.

    ``config`` may be a ``botocore.config.Config`` (or anything with its attributes): ``region_name``,
    ``connect_timeout``, ``read_timeout`` and ``retries`` are honoured. ``verify`` is passed to httpx.
    ``aws_account_id`` is accepted and ignored (it only affects account-based endpoints).
    """
    if service_name != SERVICE_NAME:
        raise ValueError(f"client.compat only provides {SERVICE_NAME!r}, not {service_name!r}")
    if api_version not in (None, API_VERSION):
        raise ValueError(f"client.compat implements API version {API_VERSION}, not {api_version!r}")
    del aws_account_id
    credentials: Credentials | CredentialProvider | None = None
    if (aws_access_key_id is None) != (aws_secret_access_key is None):
        missing = "aws_secret_access_key" if aws_secret_access_key is None else "aws_access_key_id"
        raise ParamValidationError(f"Partial credentials found in explicit, missing: {missing}")
    if aws_access_key_id is not None and aws_secret_access_key is not None:
        from sigv4 import Credentials as _Credentials  # noqa: PLC0415 - only when keys are given

        credentials = _Credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
    elif profile_name is not None:
        from sigv4.providers import default_chain  # noqa: PLC0415 - only for a named profile

        credentials = default_chain(profile=profile_name)
    region = region_name or _config_value(config, "region_name")
    if region is None and profile_name is not None:
        from sigv4.providers import resolve_region  # noqa: PLC0415 - only for a named profile

        region = resolve_region(profile=profile_name)
    if endpoint_url is None and not use_ssl:
        if region is None:
            from sigv4.providers import resolve_region  # noqa: PLC0415 - only without an explicit region

            region = resolve_region()
        if region is None:
            raise NoRegionError("no AWS region: pass region_name=... or set AWS_REGION")
        endpoint_url = f"http://bedrock-runtime.{region}.amazonaws.com"
    connect = _config_value(config, "connect_timeout")
    read = _config_value(config, "read_timeout")
    connect_timeout = float(connect) if connect is not None else _BOTOCORE_CONNECT_TIMEOUT
    read_timeout = float(read) if read is not None else _BOTOCORE_READ_TIMEOUT
    timeout = httpx.Timeout(
        connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
    )
    max_attempts = _max_attempts(config)
    http_client = None
    if verify is not None:
        http_client = httpx.Client(verify=verify, timeout=timeout)
    try:
        native = BedrockRuntimeClient(
            region,
            credentials=credentials,
            endpoint_url=endpoint_url,
            http_client=http_client,
            timeout=timeout,
            max_attempts=max_attempts,
        )
    except BaseException:
        if http_client is not None:
            http_client.close()
        raise
    # An http_client created here for ``verify`` belongs to the drop-in: closing the drop-in closes it.
    return BedrockRuntime(native, max_attempts, owned_http_client=http_client)


class Session:
    """``boto3.Session(...)`` for ``.client("bedrock-runtime", ...)``: keys, token, region and profile."""

    def __init__(  # noqa: PLR0917 - boto3.Session's own positional signature
        self,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        region_name: str | None = None,
        botocore_session: Any = None,
        profile_name: str | None = None,
        aws_account_id: str | None = None,
    ) -> None:
        del botocore_session, aws_account_id
        self._keys = (aws_access_key_id, aws_secret_access_key, aws_session_token)
        self.region_name = region_name
        self.profile_name = profile_name

    def client(self, service_name: str, **kwargs: Any) -> BedrockRuntime:
        """A drop-in client; explicit arguments override the session's."""
        access, secret, token = self._keys
        kwargs.setdefault("region_name", self.region_name)
        if kwargs.get("aws_access_key_id") is None and access is not None:
            kwargs["aws_access_key_id"] = access
            kwargs["aws_secret_access_key"] = secret
            kwargs["aws_session_token"] = token
        if self.profile_name is not None and kwargs.get("aws_access_key_id") is None:
            kwargs.setdefault("profile_name", self.profile_name)
        return client(service_name, **kwargs)
