"""The emulator as a server: what it streams, how it validates, determinism, concurrency and shutdown.

Everything talks to a real socket on 127.0.0.1 with plain httpx (or a raw socket where the HTTP framing
itself is under test), signing with our signer and the example keys the emulator accepts by default.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
from eventstream import Decoder, Message
from sigv4 import Credentials
from sigv4.signer import sign_request

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
CLAUDE_PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
EXAMPLE = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
TIMEOUT = httpx.Timeout(10.0)
NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def claude_body(prompt: str = "Hello there, emulator", max_tokens: int = 64) -> bytes:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}],
        }
    ).encode()


def signed_headers(
    url: str, body: bytes, extra: dict[str, str] | None = None, *, region: str = "us-east-1"
) -> list[tuple[str, str]]:
    headers = {"Content-Type": "application/json", **(extra or {})}
    return list(
        sign_request(
            "POST", url, headers, body, credentials=EXAMPLE, region=region, service="bedrock"
        ).headers
    )


def post(
    emu: Emulator, body: bytes, path: str = CLAUDE_PATH, extra: dict[str, str] | None = None
) -> httpx.Response:
    url = emu.url + path
    return httpx.post(url, headers=signed_headers(url, body, extra), content=body, timeout=TIMEOUT)


def frames_of(data: bytes) -> list[Message]:
    decoder = Decoder()
    messages = decoder.feed(data)
    decoder.close()
    return messages


def model_events(data: bytes) -> list[dict[str, Any]]:
    events = []
    for message in frames_of(data):
        payload = json.loads(message.payload)
        events.append(json.loads(base64.b64decode(payload["bytes"])))
    return events


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def raw_exchange(emu: Emulator, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection (the request asks it to)."""
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(request)
        parts = []
        while chunk := sock.recv(65536):
            parts.append(chunk)
    return b"".join(parts)


def signed_raw_request(emu: Emulator, body: bytes) -> bytes:
    url = emu.url + CLAUDE_PATH
    lines = [f"POST {CLAUDE_PATH} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in signed_headers(url, body)]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def split_http(response: bytes) -> tuple[bytes, list[bytes]]:
    """The head and the chunks of a chunked HTTP/1.1 response (checking the chunked framing strictly)."""
    head, sep, rest = response.partition(b"\r\n\r\n")
    assert sep, "no end of head"
    chunks: list[bytes] = []
    while True:
        size_line, crlf, rest = rest.partition(b"\r\n")
        assert crlf, "no chunk size line"
        size = int(size_line, 16)
        if size == 0:
            assert rest == b"\r\n", f"bytes after the last chunk: {rest[:40]!r}"
            return head, chunks
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]


# --- the stream ---


