"""The emulator as a testing kit: start-up errors, no-auth mode, replay of recorded streams, environment."""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from client.emulator import (
    EXAMPLE_ACCESS_KEY_ID,
    EXAMPLE_SECRET_ACCESS_KEY,
    Emulator,
    EmulatorStartError,
    Fault,
    FaultKind,
    RecordingError,
    read_recording,
)
from client.operations import CONVERSE_STREAM, INVOKE_MODEL_WITH_RESPONSE_STREAM
from eventstream import DecodeError, Decoder, Message, encode
from sigv4 import Credentials
from sigv4.signer import sign_request

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "hi"}],
}
REGION = "us-east-1"


def frames(*payloads: bytes) -> bytes:
    return b"".join(
        encode(
            Message(
                {":event-type": "chunk", ":message-type": "event", ":content-type": "application/json"}, p
            )
        )
        for p in payloads
    )


def signed_post(
    emu: Emulator, path: str, document: Any, extra: dict[str, str] | None = None
) -> httpx.Response:
    body = json.dumps(document).encode()
    url = emu.url + path
    headers = {"Content-Type": "application/json", **(extra or {})}
    credentials = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    request = sign_request(
        "POST", url, headers, body, credentials=credentials, region=REGION, service="bedrock"
    )
    return httpx.post(url, headers=list(request.headers), content=body, timeout=10)


# --- start-up failures: typed, at once, no thread left behind ---


def _emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bedrock-stream-emulator"]


@pytest.mark.parametrize("port", [99999, -1])
def test_a_port_out_of_range_fails_at_once(port: int) -> None:
    before = len(_emulator_threads())
    started = time.monotonic()
    with pytest.raises(EmulatorStartError, match="0 to 65535"):
        Emulator(port=port).start()
    assert time.monotonic() - started < 1.0
    assert len(_emulator_threads()) == before


def test_a_busy_port_fails_at_once_without_warnings() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "coroutine was never awaited" would fail here
            started = time.monotonic()
            with pytest.raises(EmulatorStartError, match=f"could not listen on 127.0.0.1:{port}") as caught:
                Emulator(port=port).start()
            assert time.monotonic() - started < 1.0
    assert isinstance(caught.value, OSError)
    assert "\n" not in str(caught.value)


def test_an_unknown_host_fails_at_once() -> None:
    with pytest.raises(EmulatorStartError, match="unknown host"):
        Emulator(host="no such host.invalid").start()


# --- no authentication at all ---


def test_auth_false_serves_a_client_without_credentials() -> None:
    with Emulator(auth=False) as emu:
        unsigned = boto3.client(
            "bedrock-runtime",
            region_name=REGION,
            endpoint_url=emu.url,
            config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
        )
        answer = unsigned.converse(modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        assert answer["stopReason"] == "end_turn"
        plain = httpx.post(emu.url + INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), json=BODY, timeout=10)
        assert plain.status_code == 200
        # Keys nobody configured are not checked either.
        wrong = sign_request(
            "POST",
            emu.url + "/model/x/invoke",
            {},
            b"{}",
            credentials=Credentials("AKIDWRONG", "nope"),
            region="eu-west-1",
            service="bedrock",
        )
        response = httpx.post(
            emu.url + "/model/x/invoke", headers=list(wrong.headers), content=b"{}", timeout=10
        )
        assert response.status_code == 404  # past authentication: the model is unknown
        assert {record.auth for record in emu.requests} == {"anonymous"}


def test_with_auth_unsigned_requests_are_refused() -> None:
    with Emulator() as emu:
        response = httpx.post(emu.url + INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), json=BODY, timeout=10)
        assert response.status_code == 403


# --- replay ---


def test_replay_answers_every_stream_request_byte_for_byte(tmp_path: Path) -> None:
    recorded = frames(b'{"bytes":"eyJhIjoxfQ=="}', b'{"bytes":"eyJiIjoyfQ=="}')
    path = tmp_path / "capture.bin"
    path.write_bytes(recorded)
    with Emulator(replay=path) as emu:
        first = signed_post(emu, INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), BODY)
        converse = signed_post(
            emu, CONVERSE_STREAM.path(CLAUDE), {"messages": [{"role": "user", "content": [{"text": "x"}]}]}
        )
        assert first.content == converse.content == recorded
        assert first.headers["content-type"] == "application/vnd.amazon.eventstream"
        # Validation still applies: a request the service refuses is refused.
        assert (
            signed_post(emu, INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), {"max_tokens": 1}).status_code
            == 400
        )


def test_replay_keeps_a_broken_tail_and_faults_apply() -> None:
    good = frames(b"{}", b"{}", b"{}")
    recorded = good + good[:10]  # cut in the middle of a fourth frame
    with Emulator(replay=recorded) as emu:
        assert signed_post(emu, INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), BODY).content == recorded
        emu.inject(Fault(FaultKind.EXCEPTION, name="throttlingException", after=1))
        faulted = signed_post(emu, INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), BODY).content
    messages = Decoder().feed(faulted)
    assert messages[0].payload == b"{}"
    assert messages[1].headers[":exception-type"] == "throttlingException"


def test_replay_reads_a_raw_http_capture() -> None:
    body = frames(b'{"n":1}', b'{"n":2}')
    chunked = b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in (body[:30], body[30:])) + b"0\r\n\r\n"
    capture = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/vnd.amazon.eventstream\r\n\r\n"
    )
    recording = read_recording(capture + chunked)
    assert b"".join(recording.pieces) == body
    assert recording.event_types == ("chunk", "chunk")


def test_an_empty_recording_is_refused_at_once() -> None:
    with pytest.raises(RecordingError, match="empty"):
        Emulator(replay=b"")


def test_replayed_bad_crc_stays_bad() -> None:
    good = frames(b"{}")
    broken = good[:-1] + bytes([good[-1] ^ 1])
    with Emulator(replay=broken) as emu:
        data = signed_post(emu, INVOKE_MODEL_WITH_RESPONSE_STREAM.path(CLAUDE), BODY).content
    assert data == broken
    with pytest.raises(DecodeError):
        Decoder().feed(data)


# --- environment ---


def test_environment_points_boto3_at_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator() as emu:
        for name, value in emu.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        bedrock = boto3.client("bedrock-runtime")
        answer = bedrock.converse(modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        assert answer["stopReason"] == "end_turn"
    with Emulator(credentials={"AKIDOTHER": "secret"}) as other:
        assert "AWS_SECRET_ACCESS_KEY" not in other.environment()
