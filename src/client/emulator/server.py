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
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from .auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, AuthPolicy
from .faults import Fault
from .http11 import (
    LAST_CHUNK,
    MAX_HEAD_BYTES,
    MalformedRequestError,
    RequestHead,
    chunk,
    parse_chunk_size,
    parse_head,
    response_head,
)
from .plan import End, Flush, Pause, Plan, Send
from .replies import Reply, ServiceError, error_reply
from .service import Outcome, Service
from .validation import MAX_BODY_BYTES

__all__ = ["Emulator", "RecordedRequest"]

logger = logging.getLogger("client.emulator")

_SECRET_HEADERS = frozenset({"authorization", "x-amz-security-token"})
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
    ``model_id`` the decoded model id when the route matched; ``fault`` the fault acted out, if any;
    ``received_at`` the ``time.monotonic()`` at which the request head arrived (the gaps between retries
    show the client's backoff). ``repr`` hides credentials.
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

    def header(self, name: str) -> str | None:
        """Header ``name`` (case-insensitive) as received, repeats joined by ``,``; ``None`` when absent."""
        lname = name.lower()
        values = [value for key, value in self.headers if key.lower() == lname]
        return ",".join(values) if values else None

    def __repr__(self) -> str:
        shown = [(k, "<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in self.headers]
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, status={self.status}, "
            f"error={self.error!r}, fault={self.fault!r}, request_id={self.request_id!r}, "
            f"headers={shown!r}, body=<{len(self.body)} bytes>)"
        )


class Emulator:
    """A local Bedrock Runtime (InvokeModelWithResponseStream) on a real HTTP/1.1 socket.

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
            AuthPolicy(keys, frozenset(bearer_tokens), region, require_auth),
            chunk_count=chunk_count,
            allow_fault_header=allow_fault_header,
            strict=strict,
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
        """Start serving in a background thread; return once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("this Emulator was already started")
        self._thread = threading.Thread(target=self._run, name="bedrock-stream-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(_STARTUP_TIMEOUT):
            raise RuntimeError("the emulator did not start listening within 10 s")
        if self._startup_error is not None:
            self._thread.join(_SHUTDOWN_TIMEOUT)
            where = f"{self._host}:{self._port}"
            raise OSError(f"the emulator could not listen on {where}: {self._startup_error}")
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

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(
                        self._serve_connection, self._host, self._port, limit=MAX_HEAD_BYTES, backlog=1024
                    )
                )
                self._bound_port = self._server.sockets[0].getsockname()[1]
            except OSError as exc:
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

    def _next_request_id(self, head: RequestHead, body: bytes) -> str:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        # Deterministic for a given sequence of requests, unique within one emulator.
        digest = hashlib.sha256(f"{sequence}\n{head.method} {head.target}\n".encode() + body).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._accepted += 1
        graceful = False
        try:
            keep_alive = True
            while keep_alive:
                keep_alive = await self._serve_one(reader, writer)
            graceful = True
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass  # the client went away: nothing to answer
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

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request on the connection; return whether the connection may serve another."""
        try:
            raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IDLE_TIMEOUT)
        except asyncio.IncompleteReadError:
            return False  # the client closed the connection between requests
        except asyncio.LimitOverrunError:
            await self._write_reply(writer, _plain_error(431, "request head larger than 64 KiB"))
            return False
        except asyncio.TimeoutError:
            return False
        received_at = time.monotonic()
        try:
            head = parse_head(raw_head)
            if (head.get("expect") or "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await asyncio.wait_for(_read_body(head, reader), _REQUEST_TIMEOUT)
        except asyncio.LimitOverrunError:
            await self._write_reply(writer, _plain_error(400, "chunk size line longer than 64 KiB"))
            return False
        except MalformedRequestError as exc:
            await self._write_reply(writer, _plain_error(exc.status, str(exc)))
            return False
        except asyncio.TimeoutError:
            return False

        now = self.now()
        request_id = self._next_request_id(head, body)
        try:
            outcome = self._service.handle(
                head.method,
                head.target,
                head.headers,
                body,
                now=now,
                request_id=request_id,
                take_fault=self._take_fault,
                pace=self.pace,
            )
        except Exception as exc:  # a bug in the emulator: answer 500 like a service would, and say why
            logger.exception("emulator error while handling %s %s", head.method, head.target)
            message = f"emulator error: {type(exc).__name__}: {exc}"
            error = ServiceError(500, "InternalServerException", message)
            outcome = Outcome(error_reply(error, request_id, now), 500, None, None, error.name)
        record = RecordedRequest(
            head.method,
            head.target,
            head.headers,
            body,
            outcome.status,
            request_id,
            outcome.model_id,
            outcome.error_name,
            outcome.fault,
            received_at,
        )
        with self._lock:
            self._requests.append(record)
        logger.info(
            "%s %s -> %d%s%s",
            head.method,
            head.target.partition("?")[0],
            outcome.status,
            f" {outcome.error_name}" if outcome.error_name else "",
            f" [fault {outcome.fault.to_header()}]" if outcome.fault else "",
        )
        response = outcome.response
        if isinstance(response, Reply):
            await self._write_reply(writer, response)
            return head.keep_alive and not response.close
        return await self._play(reader, writer, response) and head.keep_alive

    @staticmethod
    async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
        headers = (*reply.headers, ("Connection", "close")) if reply.close else reply.headers
        writer.write(response_head(reply.status, headers) + reply.body)
        await writer.drain()

    async def _play(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, plan: Plan) -> bool:
        """Play a response plan (see :mod:`.plan`); return False when the connection must close."""
        writer.write(response_head(plan.status, plan.headers))
        out: _ChunkedWriter | _RawWriter = (
            _ChunkedWriter(writer, self._http_chunk_size) if plan.streamed else _RawWriter(writer)
        )
        for step in plan.steps:
            if isinstance(step, Send):
                await out.send(step.data)
            elif isinstance(step, Flush):
                await out.flush()
            elif isinstance(step, Pause):
                await out.flush()
                if not await _pause(reader, step.seconds):
                    return False  # the client hung up: stop streaming to nobody
            elif isinstance(step, End):
                await out.finish()
                return True
            else:
                await out.abandon()
                return False
        return True


class _RawWriter:
    """Writes a body whose length the head announced: the bytes as they are."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def flush(self) -> None:
        await self._writer.drain()

    async def finish(self) -> None:
        await self._writer.drain()

    async def abandon(self) -> None:
        await self._writer.drain()
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), _SHUTDOWN_TIMEOUT)


