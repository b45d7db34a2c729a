"""Faults the emulator injects on request: what goes wrong, and after how many chunks.

A fault is plain data (:class:`Fault`); the server decides how to act it out. Faults reach the emulator two
ways: ``Emulator.inject(fault)`` / ``Emulator(faults=[...])`` from Python (a queue consumed by the next valid
invocations, one fault each), or the ``X-Emulator-Fault`` request header for command-line and manual use,
whose text :func:`parse_fault` reads and :meth:`Fault.to_header` writes::

    X-Emulator-Fault: throttling
    X-Emulator-Fault: exception; name=modelStreamErrorException; after=2
    X-Emulator-Fault: error; after=1; code=InternalFailure; message=boom%3B%20really
    X-Emulator-Fault: http-error; name=ModelTimeoutException
    X-Emulator-Fault: stall; after=3; seconds=30
    X-Emulator-Fault: drop; before=messageStop

The syntax is ``kind`` followed by ``; key=value`` parameters; values are percent-decoded so a message can
carry ``;`` or ``=`` (``%3B``, ``%3D``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import quote, unquote

from client.operations import ALL_OPERATIONS, ERRORS, INVOKE_MODEL_WITH_RESPONSE_STREAM

__all__ = [
    "FAULT_HEADER",
    "HTTP_ERROR_STATUS",
    "STREAM_EXCEPTIONS",
    "Fault",
    "FaultKind",
    "FaultSyntaxError",
    "parse_fault",
]

FAULT_HEADER = "X-Emulator-Fault"

# The modelled in-stream exceptions, by their wire name (`:exception-type`, lower camel case): those of
# InvokeModelWithResponseStream, the widest set (ConverseStream's lacks modelTimeoutException).
STREAM_EXCEPTIONS = INVOKE_MODEL_WITH_RESPONSE_STREAM.stream_exceptions

# Every error the API documents before the stream, with the status the service sends it with.
HTTP_ERROR_STATUS = {name: row.status for name, row in ERRORS.items()}

# Every event name a stream of ours carries, for `before=`.
_EVENT_NAMES = tuple(dict.fromkeys(name for op in ALL_OPERATIONS for name in op.stream_events))

# Larger than any limit a sane decoder applies (botocore allows 24 MiB of payload; the service's chunks
# carry at most ~1.4 MB), so the default oversized frame is refused everywhere.
DEFAULT_OVERSIZED_FRAME = 32 * 1024 * 1024


class FaultKind(enum.Enum):
    """What goes wrong. The value is the name used in the ``X-Emulator-Fault`` header."""

    # Before the stream: a complete error response instead of the event stream.
    THROTTLING = "throttling"  # 429 ThrottlingException
    MODEL_NOT_READY = "model-not-ready"  # 429 ModelNotReadyException
    INTERNAL_ERROR = "internal-error"  # 500 InternalServerException
    SERVICE_UNAVAILABLE = "service-unavailable"  # 503 ServiceUnavailableException
    HTTP_ERROR = "http-error"  # any documented error by name= (status from HTTP_ERROR_STATUS)
    BAD_GATEWAY = "bad-gateway"  # a proxy's HTML 502, no x-amzn-ErrorType, no request id
    NOT_EVENTSTREAM = "not-eventstream"  # 200 whose content type is application/json
    # In the stream, after `after` complete chunks.
    EXCEPTION = "exception"  # a modelled exception frame (name= one of STREAM_EXCEPTIONS), then the end
    ERROR = "error"  # an unmodelled `error` message (:error-code, :error-message), then the end
    DROP = "drop"  # the connection closes between two frames (no end of the chunked body)
    DROP_MID_FRAME = "drop-mid-frame"  # half a frame is sent, then the connection closes
    TRUNCATE = "truncate"  # half a frame is sent, then the HTTP body ends cleanly
    BAD_CRC = "bad-crc"  # one frame's message CRC is flipped; the rest of the stream follows
    OVERSIZED_FRAME = "oversized-frame"  # a well-formed frame of `size` bytes, then the end
    STALL = "stall"  # nothing for `seconds` (or until the client hangs up), then the rest

    @property
    def before_stream(self) -> bool:
        """True for faults that replace the whole response (the client sees them before any event)."""
        return self in _BEFORE_STREAM


_BEFORE_STREAM = frozenset(
    {
        FaultKind.THROTTLING,
        FaultKind.MODEL_NOT_READY,
        FaultKind.INTERNAL_ERROR,
        FaultKind.SERVICE_UNAVAILABLE,
        FaultKind.HTTP_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.NOT_EVENTSTREAM,
    }
)

_SHORTCUT_NAMES = {
    FaultKind.THROTTLING: "ThrottlingException",
    FaultKind.MODEL_NOT_READY: "ModelNotReadyException",
    FaultKind.INTERNAL_ERROR: "InternalServerException",
    FaultKind.SERVICE_UNAVAILABLE: "ServiceUnavailableException",
}

_DEFAULT_MESSAGES = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ModelNotReadyException": "Model is not ready for inference. Wait and try your request again.",
    "InternalServerException": "An internal server error occurred. Retry your request.",
    "ServiceUnavailableException": "The service is temporarily unavailable. Please try again later.",
    "ModelTimeoutException": "Model has timed out in processing the request. Try your request again.",
    "ModelStreamErrorException": "The model's stream failed.",
    "ModelErrorException": "The model returned an error.",
    "ValidationException": "The input fails to satisfy the constraints specified by the service.",
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ResourceNotFoundException": "The requested resource could not be found.",
    "ServiceQuotaExceededException": "Your request exceeds the service quota for your account.",
}


class FaultSyntaxError(ValueError):
    """An ``X-Emulator-Fault`` header (or a Fault's fields) that does not describe a fault."""


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    ``after`` counts the complete events (frames: ``chunk`` events, or ConverseStream's ``messageStart``,
    ``contentBlockDelta``...) sent before an in-stream fault acts (0: before the first); it is clamped to the
    answer's length, so a large value means "at the end". On a one-piece answer (InvokeModel, Converse,
    CountTokens) the in-stream kinds act on the body instead (see :func:`.plan.body_steps`). ``name`` selects
    the error (``http-error``: a name from :data:`HTTP_ERROR_STATUS`; ``exception``: one of
    :data:`STREAM_EXCEPTIONS`, upper or lower camel case). ``message`` and ``code`` override the text sent;
    ``seconds`` is a stall's length, ``size`` an oversized frame's total length in bytes. ``before`` names an
    event (``messageStop``, ``metadata``...): the fault acts just before the first frame of that event instead
    of after ``after`` frames (at the end when the answer has no such event).
    """

    kind: FaultKind  # or its header name: Fault("throttling") is Fault(FaultKind.THROTTLING)
    after: int = 0
    name: str | None = None
    message: str | None = None
    code: str | None = None
    seconds: float = 3600.0
    size: int = DEFAULT_OVERSIZED_FRAME
    before: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FaultKind):
            try:
                object.__setattr__(self, "kind", FaultKind(self.kind))
            except ValueError:
                known = ", ".join(kind.value for kind in FaultKind)
                raise FaultSyntaxError(f"unknown fault kind {self.kind!r}; known: {known}") from None
        if self.after < 0:
            raise FaultSyntaxError(f"fault {self.kind.value}: after must be >= 0, got {self.after}")
        if not self.seconds >= 0:  # also refuses NaN
            raise FaultSyntaxError(f"fault {self.kind.value}: seconds must be >= 0, got {self.seconds}")
        if self.size < 16:
            raise FaultSyntaxError(f"fault {self.kind.value}: size must be >= 16 bytes, got {self.size}")
        if self.before is not None and self.before not in _EVENT_NAMES:
            known = ", ".join(_EVENT_NAMES)
            raise FaultSyntaxError(
                f"fault {self.kind.value}: before= must be an event name ({known}), got {self.before!r}"
            )
        if self.kind is FaultKind.HTTP_ERROR and self.name not in HTTP_ERROR_STATUS:
            known = ", ".join(HTTP_ERROR_STATUS)
            raise FaultSyntaxError(f"fault http-error needs name= one of {known}; got {self.name!r}")
        if self.kind is FaultKind.EXCEPTION and _stream_exception_name(self.name) is None:
            known = ", ".join(STREAM_EXCEPTIONS)
            raise FaultSyntaxError(f"fault exception needs name= one of {known}; got {self.name!r}")

    @property
    def error_name(self) -> str:
        """The error's name as the service spells it (``ThrottlingException``, ``throttlingException``)."""
        if self.kind in _SHORTCUT_NAMES:
            return _SHORTCUT_NAMES[self.kind]
        if self.kind is FaultKind.EXCEPTION:
            name = _stream_exception_name(self.name)
            assert name is not None  # checked in __post_init__
            return name
        if self.kind is FaultKind.HTTP_ERROR:
            assert self.name is not None
            return self.name
        return self.name or ""

    @property
    def status(self) -> int:
        """The HTTP status of a before-the-stream fault (200 for the in-stream ones)."""
        if self.kind is FaultKind.BAD_GATEWAY:
            return 502
        if self.kind in _SHORTCUT_NAMES or self.kind is FaultKind.HTTP_ERROR:
            return HTTP_ERROR_STATUS[self.error_name]
        return 200

    @property
    def error_message(self) -> str:
        """The message sent with the error (the override, or the service's usual wording)."""
        if self.message is not None:
            return self.message
        if self.kind is FaultKind.ERROR:
            return "An unexpected error occurred while streaming the response."
        if self.kind is FaultKind.NOT_EVENTSTREAM:
            return "This 200 response is a JSON document, not an event stream."
        name = self.error_name
        return _DEFAULT_MESSAGES.get(name[:1].upper() + name[1:], f"Emulated {name}.")

    def to_header(self) -> str:
        """This fault as ``X-Emulator-Fault`` header text (:func:`parse_fault` reads it back)."""
        parts = [self.kind.value]
        defaults = Fault(FaultKind.DROP)
        if self.name is not None:
            parts.append(f"name={quote(self.name, safe='')}")
        if self.after != defaults.after:
            parts.append(f"after={self.after}")
        if self.message is not None:
            parts.append(f"message={quote(self.message, safe=' ')}")
        if self.code is not None:
            parts.append(f"code={quote(self.code, safe='')}")
        if self.seconds != defaults.seconds:
            parts.append(f"seconds={self.seconds:g}")
        if self.size != defaults.size:
            parts.append(f"size={self.size}")
        if self.before is not None:
            parts.append(f"before={quote(self.before, safe='')}")
        return "; ".join(parts)


