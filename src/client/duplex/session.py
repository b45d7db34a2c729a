"""The public async bidirectional session: a thin anyio shell around :class:`SessionCore`.

The shell owns the socket and all the waiting; the core decides. There is no background task: whoever needs
progress on the answer side (``__anext__`` for an event, ``send`` for flow-control window) reads the socket
itself, one task at a time (the others wait for its progress), so sending and reading can run in two tasks
at once (full duplex) and no task is ever left behind when the session closes. Writes are serialised by a
lock and always take h2's whole pending output, so frames never interleave out of order.

Limits of this design: PINGs and window updates are answered while some task sends or reads (an idle
session answers nothing until used again); one session is one HTTP/2 connection.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
import anyio.abc
import httpx

from sigv4 import EventSigner, sign_request
from sigv4.event_signing import STREAMING_PAYLOAD

from ..errors import BedrockRuntimeError, ParamValidationError, StreamError
from ..events import Chunk
from ..request import EVENTSTREAM_CONTENT_TYPE, MAX_MODEL_ID_LENGTH
from .connection import Endpoint, open_connection, parse_endpoint
from .errors import SessionTimeLimitError
from .session_core import DEFAULT_RECEIVE_WINDOW, SessionCore, event_document

if TYPE_CHECKING:
    import ssl

    from typing_extensions import Self

    from sigv4 import CredentialProvider, Credentials

__all__ = ["DEFAULT_SESSION_LIMIT", "BidirectionalSession", "open_bidirectional_stream"]

#: The service ends a bidirectional stream after 8 minutes.
DEFAULT_SESSION_LIMIT = 480.0
_DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
_READ_SIZE = 65_536
# How long closing may wait for the server to take our last frames and close its side.
_CLOSE_GRACE = 1.0
SIGNING_NAME = "bedrock"


def _timeouts(timeout: float | httpx.Timeout | None) -> tuple[float | None, float | None, float | None]:
    if timeout is None:
        return None, None, None
    if isinstance(timeout, httpx.Timeout):
        return timeout.connect, timeout.read, timeout.write
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ParamValidationError(f"timeout must be a positive number or httpx.Timeout, not {timeout!r}")
    return float(timeout), float(timeout), float(timeout)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class BidirectionalSession:
    """One InvokeModelWithBidirectionalStream session (async; open it with :func:`open_bidirectional_stream`).

    ``await send(event)`` signs and sends one input event (``bytes``: the JSON document that goes into
    ``chunk.bytes``; or a JSON-serialisable dict), waiting while the server's flow-control window is shut;
    ``await end_input()`` sends the signed end-of-input frame; ``async for chunk in session`` yields
    :class:`client.Chunk` as they arrive (the session is its own iterator, so ``await anext(session)``
    between two sends works) and raises the typed in-stream exceptions, or :class:`client.StreamError` for
    a broken, reset (RST_STREAM) or abandoned (GOAWAY) stream, or :class:`SessionTimeLimitError`.
    ``async with session:`` ends the input on a normal exit and closes the connection in every case.
    """

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        core: SessionCore,
        *,
        clock: Callable[[], datetime],
        read_timeout: float | None,
        write_timeout: float | None,
        session_limit: float | None,
    ) -> None:
        self._stream = stream
        self._core = core
        self._clock = clock
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._deadline = math.inf if session_limit is None else time.monotonic() + session_limit
        self._session_limit = session_limit
        self._write_lock = anyio.Lock()
        self._send_lock = anyio.Lock()
        self._reading = False
        self._progress = anyio.Event()
        self._closed = False

    # --- facts --------------------------------------------------------------------------------------------

    @property
    def request_id(self) -> str | None:
        """``x-amzn-RequestId`` of the answer, once its headers arrived."""
        return self._core.request_id

    @property
    def status_code(self) -> int | None:
        """The answer's HTTP status, once its headers arrived."""
        return self._core.status

    @property
    def events_sent(self) -> int:
        """Input events sent so far (the end-of-input frame not counted)."""
        return self._core.events_sent

    @property
    def buffered_events(self) -> int:
        """Answer events received but not yet taken (bounded by the receive window)."""
        return self._core.buffered_events

    # --- I/O helpers --------------------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Write everything h2 has pending. The lock holder loops until nothing is left, so output queued by
        another task meanwhile is written by it, in order."""
        async with self._write_lock:
            while True:
                data = self._core.data_to_send()
                if not data:
                    return
                try:
                    # Shielded: bytes taken from h2 must reach the socket whole, or the connection's framing
                    # (and the TLS record layer) breaks; the write timeout still bounds the wait.
                    with anyio.CancelScope(shield=True), anyio.fail_after(self._write_timeout):
                        await self._stream.send(data)
                except TimeoutError as exc:
                    error = StreamError(
                        f"sending stalled: the connection took no data within the write timeout "
                        f"({self._write_timeout} s)",
                        request_id=self._core.request_id,
                    )
                    error.__cause__ = exc
                    self._core.fail(error)
                    raise error from exc
                except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                    self._core.connection_lost(exc)
                    assert self._core.error is not None
                    raise self._core.error from exc

    def _check_deadline(self) -> None:
        if time.monotonic() >= self._deadline and self._core.error is None:
            self._core.fail(
                SessionTimeLimitError(
                    f"the session reached its time limit ({self._session_limit} s; the service allows 8 "
                    "minutes)",
                    request_id=self._core.request_id,
                )
            )

    async def _pump(self) -> None:
        """Make progress on the answer side: read once from the socket, or wait for the task reading."""
        if self._reading:
            await self._progress.wait()
            return
        self._reading = True
        core = self._core
        try:
            remaining = self._deadline - time.monotonic()
            limit = self._read_timeout
            by_deadline = remaining < (math.inf if limit is None else limit)
            try:
                with anyio.fail_after(max(0.0, remaining) if by_deadline else limit):
                    data = await self._stream.receive(_READ_SIZE)
            except TimeoutError:
                self._check_deadline()
                if core.error is None:
                    core.fail(
                        StreamError(
                            f"the answer stalled: no data within the read timeout ({self._read_timeout} s)",
                            request_id=core.request_id,
                            status_code=core.status,
                        )
                    )
            except anyio.EndOfStream:
                core.connection_lost()
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                core.connection_lost(exc)
            else:
                core.receive(data)
                if not self._write_lock.locked():
                    await self._flush()
        finally:
            self._reading = False
            progress, self._progress = self._progress, anyio.Event()
            progress.set()

    # --- input --------------------------------------------------------------------------------------------

    async def send(self, event: bytes | Mapping[str, Any]) -> None:
        """Sign and send one input event; returns once it is handed to the connection. Waits (bounded by the
        write timeout) while the server's flow-control window is shut. Raises the session's error if it
        failed, :class:`~client.errors.ParamValidationError` for an event that is not bytes or a dict.
        Cancelling a send that waits for the window leaves its event signed and queued: it goes out first,
        at the next ``send`` or ``end_input`` (an event is never half-sent, nor sent out of chain order)."""
        document = event_document(event)
        async with self._send_lock:
            self._check_open()
            if self._core.outbound_pending:
                # A cancelled send left its signed event part-sent: the chain needs it on the wire first.
                await self._drain_outbound()
            self._core.queue_event(document, self._clock())
            await self._drain_outbound()

    async def end_input(self) -> None:
        """Send the signed end-of-input frame (empty payload) and close the input half. Idempotent."""
        async with self._send_lock:
            self._check_open()
            if self._core.outbound_pending:
                await self._drain_outbound()
            if self._core.input_ended:
                return
            self._core.queue_end(self._clock())
            await self._drain_outbound()

    def _check_open(self) -> None:
        if self._closed:
            raise StreamError("the session is closed", request_id=self._core.request_id)
        self._check_deadline()
        if self._core.error is not None:
            raise self._core.error

    async def _drain_outbound(self) -> None:
        core = self._core
        if core.pump_outbound():  # the usual case: the window is open, no timer needed
            await self._flush()
            return
        try:
            with anyio.fail_after(self._write_timeout):
                while not core.pump_outbound():
                    await self._flush()
                    await self._pump()  # a WINDOW_UPDATE is what we wait for
                    self._check_deadline()
        except TimeoutError as exc:
            error = StreamError(
                f"sending stalled: the server kept its flow-control window shut for the write timeout "
                f"({self._write_timeout} s)",
                request_id=core.request_id,
            )
            core.fail(error)
            raise error from exc
        await self._flush()

    # --- output -------------------------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Chunk:
        core = self._core
        while True:
            if self._closed and core.buffered_events == 0:
                if core.error is not None:
                    raise core.error
                raise StopAsyncIteration
            if not self._closed and core.has_output and not self._write_lock.locked():
                # The window updates for events taken earlier; done before taking the next one, so that
                # neither a cancellation nor a failed write here can lose an event (a failure is sticky
                # and raised once the events before it are delivered).
                with contextlib.suppress(BedrockRuntimeError):
                    await self._flush()
            chunk = core.next_event()
            if chunk is not None:
                return chunk
            if core.finished:
                raise StopAsyncIteration
            self._check_deadline()
            if core.error is not None:
                raise core.error
            await self._pump()

    # --- closing ------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection (a GOAWAY, then the socket). Idempotent; events not yet read are dropped."""
        if self._closed:
            return
        self._closed = True
        self._core.close()
        try:
            with anyio.move_on_after(_CLOSE_GRACE):
                async with self._write_lock:
                    data = self._core.data_to_send()
                    if data:
                        await self._stream.send(data)
                # Closing a socket with unread input makes the kernel send a reset, and a reset can destroy
                # our last frames (the end of input) before the server reads them. So half-close, then read
                # and drop what the server still sends until it closes too (bounded by the grace period).
                with contextlib.suppress(NotImplementedError):
                    await self._stream.send_eof()
                while True:
                    await self._stream.receive(_READ_SIZE)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            pass
        finally:
            await anyio.aclose_forcefully(self._stream)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and self._core.error is None and not self._closed:
                await self.end_input()
        finally:
            await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<BidirectionalSession {state} request_id={self._core.request_id!r} sent={self.events_sent}>"


