"""The behaviours a mutation sample found unpinned (issue 12): each test here fails when its one-line bug is
planted, where the rest of the suite did not notice."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import anyio
import httpx
import pytest

import client
from eventstream import Headers, HeaderType, Int32, Int64
from sigv4.providers import default_chain
from sigv4.providers import instance_metadata as imds
from test_client_helpers import WAIT, Loopback, Reply, json_chunk, loopback
from test_client_stream import CREDS, make_client

__all__ = ["loopback"]


def test_int32_bounds_keep_the_int32_wire_type() -> None:
    for value in (2**31 - 1, -(2**31)):
        headers = Headers({"n": value})
        assert headers.wire_type("n") is HeaderType.INTEGER
        assert headers["n"] == Int32(value)
    for value in (2**31, -(2**31) - 1):
        assert Headers({"n": value}).wire_type("n") is HeaderType.LONG
        assert Headers({"n": value})["n"] == Int64(value)


class _ContainerCredentials(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {
                "AccessKeyId": "AKIDCONTAINER",
                "SecretAccessKey": "container-secret",
                "Token": "container-token",
                "Expiration": "2099-01-01T00:00:00Z",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def container_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _ContainerCredentials)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/creds"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


@pytest.mark.parametrize("how", ["env", "argument"])
def test_default_profile_without_shared_files_falls_through_to_the_container(
    monkeypatch: pytest.MonkeyPatch, container_endpoint: str, how: str
) -> None:
    assert not (Path.home() / ".aws").exists()
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", container_endpoint)
    if how == "env":
        monkeypatch.setenv("AWS_PROFILE", "default")
        chain = default_chain()
    else:
        chain = default_chain(profile="default")
    assert chain.load().access_key_id == "AKIDCONTAINER"


def test_instance_metadata_timeout_defaults_to_one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def fake_fetch(endpoint: str, timeout: float) -> object:
        seen.append(timeout)
        raise OSError("no metadata service here")

    monkeypatch.setattr(imds, "_fetch_once", fake_fetch)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(Exception):
        imds.InstanceMetadataProvider(attempts=1).load()
    assert seen == [1.0]
    seen.clear()
    monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "2.5")
    with pytest.raises(Exception):
        imds.InstanceMetadataProvider(attempts=1).load()
    assert seen == [2.5]


def test_a_bare_500_without_an_error_type_is_retried(loopback: Loopback) -> None:
    loopback.add(
        Reply(status=500, headers=[("Content-Type", "text/plain")], parts=[b"oops"], chunked=False),
        Reply.stream(json_chunk({"ok": True})),
    )
    with make_client(loopback) as bedrock:
        bedrock._config = dataclasses.replace(
            bedrock._config, backoff=client.retry.Backoff(base=0.0)
        )
        with bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
            assert [c.json() for c in stream] == [{"ok": True}]
            assert stream.retry_attempts == 1
    assert len(loopback.requests) == 2


def _seen_timeouts(handler_log: list[dict[str, float | None]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        handler_log.append(dict(request.extensions["timeout"]))
        return httpx.Response(
            200,
            headers={"content-type": "application/vnd.amazon.eventstream"},
            content=json_chunk({"ok": 1}),
        )

    return httpx.MockTransport(handler)


def test_explicit_timeout_wins_over_the_given_http_clients(loopback: Loopback) -> None:
    log: list[dict[str, float | None]] = []
    http = httpx.Client(timeout=3, transport=_seen_timeouts(log))
    with client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url="http://127.0.0.1:1", http_client=http, timeout=7.5
    ) as bedrock:
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    with client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url="http://127.0.0.1:1", http_client=http
    ) as bedrock:
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert [entry["read"] for entry in log] == [7.5, 3.0]

    async_log: list[dict[str, float | None]] = []

    async def main() -> None:
        async with (
            httpx.AsyncClient(timeout=3, transport=_seen_timeouts(async_log)) as ahttp,
            client.AsyncBedrockRuntimeClient(
                "us-east-1",
                credentials=CREDS,
                endpoint_url="http://127.0.0.1:1",
                http_client=ahttp,
                timeout=7.5,
            ) as bedrock,
        ):
            stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
            async with stream:
                _ = [c async for c in stream]

    anyio.run(main)
    assert [entry["read"] for entry in async_log] == [7.5]


def test_media_type_of_the_stream_is_case_insensitive(loopback: Loopback) -> None:
    loopback.add(
        Reply(
            headers=[("Content-Type", "Application/VND.Amazon.EventStream; charset=x")],
            parts=[json_chunk({"ok": True})],
        )
    )
    with make_client(loopback) as bedrock, bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
        assert [c.json() for c in stream] == [{"ok": True}]


class _Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An error body that never ends; counts what the client pulled from the transport."""

    def __init__(self) -> None:
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.pulled < 50_000_000:  # bounded, so a regression fails instead of hanging
            self.pulled += 16384
            yield b"x" * 16384

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece


def test_an_endless_error_body_is_read_only_to_64_kib() -> None:
    body = _Endless()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, headers={"content-type": "text/plain"}, stream=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        client.BedrockRuntimeClient(
            "us-east-1", credentials=CREDS, endpoint_url="http://127.0.0.1:1", http_client=http
        ) as bedrock,
        pytest.raises(client.BedrockRuntimeError) as caught,
    ):
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert caught.value.status_code == 400
    assert body.pulled <= 64 * 1024 + 16384

    async_body = _Endless()

    async def ahandler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, headers={"content-type": "text/plain"}, stream=async_body)

    async def main() -> None:
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(ahandler)) as ahttp,
            client.AsyncBedrockRuntimeClient(
                "us-east-1", credentials=CREDS, endpoint_url="http://127.0.0.1:1", http_client=ahttp
            ) as abedrock,
        ):
            with pytest.raises(client.BedrockRuntimeError):
                await abedrock.invoke_model_with_response_stream("m", b"{}")

    anyio.run(main)
    assert async_body.pulled <= 64 * 1024 + 16384
