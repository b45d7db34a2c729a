"""client.stdlib_transport.StdlibTransport: the client's behaviours over http.client instead of httpcore.

Everything runs against the emulator (or the scripted loopback server) on 127.0.0.1, with bounded waits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import client
import client.runtime
import client.stdlib_transport
from client.emulator import Emulator, Fault, FaultKind
from client.retry import Backoff
from client.stdlib_transport import StdlibTransport
from sigv4 import Credentials
from test_client_helpers import WAIT, Loopback, Reply, json_chunk, loopback
from tls_helpers import make_certificate, tls_server

__all__ = ["loopback"]  # the fixture, re-exported so pytest finds it here

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
BODY = (
    b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,'
    b' "messages": [{"role": "user", "content": "Hello"}]}'
)
CHUNKS = 8  # text chunks per answer; the family adds its start/stop events around them
STALL_READ_TIMEOUT = 0.5


def wait_until(predicate: Any, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(chunk_count=CHUNKS) as emulator:
        yield emulator


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff delays the client asked for, not slept (keeps retry tests fast)."""
    delays: list[float] = []
    monkeypatch.setattr(client.runtime, "_sleep", delays.append)
    return delays


def make_http(**kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=StdlibTransport(**kwargs), timeout=httpx.Timeout(WAIT))


def make_client(url: str, http: httpx.Client, **kwargs: Any) -> client.BedrockRuntimeClient:
    return client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url=url, http_client=http, **kwargs
    )


def default_events(emu: Emulator) -> list[bytes]:
    with client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url=emu.url, timeout=WAIT
    ) as bedrock:
        return [event.bytes for event in bedrock.invoke_model_with_response_stream(MODEL, BODY)]


# --- streaming -------------------------------------------------------------------------------------------


def test_streams_the_same_chunks_as_the_default_client(emu: Emulator) -> None:
    expected = default_events(emu)
    assert len(expected) > CHUNKS
    with (
        make_http() as http,
        make_client(emu.url, http) as bedrock,
        bedrock.invoke_model_with_response_stream(MODEL, BODY) as stream,
    ):
        got = [event.bytes for event in stream]
        assert stream.status_code == 200
        assert stream.request_id is not None
    assert got == expected


def test_chunks_straddling_http_chunks_decode_the_same() -> None:
    with Emulator(chunk_count=CHUNKS) as emu:
        expected = default_events(emu)
    with (
        Emulator(chunk_count=CHUNKS, http_chunk_size=7) as emu,
        make_http() as http,
        make_client(emu.url, http) as bedrock,
    ):
        assert [e.bytes for e in bedrock.invoke_model_with_response_stream(MODEL, BODY)] == expected


def test_first_event_arrives_while_the_server_is_still_sending(loopback: Loopback) -> None:
    gate = threading.Event()
    reply = Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2}))
    loopback.add(reply)
    with (
        make_http() as http,
        make_client(loopback.url, http) as bedrock,
        bedrock.invoke_model_with_response_stream("m", b"{}") as stream,
    ):
        first = next(stream)
        # The server is blocked on the gate: the rest of the body has not been written yet.
        assert not reply.sent.is_set()
        assert first.json() == {"n": 1}
        gate.set()
        assert [e.json() for e in stream] == [{"n": 2}]
    assert reply.sent.is_set()


# --- failures --------------------------------------------------------------------------------------------


def test_throttling_is_retried(emu: Emulator, slept: list[float]) -> None:
    expected = default_events(emu)
    emu.clear_requests()
    emu.inject(Fault(FaultKind.THROTTLING), times=1)
    with (
        make_http() as http,
        make_client(emu.url, http) as bedrock,
        bedrock.invoke_model_with_response_stream(MODEL, BODY) as stream,
    ):
        assert [event.bytes for event in stream] == expected
        assert stream.retry_attempts == 1
    assert len(emu.requests) == 2
    assert len(slept) == 1
    # The 429's body was read to the end, so its connection carried the retry.
    assert emu.connections_accepted == 2  # one for default_events, one for both attempts here


def test_drop_mid_frame_raises_stream_error_and_keeps_earlier_events(emu: Emulator) -> None:
    expected = default_events(emu)
    emu.inject(Fault(FaultKind.DROP_MID_FRAME, after=3), times=1)
    got: list[bytes] = []
    with (
        make_http() as http,
        make_client(emu.url, http) as bedrock,
        pytest.raises(client.StreamError) as caught,
    ):
        for event in bedrock.invoke_model_with_response_stream(MODEL, BODY):
            got.append(event.bytes)
    assert got == expected[:3]
    assert "connection dropped" in caught.value.message
    # What httpx's own transport raises for a chunked body cut short.
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)