def _stream_exception_name(name: str | None) -> str | None:
    if not name:
        return None
    lower = name[:1].lower() + name[1:]
    return lower if lower in STREAM_EXCEPTIONS else None


def parse_fault(text: str) -> Fault:
    """Read ``X-Emulator-Fault`` header text (see the module docstring); raise FaultSyntaxError if bad."""
    pieces = [piece.strip() for piece in text.split(";")]
    if not pieces or not pieces[0]:
        raise FaultSyntaxError("empty X-Emulator-Fault header: expected a fault kind such as 'throttling'")
    try:
        kind = FaultKind(pieces[0].lower())
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise FaultSyntaxError(f"unknown fault kind {pieces[0]!r}; known: {known}") from None
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise FaultSyntaxError(f"fault parameter {piece!r} is not key=value")
        if key in params:
            raise FaultSyntaxError(f"fault parameter {key!r} given twice")
        params[key] = unquote(value.strip())
    unknown = sorted(set(params) - {"after", "name", "message", "code", "seconds", "size", "before"})
    if unknown:
        raise FaultSyntaxError(f"unknown fault parameter(s) {', '.join(unknown)} in {text!r}")
    try:
        after = int(params["after"]) if "after" in params else 0
        seconds = float(params["seconds"]) if "seconds" in params else 3600.0
        size = int(params["size"]) if "size" in params else DEFAULT_OVERSIZED_FRAME
    except ValueError as exc:
        raise FaultSyntaxError(f"bad number in fault {text!r}: {exc}") from None
    return Fault(
        kind,
        after=after,
        name=params.get("name"),
        message=params.get("message"),
        code=params.get("code"),
        seconds=seconds,
        size=size,
        before=params.get("before"),
    )