def test_streams_chunk_events_with_the_service_headers(emu: Emulator) -> None:
    response = post(emu, claude_body(), extra={"X-Amzn-Bedrock-Service-Tier": "flex"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert response.headers["x-amzn-bedrock-content-type"] == "application/json"
    assert response.headers["x-amzn-bedrock-performanceconfig-latency"] == "standard"
    assert response.headers["x-amzn-bedrock-service-tier"] == "flex"
    assert response.headers["transfer-encoding"] == "chunked"
    request_id = response.headers["x-amzn-requestid"]
    assert len(request_id) == 36

    messages = frames_of(response.content)
    assert len(messages) >= 5
    for message in messages:
        assert dict(message.headers) == {
            ":event-type": "chunk",
            ":content-type": "application/json",
            ":message-type": "event",
        }
        payload = json.loads(message.payload)
        assert set(payload) == {"bytes", "p"}
        assert "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".startswith(payload["p"])
        assert payload["p"]
    events = model_events(response.content)
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"
    assert set(events[-1]["amazon-bedrock-invocationMetrics"]) >= {"inputTokenCount", "outputTokenCount"}
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert "Hello there, emulator" in text

    (seen,) = emu.requests
    assert seen.method == "POST"
    assert seen.path == CLAUDE_PATH
    assert seen.model_id == CLAUDE
    assert seen.status == 200
    assert seen.request_id == request_id
    assert seen.body == claude_body()
    assert seen.header("content-type") == "application/json"
    assert seen.error is None


def test_latency_header_is_echoed(emu: Emulator) -> None:
    response = post(emu, claude_body(), extra={"X-Amzn-Bedrock-PerformanceConfig-Latency": "optimized"})
    assert response.status_code == 200
    assert response.headers["x-amzn-bedrock-performanceconfig-latency"] == "optimized"
    assert "x-amzn-bedrock-service-tier" not in response.headers


def test_one_frame_per_http_chunk(emu: Emulator) -> None:
    response = raw_exchange(emu, signed_raw_request(emu, claude_body()))
    head, chunks = split_http(response)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(chunks) > 5
    for piece in chunks:
        (message,) = frames_of(piece)  # exactly one complete frame in each HTTP chunk
        assert message.headers[":event-type"] == "chunk"


def test_http_chunk_size_rechunks_the_same_bytes() -> None:
    with Emulator() as emu:
        whole = post(emu, claude_body()).content
    with Emulator(http_chunk_size=7) as emu:
        _, chunks = split_http(raw_exchange(emu, signed_raw_request(emu, claude_body())))
    assert all(len(piece) == 7 for piece in chunks[:-1])
    assert 1 <= len(chunks[-1]) <= 7
    assert b"".join(chunks) == whole


def test_same_request_gives_byte_identical_frames(emu: Emulator) -> None:
    first = post(emu, claude_body()).content
    second = post(emu, claude_body()).content
    assert first == second
    other = post(emu, claude_body("A different question")).content
    assert other != first
    with Emulator() as another:
        assert post(another, claude_body()).content == first
    ids = [r.request_id for r in emu.requests]
    assert len(set(ids)) == 3  # request ids differ per request even when the answer does not


def test_chunk_count_option_sets_the_number_of_text_chunks() -> None:
    with Emulator(chunk_count=40) as emu:
        events = model_events(post(emu, claude_body()).content)
    deltas = [e for e in events if e["type"] == "content_block_delta"]
    assert len(deltas) == 40


def test_pace_spaces_the_frames() -> None:
    with Emulator(pace=0.05, chunk_count=4) as emu:
        url = emu.url + CLAUDE_PATH
        body = claude_body()
        arrivals = []
        with httpx.stream("POST", url, headers=signed_headers(url, body), content=body, timeout=TIMEOUT) as r:
            for _ in r.iter_raw():
                arrivals.append(time.monotonic())
    # 9 frames for 4 text chunks (start, block start, 4 deltas, block stop, delta, stop): 8 gaps of 50 ms.
    assert arrivals[-1] - arrivals[0] >= 8 * 0.05 * 0.9


def test_every_family_streams_its_own_format(emu: Emulator) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "amazon.nova-lite-v1:0",
            {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
            "messageStart",
        ),
        ("amazon.titan-text-express-v1", {"inputText": "hi"}, "outputText"),
        ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi"}, "generation"),
        ("mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] hi [/INST]"}, "outputs"),
        ("cohere.command-r-v1:0", {"message": "hi"}, "event_type"),
    ]
    for model_id, body, marker in cases:
        path = f"/model/{model_id.replace(':', '%3A')}/invoke-with-response-stream"
        response = post(emu, json.dumps(body).encode(), path)
        assert response.status_code == 200, (model_id, response.text)
        events = model_events(response.content)
        assert marker in events[0], (model_id, events[0])
        assert "amazon-bedrock-invocationMetrics" in events[-1]


