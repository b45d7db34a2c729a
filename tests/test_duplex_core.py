"""SessionCore, sans-I/O, against an in-memory h2 server: PINGs, GOAWAY, RST_STREAM, error answers."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest

import eventstream
from client import StreamError, ThrottlingException
from client.duplex.session_core import SessionCore, encode_input_event
from sigv4 import Credentials, EventSigner

CREDS = Credentials("AKID", "SECRET")
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def chunk_frame(document: bytes) -> bytes:
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    payload = b'{"bytes":"' + base64.b64encode(document) + b'"}'
    return eventstream.encode(eventstream.Message(headers, payload))


class Pair:
    """A SessionCore wired to an h2 server connection in memory."""

    def __init__(self, receive_window: int = 65_535) -> None:
        self.core = SessionCore(
            scheme="http",
            authority="example",
            path="/model/m/invoke-with-bidirectional-stream",
            headers=[("Host", "example"), ("Content-Type", "application/vnd.amazon.eventstream")],
            signer=EventSigner(CREDS, "us-east-1", "bedrock", "ab" * 32),
            receive_window=receive_window,
        )
        self.server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.server.initiate_connection()
        self.core.start()
        self.events = self.to_server()
        self.to_client()

    def to_server(self) -> list[h2.events.Event]:
        return self.server.receive_data(self.core.data_to_send())

    def to_client(self) -> None:
        self.core.receive(self.server.data_to_send())

    def respond(self, status: int = 200, headers: list[tuple[str, str]] | None = None) -> None:
        self.server.send_headers(1, [(":status", str(status)), *(headers or [])])
        self.to_client()


def test_request_headers_and_a_signed_input_event_reach_the_server() -> None:
    pair = Pair()
    request = next(e for e in pair.events if isinstance(e, h2.events.RequestReceived))
    assert request.headers is not None
    names = [name for name, _ in request.headers]
    assert names[:4] == [b":method", b":scheme", b":authority", b":path"] and b"host" not in names
    pair.core.queue_event(b'{"event":{}}', WHEN)
    assert pair.core.pump_outbound()
    data = [e for e in pair.to_server() if isinstance(e, h2.events.DataReceived)]
    (outer,) = eventstream.decode(b"".join(e.data or b"" for e in data))
    assert outer.payload == encode_input_event(b'{"event":{}}')
    assert list(outer.headers) == [":date", ":chunk-signature"]


def test_pings_are_answered() -> None:
    pair = Pair()
    pair.server.ping(b"12345678")
    pair.to_client()
    acks = [e for e in pair.to_server() if isinstance(e, h2.events.PingAckReceived)]
    assert [e.ping_data for e in acks] == [b"12345678"]


def test_the_receive_window_opens_only_as_events_are_taken() -> None:
    pair = Pair(receive_window=65_535)
    pair.respond()
    frames = [chunk_frame(json.dumps({"n": n, "pad": "x" * 3000}).encode()) for n in range(40)]
    sent = 0
    for frame in frames:
        if pair.server.local_flow_control_window(1) < len(frame):
            break
        pair.server.send_data(1, frame)
        sent += 1
    pair.to_client()
    assert 10 < sent < 40 and pair.core.buffered_events == sent
    assert pair.server.local_flow_control_window(1) < len(frames[0])  # nothing acknowledged yet
    pair.to_server()
    assert pair.server.local_flow_control_window(1) < len(frames[0])  # still shut: nothing was taken
    taken = []
    while (event := pair.core.next_event()) is not None:
        taken.append(event.json()["n"])
    assert taken == list(range(sent))
    pair.to_server()
    # h2 batches WINDOW_UPDATEs (at half the window): taking the events re-opened at least that much.
    assert pair.server.local_flow_control_window(1) >= 65_535 // 2


def test_an_error_answer_is_the_typed_http_error() -> None:
    pair = Pair()
    pair.respond(429, [("x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/coral/")])
    pair.server.send_data(1, b'{"message":"slow down"}', end_stream=True)
    pair.to_client()
    with pytest.raises(ThrottlingException, match="slow down") as info:
        pair.core.next_event()
    assert info.value.status_code == 429
    with pytest.raises(ThrottlingException):
        pair.core.queue_event(b"{}", WHEN)


def test_rst_stream_is_a_stream_error() -> None:
    pair = Pair()
    pair.respond()
    pair.server.send_data(1, chunk_frame(b'{"a":1}'))
    pair.server.reset_stream(1, h2.errors.ErrorCodes.REFUSED_STREAM)
    pair.to_client()
    event = pair.core.next_event()  # what came before the reset is still delivered
    assert event is not None and event.json() == {"a": 1}
    with pytest.raises(StreamError, match="RST_STREAM, error code REFUSED_STREAM"):
        pair.core.next_event()


def test_goaway_with_an_error_fails_and_a_graceful_one_does_not() -> None:
    pair = Pair()
    pair.respond()
    pair.server.close_connection(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM, additional_data=b"calm down")
    pair.to_client()
    with pytest.raises(StreamError, match=r"GOAWAY, error code ENHANCE_YOUR_CALM.*calm down"):
        pair.core.next_event()

    graceful = Pair()
    graceful.respond()
    graceful.server.close_connection(h2.errors.ErrorCodes.NO_ERROR, last_stream_id=1)
    graceful.to_client()
    assert graceful.core.next_event() is None and graceful.core.error is None


def test_a_cut_connection_and_a_truncated_answer_are_stream_errors() -> None:
    pair = Pair()
    pair.respond()
    pair.server.send_data(1, chunk_frame(b"{}")[:-3], end_stream=True)
    pair.to_client()
    with pytest.raises(StreamError, match="mid-frame"):
        pair.core.next_event()

    cut = Pair()
    cut.respond()
    cut.core.connection_lost(ConnectionResetError("reset by peer"))
    with pytest.raises(StreamError, match=r"connection closed.*reset by peer"):
        cut.core.next_event()


def test_a_clean_end() -> None:
    pair = Pair()
    pair.respond()
    pair.server.send_data(1, chunk_frame(b'{"x":1}'), end_stream=True)
    pair.to_client()
    assert not pair.core.finished
    assert pair.core.next_event() is not None
    assert pair.core.finished and pair.core.next_event() is None
