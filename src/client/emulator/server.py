"""The emulator's I/O shell: an HTTP/1.1 server on asyncio streams, in one background thread.

One event loop serves every connection, so hundreds of concurrent streams cost one thread, pacing and
stalls are timers rather than sleeping threads, and shutdown is bounded: cancelling the connection tasks
interrupts any stall at once. The decisions (auth, validation, faults, frames) live in ``service.py``;
this file only reads requests and writes what it is told to.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import h11

from .auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, AuthPolicy
from .faults import Fault
from .headers import fold, redacted
from .plan import End, Flush, Pause, Plan, Send
from .replay import Recording, load_recording, read_recording
from .replies import Reply, ServiceError, error_reply, reason
from .service import Outcome, Service
from .validation import MAX_BODY_BYTES

__all__ = ["Emulator", "EmulatorStartError", "RecordedRequest"]

logger = logging.getLogger("client.emulator")

# The largest request head (request line and headers) read before answering 431.
MAX_HEAD_BYTES = 64 * 1024
_READ_SIZE = 65536
# A kept-alive connection waits this long for its next request before the server closes it.
_IDLE_TIMEOUT = 75.0
# Reading a request's head and body: a client that stops mid-request is dropped after this long.
_REQUEST_TIMEOUT = 30.0
_STARTUP_TIMEOUT = 10.0
_SHUTDOWN_TIMEOUT = 5.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received and what it answered (``status``; ``error``: the error's name).

    ``path`` is the request target exactly as received (still percent-encoded, with any query);
    ``operation`` the operation's API name (``ConverseStream``) and ``model_id`` the decoded model id when
    the route matched; ``fault`` the fault acted out, if any; ``received_at`` the ``time.monotonic()`` at
    which the request head arrived (the gaps between retries show the client's backoff). ``headers`` are as
    received; :attr:`safe_headers` hides credentials, and so does ``repr``; :meth:`json` decodes the body.
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: int
    request_id: str
    model_id: str | None = None
    error: str | None = None
    fault: Fault | None = None
    received_at: float = field(default=0.0, compare=False)
    operation: str | None = None
    #: How it authenticated: ``"sigv4"``, ``"bearer"`` or ``"anonymous"`` (``None``: it did not).
    auth: str | None = None

    def header(self, name: str) -> str | None:
        """Header ``name`` (case-insensitive) as received, repeats joined by ``,``; ``None`` when absent."""
        return fold(self.headers).get(name.lower())

    @property
    def safe_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers with credentials (``Authorization``, ``X-Amz-Security-Token``) redacted."""
        return redacted(self.headers)

    def json(self) -> Any:
        """The body decoded as JSON (every operation here sends JSON); ``ValueError`` if it is not."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, operation={self.operation!r}, "
            f"model_id={self.model_id!r}, status={self.status}, error={self.error!r}, fault={self.fault!r}, "
            f"request_id={self.request_id!r}, headers={list(self.safe_headers)!r}, "
            f"body=<{len(self.body)} bytes>)"
        )


class Emulator:
    """A local Bedrock Runtime (InvokeModel and its stream, Converse and its stream, CountTokens) on HTTP/1.1.

    Use it as a context manager (``with Emulator() as emu: ... emu.url``) or call :meth:`start` and
    :meth:`close`. Options:

    - ``host``/``port``: where to listen (default 127.0.0.1 and a free port).
    - ``credentials``: accepted ``access key id -> secret`` pairs (default: the AWS documentation's example
      keys ``AKIDEXAMPLE``); any session token is accepted with them. ``region``: the region signatures
      must be scoped to (``None``: any). ``bearer_tokens``: accepted Bedrock API keys.
      ``require_auth=False`` lets unsigned requests through (signed ones are still verified).
    - ``pace``: seconds between frames. ``chunk_count``: text chunks per answer (the family adds its own
      start, stop and metrics events around them; default: the answer's own length).
    - ``clock_offset``: seconds added to this machine's clock to get the emulator's (a positive offset
      makes the client's clock look slow), for clock-skew tests.
    - ``faults``: faults for the next valid invocations, one each, in order (see :meth:`inject`);
      ``allow_fault_header``: honour ``X-Emulator-Fault`` request headers.
    - ``http_chunk_size``: ``None`` sends one frame per HTTP chunk (as the service does); a number
      re-chunks the byte stream in pieces of that size so frames straddle chunks.
    - ``strict``: also refuse what the service's documentation does not say it accepts (an
      ``anthropic_version`` other than ``bedrock-2023-05-31``, an ``Accept`` other than JSON, Nova's
      ``schemaVersion`` other than ``messages-v1``, unknown Converse members). By default the emulator refuses
      only what the service is documented to refuse, and accepts what real clients send.
    - ``auth=False``: no authentication at all: every request is served, unsigned or signed with any keys
      (for clients that have no credentials). ``require_auth=False`` is the milder form: unsigned requests
      pass, signed ones are still verified.
    - ``replay``: a recorded stream (a file path, its bytes, or a :class:`~.replay.Recording`) that answers
      every stream request (InvokeModelWithResponseStream and ConverseStream) byte for byte, after
      authentication and validation; faults and ``pace`` apply to it. See :mod:`.replay` for the formats.

    :meth:`start` raises :class:`EmulatorStartError` (an ``OSError``) at once when it cannot listen (a port
    out of range, a busy port, an unknown host).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
        region: str | None = None,
        bearer_tokens: Iterable[str] = (),
        require_auth: bool = True,
        pace: float = 0.0,
        chunk_count: int | None = None,
        clock_offset: float = 0.0,
        faults: Iterable[Fault] = (),
        allow_fault_header: bool = True,
        http_chunk_size: int | None = None,
        strict: bool = False,
        auth: bool = True,
        replay: str | os.PathLike[str] | bytes | Recording | None = None,
    ) -> None:
        if pace < 0:
            raise ValueError(f"pace must be >= 0 seconds, got {pace}")
        if chunk_count is not None and chunk_count < 1:
            raise ValueError(f"chunk_count must be >= 1, got {chunk_count}")
        if http_chunk_size is not None and http_chunk_size < 1:
            raise ValueError(f"http_chunk_size must be >= 1, got {http_chunk_size}")
        keys = dict(credentials) if credentials is not None else {}
        if credentials is None:
            keys[EXAMPLE_ACCESS_KEY_ID] = EXAMPLE_SECRET_ACCESS_KEY
        self._service = Service(
            AuthPolicy(keys, frozenset(bearer_tokens), region, require_auth, enabled=auth),
            chunk_count=chunk_count,
            allow_fault_header=allow_fault_header,
            strict=strict,
            replay=_recording(replay),
        )
        self._host = host
        self._port = port
        self.pace = pace
        self.clock_offset = clock_offset
        self._http_chunk_size = http_chunk_size
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque(faults)
        self._requests: list[RecordedRequest] = []
        self._sequence = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._accepted = 0
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._bound_port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._bound_port is not None else "not started"
        return f"Emulator({state}, policy={self._service.policy!r})"

    def start(self) -> Emulator:
        """Start serving in a background thread; return once the socket is listening.

        The socket is bound here, in the calling thread, so a failure raises :class:`EmulatorStartError`
        at once, before any thread starts.
        """
        if self._thread is not None:
            raise RuntimeError("this Emulator was already started")
        sock = _listen(self._host, self._port)
        self._bound_port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="bedrock-stream-emulator", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise EmulatorStartError("the emulator's event loop did not start within 10 s")
        if self._startup_error is not None:
            self._thread.join(_SHUTDOWN_TIMEOUT)
            where = f"{self._host}:{self._port}"
            raise EmulatorStartError(f"the emulator could not listen on {where}: {self._startup_error}")
        return self

    def close(self) -> None:
        """Stop serving: close every connection (interrupting stalls) and stop the thread.

        Idempotent, and bounded: it returns within a few seconds whatever the connections are doing.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop may already have stopped
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(_SHUTDOWN_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("the emulator thread did not stop within 5 s")

    def serve_forever(self) -> None:
        """Block the calling thread until the emulator stops (``close()`` from elsewhere, or Ctrl-C)."""
        thread = self._thread
        if thread is None:
            raise RuntimeError("start() the emulator first")
        while thread.is_alive():
            thread.join(0.5)

    @property
    def url(self) -> str:
        """The endpoint URL to give a client (``http://127.0.0.1:PORT``)."""
        if self._bound_port is None:
            raise RuntimeError("the emulator is not listening: use it as a context manager or call start()")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._bound_port}"

    def environment(self, region: str | None = None) -> dict[str, str]:
        """Environment variables that point boto3, the AWS CLI and our clients at this emulator.

        ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (botocore's service-specific endpoint variable), the example keys
        (:data:`EXAMPLE_ACCESS_KEY_ID`, :data:`EXAMPLE_SECRET_ACCESS_KEY`) and a region (``region``, else
        the one the emulator requires, else ``us-east-1``). With custom ``credentials`` the keys are left
        out: their secrets are the caller's.
        """
        chosen = region or self._service.policy.region or "us-east-1"
        env = {
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.url,
            "AWS_REGION": chosen,
            "AWS_DEFAULT_REGION": chosen,
        }
        keys = self._service.policy.keys
        if keys.get(EXAMPLE_ACCESS_KEY_ID) == EXAMPLE_SECRET_ACCESS_KEY:
            env["AWS_ACCESS_KEY_ID"] = EXAMPLE_ACCESS_KEY_ID
            env["AWS_SECRET_ACCESS_KEY"] = EXAMPLE_SECRET_ACCESS_KEY
        return env

    @property
    def port(self) -> int:
        """The TCP port the emulator listens on."""
        if self._bound_port is None:
            raise RuntimeError("the emulator is not listening yet")
        return self._bound_port

    # -- what tests drive and inspect ---------------------------------------------------------------------

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` valid invocations (after any faults already queued).

        A fault is consumed only by a request that passed authentication and validation, so retries of a
        fault-free request see exactly the faults queued here.
        """
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        with self._lock:
            self._faults.extend([fault] * times)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> tuple[Fault, ...]:
        """The faults still queued, next first."""
        with self._lock:
            return tuple(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self._requests.clear()

    @property
    def open_connections(self) -> int:
        """Client connections open right now (streaming, or kept alive between requests)."""
        return len(self._connections)

    @property
    def connections_accepted(self) -> int:
        """Client connections accepted since start (one per request unless the client keeps them alive)."""
        return self._accepted

    def now(self) -> float:
        """The emulator's clock: this machine's time plus ``clock_offset`` (seconds since the epoch)."""
        return time.time() + self.clock_offset

    # -- the server ---------------------------------------------------------------------------------------

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve_connection, sock=sock, limit=MAX_HEAD_BYTES)
                )
            except OSError as exc:
                sock.close()
                self._startup_error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_SHUTDOWN_TIMEOUT / 2)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), _SHUTDOWN_TIMEOUT / 2)

    def _take_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _next_request_id(self, method: str, target: str, body: bytes) -> str:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        # Deterministic for a given sequence of requests, unique within one emulator.
        digest = hashlib.sha256(f"{sequence}\n{method} {target}\n".encode() + body).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._accepted += 1
        graceful = False
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        try:
            while await self._serve_one(conn, reader, writer):
                conn.start_next_cycle()
            graceful = True
        except (ConnectionError, OSError, h11.ProtocolError):
            pass  # the client went away or broke the protocol mid-response: nothing to answer
        except asyncio.CancelledError:
            # Only close() cancels these tasks. Ending normally rather than as cancelled keeps asyncio's
            # stream callback (which calls task.exception()) from logging a spurious error on 3.10/3.11.
            pass
        try:
            if graceful:
                # close() sends what is still buffered before the FIN; abort() would discard it.
                writer.close()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(writer.wait_closed(), _SHUTDOWN_TIMEOUT)
            writer.transport.abort()
        finally:
            self._connections.discard(task)

    async def _serve_one(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request on the connection; return whether the connection may serve another."""
        try:
            event = await _next_event(conn, reader, _IDLE_TIMEOUT)
        except asyncio.TimeoutError:
            return False
        except h11.RemoteProtocolError as exc:
            await _write_unreadable(
                writer, exc.error_status_hint, f"malformed request line or headers: {exc}"
            )
            return False
        if not isinstance(event, h11.Request):
            return False  # the client closed the connection between requests
        received_at = time.monotonic()
        if event.http_version not in (b"1.0", b"1.1"):
            version = event.http_version.decode("ascii", "replace")
            await _write_unreadable(writer, 505, f"unsupported protocol version HTTP/{version}")
            return False
        method = event.method.decode("ascii")
        target = event.target.decode("latin-1")
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers.raw_items()
        )
        length = fold(headers).get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            # Refused before reading it, as the service does.
            message = f"request body of {length} bytes is over the limit of {MAX_BODY_BYTES}"
            await _write_unreadable(writer, 413, message)
            return False
        if conn.they_are_waiting_for_100_continue:
            writer.write(
                conn.send(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")) or b""
            )
        try:
            body = await asyncio.wait_for(_read_body(conn, reader), _REQUEST_TIMEOUT)
        except h11.RemoteProtocolError as exc:
            await _write_unreadable(writer, exc.error_status_hint, f"malformed request body: {exc}")
            return False
        except _BodyTooLargeError:
            await _write_unreadable(
                writer, 413, f"chunked request body over the limit of {MAX_BODY_BYTES} bytes"
            )
            return False
        except asyncio.TimeoutError:
            return False

        now = self.now()
        request_id = self._next_request_id(method, target, body)
        try:
            outcome = self._service.handle(
                method,
                target,
                headers,
                body,
                now=now,
                request_id=request_id,
                take_fault=self._take_fault,
                pace=self.pace,
            )
        except Exception as exc:  # a bug in the emulator: answer 500 like a service would, and say why
            logger.exception("emulator error while handling %s %s", method, target)
            message = f"emulator error: {type(exc).__name__}: {exc}"
            error = ServiceError(500, "InternalServerException", message)
            outcome = Outcome(error_reply(error, request_id, now), 500, None, None, error.name)
        record = RecordedRequest(
            method,
            target,
            headers,
            body,
            outcome.status,
            request_id,
            outcome.model_id,
            outcome.error_name,
            outcome.fault,
            received_at,
            outcome.operation.name if outcome.operation is not None else None,
            outcome.identity.scheme if outcome.identity is not None else None,
        )
        with self._lock:
            self._requests.append(record)
        logger.info(
            "%s %s -> %d%s%s",
            method,
            target.partition("?")[0],
            outcome.status,
            f" {outcome.error_name}" if outcome.error_name else "",
            f" [fault {outcome.fault.to_header()}]" if outcome.fault else "",
        )
        response = outcome.response
        if isinstance(response, Reply):
            reply_headers = (
                (*response.headers, ("Connection", "close")) if response.close else response.headers
            )
            writer.write(conn.send(_response(response.status, reply_headers)) or b"")
            writer.write(conn.send(h11.Data(data=response.body)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
            return not response.close and _reusable(conn)
        return await self._play(conn, reader, writer, response) and _reusable(conn)

    async def _play(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, plan: Plan
    ) -> bool:
        """Play a response plan (see :mod:`.plan`); return False when the connection must close."""
        writer.write(conn.send(_response(plan.status, plan.headers)) or b"")
        out = _BodyWriter(conn, writer, self._http_chunk_size if plan.streamed else None)
        for step in plan.steps:
            if type(step) is Send:  # the common step first: one per frame
                await out.send(step.data)
            elif isinstance(step, Flush):
                await out.flush()
            elif isinstance(step, Pause):
                await out.flush()
                if not await _pause(conn, reader, step.seconds):
                    return False  # the client hung up: stop streaming to nobody
            elif isinstance(step, End):
                await out.finish()
                return True
            else:
                await out.abandon()
                return False
        return True


class EmulatorStartError(OSError):
    """The emulator could not start listening: the message says where and why (one line)."""


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port); :class:`EmulatorStartError` if not."""
    where = f"{host}:{port}"
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise EmulatorStartError(f"the emulator cannot listen on {where}: a port is a number from 0 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError) as exc:
        raise EmulatorStartError(f"the emulator cannot listen on {where}: unknown host ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # lets a restarted emulator reuse a port in TIME_WAIT, as asyncio does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason_text = exc.strerror or str(exc)
        raise EmulatorStartError(f"the emulator could not listen on {where}: {reason_text}") from None
    return sock


def _recording(replay: str | os.PathLike[str] | bytes | Recording | None) -> Recording | None:
    if replay is None or isinstance(replay, Recording):
        return replay
    if isinstance(replay, bytes | bytearray):
        return read_recording(bytes(replay))
    return load_recording(replay)


class _BodyTooLargeError(Exception):
    """A chunked request body went over MAX_BODY_BYTES."""


class _BodyWriter:
    """Writes a response body through h11: one HTTP chunk per ``send`` (h11 frames it by the head's
    Transfer-Encoding or Content-Length) or, with ``size``, re-chunked in ``size`` pieces so that frames
    straddle chunks."""

    def __init__(self, conn: h11.Connection, writer: asyncio.StreamWriter, size: int | None) -> None:
        self._conn = conn
        self._writer = writer
        self._size = size
        self._pending = bytearray()

    def _write(self, data: bytes) -> None:
        if data:
            self._writer.write(self._conn.send(h11.Data(data=data)) or b"")

    async def send(self, data: bytes) -> None:
        if self._size is None:
            self._write(data)
        else:
            self._pending += data
            while len(self._pending) >= self._size:
                self._write(bytes(self._pending[: self._size]))
                del self._pending[: self._size]
        await self._writer.drain()

    async def flush(self) -> None:
        if self._pending:
            self._write(bytes(self._pending))
            self._pending.clear()
        await self._writer.drain()

    async def finish(self) -> None:
        """End the body properly (the last, empty chunk when chunked)."""
        await self.flush()
        self._writer.write(self._conn.send(h11.EndOfMessage()) or b"")
        await self._writer.drain()

    async def abandon(self) -> None:
        """Close the connection after what was sent so far, without ending the body."""
        await self.flush()
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), _SHUTDOWN_TIMEOUT)


def _response(status: int, headers: tuple[tuple[str, str], ...]) -> h11.Response:
    return h11.Response(status_code=status, headers=list(headers), reason=reason(status).encode("ascii"))


def _reusable(conn: h11.Connection) -> bool:
    """Whether both sides finished their message and the connection may carry the next request."""
    return conn.our_state is h11.DONE and conn.their_state is h11.DONE


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader, timeout: float) -> object:
    """The next h11 event, reading from the socket as needed (EOF reads as ``ConnectionClosed``)."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await asyncio.wait_for(reader.read(_READ_SIZE), timeout))


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader) -> bytes:
    """The request's body, whatever its framing (Content-Length or chunked; h11 checks the framing)."""
    parts: list[bytes] = []
    total = 0
    while True:
        event = await _next_event(conn, reader, _REQUEST_TIMEOUT)
        if isinstance(event, h11.Data):
            total += len(event.data)
            if total > MAX_BODY_BYTES:
                raise _BodyTooLargeError
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(parts)
        else:  # ConnectionClosed mid-body
            raise ConnectionResetError("the client closed the connection mid-request")


async def _pause(conn: h11.Connection, reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait ``seconds`` mid-response; False as soon as the client hangs up (its side reads as EOF).

    Watching the socket while waiting is what lets a paced or stalled stream notice a client that closed
    early at once, instead of at its next write. Bytes that arrive meanwhile (a pipelined next request)
    are handed to h11, not lost.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(_READ_SIZE), left)
        except asyncio.TimeoutError:
            return True
        if not data:
            return False
        conn.receive_data(data)
    return True


async def _write_unreadable(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    """Answer a request too broken to reach the service (it gets the service's error shape anyway), then
    the connection closes. Written by hand: h11 will not send for a request it could not parse."""
    name = "ValidationException" if status in (400, 413) else "MalformedRequestError"
    error = ServiceError(status, name, message, close=True)
    reply = error_reply(error, "00000000-0000-0000-0000-000000000000", time.time())
    lines = [f"HTTP/1.1 {reply.status} {reason(reply.status)}"]
    lines += [f"{key}: {value}" for key, value in (*reply.headers, ("Connection", "close"))]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
    await writer.drain()