# --- validation, as the service does it ---


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error_type = response.headers["x-amzn-errortype"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amzn-requestid"]
    return response.status_code, error_type.split(":", 1)[0], response.json()["message"]


def test_unknown_model_is_404(emu: Emulator) -> None:
    response = post(emu, claude_body(), "/model/anthropic.claude-99/invoke-with-response-stream")
    status, name, message = error_of(response)
    assert (status, name) == (404, "ResourceNotFoundException")
    assert response.headers["x-amzn-errortype"] == f"ResourceNotFoundException:{NS}"
    assert "model identifier" in message
    assert emu.requests[0].error == "ResourceNotFoundException"


def test_unknown_path_and_method_are_404(emu: Emulator) -> None:
    status, name, _ = error_of(post(emu, claude_body(), "/model/x/invoke-with-something"))
    assert (status, name) == (404, "UnknownOperationException")
    url = emu.url + CLAUDE_PATH
    headers = list(
        sign_request("GET", url, {}, b"", credentials=EXAMPLE, region="us-east-1", service="bedrock").headers
    )
    status, name, _ = error_of(httpx.get(url, headers=headers, timeout=TIMEOUT))
    assert (status, name) == (404, "UnknownOperationException")


def test_malformed_body_is_400(emu: Emulator) -> None:
    status, name, message = error_of(post(emu, b'{"anthropic_version": "bedrock-2023-05-31", '))
    assert (status, name) == (400, "ValidationException")
    assert message
    status, name, message = error_of(
        post(emu, json.dumps({"anthropic_version": "bedrock-2023-05-31"}).encode())
    )
    assert (status, name) == (400, "ValidationException")
    assert "max_tokens" in message or "messages" in message


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({"X-Amzn-Bedrock-GuardrailIdentifier": "gr-123"}, "Guardrail version must be provided"),
        ({"X-Amzn-Bedrock-GuardrailVersion": "1"}, "Guardrail identifier must be provided"),
        (
            {"X-Amzn-Bedrock-GuardrailIdentifier": "gr1", "X-Amzn-Bedrock-GuardrailVersion": "v1"},
            "guardrailVersion",
        ),
        ({"X-Amzn-Bedrock-Trace": "ON"}, "Value 'ON' at 'trace'"),
        ({"X-Amzn-Bedrock-PerformanceConfig-Latency": "fast"}, "performanceConfigLatency"),
        ({"X-Amzn-Bedrock-Service-Tier": "gold"}, "serviceTier"),
        ({"Content-Type": "text/plain"}, "Content-Type"),
    ],
)
def test_bad_headers_are_400(emu: Emulator, headers: dict[str, str], needle: str) -> None:
    status, name, message = error_of(post(emu, claude_body(), extra=headers))
    assert (status, name) == (400, "ValidationException")
    assert needle in message


def test_another_accept_is_refused_only_when_strict(emu: Emulator) -> None:
    assert post(emu, claude_body(), extra={"X-Amzn-Bedrock-Accept": "text/plain"}).status_code == 200
    with Emulator(strict=True) as strict:
        status, name, message = error_of(
            post(strict, claude_body(), extra={"X-Amzn-Bedrock-Accept": "text/plain"})
        )
    assert (status, name) == (400, "ValidationException")
    assert "Accept" in message


def test_valid_optional_headers_are_accepted(emu: Emulator) -> None:
    extra = {
        "X-Amzn-Bedrock-GuardrailIdentifier": "gr1",
        "X-Amzn-Bedrock-GuardrailVersion": "DRAFT",
        "X-Amzn-Bedrock-Trace": "ENABLED_FULL",
        "X-Amzn-Bedrock-Accept": "*/*",
    }
    assert post(emu, claude_body(), extra=extra).status_code == 200


def test_missing_content_type_means_json_like_botocore_sends_it(emu: Emulator) -> None:
    url = emu.url + CLAUDE_PATH
    body = claude_body()
    headers = sign_request("POST", url, {}, body, credentials=EXAMPLE, region="us-east-1", service="bedrock")
    response = httpx.post(url, headers=list(headers.headers), content=body, timeout=TIMEOUT)
    assert response.status_code == 200


def test_model_id_too_long_is_400(emu: Emulator) -> None:
    status, name, message = error_of(
        post(emu, claude_body(), f"/model/{'a' * 2049}/invoke-with-response-stream")
    )
    assert (status, name) == (400, "ValidationException")
    assert "2048" in message


def test_arn_model_ids_resolve(emu: Emulator) -> None:
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE}"
    path = "/model/" + arn.replace(":", "%3A").replace("/", "%2F") + "/invoke-with-response-stream"
    response = post(emu, claude_body(), path)
    assert response.status_code == 200, response.text
    assert emu.requests[-1].model_id == arn


