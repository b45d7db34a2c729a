"""Every error the Bedrock Runtime client raises, and the pure mappings that choose one.

One base class, :class:`BedrockRuntimeError`, so ``except client.BedrockRuntimeError`` catches everything the
service or the stream can throw at a caller. Below it:

* the service's own exceptions under the API's own names (``ThrottlingException``,
  ``ValidationException``...), raised both for an HTTP error before the stream and for an ``exception``
  message inside it;
* :class:`UnmodeledStreamError` for an ``error`` message inside the stream (``:error-code``,
  ``:error-message``);
* :class:`StreamError` for a stream that is truncated, dropped or corrupt (wrapping the decoder's error);
* :class:`ParamValidationError`, :class:`NoRegionError`, :class:`EndpointConnectionError` and
  :class:`UnexpectedResponseError` for problems on our side of the wire.

The functions at the bottom turn wire data (status, headers, body; or a frame's headers and payload) into one
of these. They do no I/O so the sync and async clients share them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from sigv4.credentials import CredentialError

__all__ = [
    "AccessDeniedException",
    "BedrockRuntimeError",
    "CredentialsError",
    "EndpointConnectionError",
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
    "StreamError",
    "ThrottlingException",
    "UnexpectedResponseError",
    "UnmodeledStreamError",
    "ValidationException",
    "error_from_error_message",
    "error_from_exception_message",
    "error_from_http_response",
]

# An error body is shown to the user; a hostile or broken endpoint must not make us hold or print megabytes.
_MAX_SHOWN_BODY = 2048
_MAX_KEPT_BODY = 16 * 1024


class BedrockRuntimeError(Exception):
    """Base of every error raised by :mod:`client`.

    Attributes:
        message: the human-readable message (the service's own, when it sent one).
        status_code: the HTTP status of the response the error came with (``200`` for an error inside an
            event stream), or ``None`` when no response was received.
        request_id: the ``x-amzn-RequestId`` of that response, if any.
        error_code: the service's error name (``"ThrottlingException"``, ``"InvalidSignatureException"``...)
            or ``None`` when there is none.
        body: the raw body of the error response (or the payload of the in-stream message), at most 16 KiB;
            ``None`` when there was none.
        headers: the response headers (lower-case names), empty when there was no response.
        in_stream: ``True`` when the error arrived as a message inside the event stream.
        exception_type: for an in-stream exception, the ``:exception-type`` header exactly as sent
            (``"throttlingException"``); otherwise ``None``.
        retry_attempts: how many retries the client made before giving up with this error.
    """

    #: The service's name for this error (the class name for the modelled exceptions).
    default_error_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        error_code: str | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        in_stream: bool = False,
        exception_type: str | None = None,
        retry_attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.error_code = error_code if error_code is not None else self.default_error_code
        self.body = body
        self.headers: Mapping[str, str] = dict(headers) if headers is not None else {}
        self.in_stream = in_stream
        self.exception_type = exception_type
        self.retry_attempts = retry_attempts

    def __str__(self) -> str:
        parts = []
        if self.error_code:
            parts.append(f"{self.error_code}: ")
        parts.append(self.message or "(no message)")
        context = []
        if self.in_stream:
            context.append("in the event stream")
        elif self.status_code is not None:
            context.append(f"HTTP {self.status_code}")
        if self.request_id:
            context.append(f"request id {self.request_id}")
        if self.retry_attempts:
            context.append(f"after {self.retry_attempts} retr{'y' if self.retry_attempts == 1 else 'ies'}")
        if context:
            parts.append(f" ({', '.join(context)})")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default pickling (it replays ``args``); errors cross
        # process boundaries in worker pools, so rebuild from the attributes instead.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[BedrockRuntimeError], state: dict[str, Any]) -> BedrockRuntimeError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


# --- the service's modelled exceptions (names and statuses from the bedrock-runtime 2023-09-30 model) -------


class AccessDeniedException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """403: the caller is not allowed to invoke this model (IAM, model access, or a bad API key)."""

    default_error_code = "AccessDeniedException"


class ResourceNotFoundException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """404: the model id, inference profile or ARN does not exist in this region."""

    default_error_code = "ResourceNotFoundException"


class ThrottlingException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """429 (or in the stream): too many requests or tokens; retried automatically before the first event."""

    default_error_code = "ThrottlingException"


class ModelNotReadyException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """429: the model is being loaded (imported models); retried automatically."""

    default_error_code = "ModelNotReadyException"


class ModelTimeoutException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """408 (or in the stream): the model took longer than the service's processing limit."""

    default_error_code = "ModelTimeoutException"


class InternalServerException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """500 (or in the stream): a service-side failure; retried automatically before the first event."""

    default_error_code = "InternalServerException"


class ServiceUnavailableException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """503 (or in the stream): the service is unavailable; retried automatically before the first event."""

    default_error_code = "ServiceUnavailableException"


class ModelStreamErrorException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """424 (or in the stream): the model failed while streaming.

    ``original_status_code`` and ``original_message`` carry what the model itself reported, when sent.
    """

    default_error_code = "ModelStreamErrorException"

    def __init__(
        self,
        message: str,
        *,
        original_status_code: int | None = None,
        original_message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.original_status_code = original_status_code
        self.original_message = original_message


class ModelErrorException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """424: the model returned an error; ``original_status_code`` and ``resource_name`` when sent."""

    default_error_code = "ModelErrorException"

    def __init__(
        self,
        message: str,
        *,
        original_status_code: int | None = None,
        resource_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.original_status_code = original_status_code
        self.resource_name = resource_name


class ValidationException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """400 (or in the stream): the service rejected the request (often the model's own body format)."""

    default_error_code = "ValidationException"


class ServiceQuotaExceededException(BedrockRuntimeError):  # noqa: N818 - the API's own name
    """400: an account quota was exceeded."""

    default_error_code = "ServiceQuotaExceededException"


# --- errors that are not the service's exceptions ---------------------------------------------------------


class UnmodeledStreamError(BedrockRuntimeError):
    """An ``error`` message inside the event stream.

    ``error_code`` is its ``:error-code`` header and ``message`` its ``:error-message`` header.
    """


class StreamError(BedrockRuntimeError):
    """The event stream itself is broken: cut mid-frame, dropped, stalled past the read timeout, corrupt
    (bad length, CRC mismatch, bad header), or carrying a message the client cannot make sense of.

    The underlying decoder or transport exception is chained as ``__cause__``. ``offset`` is the byte offset
    in the stream where the problem was found, when known. Events yielded before the error remain valid.
    """

    def __init__(self, message: str, *, offset: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.offset = offset

    def __str__(self) -> str:
        text = super().__str__()
        if self.offset is not None:
            text += f" [stream offset {self.offset}]"
        return text


class ParamValidationError(BedrockRuntimeError, ValueError):
    """An argument was invalid; raised before anything is sent."""


class NoRegionError(BedrockRuntimeError):
    """No region was given and none could be found in the environment or the shared config file."""


class CredentialsError(BedrockRuntimeError, CredentialError):
    """The credential (or region) lookup failed: a malformed shared file (its path and line in the message),
    a partial key pair, a profile that does not exist or uses an unsupported method, a failing
    ``credential_process``, an unreachable credentials endpoint. The source's own error is the ``__cause__``.

    It is also a :class:`sigv4.providers.CredentialError`, so code that caught the provider's error keeps
    working."""


class NoCredentialsError(CredentialsError):
    """No credential source had credentials; the message lists every place that was looked at, in order."""


class EndpointConnectionError(BedrockRuntimeError):
    """The endpoint could not be reached (connect failure or timeout, connection reset before a response),
    after all retries. The transport exception is chained as ``__cause__``."""


class UnexpectedResponseError(BedrockRuntimeError):
    """A response the service never sends: a 200 whose content type is not
    ``application/vnd.amazon.eventstream`` (a proxy's page, a misconfigured endpoint). ``body`` holds the
    start of what was received."""


_BY_CODE: dict[str, type[BedrockRuntimeError]] = {
    cls.__name__: cls
    for cls in (
        AccessDeniedException,
        ResourceNotFoundException,
        ThrottlingException,
        ModelNotReadyException,
        ModelTimeoutException,
        InternalServerException,
        ServiceUnavailableException,
        ModelStreamErrorException,
        ModelErrorException,
        ValidationException,
        ServiceQuotaExceededException,
    )
}


def _shown(body: bytes) -> str:
    text = body[:_MAX_SHOWN_BODY].decode("utf-8", "replace")
    if len(body) > _MAX_SHOWN_BODY:
        text += f"... ({len(body)} bytes)"
    return text


def _short_code(raw: str) -> str:
    # "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/" and
    # "com.amazon.coral.service#ThrottlingException" both name ThrottlingException.
    return raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()


def _json_object(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _make(
    cls: type[BedrockRuntimeError], message: str, fields: Mapping[str, Any], kwargs: dict[str, Any]
) -> BedrockRuntimeError:
    if cls is ModelStreamErrorException:
        return ModelStreamErrorException(
            message,
            original_status_code=_optional_int(fields.get("originalStatusCode")),
            original_message=_optional_str(fields.get("originalMessage")),
            **kwargs,
        )
    if cls is ModelErrorException:
        return ModelErrorException(
            message,
            original_status_code=_optional_int(fields.get("originalStatusCode")),
            resource_name=_optional_str(fields.get("resourceName")),
            **kwargs,
        )
    return cls(message, **kwargs)


def error_from_http_response(
    status_code: int, headers: Mapping[str, str], body: bytes, *, retry_attempts: int = 0
) -> BedrockRuntimeError:
    """Type an HTTP error response received instead of the event stream.

    The error name comes from ``x-amzn-ErrorType`` (the part before ``:``), else the JSON body's ``__type``,
    else its ``code``/``Code``. Known names give their class; anything else gives a plain
    :class:`BedrockRuntimeError` that keeps the raw body. ``headers`` must be case-insensitive (httpx.Headers)
    or use lower-case names.
    """
    fields = _json_object(body)
    code: str | None = None
    raw_type = headers.get("x-amzn-errortype")
    if raw_type:
        code = _short_code(raw_type)
    elif fields is not None:
        for key in ("__type", "code", "Code"):
            value = fields.get(key)
            if isinstance(value, str) and value:
                code = _short_code(value)
                break
    message: str | None = None
    if fields is not None:
        for key in ("message", "Message", "errorMessage"):
            value = fields.get(key)
            if isinstance(value, str):
                message = value
                break
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "request_id": headers.get("x-amzn-requestid") or None,
        "error_code": code or None,
        "headers": {k.lower(): v for k, v in headers.items()},
        "retry_attempts": retry_attempts,
    }
    kwargs["body"] = body[:_MAX_KEPT_BODY]
    cls = _BY_CODE.get(code) if code else None
    if cls is None:
        if message is None:
            message = f"HTTP {status_code} error response: {_shown(body) if body else '(empty body)'}"
        return BedrockRuntimeError(message, **kwargs)
    return _make(cls, message if message is not None else _shown(body), fields or {}, kwargs)


def error_from_exception_message(
    headers: Mapping[str, Any], payload: bytes, *, request_id: str | None, status_code: int | None = 200
) -> BedrockRuntimeError:
    """Type an event-stream message whose ``:message-type`` is ``exception``.

    ``:exception-type`` is the member name in lower camel case (``throttlingException``); the class is the
    modelled exception of the same name. The payload is ``{"message": ...}`` (plus ``originalStatusCode`` and
    ``originalMessage`` for ``modelStreamErrorException``); a payload that is not a JSON object becomes the
    message verbatim.
    """
    raw_type = headers.get(":exception-type")
    exception_type = raw_type if isinstance(raw_type, str) else None
    fields = _json_object(payload)
    message: str | None = None
    if fields is not None:
        value = fields.get("message", fields.get("Message"))
        if isinstance(value, str):
            message = value
    if message is None:
        message = _shown(payload) if (payload and fields is None) else ""
    code = (exception_type[:1].upper() + exception_type[1:]) if exception_type else None
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "request_id": request_id,
        "error_code": code,
        "in_stream": True,
        "exception_type": exception_type,
        "body": payload[:_MAX_KEPT_BODY],
    }
    cls = _BY_CODE.get(code) if code else None
    if cls is None:
        if not message:
            message = f"unrecognised exception {exception_type!r} in the event stream"
        return BedrockRuntimeError(message, **kwargs)
    return _make(cls, message, fields or {}, kwargs)


def error_from_error_message(
    headers: Mapping[str, Any], payload: bytes, *, request_id: str | None, status_code: int | None = 200
) -> UnmodeledStreamError:
    """Type an event-stream message whose ``:message-type`` is ``error``."""
    code = headers.get(":error-code")
    message = headers.get(":error-message")
    return UnmodeledStreamError(
        message if isinstance(message, str) else "",
        status_code=status_code,
        request_id=request_id,
        error_code=code if isinstance(code, str) else None,
        body=payload[:_MAX_KEPT_BODY] or None,
        in_stream=True,
    )