async def _load_credentials(source: Credentials | CredentialProvider) -> Credentials:
    load = getattr(source, "load", None)
    if load is None:
        return source  # type: ignore[return-value]  # sigv4.Credentials itself
    credentials: Credentials = await anyio.to_thread.run_sync(load)
    return credentials


def _path(model_id: object) -> str:
    if not isinstance(model_id, str) or not model_id:
        raise ParamValidationError(f"model_id must be a non-empty string, not {model_id!r}")
    if len(model_id) > MAX_MODEL_ID_LENGTH:
        raise ParamValidationError(
            f"model_id is {len(model_id)} characters; the service accepts at most {MAX_MODEL_ID_LENGTH}"
        )
    if any(ord(c) < 0x20 or c == "\x7f" for c in model_id):
        raise ParamValidationError("model_id contains a control character")
    return f"/model/{quote(model_id, safe='')}/invoke-with-bidirectional-stream"


async def open_bidirectional_stream(
    *,
    endpoint: str,
    model_id: str,
    region: str,
    credentials: Credentials | CredentialProvider | None,
    clock: Callable[[], datetime] | None = None,
    timeout: float | httpx.Timeout | None = _DEFAULT_TIMEOUT,
    bearer_token: str | None = None,
    session_limit: float | None = DEFAULT_SESSION_LIMIT,
    receive_window: int = DEFAULT_RECEIVE_WINDOW,
    ssl_context: ssl.SSLContext | None = None,
) -> BidirectionalSession:
    """Connect to ``endpoint`` (``https://`` over TLS+ALPN h2, ``http://`` as h2c), send the SigV4-signed
    InvokeModelWithBidirectionalStream request for ``model_id`` and return the open session.

    ``credentials``: :class:`sigv4.Credentials` or a provider with ``load()`` (loaded in a worker thread).
    ``clock`` gives the signing time (default: UTC now; the client passes its skew-corrected clock).
    ``timeout``: seconds or an ``httpx.Timeout`` (connect; read = the longest silence while waiting for the
    answer; write = the longest wait to hand over one event, flow control included). ``session_limit``:
    seconds before :class:`SessionTimeLimitError` (the service's own limit is 8 minutes).
    ``bearer_token`` is refused: the service accepts only SigV4 for this operation.

    The answer's status is checked as it arrives: a non-200 answer raises the client's typed HTTP error
    (``ThrottlingException``, ``AccessDeniedException``, ...) from the next ``send`` or read.
    """
    if bearer_token is not None:
        raise ParamValidationError(
            "InvokeModelWithBidirectionalStream accepts only SigV4 credentials, not a bearer token (Bedrock "
            "API key): configure AWS credentials for this operation"
        )
    if credentials is None:
        raise ParamValidationError("InvokeModelWithBidirectionalStream needs AWS credentials (SigV4)")
    if (
        isinstance(receive_window, bool)
        or not isinstance(receive_window, int)
        or not 1 <= receive_window < 2**31
    ):
        raise ParamValidationError(
            f"receive_window must be an int of 1..2**31-1 bytes, not {receive_window!r}"
        )
    if session_limit is not None and (
        isinstance(session_limit, bool) or not isinstance(session_limit, (int, float)) or session_limit <= 0
    ):
        raise ParamValidationError(
            f"session_limit must be a positive number of seconds, not {session_limit!r}"
        )
    connect_timeout, read_timeout, write_timeout = _timeouts(timeout)
    path = _path(model_id)
    target: Endpoint = parse_endpoint(endpoint)
    now = clock or _utc_now
    creds = await _load_credentials(credentials)
    signed = sign_request(
        "POST",
        f"{target.scheme}://{target.authority}{path}",
        [("Content-Type", EVENTSTREAM_CONTENT_TYPE)],
        credentials=creds,
        region=region,
        service=SIGNING_NAME,
        timestamp=now(),
        payload_hash=STREAMING_PAYLOAD,
    )
    core = SessionCore(
        scheme=target.scheme,
        authority=target.authority,
        path=path,
        headers=signed.headers,
        signer=EventSigner(creds, region, SIGNING_NAME, signed.signature),
        receive_window=receive_window,
    )
    stream = await open_connection(target, connect_timeout=connect_timeout, ssl_context=ssl_context)
    session = BidirectionalSession(
        stream,
        core,
        clock=now,
        read_timeout=read_timeout,
        write_timeout=write_timeout,
        session_limit=session_limit,
    )
    try:
        core.start()
        await session._flush()
    except BaseException:
        await session.aclose()
        raise
    return session
