"""An httpx transport on the standard library's ``http.client``: httpx's API, fewer µs per chunk.

Why it exists: a streamed answer arrives as one event-stream frame per HTTP chunk, so what the transport
spends handing each raw chunk to the caller is paid once per event. httpx's default transport (httpcore over
h11) spends ~8 µs of CPU per chunk on loopback; ``http.client`` (what urllib3, hence boto3, reads with) spends
~1.8 µs. This transport keeps httpx as the only dependency and the only API (auth flows, events hooks,
``httpx.Response``, httpx's exception types) and swaps just the wire layer. The sync client uses it by
default where it is equivalent to httpx's transport (see :mod:`client.transport_choice`); by hand::

    http = httpx.Client(transport=StdlibTransport())
    bedrock = client.BedrockRuntimeClient("us-east-1", http_client=http)

What it shares with httpx's default transport: the trust store and TLS settings (``httpx.create_ssl_context``:
certifi's bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` with ``trust_env``; host names checked; Python's
minimum TLS version; ALPN ``http/1.1``), the pool limits (``httpx.Limits``: at most ``max_connections`` open
at once over all hosts, a request waits up to the ``pool`` timeout for one and then raises
``httpx.PoolTimeout``; ``max_keepalive_connections`` idle ones kept, each for ``keepalive_expiry``), the
``connect``/``read``/``write`` timeouts and httpx's exception types.

Limits (use httpx's default transport when you need any of these):

* HTTP/1.1 only (no HTTP/2), sync only (no ``httpx.AsyncClient``).
* No proxies (``HTTP(S)_PROXY`` and httpx's ``proxy=`` are not consulted: httpx hands proxied requests to
  a different transport it builds itself, so only a ``mounts=``/``transport=`` use reaches this one).
* Redirects are never followed here (httpx's client decides that; this transport returns the 3xx as is).
* A request body is sent from memory (``request.read()``), never streamed.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from collections.abc import Iterator
from time import monotonic

import httpx

__all__ = ["DEFAULT_LIMITS", "StdlibTransport"]

#: httpx's own defaults (``httpx.Limits(max_connections=100, max_keepalive_connections=20)``, 5 s expiry).
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

_READ_SIZE = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}

_Key = tuple[str, str, int]


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client`` with a bounded, thread-safe connection pool.

    Args:
        verify: ``True`` (default) verifies TLS certificates and host names against httpx's trust store
            (``httpx.create_ssl_context``); ``False`` turns verification off; an ``ssl.SSLContext`` is used
            as given (with ALPN set to ``http/1.1``, as httpx does).
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` like httpx (proxy variables are never read).
        limits: ``httpx.Limits``, the same meaning as for httpx's transport; default :data:`DEFAULT_LIMITS`.

    Timeouts come from each request's ``extensions["timeout"]`` as httpx sets them: ``pool`` bounds the wait
    for a connection when ``max_connections`` are open, ``connect`` the TCP connect and TLS handshake,
    ``write`` each send, ``read`` each wait for data (the status line and every piece of the body, not the
    whole response).
    """

    def __init__(
        self,
        *,
        verify: bool | ssl.SSLContext = True,
        trust_env: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        if limits.max_connections is not None and limits.max_connections < 1:
            raise ValueError(f"limits.max_connections must be None or >= 1, not {limits.max_connections}")
        idle = limits.max_keepalive_connections
        if idle is not None and idle < 0:
            raise ValueError(f"limits.max_keepalive_connections must be None or >= 0, not {idle}")
        self._ssl_context: ssl.SSLContext | None = None  # built on first HTTPS use: loading CAs costs ms
        self._verify = verify
        self._trust_env = trust_env
        self._max_open = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._cond = threading.Condition(threading.Lock())  # guards the pool's state below
        self._tls_lock = threading.Lock()  # building the TLS context takes ms: never under the pool's lock
        self._idle: dict[_Key, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._idle_count = 0
        self._open = 0  # connections open or being opened (idle ones included): what max_connections bounds
        self._closed = False

    @property
    def connections_in_use(self) -> int:
        """Connections open (or being opened) and not idle in the pool: each serves one request now."""
        with self._cond:
            return self._open - self._idle_count

    # -- TLS ---------------------------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        with self._tls_lock:
            if self._ssl_context is None:
                # httpx's own function: the same CA bundle, environment variables and verify=False handling.
                context = httpx.create_ssl_context(verify=self._verify, trust_env=self._trust_env)
                context.set_alpn_protocols(["http/1.1"])  # what httpcore offers without http2
                self._ssl_context = context
            return self._ssl_context

    # -- the pool ----------------------------------------------------------------------------------------

    def _acquire(
        self, key: _Key, pool_timeout: float | None, request: httpx.Request
    ) -> http.client.HTTPConnection | None:
        """An idle connection for ``key``, or None with a slot reserved for a new one; waits for a slot.

        Like httpcore: when every slot is taken but some are idle connections to other hosts, the oldest of
        those is closed to make room.
        """
        deadline = None if pool_timeout is None else monotonic() + pool_timeout
        doomed: list[http.client.HTTPConnection] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise RuntimeError("this StdlibTransport is closed")
                    conn = self._pop_idle(key, doomed)
                    if conn is not None:
                        return conn
                    if self._max_open is None or self._open < self._max_open:
                        self._open += 1
                        return None
                    victim = self._pop_oldest_idle()
                    if victim is not None:
                        doomed.append(victim)  # its slot passes to the new connection
                        return None
                    remaining = None if deadline is None else deadline - monotonic()
                    if remaining is not None and remaining <= 0:
                        raise httpx.PoolTimeout(
                            f"timed out waiting for one of the pool's {self._max_open} connections",
                            request=request,
                        )
                    self._cond.wait(remaining)
        finally:
            for conn in doomed:
                conn.close()

    def _pop_idle(
        self, key: _Key, doomed: list[http.client.HTTPConnection]
    ) -> http.client.HTTPConnection | None:
        # Called with the lock held. Newest first: the least likely to have been closed by the server.
        idle = self._idle.get(key)
        now = monotonic()
        while idle:
            conn, since = idle.pop()
            self._idle_count -= 1
            if (self._expiry is None or now - since < self._expiry) and _still_usable(conn):
                return conn
            # Expired, or the server closed it while idle (or sent something unasked): never reuse it.
            doomed.append(conn)
            self._open -= 1
        return None

    def _pop_oldest_idle(self) -> http.client.HTTPConnection | None:
        oldest: tuple[float, _Key] | None = None
        for key, idle in self._idle.items():
            if idle and (oldest is None or idle[0][1] < oldest[0]):
                oldest = (idle[0][1], key)
        if oldest is None:
            return None
        self._idle_count -= 1
        return self._idle[oldest[1]].pop(0)[0]

    def _release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        """Back to the pool after a clean, complete response (or closed when the pool keeps no more)."""
        with self._cond:
            keep = not self._closed and (self._max_idle is None or self._idle_count < self._max_idle)
            if keep:
                self._idle.setdefault(key, []).append((conn, monotonic()))
                self._idle_count += 1
            else:
                self._open -= 1
            self._cond.notify()
        if not keep:
            conn.close()

    def _discard(self, conn: http.client.HTTPConnection | None) -> None:
        """Close a connection that cannot be reused (or a reserved slot never connected) and free its slot."""
        if conn is not None:
            conn.close()
        with self._cond:
            self._open -= 1
            self._cond.notify()

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
        host = url.host
        key = (scheme, host, url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        body = request.read()
        target = url.raw_path.decode("ascii")
        headers = _wire_headers(request, len(body))

        conn = self._acquire(key, timeouts.get("pool"), request)
        reused = conn is not None
        try:
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
                    # A kept-alive connection failed before any response byte: almost always the server
                    # closing it as idle just as the request went out (the idle check cannot see that race).
                    # One more try, on a fresh connection in the same slot; a fresh one failing is raised.
                    reused = False
        except BaseException:
            self._discard(conn)
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
        with self._cond:
            self._closed = True
            idle = [conn for conns in self._idle.values() for conn, _ in conns]
            self._idle.clear()
            self._idle_count = 0
            self._open -= len(idle)
            self._cond.notify_all()  # waiters for a slot give up: the transport is closed
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
        if hasattr(select, "poll"):  # select() refuses descriptors >= 1024, common with many open streams
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
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
        if self._response.length:
            # read1() ends a sized body at EOF without a word when the peer closed early (only read() raises
            # IncompleteRead): the bytes still owed mean the body was cut, which must not look like its end.
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body "
                f"({self._response.length} bytes missing)",
                request=self._request,
            )
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
            self._transport._discard(conn)
