"""The emulated InvokeModelWithBidirectionalStream: an HTTP/2 (h2c, prior knowledge) server on 127.0.0.1.

Standalone (its own port and thread) until it is hooked into :class:`client.emulator.Emulator`. Needs ``h2``
(the ``bidi`` extra). Per stream it:

* verifies the initial request's SigV4 signature (:func:`client.emulator.auth.authenticate`, the same checks
  as every other operation) and answers a refusal as the service does (403 + ``x-amzn-ErrorType``);
* verifies *every* input event's chained signature (``:date`` + ``:chunk-signature``, seeded with the
  request's signature, with the client library's own signer as the reference); a broken chain - a changed,
  reordered or replayed event - gets a ``validationException`` in the stream, which then ends;
* answers a Nova-Sonic-shaped session deterministically *while input is still arriving*:
  ``completionStart`` per ``promptStart``, a ``textOutput`` per ``textInput`` (``toolUse`` when it asks about
  the weather), an ``audioOutput`` per ``audioInput`` of the same number of PCM bytes, ``usageEvent`` +
  ``completionEnd`` per ``promptEnd``; the answer ends when the input ends.

Flow control is honoured both ways: input is acknowledged as it is processed (``consume_delay`` makes a slow
server), answers wait for the client's window. ``fault`` injects a failure after some input events.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from eventstream import DecodeError, Decoder, Message, decode, encode
from sigv4 import Credentials
from sigv4.event_signing import sign_event

from .auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, AuthPolicy, authenticate
from .replies import ServiceError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["FAULT_KINDS", "DuplexFault", "DuplexServer", "SessionRecord", "SonicAnswerer"]

_PATH_PREFIX = "/model/"
_PATH_SUFFIX = "/invoke-with-bidirectional-stream"
_CLOCK_SKEW = timedelta(minutes=5)
_DEFAULT_KEYS = {EXAMPLE_ACCESS_KEY_ID: EXAMPLE_SECRET_ACCESS_KEY}
#: Failures ``DuplexFault`` can inject: RST_STREAM, GOAWAY (PROTOCOL_ERROR), a dropped TCP connection, an
#: in-stream modelStreamErrorException, a 429 ThrottlingException before the stream, or a server that stops
#: acknowledging input (its flow-control window stays shut).
FAULT_KINDS = ("reset", "goaway", "drop", "exception", "throttle", "stall")


@dataclass(frozen=True)
class DuplexFault:
    """Fail the stream the ``kind`` way (one of :data:`FAULT_KINDS`) once ``after`` input events arrived."""

    kind: str
    after: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown duplex fault {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


@dataclass
class SessionRecord:
    """What happened to one stream (for tests): events verified, and why it was refused, if it was."""

    model_id: str = ""
    status: int = 0
    events_verified: int = 0
    input_ended: bool = False
    refused_at: int | None = None
    reason: str = ""
    documents: list[Any] = field(default_factory=list)


# --- the answers (pure) -----------------------------------------------------------------------------------


class SonicAnswerer:
    """Deterministic Nova-Sonic-shaped answers: one input event (its JSON document) in, output events out."""

    def __init__(self) -> None:
        self.session_id = "emulated-session"
        self.completion = 0
        self.text_in = 0
        self.audio_in = 0
        self.text_out = 0
        self.audio_out = 0

    def answer(self, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The output events for one input event; raises ``ValueError`` for a document Nova Sonic refuses."""
        event = document.get("event")
        if not isinstance(event, dict) or len(event) != 1:
            raise ValueError('an input event is {"event": {<one event name>: {...}}}')
        ((name, body),) = event.items()
        if not isinstance(body, dict):
            raise ValueError(f"event {name!r} must be a JSON object")
        prompt = str(body.get("promptName", ""))
        if name == "promptStart":
            self.completion += 1
            return [self._event("completionStart", prompt)]
        if name == "textInput":
            content = body.get("content")
            if not isinstance(content, str):
                raise ValueError("textInput.content must be a string")
            self.text_in += len(content)
            if "weather" in content.lower():
                return [
                    self._event(
                        "toolUse",
                        prompt,
                        toolName="getWeather",
                        toolUseId=f"tool-{self.completion}-{self.text_in}",
                        content=json.dumps({"location": content}),
                    )
                ]
            text = f"You said: {content}"
            self.text_out += len(text)
            return [self._event("textOutput", prompt, content=text, role="ASSISTANT")]
        if name == "audioInput":
            try:
                pcm = base64.b64decode(str(body.get("content", "")), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("audioInput.content must be base64 PCM") from None
            self.audio_in += len(pcm)
            self.audio_out += len(pcm)
            # Audio out in proportion to audio in: the same number of bytes, every sample inverted.
            out = bytes(b ^ 0xFF for b in pcm)
            return [self._event("audioOutput", prompt, content=base64.b64encode(out).decode("ascii"))]
        if name == "toolResult":
            return [
                self._event("textOutput", prompt, content="Thanks for the tool result.", role="ASSISTANT")
            ]
        if name == "promptEnd":
            usage = self._event(
                "usageEvent",
                prompt,
                totalInputTokens=self.text_in // 4 + self.audio_in // 640,
                totalOutputTokens=self.text_out // 4 + self.audio_out // 640,
            )
            usage["event"]["usageEvent"]["totalTokens"] = (
                usage["event"]["usageEvent"]["totalInputTokens"]
                + usage["event"]["usageEvent"]["totalOutputTokens"]
            )
            return [usage, self._event("completionEnd", prompt, stopReason="END_TURN")]
        if name in ("sessionStart", "contentStart", "contentEnd", "sessionEnd"):
            return []
        raise ValueError(f"unknown input event {name!r}")

    def _event(self, name: str, prompt: str, **fields: Any) -> dict[str, Any]:
        body = {"sessionId": self.session_id, "promptName": prompt, "completionId": f"c{self.completion}"}
        body.update(fields)
        return {"event": {name: body}}


# --- frames ----------------------------------------------------------------------------------------------


def _chunk_frame(event: Mapping[str, Any]) -> bytes:
    model = json.dumps(event, separators=(",", ":")).encode()
    payload = b'{"bytes":"' + base64.b64encode(model) + b'"}'
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return encode(Message(headers, payload))


def _exception_frame(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return encode(Message(headers, json.dumps({"message": message}).encode()))


# --- one stream ------------------------------------------------------------------------------------------


class _Stream:
    """One request's state: the signature chain, the decoder of input frames, the answerer, pending output."""

    def __init__(self, stream_id: int, record: SessionRecord) -> None:
        self.stream_id = stream_id
        self.record = record
        self.decoder = Decoder()
        self.credentials: Credentials | None = None
        self.region = ""
        self.service = ""
        self.prior = ""
        self.answerer = SonicAnswerer()
        self.outbound = bytearray()
        self.end_after_outbound = False
        self.open = False
        self.stalled = False
        self.events = 0


class _Connection:
    def __init__(
        self, server: DuplexServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self.streams: dict[int, _Stream] = {}
        self.dropped = False

    async def run(self) -> None:
        h2c = self.h2
        h2c.initiate_connection()
        # Not in the preface: until the client acknowledges a smaller window it may send the default 65535.
        h2c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.server.receive_window})
        await self.flush()
        try:
            while not self.dropped:
                data = await self.reader.read(65_536)
                if not data:
                    break
                try:
                    events = h2c.receive_data(data)
                except h2.exceptions.ProtocolError:
                    await self.flush()
                    break
                for event in events:
                    # Sending is refused once the client closed the connection (GOAWAY) in the same read;
                    # the remaining input events are still verified and recorded.
                    with contextlib.suppress(h2.exceptions.ProtocolError):
                        await self.handle(event)
                await self.flush()
        except (ConnectionError, OSError):
            pass
        finally:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    async def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.dropped:
            self.writer.write(data)
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.drain()

    async def handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            assert event.stream_id is not None and event.headers is not None
            await self.on_request(event.stream_id, [(str(k), str(v)) for k, v in event.headers])
        elif isinstance(event, h2.events.DataReceived):
            assert event.stream_id is not None
            stream = self.streams.get(event.stream_id)
            if stream is None or not stream.open:
                if event.flow_controlled_length:
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                return
            await self.on_data(stream, event.data or b"", event.flow_controlled_length or 0)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id or 0)
            if stream is not None and stream.open and not stream.record.input_ended:
                self.refuse(stream, "the input ended without the signed end-of-input frame")
        elif isinstance(event, h2.events.WindowUpdated):
            for stream in list(self.streams.values()):
                self.push(stream)
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.pop(event.stream_id or 0, None)
            if stream is not None:
                stream.open = False

    async def on_request(self, stream_id: int, headers: list[tuple[str, str]]) -> None:
        server = self.server
        record = SessionRecord()
        server.sessions.append(record)
        stream = _Stream(stream_id, record)
        self.streams[stream_id] = stream
        fields = dict(headers)
        path = fields.get(":path", "")
        wire_headers = [("host", fields.get(":authority", ""))] + [(k, v) for k, v in headers if k[0] != ":"]
        try:
            if fields.get(":method") != "POST" or not (
                path.startswith(_PATH_PREFIX) and path.endswith(_PATH_SUFFIX) and path.count("/") == 3
            ):
                raise ServiceError(
                    404, "UnknownOperationException", f"no bidirectional operation at {path!r}"
                )
            record.model_id = path[len(_PATH_PREFIX) : -len(_PATH_SUFFIX)]
            identity = authenticate("POST", path, wire_headers, b"", policy=server.policy, now=server.now())
            if identity.scheme != "sigv4":
                raise ServiceError(
                    403, "AccessDeniedException", "InvokeModelWithBidirectionalStream accepts SigV4 only"
                )
            if fields.get("x-amz-content-sha256") != "STREAMING-AWS4-HMAC-SHA256-EVENTS":
                raise ServiceError(
                    400,
                    "ValidationException",
                    "x-amz-content-sha256 must be STREAMING-AWS4-HMAC-SHA256-EVENTS",
                )
            fault = server.fault
            if fault is not None and fault.kind == "throttle":
                raise ServiceError(
                    429, "ThrottlingException", "Too many requests, please wait before trying again."
                )
        except ServiceError as err:
            record.status = err.status
            record.reason = f"{err.name}: {err.message}"
            body = json.dumps({"message": err.message}).encode()
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.h2.send_headers(
                    stream_id,
                    [
                        (":status", str(err.status)),
                        ("content-type", "application/json"),
                        ("x-amzn-errortype", f"{err.name}:{err.namespace}"),
                        ("x-amzn-requestid", f"emulated-{len(server.sessions)}"),
                    ],
                )
                self.h2.send_data(stream_id, body, end_stream=True)
            return
        authorization = fields["authorization"]
        credential = authorization.partition("Credential=")[2].partition(",")[0]
        access_key, _, region, service, _ = credential.split("/")
        stream.credentials = Credentials(access_key, server.policy.keys[access_key])
        stream.region, stream.service = region, service
        stream.prior = authorization.rpartition("Signature=")[2].strip()
        stream.open = True
        record.status = 200
        # A client may have closed the connection (GOAWAY) in the same read: its input is still verified.
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.h2.send_headers(
                stream_id,
                [
                    (":status", "200"),
                    ("content-type", "application/vnd.amazon.eventstream"),
                    ("x-amzn-requestid", f"emulated-{len(server.sessions)}"),
                ],
            )

    async def on_data(self, stream: _Stream, data: bytes, cost: int) -> None:
        try:
            frames = stream.decoder.feed(data)
        except DecodeError as exc:
            self.refuse(stream, f"corrupt input event stream: {exc}")
            return
        for frame in frames:
            if not stream.open:
                break
            self.on_frame(stream, frame)
            if self.server.consume_delay:
                await self.flush()
                await asyncio.sleep(self.server.consume_delay)
        if cost and stream.open and not stream.stalled:
            # An explicit WINDOW_UPDATE per processed DATA frame, stream and connection: h2's own batching
            # (acknowledge_received_data) withholds small updates, which with a small window and a partial
            # frame at its edge would leave both sides waiting.
            with contextlib.suppress(h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                self.h2.increment_flow_control_window(cost, stream_id=stream.stream_id)
                self.h2.increment_flow_control_window(cost)

    def on_frame(self, stream: _Stream, frame: Message) -> None:
        record = stream.record
        index = stream.events
        stream.events += 1
        date = frame.headers.get(":date")
        signature = frame.headers.get(":chunk-signature")
        if not isinstance(date, datetime) or not isinstance(signature, bytes):
            self.refuse(stream, f"event #{index} lacks its :date or :chunk-signature header", index)
            return
        if abs(self.server.now() - date) > _CLOCK_SKEW:
            self.refuse(
                stream, f"event #{index} is signed at {date.isoformat()}, outside the allowed skew", index
            )
            return
        assert stream.credentials is not None
        expected = sign_event(
            frame.payload,
            prior_signature=stream.prior,
            credentials=stream.credentials,
            region=stream.region,
            service=stream.service,
            timestamp=date,
        )
        if not hmac.compare_digest(bytes.fromhex(expected.signature), signature):
            self.refuse(
                stream,
                f"The signature of event #{index} does not match: the event was changed, reordered or "
                "replayed.",
                index,
            )
            return
        stream.prior = expected.signature
        record.events_verified += 1
        if not frame.payload:
            record.input_ended = True
            stream.end_after_outbound = True
            self.push(stream)
            return
        fault = self.server.fault
        if fault is not None and record.events_verified > fault.after:
            self.inject(stream, fault)
            return
        try:
            (inner,) = decode(frame.payload)
            if inner.headers.get(":event-type") != "chunk":
                raise ValueError(f"unknown input event type {inner.headers.get(':event-type')!r}")
            encoded = json.loads(inner.payload)["bytes"]
            document = json.loads(base64.b64decode(encoded, validate=True))
            if not isinstance(document, dict):
                raise ValueError("the input event is not a JSON object")
            record.documents.append(document)
            answers = stream.answerer.answer(document)
        except (ValueError, KeyError, TypeError, DecodeError, binascii.Error) as exc:
            self.refuse(stream, f"Invalid input event #{index}: {exc}", index)
            return
        for answer in answers:
            stream.outbound += _chunk_frame(answer)
        self.push(stream)

    def inject(self, stream: _Stream, fault: DuplexFault) -> None:
        stream.record.reason = f"fault {fault.kind}"
        if fault.kind == "stall":
            stream.stalled = True
        elif fault.kind == "reset":
            stream.open = False
            self.h2.reset_stream(stream.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
        elif fault.kind == "goaway":
            stream.open = False
            self.h2.close_connection(h2.errors.ErrorCodes.PROTOCOL_ERROR, additional_data=b"emulated GOAWAY")
        elif fault.kind == "drop":
            stream.open = False
            self.dropped = True
            self.writer.transport.abort()
        else:
            stream.outbound += _exception_frame(
                "modelStreamErrorException", "The model stream failed (emulated)."
            )
            stream.end_after_outbound = True
            stream.open = False
            self.push(stream)

    def refuse(self, stream: _Stream, reason: str, index: int | None = None) -> None:
        """The in-stream refusal: a validationException, then the stream ends (input no longer read)."""
        stream.record.refused_at = index
        stream.record.reason = reason
        stream.outbound += _exception_frame("validationException", reason)
        stream.end_after_outbound = True
        stream.open = False
        self.push(stream)

    def push(self, stream: _Stream) -> None:
        """Send as much pending output as the client's window allows (the rest waits for WINDOW_UPDATE)."""
        h2c = self.h2
        try:
            while stream.outbound:
                room = min(h2c.local_flow_control_window(stream.stream_id), h2c.max_outbound_frame_size)
                if room <= 0:
                    return
                piece = bytes(stream.outbound[:room])
                del stream.outbound[:room]
                h2c.send_data(stream.stream_id, piece)
            if stream.end_after_outbound:
                stream.end_after_outbound = False
                h2c.end_stream(stream.stream_id)
                self.streams.pop(stream.stream_id, None)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            # The client reset the stream or closed the connection: answers have nowhere to go, but input
            # already received is still verified (the stream stays known).
            stream.outbound.clear()


# --- the server ------------------------------------------------------------------------------------------


class DuplexServer:
    """The h2c server for InvokeModelWithBidirectionalStream, on 127.0.0.1 in a background thread.

    ``with DuplexServer() as server: ... server.url`` (or ``start()`` / ``stop()``); h2c, or TLS with ALPN
    ``h2`` when a server ``ssl_context`` is given. ``policy`` is the
    emulator's :class:`~client.emulator.auth.AuthPolicy` (default: the AWS example key, any region).
    ``receive_window`` is the input window per stream; ``consume_delay`` seconds are spent on each input
    event before its bytes are acknowledged (a slow server). ``sessions`` records every stream.
    """

    def __init__(
        self,
        *,
        policy: AuthPolicy | None = None,
        port: int = 0,
        receive_window: int = 65_535,
        consume_delay: float = 0.0,
        fault: DuplexFault | None = None,
        clock_offset: float = 0.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy if policy is not None else AuthPolicy(keys=_DEFAULT_KEYS)
        self.receive_window = receive_window
        self.consume_delay = consume_delay
        self.fault = fault
        self.clock_offset = clock_offset
        self.sessions: list[SessionRecord] = []
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(["h2"])
        self._ssl = ssl_context

    def now(self) -> datetime:
        """The server's clock (UTC, shifted by ``clock_offset`` seconds)."""
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (h2c with prior knowledge), or ``https://`` with ``ssl_context``."""
        return f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns once listening."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="duplex-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0):
            raise RuntimeError("the duplex emulator did not start within 10 s")
        if self._failure is not None:
            raise RuntimeError(f"the duplex emulator failed to start: {self._failure}") from self._failure
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._accept, "127.0.0.1", self._port, ssl=self._ssl)
            )
        except OSError as exc:
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await _Connection(self, reader, writer).run()
        except asyncio.CancelledError:
            writer.close()  # stop() cancels open connections; nothing is left to report
        finally:
            self._tasks.discard(task)

    def stop(self) -> None:
        """Stop serving, close every connection, join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10.0)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
