"""Test helpers for the client tests: frame builders and a scripted HTTP/1.1 server on 127.0.0.1.

The server runs in threads with socket timeouts everywhere, so a failing test cannot hang: every wait is
bounded. Each request is answered by the next queued :class:`Reply` (or the default one). Its own tests are
at the bottom.
"""

from __future__ import annotations

import base64
import contextlib
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from eventstream import Message, encode

EVENTSTREAM = "application/vnd.amazon.eventstream"
WAIT = 10.0  # the longest any helper blocks; far above what a passing test needs


# --- frames ----------------------------------------------------------------------------------------------


def chunk_frame(model_bytes: bytes, *, padding: str = "abcdefghijklmnopqr", compact: bool = True) -> bytes:
    """A ``chunk`` event frame carrying ``model_bytes``, laid out as the service does (or re-serialised)."""
    encoded = base64.b64encode(model_bytes).decode("ascii")
    if compact:
        payload = json.dumps({"bytes": encoded, "p": padding}, separators=(",", ":")).encode()
    else:
        payload = json.dumps({"p": padding, "bytes": encoded}, indent=1).encode()
    return encode(
        Message(
            {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
            payload,
        )
    )


def json_chunk(obj: Any) -> bytes:
    return chunk_frame(json.dumps(obj).encode())


def exception_frame(exception_type: str, body: dict[str, Any] | bytes) -> bytes:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return encode(
        Message(
            {
                ":exception-type": exception_type,
                ":content-type": "application/json",
                ":message-type": "exception",
            },
            payload,
        )
    )


def error_frame(code: str, message: str) -> bytes:
    return encode(Message({":error-code": code, ":error-message": message, ":message-type": "error"}, b""))


def event_frame(event_type: str, payload: bytes = b"{}") -> bytes:
    return encode(Message({":event-type": event_type, ":message-type": "event"}, payload))


# --- the server ------------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """One scripted response.

    ``parts`` are written in order: ``bytes`` are sent (as one HTTP chunk when ``chunked``), a
    ``threading.Event`` is waited for (bounded), a float sleeps that many seconds. With ``drop`` the
    connection is closed after the parts instead of finishing the response properly.
    """

    status: int = 200
    headers: Sequence[tuple[str, str]] = (("Content-Type", EVENTSTREAM),)
    parts: Sequence[bytes | threading.Event | float] = ()
    chunked: bool = True
    drop: bool = False
    sent: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def error(
        cls, status: int, error_type: str | None, message: str, *, request_id: str = "req-err", **extra: Any
    ) -> Reply:
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        if error_type is not None:
            headers.append(
                ("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            )
        body = json.dumps({"message": message, **extra}).encode()
        return cls(status=status, headers=headers, parts=[body], chunked=False)

    @classmethod
    def stream(
        cls, *frames: bytes | threading.Event | float, request_id: str = "req-1", **kwargs: Any
    ) -> Reply:
        headers = [
            ("Content-Type", EVENTSTREAM),
            ("x-amzn-RequestId", request_id),
            ("X-Amzn-Bedrock-Content-Type", "application/json"),
        ]
        return cls(headers=headers, parts=list(frames), **kwargs)


class Loopback:
    """A scripted HTTP/1.1 server on 127.0.0.1 (keep-alive, chunked or sized bodies, drops, stalls)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None
        self.requests: list[Request] = []
        self.connections = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        acceptor.start()
        self._threads.append(acceptor)

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def wait_closed(self, timeout: float = WAIT) -> bool:
        """Wait until the client has closed every connection (the server sees EOF)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections() == 0:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=WAIT)
        self._listener.close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # internals

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(WAIT)
            with self._lock:
                self._open.add(conn)
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                request, buffer = _read_request(conn, buffer)
                if request is None:
                    return
                self.requests.append(request)
                reply = self.replies.popleft() if self.replies else self.default
                if reply is None:
                    reply = Reply(
                        status=599,
                        headers=[("Content-Type", "text/plain")],
                        parts=[b"no reply"],
                        chunked=False,
                    )
                if not _write_reply(conn, reply):
                    return
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[Request | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buffer += data
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buffer += data
    body, buffer = buffer[:length], buffer[length:]
    return Request(method, target, headers, body), buffer


def _peer_closed(conn: socket.socket) -> bool:
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _wait_or_peer_close(conn: socket.socket, event: threading.Event) -> None:
    """Wait for ``event`` (bounded), but notice a client that hangs up meanwhile: that is what closing tests
    watch for, and a blocked server thread would not see it otherwise."""
    deadline = time.monotonic() + WAIT
    while not event.wait(0.01):
        if _peer_closed(conn):
            raise ConnectionResetError("client closed the connection")
        if time.monotonic() > deadline:
            return


def _write_reply(conn: socket.socket, reply: Reply) -> bool:
    reason = {200: "OK"}.get(reply.status, "Status")
    head = [f"HTTP/1.1 {reply.status} {reason}"]
    head += [f"{name}: {value}" for name, value in reply.headers]
    data_parts = [p for p in reply.parts if isinstance(p, bytes)]
    if reply.chunked:
        head.append("Transfer-Encoding: chunked")
    else:
        head.append(f"Content-Length: {sum(len(p) for p in data_parts)}")
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    for part in reply.parts:
        if isinstance(part, threading.Event):
            _wait_or_peer_close(conn, part)
        elif isinstance(part, float):
            time.sleep(part)
        elif reply.chunked:
            if part:
                conn.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        else:
            conn.sendall(part)
    reply.sent.set()
    if reply.drop:
        conn.shutdown(socket.SHUT_RDWR)
        return False
    if reply.chunked:
        conn.sendall(b"0\r\n\r\n")
    return True


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    with Loopback() as server:
        yield server


# --- the helpers' own tests ------------------------------------------------------------------------------


def test_loopback_serves_scripted_replies_in_order_over_one_connection(loopback: Loopback) -> None:
    loopback.add(Reply.error(429, "ThrottlingException", "slow"), Reply.stream(b"abc"))
    with httpx.Client(timeout=WAIT) as http:
        first = http.post(loopback.url + "/x", content=b"one")
        second = http.post(loopback.url + "/y", content=b"two")
    assert first.status_code == 429 and first.headers["x-amzn-errortype"].startswith("ThrottlingException:")
    assert second.content == b"abc" and second.headers["transfer-encoding"] == "chunked"
    assert [(r.target, r.body) for r in loopback.requests] == [("/x", b"one"), ("/y", b"two")]
    assert loopback.connections == 1


def test_loopback_drop_cuts_the_response(loopback: Loopback) -> None:
    loopback.add(Reply.stream(b"partial", drop=True))
    with httpx.Client(timeout=WAIT) as http, pytest.raises(httpx.RemoteProtocolError):
        http.post(loopback.url + "/", content=b"")


def test_frame_builders_produce_the_service_layout() -> None:
    from eventstream import decode

    (message,) = decode(chunk_frame(b'{"a":1}', padding="xyz"))
    assert dict(message.headers)[":message-type"] == "event"
    assert message.payload == b'{"bytes":"eyJhIjoxfQ==","p":"xyz"}'