def test_stall_past_the_read_timeout_raises_within_a_bound(emu: Emulator) -> None:
    expected = default_events(emu)
    emu.inject(Fault(FaultKind.STALL, after=2, seconds=5), times=1)
    got: list[bytes] = []
    http = httpx.Client(transport=StdlibTransport(), timeout=httpx.Timeout(WAIT, read=STALL_READ_TIMEOUT))
    with http, make_client(emu.url, http) as bedrock:
        started = time.monotonic()
        with pytest.raises(client.StreamError) as caught:
            for event in bedrock.invoke_model_with_response_stream(MODEL, BODY):
                got.append(event.bytes)
        elapsed = time.monotonic() - started
    assert got == expected[:2]
    assert "stalled" in caught.value.message
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert STALL_READ_TIMEOUT <= elapsed < 3.0
    assert wait_until(lambda: emu.open_connections == 0, 2.0), "the stalled connection was not closed"


def test_refused_connection_is_an_endpoint_connection_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on (bound, never listening)
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        with (
            make_http() as http,
            make_client(url, http, max_attempts=1) as bedrock,
            pytest.raises(client.EndpointConnectionError) as caught,
        ):
            bedrock.invoke_model_with_response_stream(MODEL, BODY)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_server_closing_before_the_status_line_is_a_remote_protocol_error() -> None:
    requests: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT)

        def hang_up() -> None:  # read one request, answer nothing, close
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(WAIT)
                    requests.append(conn.recv(65536))

        server = threading.Thread(target=hang_up, daemon=True)
        server.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
        with make_http() as http, pytest.raises(httpx.RemoteProtocolError):
            # A fresh connection is not silently retried: the server may have acted on the request.
            http.post(url, content=b"{}")
        server.join(WAIT)
    assert len(requests) == 1 and requests[0].startswith(b"POST /x HTTP/1.1\r\n")


@pytest.mark.parametrize("transport", ["stdlib", "httpx"])
def test_a_sized_body_cut_short_is_a_remote_protocol_error_on_both_transports(transport: str) -> None:
    # http.client's read1() ends a Content-Length body at EOF without raising: the transport must notice the
    # bytes still owed, as httpx's own transport does, or a cut answer would look complete.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(WAIT)

        def cut() -> None:
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(WAIT)
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")

        server = threading.Thread(target=cut, daemon=True)
        server.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
        http = make_http() if transport == "stdlib" else httpx.Client(timeout=WAIT)
        with (
            http,
            pytest.raises(httpx.RemoteProtocolError),
            http.stream("POST", url, content=b"{}") as response,
        ):
            b"".join(response.iter_raw())
        server.join(WAIT)


# --- connections -----------------------------------------------------------------------------------------


def test_one_connection_is_reused_and_released_on_close(emu: Emulator) -> None:
    http = make_http()
    with make_client(emu.url, http) as bedrock:
        for _ in range(3):
            with bedrock.invoke_model_with_response_stream(MODEL, BODY) as stream:
                assert len(list(stream)) > CHUNKS
        assert emu.connections_accepted == 1
        assert emu.open_connections == 1  # kept alive in the pool
    http.close()
    assert wait_until(lambda: emu.open_connections == 0, 2.0), "closing the client left a connection open"


def test_a_stream_left_early_closes_its_connection(emu: Emulator) -> None:
    with make_http() as http, make_client(emu.url, http) as bedrock:
        with bedrock.invoke_model_with_response_stream(MODEL, BODY) as stream:
            next(stream)
        # Half-read: the connection cannot carry another request, so it is closed, not pooled.
        assert wait_until(lambda: emu.open_connections == 0, 2.0)
        assert len(list(bedrock.invoke_model_with_response_stream(MODEL, BODY))) > CHUNKS
        assert emu.connections_accepted == 2


def test_idle_connections_are_bounded(emu: Emulator) -> None:
    with (
        make_http(limits=httpx.Limits(max_keepalive_connections=1)) as http,
        make_client(emu.url, http) as bedrock,
    ):
        first = bedrock.invoke_model_with_response_stream(MODEL, BODY)
        second = bedrock.invoke_model_with_response_stream(MODEL, BODY)
        with first, second:
            assert len(list(first)) == len(list(second)) > CHUNKS
        assert emu.connections_accepted == 2
        assert wait_until(lambda: emu.open_connections == 1, 2.0)  # one kept, the other closed


