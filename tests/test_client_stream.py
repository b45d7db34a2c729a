"""ResponseStream / AsyncResponseStream over real loopback connections and httpx.MockTransport.

Incremental delivery, any split of the bytes, every way a stream can end badly (cut mid-frame, dropped,
stalled, corrupt), in-stream exceptions, sticky errors, and closing.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import client
from sigv4 import Credentials
from test_client_helpers import (
    EVENTSTREAM,
    WAIT,
    Loopback,
    Reply,
    chunk_frame,
    error_frame,
    event_frame,
    exception_frame,
    json_chunk,
    loopback,
)

__all__ = ["loopback"]  # the fixture, re-exported so pytest finds it here

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def make_client(server: Loopback, **kwargs: Any) -> client.BedrockRuntimeClient:
    kwargs.setdefault("timeout", httpx.Timeout(WAIT))
    return client.BedrockRuntimeClient("us-east-1", credentials=CREDS, endpoint_url=server.url, **kwargs)


def make_async_client(server: Loopback, **kwargs: Any) -> client.AsyncBedrockRuntimeClient:
    kwargs.setdefault("timeout", httpx.Timeout(WAIT))
    return client.AsyncBedrockRuntimeClient("us-east-1", credentials=CREDS, endpoint_url=server.url, **kwargs)


def texts(n: int) -> list[bytes]:
    return [json.dumps({"i": i, "text": f"piece {i}"}).encode() for i in range(n)]


# --- incremental delivery --------------------------------------------------------------------------------


def test_first_event_arrives_while_the_server_is_still_sending(loopback: Loopback) -> None:
    gate = threading.Event()
    reply = Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2}))
    loopback.add(reply)
    with make_client(loopback) as bedrock, bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
        first = next(stream)
        # The server is blocked on the gate: the rest of the body has not been written yet.
        assert not reply.sent.is_set()
        assert first.json() == {"n": 1}
        gate.set()
        assert [e.json() for e in stream] == [{"n": 2}]
    assert reply.sent.is_set()


@pytest.mark.anyio
async def test_async_first_event_arrives_while_the_server_is_still_sending(loopback: Loopback) -> None:
    gate = threading.Event()
    reply = Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2}))
    loopback.add(reply)
    async with make_async_client(loopback) as bedrock:
        stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
        async with stream:
            with anyio.fail_after(WAIT):
                first = await stream.__anext__()
            assert not reply.sent.is_set()
            assert first.json() == {"n": 1}
            gate.set()
            rest = [e.json() async for e in stream]
        assert rest == [{"n": 2}]


def _mock_client(pieces: list[bytes], headers: dict[str, str] | None = None) -> client.BedrockRuntimeClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers=headers or {"content-type": EVENTSTREAM, "x-amzn-requestid": "mock-1"},
            stream=httpx.ByteStream(b"") if not pieces else _Pieces(pieces),
        )

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url="http://127.0.0.1:9", http_client=http
    )


class _Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    def close(self) -> None:
        self.closed = True


@settings(max_examples=60)
@given(st.data())
def test_events_are_the_same_for_any_split_of_the_body(data: st.DataObject) -> None:
    models = texts(5)
    body = b"".join(chunk_frame(m) for m in models)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(body) - 1), max_size=40)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    with _mock_client(pieces) as bedrock:
        stream = bedrock.invoke_model_with_response_stream("m", b"{}")
        assert [e.bytes for e in stream] == models


def test_one_byte_at_a_time() -> None:
    models = texts(3)
    body = b"".join(chunk_frame(m) for m in models)
    with _mock_client([body[i : i + 1] for i in range(len(body))]) as bedrock:
        assert [e.bytes for e in bedrock.invoke_model_with_response_stream("m", b"{}")] == models


def test_response_metadata_is_exposed(loopback: Loopback) -> None:
    loopback.add(
        Reply(
            headers=[
                ("Content-Type", EVENTSTREAM),
                ("x-amzn-RequestId", "abc-123"),
                ("X-Amzn-Bedrock-Content-Type", "application/json"),
                ("X-Amzn-Bedrock-PerformanceConfig-Latency", "optimized"),
                ("X-Amzn-Bedrock-Service-Tier", "priority"),
            ],
            parts=[json_chunk({})],
        )
    )
    with make_client(loopback) as bedrock, bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
        assert (stream.request_id, stream.content_type) == ("abc-123", "application/json")
        assert (stream.performance_config_latency, stream.service_tier) == ("optimized", "priority")
        assert (stream.status_code, stream.retry_attempts) == (200, 0)
        assert stream.headers["x-amzn-requestid"] == "abc-123"
        assert "abc-123" in repr(stream)
        assert len(list(stream)) == 1


def test_unknown_event_types_are_skipped_and_empty_body_is_a_clean_end(loopback: Loopback) -> None:
    loopback.add(Reply.stream(event_frame("newKindOfEvent"), json_chunk({"a": 1}), event_frame("other")))
    loopback.add(Reply.stream())
    with make_client(loopback) as bedrock:
        assert [e.json() for e in bedrock.invoke_model_with_response_stream("m", b"{}")] == [{"a": 1}]
        assert list(bedrock.invoke_model_with_response_stream("m", b"{}")) == []


# --- ends that are not clean ------------------------------------------------------------------------------


def _read_until_error(stream: client.ResponseStream) -> tuple[list[Any], client.BedrockRuntimeError]:
    got: list[Any] = []
    with pytest.raises(client.BedrockRuntimeError) as info:
        for event in stream:
            got.append(event.json())
    return got, info.value


def test_stream_ending_mid_frame_raises_after_the_complete_events(loopback: Loopback) -> None:
    second = json_chunk({"n": 2})
    loopback.add(Reply.stream(json_chunk({"n": 1}), second[:20]))
    with make_client(loopback) as bedrock, bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
        got, err = _read_until_error(stream)
        assert got == [{"n": 1}]
        assert type(err) is client.StreamError
        assert "ended mid-frame" in str(err) and "20 of" in str(err)
        assert err.offset == len(json_chunk({"n": 1}))
        assert err.request_id == "req-1"
        # Sticky: asking again raises the same error instead of pretending the stream ended.
        with pytest.raises(client.StreamError) as again:
            next(stream)
        assert again.value is err
        with pytest.raises(client.StreamError):
            next(stream)


def test_prelude_only_truncation(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({"n": 1}), json_chunk({"n": 2})[:5]))
    with make_client(loopback) as bedrock:
        got, err = _read_until_error(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert got == [{"n": 1}] and isinstance(err, client.StreamError) and "prelude" in str(err)


def test_connection_dropped_mid_frame(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({"n": 1}), json_chunk({"n": 2})[:30], drop=True))
    with make_client(loopback, max_attempts=1) as bedrock:
        got, err = _read_until_error(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert got == [{"n": 1}]
    assert type(err) is client.StreamError and "connection dropped" in str(err)
    assert isinstance(err.__cause__, httpx.RemoteProtocolError)


def test_connection_dropped_at_a_frame_boundary_is_not_a_clean_end(loopback: Loopback) -> None:
    # Every frame is complete, but the chunked body never got its terminating chunk: still a failure.
    loopback.add(Reply.stream(json_chunk({"n": 1}), drop=True))
    with make_client(loopback) as bedrock:
        got, err = _read_until_error(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert got == [{"n": 1}] and isinstance(err, client.StreamError)


def test_stall_past_the_read_timeout(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2})))
    try:
        with make_client(loopback, timeout=httpx.Timeout(WAIT, read=0.3)) as bedrock:
            got, err = _read_until_error(bedrock.invoke_model_with_response_stream("m", b"{}"))
    finally:
        gate.set()
    assert got == [{"n": 1}]
    assert isinstance(err, client.StreamError) and "stalled" in str(err)
    assert isinstance(err.__cause__, httpx.ReadTimeout)


def test_corrupt_frame_after_good_ones_in_the_same_read() -> None:
    good = chunk_frame(b'{"n":1}')
    bad = bytearray(chunk_frame(b'{"n":2}'))
    bad[-1] ^= 0xFF  # break the message CRC
    with _mock_client([good + bytes(bad) + chunk_frame(b'{"n":3}')]) as bedrock:
        stream = bedrock.invoke_model_with_response_stream("m", b"{}")
        got, err = _read_until_error(stream)
    assert got == [{"n": 1}]
    assert type(err) is client.StreamError and "corrupt event stream" in str(err)
    assert err.offset == len(good)
    from eventstream import MessageChecksumMismatch

    assert isinstance(err.__cause__, MessageChecksumMismatch)


def test_garbage_instead_of_frames_is_a_stream_error() -> None:
    with _mock_client([b'{"message": "I am JSON, not an event stream"}']) as bedrock:
        got, err = _read_until_error(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert got == [] and isinstance(err, client.StreamError) and err.offset == 0


# --- in-stream exceptions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception_type", "cls"),
    [
        ("internalServerException", client.InternalServerException),
        ("modelStreamErrorException", client.ModelStreamErrorException),
        ("validationException", client.ValidationException),
        ("throttlingException", client.ThrottlingException),
        ("modelTimeoutException", client.ModelTimeoutException),
        ("serviceUnavailableException", client.ServiceUnavailableException),
    ],
)
def test_in_stream_exception_after_events(
    loopback: Loopback, exception_type: str, cls: type[client.BedrockRuntimeError]
) -> None:
    frames = [json_chunk({"n": i}) for i in range(3)]
    loopback.add(Reply.stream(*frames, exception_frame(exception_type, {"message": f"{exception_type}!"})))
    with make_client(loopback) as bedrock, bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
        got, err = _read_until_error(stream)
    assert got == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert type(err) is cls and err.in_stream and err.message == f"{exception_type}!"
    assert err.request_id == "req-1"
    assert len(loopback.requests) == 1  # never retried once events were delivered


def test_in_stream_error_message(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({"n": 0}), error_frame("InternalFailure", "the model fell over")))
    with make_client(loopback) as bedrock:
        got, err = _read_until_error(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert got == [{"n": 0}]
    assert type(err) is client.UnmodeledStreamError
    assert (err.error_code, err.message) == ("InternalFailure", "the model fell over")


def test_exception_in_the_same_read_as_chunks_comes_after_them() -> None:
    body = chunk_frame(b"1") + chunk_frame(b"2") + exception_frame("validationException", {"message": "v"})
    with _mock_client([body]) as bedrock:
        stream = bedrock.invoke_model_with_response_stream("m", b"{}")
        assert next(stream).bytes == b"1"
        assert next(stream).bytes == b"2"
        with pytest.raises(client.ValidationException):
            next(stream)


# --- closing ----------------------------------------------------------------------------------------------


def test_leaving_with_early_closes_the_connection(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2})))
    try:
        with make_client(loopback) as bedrock:
            with bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
                assert next(stream).json() == {"n": 1}
            assert loopback.wait_closed(), "the connection is still open after leaving the with block"
            with pytest.raises(client.StreamError, match="closed before it was read to the end"):
                next(stream)
            stream.close()  # idempotent
    finally:
        gate.set()


def test_breaking_out_of_a_for_loop_without_with_closes_the_connection(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2})))
    try:
        with make_client(loopback) as bedrock:
            for event in bedrock.invoke_model_with_response_stream("m", b"{}"):
                assert event.json() == {"n": 1}
                break
            gc.collect()
            assert loopback.wait_closed()
    finally:
        gate.set()


def test_dropping_an_unread_stream_closes_the_connection(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate))
    try:
        with make_client(loopback) as bedrock:
            stream = bedrock.invoke_model_with_response_stream("m", b"{}")
            del stream
            gc.collect()
            assert loopback.wait_closed()
    finally:
        gate.set()


def test_closing_a_finished_stream_keeps_its_outcome(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({"n": 1})), Reply.stream(json_chunk({"n": 1}), b"\x00\x00"))
    with make_client(loopback) as bedrock:
        with bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
            assert len(list(stream)) == 1
        assert list(stream) == []  # it had ended cleanly, so it still has
        with bedrock.invoke_model_with_response_stream("m", b"{}") as broken:
            _read_until_error(broken)
        with pytest.raises(client.StreamError, match="mid-frame"):
            next(broken)


def test_a_finished_stream_returns_its_connection_to_the_pool(loopback: Loopback) -> None:
    loopback.default = Reply.stream(json_chunk({"n": 1}))
    with make_client(loopback) as bedrock:
        for _ in range(5):
            assert len(list(bedrock.invoke_model_with_response_stream("m", b"{}"))) == 1
    assert loopback.connections == 1


# --- async ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_truncation_in_stream_exception_and_sticky_errors(loopback: Loopback) -> None:
    loopback.add(
        Reply.stream(json_chunk({"n": 1}), json_chunk({"n": 2})[:25]),
        Reply.stream(json_chunk({"n": 1}), exception_frame("throttlingException", {"message": "slow"})),
        Reply.stream(json_chunk({"n": 1}), json_chunk({"n": 2})[:25], drop=True),
    )
    async with make_async_client(loopback) as bedrock:
        for expected in (client.StreamError, client.ThrottlingException, client.StreamError):
            stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
            got: list[Any] = []
            async with stream:
                with pytest.raises(expected) as info:
                    async for event in stream:
                        got.append(event.json())
                assert got == [{"n": 1}]
                with pytest.raises(expected) as again:
                    await stream.__anext__()
                assert again.value is info.value


@pytest.mark.anyio
async def test_async_leaving_early_closes_the_connection(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2})))
    try:
        async with make_async_client(loopback) as bedrock:
            stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
            async with stream:
                async for _event in stream:
                    break
            closed = await anyio.to_thread.run_sync(loopback.wait_closed)
            assert closed
            with pytest.raises(client.StreamError, match="closed"):
                await stream.__anext__()
    finally:
        gate.set()


@pytest.mark.anyio
async def test_async_stall_past_read_timeout(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate))
    try:
        async with make_async_client(loopback, timeout=httpx.Timeout(WAIT, read=0.3)) as bedrock:
            stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
            async with stream:
                assert (await stream.__anext__()).json() == {"n": 1}
                with pytest.raises(client.StreamError, match="stalled"):
                    await stream.__anext__()
    finally:
        gate.set()


# --- unusual but survivable --------------------------------------------------------------------------------


def test_a_compressed_stream_and_error_body_are_decompressed(loopback: Loopback) -> None:
    import gzip

    frames = [json_chunk({"n": i}) for i in range(3)]
    loopback.add(
        Reply(
            headers=[("Content-Type", EVENTSTREAM), ("Content-Encoding", "gzip")],
            parts=[gzip.compress(b"".join(frames))],
        ),
        Reply(
            status=400,
            headers=[("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            parts=[gzip.compress(b'{"__type": "ValidationException", "message": "zipped"}')],
            chunked=False,
        ),
    )
    with make_client(loopback) as bedrock:
        assert [e.json() for e in bedrock.invoke_model_with_response_stream("m", b"{}")] == [
            {"n": i} for i in range(3)
        ]
        with pytest.raises(client.ValidationException, match="zipped"):
            bedrock.invoke_model_with_response_stream("m", b"{}")


def test_an_interrupted_stream_never_reads_as_a_clean_end(loopback: Loopback) -> None:
    class Flaky:
        calls = 0

        def load(self) -> Credentials:
            Flaky.calls += 1
            if Flaky.calls > 1:
                raise RuntimeError("the credential source went away")
            return CREDS

    loopback.add(Reply.stream(exception_frame("throttlingException", {"message": "slow"})))
    bedrock = client.BedrockRuntimeClient(
        "us-east-1", credentials=Flaky(), endpoint_url=loopback.url, timeout=WAIT
    )
    bedrock._config = dataclasses.replace(bedrock._config, backoff=client.retry.Backoff(base=0.0))
    with bedrock, bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
        # The in-stream throttle triggers a retry, whose signing fails with a foreign exception...
        with pytest.raises(RuntimeError, match="went away"):
            next(stream)
        # ...after which the stream is over, and says why instead of ending quietly.
        with pytest.raises(client.StreamError, match="interrupted by RuntimeError") as info:
            next(stream)
        assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.anyio
async def test_async_cancelled_read_leaves_a_stream_that_says_so(loopback: Loopback) -> None:
    gate = threading.Event()
    loopback.add(Reply.stream(json_chunk({"n": 1}), gate, json_chunk({"n": 2})))
    try:
        async with make_async_client(loopback) as bedrock:
            stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
            async with stream:
                assert (await stream.__anext__()).json() == {"n": 1}
                with anyio.move_on_after(0.2) as scope:
                    await stream.__anext__()
                assert scope.cancelled_caught
                with pytest.raises(client.StreamError, match="interrupted"):
                    await stream.__anext__()
    finally:
        gate.set()
