"""Complete HTTP replies as the service sends them: errors before the stream, and the stream's own head.

A reply is data (:class:`Reply`); the server writes it. Errors carry the service's three marks: the status,
a JSON body ``{"message": ...}`` and ``x-amzn-ErrorType: Name:<namespace>``, plus ``x-amzn-RequestId``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

__all__ = [
    "BEDROCK_NAMESPACE",
    "CORAL_NAMESPACE",
    "Reply",
    "ServiceError",
    "bad_gateway_reply",
    "error_reply",
    "http_date",
]

BEDROCK_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
# Authentication errors come from the service framework, not from Bedrock itself.
CORAL_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.coral.service/"

_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    424: "Failed Dependency",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


def reason(status: int) -> str:
    """The reason phrase for ``status`` (``"Unknown"`` when we never send it)."""
    return _REASONS.get(status, "Unknown")


def http_date(epoch_seconds: float) -> str:
    """An RFC 7231 ``Date`` header value (``Mon, 01 Jan 2024 00:00:00 GMT``)."""
    return formatdate(epoch_seconds, usegmt=True)


class ServiceError(Exception):
    """An error the emulated service answers with: raised by the checks, turned into a :class:`Reply`.

    ``extra`` adds members to the JSON body (``originalStatusCode`` ...); ``close`` asks the server to close
    the connection after replying (when the request's body could not be read).
    """

    def __init__(
        self,
        status: int,
        name: str,
        message: str,
        *,
        namespace: str = BEDROCK_NAMESPACE,
        extra: dict[str, Any] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(f"{status} {name}: {message}")
        self.status = status
        self.name = name
        self.message = message
        self.namespace = namespace
        self.extra = dict(extra or {})
        self.close = close


@dataclass(frozen=True)
class Reply:
    """A complete HTTP response: status, headers (in order) and body; ``close`` ends the connection after."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    close: bool = False
    error_name: str | None = field(default=None, compare=False)


def error_reply(error: ServiceError, request_id: str, now: float) -> Reply:
    """The service's reply for ``error``: JSON message, ``x-amzn-ErrorType`` and ``x-amzn-RequestId``."""
    payload: dict[str, Any] = {"message": error.message}
    payload.update(error.extra)
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = (
        ("Date", http_date(now)),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", f"{error.name}:{error.namespace}"),
    )
    return Reply(error.status, headers, body, close=error.close, error_name=error.name)


_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def bad_gateway_reply(now: float) -> Reply:
    """What a proxy in front of the service sends when its upstream fails: HTML, none of the service's
    marks (no ``x-amzn-ErrorType``, no request id)."""
    headers = (
        ("Date", http_date(now)),
        ("Server", "awselb/2.0"),
        ("Content-Type", "text/html"),
        ("Content-Length", str(len(_BAD_GATEWAY_HTML))),
    )
    return Reply(502, headers, _BAD_GATEWAY_HTML, error_name="BadGateway")