def test_a_connection_the_server_closed_while_idle_is_not_reused(loopback: Loopback) -> None:
    loopback.add(
        Reply(status=200, headers=[("Content-Type", "text/plain")], parts=[b"one"], chunked=False, drop=True),
        Reply(status=200, headers=[("Content-Type", "text/plain")], parts=[b"two"], chunked=False),
    )
    with make_http() as http:
        assert http.post(loopback.url + "/a", content=b"1").content == b"one"
        assert wait_until(lambda: loopback.open_connections() == 0, 2.0)
        assert http.post(loopback.url + "/b", content=b"2").content == b"two"
    assert loopback.connections == 2


def test_a_kept_alive_connection_found_dead_on_use_is_replaced_once(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server closes the idle connection just as the next request goes out (the idle check passed).
    monkeypatch.setattr(client.stdlib_transport, "_still_usable", lambda conn: True)
    loopback.add(
        Reply(status=200, headers=[("Content-Type", "text/plain")], parts=[b"one"], chunked=False, drop=True),
        Reply(status=200, headers=[("Content-Type", "text/plain")], parts=[b"two"], chunked=False),
    )
    with make_http() as http:
        assert http.post(loopback.url + "/a", content=b"1").content == b"one"
        assert wait_until(lambda: loopback.open_connections() == 0, 2.0)
        assert http.post(loopback.url + "/b", content=b"2").content == b"two"
    assert [r.target for r in loopback.requests] == ["/a", "/b"]
    assert loopback.connections == 2


def test_a_redirect_is_returned_not_followed(loopback: Loopback) -> None:
    moved = Reply(status=307, headers=[("Location", "/elsewhere"), ("Content-Length", "0")], chunked=False)
    loopback.add(moved)
    loopback.default = Reply.stream(json_chunk({"n": 1}))
    with make_http() as http:
        response = http.post(loopback.url + "/model/m/invoke-with-response-stream", content=b"{}")
        assert response.status_code == 307
        assert response.headers["location"] == "/elsewhere"
        assert response.extensions["http_version"] == b"HTTP/1.1"
    assert [r.target for r in loopback.requests] == ["/model/m/invoke-with-response-stream"]
    loopback.add(Reply(status=307, headers=[("Location", "/elsewhere")], parts=[b""], chunked=False))
    with (
        make_http() as http,
        make_client(loopback.url, http, max_attempts=1) as bedrock,
        pytest.raises(client.BedrockRuntimeError) as caught,
    ):
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert caught.value.status_code == 307
    assert len(loopback.requests) == 2  # nothing went to /elsewhere


def test_the_transport_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="max_keepalive_connections"):
        StdlibTransport(limits=httpx.Limits(max_keepalive_connections=-1))
    with pytest.raises(ValueError, match="max_connections"):
        StdlibTransport(limits=httpx.Limits(max_connections=0))
    with make_http() as http, pytest.raises(httpx.UnsupportedProtocol):
        http.get("ftp://127.0.0.1/x")


# --- TLS (throwaway certificates from the openssl binary, as in test_trust.py) ----------------------------


