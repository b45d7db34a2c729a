"""One small HTTP request to a credentials endpoint, with the standard library and a hard timeout.

``http.client`` (which pulls in ``ssl`` and ``email``) is imported on first use only, so that importing
the providers costs nothing on a cold start where no endpoint is ever asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Credential answers are a few hundred bytes; anything far larger is not a credentials endpoint.
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Response:
    """Status, reason phrase and (bounded) body of an HTTP answer."""

    status: int
    reason: str
    body: bytes = b""


class FetchError(Exception):
    """The request got no HTTP answer. ``connected`` tells whether the TCP connection was made (a timeout
    after connecting means a server is there but slow or filtering, before means nothing is listening);
    ``retryable`` is False for a request that cannot work (a malformed URL)."""

    def __init__(self, reason: str, *, connected: bool, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.connected = connected
        self.retryable = retryable


def safe_url(url: str) -> str:
    """``url`` without user info or query string, for messages (either could carry a credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def request(method: str, url: str, headers: Mapping[str, str], *, timeout: float) -> Response:
    """Send one request (no redirects followed) and read at most :data:`MAX_BODY` bytes of the answer.

    Every socket operation is bounded by ``timeout`` seconds. Header values must already be validated:
    ``http.client`` quotes a bad value in its exception, and these values are tokens.
    """
    import http.client  # noqa: PLC0415 - lazy: pulls in ssl and email, costly on a cold start

    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise FetchError("malformed URL", connected=False, retryable=False) from None
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("not an http:// or https:// URL with a host", connected=False, retryable=False)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl  # noqa: PLC0415 - lazy, as above

        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            connection.connect()
        except OSError as error:
            raise FetchError(_describe(error, timeout), connected=False) from None
        try:
            connection.request(method, target, headers=dict(headers))
            answer = connection.getresponse()
            body = answer.read(MAX_BODY + 1)
        except ValueError:
            # http.client rejects control characters in the target; never echo its message.
            raise FetchError(
                "the URL path is not a valid request target", connected=True, retryable=False
            ) from None
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(_describe(error, timeout), connected=True) from None
        if len(body) > MAX_BODY:
            raise FetchError(f"answer larger than {MAX_BODY} bytes", connected=True, retryable=False)
        return Response(answer.status, answer.reason, body)
    finally:
        connection.close()


def _describe(error: BaseException, timeout: float) -> str:
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return f"no answer within {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__