class _ChunkedWriter:
    """Writes a chunked body: one HTTP chunk per ``send`` or, with ``size``, re-chunked in ``size`` pieces."""

    def __init__(self, writer: asyncio.StreamWriter, size: int | None) -> None:
        self._writer = writer
        self._size = size
        self._pending = bytearray()

    async def send(self, data: bytes) -> None:
        if self._size is None:
            self._writer.write(chunk(data))
        else:
            self._pending += data
            while len(self._pending) >= self._size:
                self._writer.write(chunk(bytes(self._pending[: self._size])))
                del self._pending[: self._size]
        await self._writer.drain()

    async def flush(self) -> None:
        if self._pending:
            self._writer.write(chunk(bytes(self._pending)))
            self._pending.clear()
        await self._writer.drain()

    async def finish(self) -> None:
        """End the body properly (the last, empty chunk)."""
        await self.flush()
        self._writer.write(LAST_CHUNK)
        await self._writer.drain()

    async def abandon(self) -> None:
        """Close the connection after what was sent so far, without ending the body."""
        await self.flush()
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), _SHUTDOWN_TIMEOUT)


async def _pause(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Wait ``seconds`` mid-response; False as soon as the client hangs up (its side reads as EOF).

    Watching the socket while waiting is what lets a paced or stalled stream notice a client that closed
    early at once, instead of at its next write.
    """
    try:
        return await asyncio.wait_for(reader.read(1), seconds) != b""
    except asyncio.TimeoutError:
        return True


async def _read_body(head: RequestHead, reader: asyncio.StreamReader) -> bytes:
    length = head.body_length()
    if length is not None:
        if length > MAX_BODY_BYTES:
            limit = MAX_BODY_BYTES
            raise MalformedRequestError(f"request body of {length} bytes is over the limit of {limit}", 413)
        return await reader.readexactly(length) if length else b""
    parts: list[bytes] = []
    total = 0
    while True:
        size = parse_chunk_size(await reader.readuntil(b"\r\n"))
        if size == 0:
            # Trailer section: header lines until a blank line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            limit = MAX_BODY_BYTES
            raise MalformedRequestError(f"chunked request body over the limit of {limit} bytes", 413)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise MalformedRequestError("chunk data not followed by CRLF")


def _plain_error(status: int, message: str) -> Reply:
    """An error for a request too broken to reach the service (it gets the service's error shape anyway)."""
    name = "ValidationException" if status in (400, 413) else "MalformedRequestError"
    error = ServiceError(status, name, message, close=True)
    return error_reply(error, "00000000-0000-0000-0000-000000000000", time.time())