def test_tls_is_verified_by_default(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "127.0.0.1", "IP:127.0.0.1")
    with tls_server(cert, key) as server:
        url = f"https://127.0.0.1:{server.port}"
        with (
            make_http() as http,
            make_client(url, http, max_attempts=1) as bedrock,
            pytest.raises(client.EndpointConnectionError) as caught,
        ):
            bedrock.invoke_model_with_response_stream(MODEL, BODY)
        cause = caught.value.__cause__
        assert isinstance(cause, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(cause)
        assert server.requests == []  # nothing was sent over the unverified connection
        # Trusted through a given context, and with verification off, the same server answers.
        trusting = ssl.create_default_context(cafile=str(cert))
        for verify in (trusting, False):
            with make_http(verify=verify) as http, make_client(url, http, max_attempts=1) as bedrock:
                events = [e.bytes for e in bedrock.invoke_model_with_response_stream(MODEL, BODY)]
            assert events == [b'{"over": "tls"}']
        assert len(server.requests) == 2


def test_tls_host_name_is_checked(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "elsewhere.example", "DNS:elsewhere.example")
    with tls_server(cert, key) as server:
        trusting = ssl.create_default_context(cafile=str(cert))
        url = f"https://127.0.0.1:{server.port}"
        with (
            make_http(verify=trusting) as http,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY"),
        ):
            http.post(url + "/x", content=b"{}")
        assert server.requests == []


# --- the pool: bounded like httpx's, with the pool timeout -------------------------------------------------


def _stream(http: httpx.Client, url: str) -> httpx.Response:
    """A response whose body is not read yet: its connection stays checked out until it is closed."""
    return http.send(http.build_request("POST", url, content=b"{}"), stream=True)


def test_the_pool_bounds_open_connections_and_honours_the_pool_timeout(loopback: Loopback) -> None:
    frame = json_chunk({"n": 1})
    loopback.default = Reply.stream(frame)
    transport = StdlibTransport(limits=httpx.Limits(max_connections=2, max_keepalive_connections=2))
    with httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT, pool=0.2)) as http:
        first, second = _stream(http, loopback.url), _stream(http, loopback.url)
        assert transport.connections_in_use == 2
        started = time.monotonic()
        with pytest.raises(httpx.PoolTimeout):
            http.post(loopback.url, content=b"{}")
        assert 0.15 < time.monotonic() - started < WAIT
        assert loopback.connections == 2 and len(loopback.requests) == 2  # the third never reached it
        # A request that may wait gets the first connection given back, reused.
        got: list[bytes] = []
        waiter = threading.Thread(
            target=lambda: got.append(http.post(loopback.url, content=b"{}", timeout=WAIT).content)
        )
        waiter.start()
        assert wait_until(lambda: transport._cond._waiters, 2.0)  # type: ignore[attr-defined]
        assert got == []
        assert first.read() == frame
        first.close()
        waiter.join(WAIT)
        assert got == [frame]
        second.close()
        assert transport.connections_in_use == 0
    assert loopback.connections == 2


def test_many_threads_share_a_bounded_number_of_sockets(loopback: Loopback) -> None:
    frame = json_chunk({"n": 1})
    loopback.default = Reply.stream(0.01, frame)  # overlapping requests
    transport = StdlibTransport(limits=httpx.Limits(max_connections=4, max_keepalive_connections=4))
    results: list[bytes] = []
    with httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT)) as http:

        def call() -> None:
            results.append(http.post(loopback.url, content=b"{}").content)

        threads = [threading.Thread(target=call) for _ in range(60)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    assert results == [frame] * 60
    assert loopback.connections <= 4  # 60 threads, at most 4 sockets (all kept alive and reused)


def test_a_full_pool_closes_an_idle_connection_to_another_host(loopback: Loopback) -> None:
    loopback.default = Reply.stream(json_chunk({"host": "a"}))
    transport = StdlibTransport(limits=httpx.Limits(max_connections=1))
    with (
        Loopback() as other,
        httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT, pool=0.2)) as http,
    ):
        other.default = Reply.stream(json_chunk({"host": "b"}))
        assert http.post(loopback.url, content=b"{}").content == json_chunk({"host": "a"})
        assert loopback.open_connections() == 1  # idle in the pool
        assert http.post(other.url, content=b"{}").content == json_chunk({"host": "b"})
        assert loopback.wait_closed(2.0)  # its slot went to the other host, as httpcore does


def test_idle_connections_expire_after_keepalive_expiry(loopback: Loopback) -> None:
    loopback.default = Reply.stream(json_chunk({"n": 1}))
    transport = StdlibTransport(limits=httpx.Limits(keepalive_expiry=0.05))
    with httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT)) as http:
        http.post(loopback.url, content=b"{}")
        http.post(loopback.url, content=b"{}")
        assert loopback.connections == 1  # reused while fresh
        time.sleep(0.1)
        http.post(loopback.url, content=b"{}")
        assert loopback.connections == 2
        assert wait_until(lambda: loopback.open_connections() == 1, 2.0)  # the expired one was closed


def test_closing_the_transport_wakes_a_request_waiting_for_the_pool(loopback: Loopback) -> None:
    loopback.default = Reply.stream(json_chunk({"n": 1}))
    transport = StdlibTransport(limits=httpx.Limits(max_connections=1))
    http = httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT))
    held = _stream(http, loopback.url)
    failures: list[BaseException] = []

    def wait_for_a_connection() -> None:
        try:
            http.post(loopback.url, content=b"{}")
        except BaseException as exc:
            failures.append(exc)

    waiter = threading.Thread(target=wait_for_a_connection)
    waiter.start()
    assert wait_until(lambda: transport._cond._waiters, 2.0)  # type: ignore[attr-defined]
    transport.close()
    waiter.join(WAIT)
    assert [type(exc) for exc in failures] == [RuntimeError]
    held.close()
    assert transport.connections_in_use == 0
    assert loopback.wait_closed(2.0)


