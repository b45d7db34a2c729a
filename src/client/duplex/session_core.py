"""Sans-I/O core of a bidirectional session: h2's client state machine, our event signer, our decoder.

No sockets and no waiting: the shell (:mod:`client.duplex.session`) feeds it the bytes it reads
(:meth:`SessionCore.receive`), writes what :meth:`SessionCore.data_to_send` returns, and decides when to wait.
Everything that decides lives here:

* input: each event is wrapped (inner ``chunk`` message), signed and chained (:class:`sigv4.EventSigner`),
  then handed to h2 only as far as the peer's flow-control window allows (:meth:`pump_outbound`); the rest
  waits here, so one pending event is all the memory a slow server can cost;
* output: DATA is decoded as it arrives (:class:`client.stream.StreamCore`), but the receive window is only
  re-opened as the caller takes events (:meth:`next_event`), so a slow reader bounds what the server can
  make us buffer to one window (plus one partial frame);
* failures are sticky :class:`~client.errors.BedrockRuntimeError` s: a non-200 answer gives the same typed
  HTTP error as the rest of the client, GOAWAY / RST_STREAM / a dropped connection give
  :class:`~client.errors.StreamError` naming the HTTP/2 error code.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections import deque
from collections.abc import Sequence
from datetime import datetime

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from eventstream import Message, encode
from sigv4 import EventSigner

from ..errors import BedrockRuntimeError, ParamValidationError, StreamError, error_from_http_response
from ..events import Chunk
from ..stream import StreamCore

__all__ = ["DEFAULT_RECEIVE_WINDOW", "SessionCore", "encode_input_event", "event_document"]

#: Receive window (per stream and for the connection): the most answer bytes the server may send ahead of
#: the caller's reading. Large enough for ~1 s of 24 kHz 16-bit audio in base64, small enough to bound memory.
DEFAULT_RECEIVE_WINDOW = 256 * 1024
# An error answer is a small JSON document; more than this from a misbehaving server is dropped.
_MAX_ERROR_BODY = 64 * 1024
_INNER_HEADERS = (
    (":message-type", "event"),
    (":event-type", "chunk"),
    (":content-type", "application/json"),
)


def encode_input_event(document: bytes) -> bytes:
    """The inner event-stream message of one input event: a ``chunk`` whose JSON payload's ``bytes`` is the
    base64 of ``document`` (the model's own JSON event, e.g. a Nova Sonic ``{"event": {...}}``)."""
    payload = b'{"bytes":"' + base64.b64encode(document) + b'"}'
    return encode(Message(_INNER_HEADERS, payload))


def _code_name(code: int | h2.errors.ErrorCodes | None) -> str:
    if code is None:
        return "unknown"
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return f"0x{int(code):x}"


class SessionCore:
    """One HTTP/2 connection carrying one bidirectional stream (the request is sent by :meth:`start`).

    ``headers`` are the signed request headers (pairs; ``Host`` becomes ``:authority``); ``signer`` is the
    chain seeded with the request's signature.
    """

    def __init__(
        self,
        *,
        scheme: str,
        authority: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        signer: EventSigner,
        receive_window: int = DEFAULT_RECEIVE_WINDOW,
    ) -> None:
        self._h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self._request_headers = [
            (":method", "POST"),
            (":scheme", scheme),
            (":authority", authority),
            (":path", path),
            *((name.lower(), value) for name, value in headers if name.lower() != "host"),
        ]
        self._signer = signer
        self._receive_window = receive_window
        self.stream_id = 0
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}
        self.request_id: str | None = None
        self._decoder: StreamCore | None = None
        self._error_body = bytearray()
        # Typed answer events, each with the flow-controlled bytes to acknowledge once it is taken.
        self._events: deque[tuple[Chunk, int]] = deque()
        self._unacknowledged = 0
        self._outbound = b""
        self._outbound_offset = 0
        self._end_requested = False
        self.input_ended = False
        self.answer_ended = False
        self.error: BedrockRuntimeError | None = None
        self.events_sent = 0
        self._out = b""  # output taken from h2 by has_output, not yet handed to the shell
        # How often sending found the server's window shut (the shell then waits for a WINDOW_UPDATE).
        self.window_waits = 0

    # --- opening ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Queue the connection preface, our settings and the request's HEADERS (the stream stays open)."""
        h2c = self._h2
        h2c.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self._receive_window,
            },
        )
        h2c.initiate_connection()
        # The connection window starts at 65535 whatever the settings say: widen it to match the stream's.
        if self._receive_window > 65_535:
            h2c.increment_flow_control_window(self._receive_window - 65_535)
        self.stream_id = h2c.get_next_available_stream_id()
        h2c.send_headers(self.stream_id, self._request_headers)

    def data_to_send(self) -> bytes:
        """The bytes h2 wants written (frames, acknowledgements, PING answers); empty when there are none."""
        data = self._out + self._h2.data_to_send() if self._out else self._h2.data_to_send()
        self._out = b""
        return data

    @property
    def has_output(self) -> bool:
        """Whether :meth:`data_to_send` would return bytes (they are kept until then)."""
        if not self._out:
            self._out = self._h2.data_to_send()
        return bool(self._out)

    # --- input --------------------------------------------------------------------------------------------

    @property
    def outbound_pending(self) -> bool:
        """Whether an event (or the end of input) is signed but not yet fully handed to h2."""
        return self._outbound_offset < len(self._outbound) or (self._end_requested and not self.input_ended)

    def queue_event(self, document: bytes, timestamp: datetime) -> None:
        """Sign one input event (``document`` = the model's JSON) and queue its frame for sending."""
        if self.outbound_pending:
            raise RuntimeError("the previous event is still being sent")  # the shell serialises senders
        self._check_can_send()
        self._outbound = self._signer.sign(encode_input_event(document), timestamp)
        self._outbound_offset = 0
        self.events_sent += 1

    def queue_end(self, timestamp: datetime) -> None:
        """Sign the end-of-input frame (empty payload) and queue it; the stream's input half then closes."""
        if self._end_requested:
            return
        if self.outbound_pending:
            raise RuntimeError("the previous event is still being sent")
        self._check_can_send()
        self._outbound = self._signer.end(timestamp)
        self._outbound_offset = 0
        self._end_requested = True

    def _check_can_send(self) -> None:
        if self.error is not None:
            raise self.error
        if self._end_requested:
            raise StreamError("cannot send an event after the end of the input", request_id=self.request_id)

    def pump_outbound(self) -> bool:
        """Hand h2 as much of the pending frame as the flow-control windows allow; True once all is handed
        over (the end-of-input frame also closes the stream's input half). False means: wait for a
        WINDOW_UPDATE (read more) and call again."""
        if self.error is not None:
            raise self.error
        h2c = self._h2
        data = self._outbound
        while self._outbound_offset < len(data):
            room = min(h2c.local_flow_control_window(self.stream_id), h2c.max_outbound_frame_size)
            if room <= 0:
                self.window_waits += 1
                return False
            end = min(len(data), self._outbound_offset + room)
            last = end == len(data) and self._end_requested
            h2c.send_data(self.stream_id, data[self._outbound_offset : end], end_stream=last)
            self._outbound_offset = end
            if last:
                self.input_ended = True
        if self._end_requested and not self.input_ended:  # an empty end frame cannot happen; kept safe
            h2c.end_stream(self.stream_id)
            self.input_ended = True
        self._outbound = b""
        self._outbound_offset = 0
        return True

    # --- output -------------------------------------------------------------------------------------------

    def next_event(self) -> Chunk | None:
        """The next answer event, re-opening the receive window by what it cost; ``None`` when none is
        ready. Raises the sticky error once the events before it are taken."""
        if self._events:
            chunk, cost = self._events.popleft()
            if cost and self.error is None:
                self._acknowledge(cost)
            return chunk
        if self.error is not None:
            raise self.error
        return None

    @property
    def finished(self) -> bool:
        """The answer ended cleanly and every event was taken."""
        return self.answer_ended and not self._events and self.error is None

    @property
    def buffered_events(self) -> int:
        """Answer events decoded but not yet taken (bounded by the receive window)."""
        return len(self._events)

    def _acknowledge(self, size: int) -> None:
        # A closed stream needs no window: nothing more will come on it.
        with contextlib.suppress(h2.exceptions.StreamClosedError):
            self._h2.acknowledge_received_data(size, self.stream_id)

    def receive(self, data: bytes) -> None:
        """Feed bytes read from the connection."""
        if not data:
            return
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.fail(
                StreamError(f"HTTP/2 protocol error from the server: {exc}", request_id=self.request_id)
            )
            return
        for event in events:
            self._handle(event)

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.DataReceived):
            if event.stream_id == self.stream_id:
                self._on_data(event.data, event.flow_controlled_length)
            elif event.flow_controlled_length:
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.ResponseReceived):
            if event.stream_id == self.stream_id:
                self._on_response(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            if event.stream_id == self.stream_id:
                self._on_end()
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id == self.stream_id and not self.answer_ended:
                self.fail(
                    StreamError(
                        "the server reset the stream (HTTP/2 RST_STREAM, error code "
                        f"{_code_name(event.error_code)}) after {self.events_sent} input events",
                        request_id=self.request_id,
                        status_code=self.status,
                    )
                )
        elif isinstance(event, h2.events.ConnectionTerminated):
            graceful = event.error_code == h2.errors.ErrorCodes.NO_ERROR and (
                event.last_stream_id is None or event.last_stream_id >= self.stream_id
            )
            if not graceful and not self.answer_ended:
                detail = (
                    f": {event.additional_data.decode('utf-8', 'replace')}" if event.additional_data else ""
                )
                self.fail(
                    StreamError(
                        "the server closed the HTTP/2 connection (GOAWAY, error code "
                        f"{_code_name(event.error_code)}, last stream {event.last_stream_id}){detail}",
                        request_id=self.request_id,
                        status_code=self.status,
                    )
                )
        # PINGs and SETTINGS are answered by h2 itself (in data_to_send); WINDOW_UPDATE only widens windows.

    def _on_response(self, headers: Sequence[tuple[str | bytes, str | bytes]]) -> None:
        fields = {str(name): str(value) for name, value in headers}
        status = int(fields.pop(":status", "0") or 0)
        self.status = status
        self.response_headers = fields
        self.request_id = fields.get("x-amzn-requestid") or None
        if status == 200:
            self._decoder = StreamCore(self.request_id)

    def _on_data(self, data: bytes, cost: int) -> None:
        decoder = self._decoder
        if decoder is None:
            # A non-200 answer: keep a bounded error body (acknowledged at once, it is ours to drop).
            room = _MAX_ERROR_BODY - len(self._error_body)
            if room > 0:
                self._error_body += data[:room]
            if cost:
                self._acknowledge(cost)
            return
        if self.error is not None:
            return
        chunks = decoder.feed(data)
        if chunks:
            cost += self._unacknowledged
            self._unacknowledged = 0
            events = self._events
            for chunk in chunks[:-1]:
                events.append((chunk, 0))
            events.append((chunks[-1], cost))
        elif cost:
            # Bytes of a frame not complete yet (bounded by the decoder's frame limit): acknowledged now,
            # or a frame larger than the window could never arrive.
            self._acknowledge(cost)
        if decoder.error is not None:
            self.fail(decoder.error)

    def _on_end(self) -> None:
        if self.status != 200:
            if self.status is None:
                self.fail(
                    StreamError("the server ended the stream without an answer", request_id=self.request_id)
                )
                return
            self.fail(error_from_http_response(self.status, self.response_headers, bytes(self._error_body)))
            return
        assert self._decoder is not None
        try:
            self._decoder.finish()
        except BedrockRuntimeError as exc:
            self.fail(exc)
            return
        self.answer_ended = True

    def connection_lost(self, cause: BaseException | None = None) -> None:
        """The connection ended (EOF or a transport error) at this point."""
        if self.answer_ended or self.error is not None:
            return
        where = (
            f"after {self._decoder.bytes_received} bytes and {self._decoder.messages} answer messages"
            if self._decoder is not None
            else "before the answer began"
        )
        error = StreamError(
            f"the connection closed {where} (the answer was not complete)"
            + (f": {type(cause).__name__}: {cause}" if cause is not None else ""),
            request_id=self.request_id,
            status_code=self.status,
        )
        if cause is not None:
            error.__cause__ = cause
        self.fail(error)

    def fail(self, error: BedrockRuntimeError) -> None:
        """Record a failure (the first one sticks); events decoded before it are still delivered."""
        if self.error is None:
            self.error = error

    def close(self) -> None:
        """Queue a GOAWAY (the shell then closes the socket)."""
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self._h2.close_connection()


def event_document(event: object) -> bytes:
    """``event`` as the bytes of a JSON document: bytes are taken as they are, a dict is serialised.
    Raises :class:`~client.errors.ParamValidationError` for anything else."""
    if isinstance(event, (bytes, bytearray, memoryview)):
        return bytes(event)
    if isinstance(event, dict):
        try:
            return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ParamValidationError(f"the input event is not JSON-serialisable: {exc}") from None
    raise ParamValidationError(
        f"an input event is bytes (a JSON document) or a JSON-serialisable dict, not {type(event).__name__}"
    )
