"""An opt-in httpx transport on the standard library's ``http.client``: httpx's API, fewer µs per chunk.

Why it exists: a streamed answer arrives as one event-stream frame per HTTP chunk, so what the transport
spends handing each raw chunk to the caller is paid once per event. httpx's default transport (httpcore over
h11) spends ~8 µs of CPU per chunk on loopback; ``http.client`` (what urllib3, hence boto3, reads with) spends
~1.8 µs. This transport keeps httpx as the only dependency and the only API (auth flows, events hooks,
``httpx.Response``, httpx's exception types) and swaps just the wire layer::

    http = httpx.Client(transport=StdlibTransport())
    bedrock = client.BedrockRuntimeClient("us-east-1", http_client=http)

Limits (use httpx's default transport when you need any of these):

* HTTP/1.1 only (no HTTP/2), sync only (no ``httpx.AsyncClient``).
* No proxies (``HTTP(S)_PROXY`` and httpx's ``proxy=`` are not consulted: httpx hands proxied requests to
  a different transport it builds itself, so only a ``mounts=``/``transport=`` use reaches this one).
* No pool wait: the keep-alive pool bounds the idle connections kept per host, not how many are open at once
  (the ``pool`` timeout is therefore never used).
* Redirects are never followed here (httpx's client decides that; this transport returns the 3xx as is).
* A request body is sent from memory (``request.read()``), never streamed.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from collections.abc import Iterator

import httpx

__all__ = ["StdlibTransport"]

_READ_SIZE = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}

_Key = tuple[str, str, int]


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client`` with a small thread-safe keep-alive pool per (scheme, host, port).

    Args:
        verify: ``True`` (default) verifies TLS certificates and host names with
            ``ssl.create_default_context()``; ``False`` turns verification off; an ``ssl.SSLContext`` is
            used as given.
        max_keepalive_per_host: idle connections kept for reuse per (scheme, host, port); more are closed
            when released.

    Timeouts come from each request's ``extensions["timeout"]`` as httpx sets them: ``connect`` bounds the
    TCP connect and TLS handshake, ``write`` each send, ``read`` each wait for data (the status line and
    every piece of the body, not the whole response).
    """

    def __init__(self, *, verify: bool | ssl.SSLContext = True, max_keepalive_per_host: int = 10) -> None:
        if max_keepalive_per_host < 0:
            raise ValueError(f"max_keepalive_per_host must be >= 0, got {max_keepalive_per_host}")
        if isinstance(verify, ssl.SSLContext):
            self._ssl_context: ssl.SSLContext | None = verify
        else:
            self._ssl_context = None  # built on first HTTPS use: loading the CA store costs milliseconds
        self._verify = verify
        self._max_idle = max_keepalive_per_host
        self._lock = threading.Lock()
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._closed = False

    # -- the pool ----------------------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl_context is None:
                context = ssl.create_default_context()
                if self._verify is False:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                self._ssl_context = context
            return self._ssl_context

    def _take_idle(self, key: _Key) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                conn = idle.pop()
            if _still_usable(conn):
                return conn
            conn.close()  # the server closed it while idle (or sent something unasked): never reuse it

    def _release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self._max_idle:
                    idle.append(conn)
                    return
        conn.close()

    def _new_connection(
        self, key: _Key, connect_timeout: float | None, request: httpx.Request
    ) -> http.client.HTTPConnection:
        scheme, host, port = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except TimeoutError as exc:  # socket.timeout is TimeoutError
            conn.close()
            raise httpx.ConnectTimeout(f"connect to {host}:{port} timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS handshake (SSLError)
            conn.close()
            raise httpx.ConnectError(f"connect to {host}:{port} failed: {exc}", request=request) from exc
        return conn

    # -- httpx.BaseTransport -------------------------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response with its body still on the wire (a streamed body)."""
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(
                f"StdlibTransport speaks http and https, not {scheme!r}", request=request
            )
        if self._closed:
            raise RuntimeError("this StdlibTransport is closed")
        host = url.host
        key = (scheme, host, url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        body = request.read()
        target = url.raw_path.decode("ascii")
        headers = _wire_headers(request, len(body))

        conn = self._take_idle(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._new_connection(key, timeouts.get("connect"), request)
            try:
                response = _exchange(conn, request, target, headers, body, timeouts)
                break
            except _StaleConnectionError as stale:
                conn.close()
                conn = None
                if not reused:
                    raise stale.error from stale.__cause__
                # A kept-alive connection failed before any response byte: almost always the server closing
                # it as idle just as the request went out (the idle check cannot see that race). One more
                # try, on a fresh connection; a fresh connection failing the same way is raised.
                reused = False
            except BaseException:
                conn.close()
                raise
        return httpx.Response(
            response.status,
            headers=[
                (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.getheaders()
            ],
            stream=_ResponseStream(self, key, conn, response, request),
            extensions={
                "http_version": b"HTTP/1.0" if response.version == 10 else b"HTTP/1.1",
                "reason_phrase": response.reason.encode("latin-1", "replace"),
            },
            request=request,
        )

    def close(self) -> None:
        """Close every idle connection; connections still streaming are closed when their response is."""
        with self._lock:
            self._closed = True
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()


class _StaleConnectionError(Exception):
    """Sending on (or awaiting the status line from) a connection failed before any response byte."""

    def __init__(self, error: httpx.TransportError) -> None:
        super().__init__(str(error))
        self.error = error


def _still_usable(conn: http.client.HTTPConnection) -> bool:
    # An idle keep-alive connection must have nothing to read: readable means the server closed it (EOF)
    # or sent bytes nobody asked for. Either way a request on it would fail or be misread.
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _wire_headers(request: httpx.Request, length: int) -> list[tuple[bytes, bytes]]:
    headers = []
    has_length = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if lower == b"transfer-encoding":
            continue  # the body is sent from memory with a Content-Length instead
        has_length = has_length or lower == b"content-length"
        headers.append((name, value))
    if not has_length and (length or request.method not in ("GET", "HEAD", "OPTIONS", "DELETE", "TRACE")):
        headers.append((b"Content-Length", str(length).encode("ascii")))
    return headers


def _exchange(  # noqa: PLR0917 (private, one call site)
    conn: http.client.HTTPConnection,
    request: httpx.Request,
    target: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    timeouts: dict[str, float | None],
) -> http.client.HTTPResponse:
    """Send the request and read the response head, mapping failures to httpx's exceptions."""
    sock = conn.sock
    assert sock is not None  # connected by _new_connection or taken idle (checked by _still_usable)
    try:
        sock.settimeout(timeouts.get("write"))
        conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body or None)
    except TimeoutError as exc:
        raise httpx.WriteTimeout("timed out sending the request", request=request) from exc
    except OSError as exc:
        error: httpx.TransportError = httpx.WriteError(f"sending the request failed: {exc}", request=request)
        raise _StaleConnectionError(error) from exc
    try:
        sock.settimeout(timeouts.get("read"))
        return conn.getresponse()
    except TimeoutError as exc:
        raise httpx.ReadTimeout("timed out waiting for the response", request=request) from exc
    except http.client.RemoteDisconnected as exc:  # before it: it is a ConnectionResetError too
        error = httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        raise _StaleConnectionError(error) from exc
    except (ConnectionResetError, BrokenPipeError) as exc:
        raise _StaleConnectionError(
            httpx.ReadError(f"reading the response failed: {exc}", request=request)
        ) from exc
    except http.client.HTTPException as exc:  # bad status line, too many or too long headers
        raise httpx.RemoteProtocolError(f"malformed response: {exc!r}", request=request) from exc
    except OSError as exc:
        raise httpx.ReadError(f"reading the response failed: {exc}", request=request) from exc


class _ResponseStream(httpx.SyncByteStream):
    """The response body as it arrives; the connection goes back to the pool only after a clean, full read."""

    def __init__(
        self,
        transport: StdlibTransport,
        key: _Key,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        request: httpx.Request,
    ) -> None:
        self._transport = transport
        self._key = key
        self._conn: http.client.HTTPConnection | None = conn
        self._response = response
        self._request = request
        self._complete = False

    def __iter__(self) -> Iterator[bytes]:
        # Hot path: one read1() per HTTP chunk. read1 returns what one socket read brings (at most the rest of
        # the current chunk), so every chunk reaches the caller as soon as it arrives.
        read1 = self._response.read1
        try:
            while chunk := read1(_READ_SIZE):
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out waiting for the response body", request=self._request) from exc
        except http.client.IncompleteRead as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=self._request
            ) from exc
        except http.client.HTTPException as exc:
            raise httpx.RemoteProtocolError(
                f"malformed response body: {exc!r}", request=self._request
            ) from exc
        except (OSError, ValueError) as exc:  # resets; ValueError: read on a response closed meanwhile
            raise httpx.ReadError(f"reading the response body failed: {exc}", request=self._request) from exc
        # http.client closes its reader at the end of a chunked body but not of a sized one (or of a HEAD's):
        # the connection only accepts its next request once the response is closed.
        self._response.close()
        self._complete = True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        response = self._response
        # will_close: HTTP/1.0, "Connection: close" or a body delimited by the end of the connection.
        if self._complete and not response.will_close and conn.sock is not None:
            self._transport._release(self._key, conn)
        else:
            response.close()
            conn.close()