# --- connect timeout: a loopback listener whose accept queue is full -------------------------------------


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    """A port on 127.0.0.1 whose listener never accepts and whose queue is full: a new connect hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(16):  # Linux queues backlog + 1; bounded whatever the kernel does
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                filler.close()
                break
            fillers.append(filler)
        else:
            pytest.fail("the accept queue never filled up")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.parametrize("kind", ["stdlib", "httpx"])
def test_a_connect_that_hangs_raises_connect_timeout_on_both_transports(kind: str) -> None:
    transport: httpx.BaseTransport = StdlibTransport() if kind == "stdlib" else httpx.HTTPTransport()
    with (
        full_backlog() as port,
        httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT, connect=0.3)) as http,
    ):
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            http.post(f"http://127.0.0.1:{port}/", content=b"{}")
        assert 0.25 < time.monotonic() - started < WAIT
        if isinstance(transport, StdlibTransport):
            assert transport.connections_in_use == 0  # the slot was given back


def test_the_client_retries_a_connect_timeout_then_reports_it() -> None:
    with (
        full_backlog() as port,
        client.BedrockRuntimeClient(
            "us-east-1",
            credentials=CREDS,
            endpoint_url=f"http://127.0.0.1:{port}",
            timeout=httpx.Timeout(WAIT, connect=0.2),
            max_attempts=2,
        ) as bedrock,
    ):
        assert isinstance(bedrock._http._transport, StdlibTransport)  # the default
        bedrock._config = dataclasses.replace(bedrock._config, backoff=Backoff(base=0.01, cap=0.01))
        with pytest.raises(client.EndpointConnectionError) as caught:
            bedrock.invoke_model_with_response_stream(MODEL, BODY)
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)
    assert caught.value.retry_attempts == 1


# --- a kept-alive connection the server closes when the next request arrives ------------------------------


class IdleClosingServer:
    """Answers the first request on connection 1 with keep-alive, then closes that connection as soon as the
    next request arrives on it, without answering (a server whose idle timeout fired just then). Later
    connections answer every request, or with ``fresh_fails`` close on their first request too."""

    def __init__(self, *, fresh_fails: bool = False) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.requests: list[tuple[int, bytes]] = []  # (connection number, request target)
        self._fresh_fails = fresh_fails
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return None, b""
            buffer += data
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = next(
            (int(ln.split(b":")[1]) for ln in lines if ln.lower().startswith(b"content-length:")), 0
        )
        while len(buffer) < length:
            buffer += conn.recv(65536)
        return lines[0].split()[1], buffer[length:]

    def _serve(self, number: int, conn: socket.socket) -> None:
        buffer = b""
        for served in range(3):
            target, buffer = self._read_request(conn, buffer)
            if target is None:
                return
            self.requests.append((number, target))
            if (number == 1 and served) or (number > 1 and self._fresh_fails):
                return  # close instead of answering
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set() and number < 3:  # bounded: the tests need at most three connections
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            number += 1
            conn.settimeout(WAIT)
            with conn, contextlib.suppress(OSError):
                self._serve(number, conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)
        self._listener.close()


def test_a_kept_alive_connection_closed_by_the_server_on_reuse_is_retried_once_on_a_new_one() -> None:
    server = IdleClosingServer()
    try:
        with httpx.Client(transport=StdlibTransport(), timeout=httpx.Timeout(WAIT)) as http:
            assert http.post(server.url + "/a", content=b"1").content == b"ok"
            assert http.post(server.url + "/b", content=b"2").content == b"ok"
        assert server.requests == [(1, b"/a"), (1, b"/b"), (2, b"/b")]
    finally:
        server.close()


def test_a_fresh_connection_failing_the_same_way_is_raised_not_retried_again() -> None:
    server = IdleClosingServer(fresh_fails=True)
    transport = StdlibTransport()
    try:
        with httpx.Client(transport=transport, timeout=httpx.Timeout(WAIT)) as http:
            assert http.post(server.url + "/a", content=b"1").content == b"ok"
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                http.post(server.url + "/b", content=b"2")
            assert transport.connections_in_use == 0
        assert server.requests == [(1, b"/a"), (1, b"/b"), (2, b"/b")]  # one retry, no more
    finally:
        server.close()