def test_chunked_request_body_is_read(emu: Emulator) -> None:
    url = emu.url + CLAUDE_PATH
    body = claude_body()
    headers = [(k, v) for k, v in signed_headers(url, body) if k.lower() != "content-length"]
    response = httpx.post(url, headers=headers, content=iter([body[:10], body[10:]]), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert emu.requests[-1].header("transfer-encoding") == "chunked"
    assert emu.requests[-1].body == body


def test_malformed_http_gets_400_and_a_closed_connection(emu: Emulator) -> None:
    response = raw_exchange(emu, b"THIS IS NOT HTTP\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"malformed request line" in response
    response = raw_exchange(emu, b"POST / HTTP/2.0\r\nHost: x\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 505 ")


def test_oversized_body_is_refused_without_reading_it(emu: Emulator) -> None:
    response = raw_exchange(
        emu, f"POST {CLAUDE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 25000001\r\n\r\n".encode()
    )
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"25000000" in response


def test_keep_alive_serves_several_requests_on_one_connection(emu: Emulator) -> None:
    body = claude_body()
    url = emu.url + CLAUDE_PATH
    one = signed_raw_request(emu, body).replace(b"Connection: close\r\n", b"")
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(one)
        sock.sendall(one.replace(b"POST", b"POST", 1))
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert len(emu.requests) == 2
    assert url.startswith("http://127.0.0.1:")


# --- lifecycle and load ---


def emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bedrock-stream-emulator"]


def test_close_is_bounded_with_a_stalled_stream_and_leaves_no_thread() -> None:
    before = len(emulator_threads())
    emu = Emulator(pace=30.0).start()
    url = emu.url + CLAUDE_PATH
    body = claude_body()
    errors: list[BaseException] = []
    received: list[bytes] = []

    def reader() -> None:
        try:
            with httpx.stream(
                "POST", url, headers=signed_headers(url, body), content=body, timeout=TIMEOUT
            ) as r:
                for piece in r.iter_raw():
                    received.append(piece)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    assert received, "the first frame never arrived"
    started = time.monotonic()
    emu.close()
    assert time.monotonic() - started < 5
    thread.join(10)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], httpx.RemoteProtocolError)  # cut, not a clean end
    assert len(emulator_threads()) == before
    emu.close()  # idempotent


def test_url_before_start_is_an_error() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not listening"):
        _ = emu.url
    assert "not started" in repr(emu)


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="pace"):
        Emulator(pace=-1)
    with pytest.raises(ValueError, match="chunk_count"):
        Emulator(chunk_count=0)
    with pytest.raises(ValueError, match="http_chunk_size"):
        Emulator(http_chunk_size=0)


def test_port_in_use_is_a_clear_error(emu: Emulator) -> None:
    with pytest.raises(OSError, match="could not listen"):
        Emulator(port=emu.port).start()


def test_two_hundred_concurrent_streams() -> None:
    async def run(url: str) -> list[bytes]:
        body = claude_body()
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), limits=limits) as http:

            async def one() -> bytes:
                headers = signed_headers(url, body)
                async with http.stream("POST", url, headers=headers, content=body) as response:
                    assert response.status_code == 200
                    return b"".join([piece async for piece in response.aiter_raw()])

            return await asyncio.gather(*(one() for _ in range(200)))

    with Emulator(pace=0.01, chunk_count=20) as emu:
        results = asyncio.run(asyncio.wait_for(run(emu.url + CLAUDE_PATH), 60))
        assert len(emu.requests) == 200
    assert len(set(results)) == 1
    assert len(frames_of(results[0])) == 25


def test_received_at_shows_the_gaps_between_requests(emu: Emulator) -> None:
    post(emu, claude_body())
    time.sleep(0.2)
    post(emu, claude_body())
    first, second = emu.requests
    assert second.received_at - first.received_at >= 0.2
    assert first.received_at <= time.monotonic()


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def test_a_client_closing_a_paced_stream_early_is_noticed_at_once() -> None:
    with Emulator(pace=10.0) as emu:
        url = emu.url + CLAUDE_PATH
        body = claude_body()
        with httpx.stream("POST", url, headers=signed_headers(url, body), content=body, timeout=TIMEOUT) as r:
            pieces = r.iter_raw()  # kept: dropping the generator would close the response
            next(pieces)
            time.sleep(0.2)
            assert emu.open_connections == 1
        # Closed long before the next frame was due (10 s away).
        assert wait_until(lambda: emu.open_connections == 0, 2.0)


def test_connections_are_reused_with_keep_alive(emu: Emulator) -> None:
    url = emu.url + CLAUDE_PATH
    body = claude_body()
    with httpx.Client(timeout=TIMEOUT) as http:
        for _ in range(3):
            assert http.post(url, headers=signed_headers(url, body), content=body).status_code == 200
        assert emu.connections_accepted == 1
        assert emu.open_connections == 1
    assert wait_until(lambda: emu.open_connections == 0)
