"""BedrockRuntimeClient / AsyncBedrockRuntimeClient: wire format, authentication, configuration, errors before
the stream, retries, clock skew, timeouts and sharing one client. All on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import client
from sigv4 import Credentials
from test_client_helpers import WAIT, Loopback, Reply, exception_frame, json_chunk, loopback
from test_client_stream import CREDS, make_async_client, make_client

__all__ = ["loopback"]

ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record backoff sleeps instead of sleeping (the schedule itself is tested in test_client_units)."""
    slept: list[float] = []
    monkeypatch.setattr(client.runtime, "_sleep", slept.append)
    return slept


# --- the request on the wire ------------------------------------------------------------------------------


def test_request_line_headers_body_and_sigv4(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({})))
    with make_client(loopback) as bedrock:
        stream = bedrock.invoke_model_with_response_stream(
            ARN,
            {"prompt": "hi"},
            trace="ENABLED",
            guardrail_identifier="gr1",
            guardrail_version="3",
            performance_config_latency="optimized",
            service_tier="priority",
        )
        list(stream)
    (req,) = loopback.requests
    assert req.method == "POST"
    assert req.target == (
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
        "us.anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
    )
    assert json.loads(req.body) == {"prompt": "hi"}
    h = req.headers
    assert h["content-type"] == "application/json" and h["x-amzn-bedrock-accept"] == "application/json"
    assert h["x-amzn-bedrock-trace"] == "ENABLED"
    assert (h["x-amzn-bedrock-guardrailidentifier"], h["x-amzn-bedrock-guardrailversion"]) == ("gr1", "3")
    assert h["x-amzn-bedrock-performanceconfig-latency"] == "optimized"
    assert h["x-amzn-bedrock-service-tier"] == "priority"
    assert h["accept-encoding"] == "identity"
    date = datetime.now(timezone.utc).strftime("%Y%m%d")
    assert h["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{date}/us-east-1/bedrock/aws4_request"
    )
    assert "x-amz-date" in h and "x-amz-security-token" not in h


def test_session_token_is_sent(loopback: Loopback) -> None:
    loopback.add(Reply.stream())
    creds = Credentials("AKID", "secret", session_token="TOKEN123")
    with client.BedrockRuntimeClient("eu-west-1", credentials=creds, endpoint_url=loopback.url) as bedrock:
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    h = loopback.requests[0].headers
    assert h["x-amz-security-token"] == "TOKEN123" and "/eu-west-1/bedrock/" in h["authorization"]


def test_explicit_bearer_token_replaces_sigv4(loopback: Loopback) -> None:
    loopback.add(Reply.stream())
    with client.BedrockRuntimeClient(
        bearer_token="bedrock-api-key-abc", endpoint_url=loopback.url
    ) as bedrock:
        assert bedrock.region is None  # a bearer token with an explicit endpoint needs no region
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    h = loopback.requests[0].headers
    assert h["authorization"] == "Bearer bedrock-api-key-abc"
    assert "x-amz-date" not in h and "x-amz-security-token" not in h


def test_environment_bearer_token_unless_credentials_are_explicit(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "env-key")
    loopback.add(Reply.stream(), Reply.stream())
    with client.BedrockRuntimeClient("us-east-1", endpoint_url=loopback.url) as bedrock:
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    with make_client(loopback) as bedrock:
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert loopback.requests[0].headers["authorization"] == "Bearer env-key"
    assert loopback.requests[1].headers["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_credentials_and_bearer_token_together_are_refused() -> None:
    with pytest.raises(client.ParamValidationError, match="not both"):
        client.BedrockRuntimeClient("us-east-1", credentials=CREDS, bearer_token="k")
    with pytest.raises(client.ParamValidationError, match="credentials must be"):
        client.BedrockRuntimeClient("us-east-1", credentials="AKID:secret")  # type: ignore[arg-type]


def test_default_credential_chain_is_resolved_lazily(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    bedrock = client.BedrockRuntimeClient(
        "us-east-1", endpoint_url=loopback.url
    )  # nothing configured yet: fine
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    loopback.add(Reply.stream())
    with bedrock:
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert "Credential=AKIDFROMENV/" in loopback.requests[0].headers["authorization"]


def test_a_credential_provider_is_consulted(loopback: Loopback) -> None:
    calls: list[int] = []

    class Provider:
        def load(self) -> Credentials:
            calls.append(1)
            return Credentials("AKIDPROVIDED", "s")

    loopback.add(Reply.stream(), Reply.stream())
    with client.BedrockRuntimeClient(
        "us-east-1", credentials=Provider(), endpoint_url=loopback.url
    ) as bedrock:
        for _ in range(2):
            list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert len(calls) == 2 and "Credential=AKIDPROVIDED/" in loopback.requests[1].headers["authorization"]


def test_missing_credentials_fail_at_the_first_request_with_the_providers_error(loopback: Loopback) -> None:
    from sigv4.providers import CredentialError
    from sigv4.providers import NoCredentialsError as ProviderNoCredentials

    with (
        client.BedrockRuntimeClient("us-east-1", endpoint_url=loopback.url) as bedrock,
        pytest.raises(CredentialError) as caught,
    ):
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert loopback.requests == []
    # Issue 9: through the client it is the client's typed error, keeping the provider's message and cause.
    assert isinstance(caught.value, client.NoCredentialsError)
    assert isinstance(caught.value, client.BedrockRuntimeError)
    assert isinstance(caught.value.__cause__, ProviderNoCredentials)
    assert "Looked in, in order" in str(caught.value)


@pytest.mark.anyio
async def test_missing_credentials_are_a_client_error_in_the_async_client(loopback: Loopback) -> None:
    async with client.AsyncBedrockRuntimeClient("us-east-1", endpoint_url=loopback.url) as bedrock:
        with pytest.raises(client.NoCredentialsError, match="Looked in, in order"):
            await bedrock.invoke_model_with_response_stream("m", b"{}")
    assert loopback.requests == []


def test_a_malformed_shared_file_is_a_client_credentials_error(loopback: Loopback) -> None:
    config = Path.home() / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[default]\nregion = us-east-1\nthis line is not a setting\n")
    with pytest.raises(client.CredentialsError, match=r"config, line 3"):
        client.BedrockRuntimeClient(endpoint_url=loopback.url)
    with (
        client.BedrockRuntimeClient("us-east-1", endpoint_url=loopback.url) as bedrock,
        pytest.raises(client.CredentialsError, match=r"config, line 3") as caught,
    ):
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert not isinstance(caught.value, client.NoCredentialsError)
    assert loopback.requests == []


def test_region_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert client.BedrockRuntimeClient("ap-south-1", credentials=CREDS).endpoint_url == (
        "https://bedrock-runtime.ap-south-1.amazonaws.com"
    )
    with pytest.raises(client.NoRegionError, match="no AWS region"):
        client.BedrockRuntimeClient(credentials=CREDS)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    resolved = client.BedrockRuntimeClient(credentials=CREDS)
    assert resolved.region == "eu-central-1"
    assert resolved.endpoint_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    monkeypatch.delenv("AWS_REGION")
    config = Path.home() / ".aws" / "config"
    config.parent.mkdir(parents=True)
    config.write_text("[default]\nregion = sa-east-1\n")
    assert client.BedrockRuntimeClient(credentials=CREDS).region == "sa-east-1"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"timeout": -1}, "timeout"),
        ({"endpoint_url": "localhost:8000"}, "endpoint_url"),
        ({"http_client": httpx.AsyncClient()}, "http_client must be an httpx.Client"),
        ({"bearer_token": ""}, "bearer_token"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(client.ParamValidationError, match=fragment):
        client.BedrockRuntimeClient("us-east-1", **kwargs)


def test_invalid_arguments_never_reach_the_network(loopback: Loopback) -> None:
    with make_client(loopback) as bedrock:
        for kwargs in ({"trace": "on"}, {"guardrail_identifier": "g"}, {"service_tier": "gold"}):
            with pytest.raises(client.ParamValidationError):
                bedrock.invoke_model_with_response_stream("m", b"{}", **kwargs)
        with pytest.raises(client.ParamValidationError):
            bedrock.invoke_model_with_response_stream("", b"{}")
    assert loopback.requests == []


# --- errors before the stream ------------------------------------------------------------------------------

DOCUMENTED = [
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ModelTimeoutException", 408),
    ("ModelStreamErrorException", 424),
    ("ModelErrorException", 424),
    ("ValidationException", 400),
    ("ServiceQuotaExceededException", 400),
    ("ThrottlingException", 429),
    ("ModelNotReadyException", 429),
    ("InternalServerException", 500),
    ("ServiceUnavailableException", 503),
]


@pytest.mark.parametrize(("name", "status"), DOCUMENTED)
def test_documented_http_errors_raise_their_class(
    loopback: Loopback, no_sleep: list[float], name: str, status: int
) -> None:
    loopback.default = Reply.error(status, name, f"{name} happened", request_id="rid-9")
    with make_client(loopback, max_attempts=2) as bedrock, pytest.raises(getattr(client, name)) as info:
        bedrock.invoke_model_with_response_stream("m", b"{}")
    err = info.value
    assert (err.status_code, err.request_id, err.message, err.error_code) == (
        status,
        "rid-9",
        f"{name} happened",
        name,
    )
    retryable = name in {"ThrottlingException", "ModelNotReadyException"} or status >= 500
    assert len(loopback.requests) == (2 if retryable else 1)
    assert err.retry_attempts == (1 if retryable else 0)
    assert len(no_sleep) == (1 if retryable else 0)


def test_unknown_error_keeps_the_raw_body(loopback: Loopback) -> None:
    loopback.add(
        Reply(status=418, headers=[("Content-Type", "text/plain")], parts=[b"I am a teapot"], chunked=False)
    )
    with make_client(loopback) as bedrock, pytest.raises(client.BedrockRuntimeError) as info:
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert type(info.value) is client.BedrockRuntimeError
    assert info.value.body == b"I am a teapot" and info.value.status_code == 418
    assert "I am a teapot" in str(info.value)


def test_200_that_is_not_an_event_stream_is_an_error_and_not_decoded(loopback: Loopback) -> None:
    loopback.add(
        Reply(headers=[("Content-Type", "application/json")], parts=[b'{"message": "hello"}'], chunked=False)
    )
    with make_client(loopback) as bedrock, pytest.raises(client.UnexpectedResponseError) as info:
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert info.value.status_code == 200 and info.value.body == b'{"message": "hello"}'
    assert "application/json" in str(info.value)
    assert len(loopback.requests) == 1  # not retried


def test_huge_error_body_is_not_read_whole(loopback: Loopback) -> None:
    loopback.add(Reply(status=400, headers=[("Content-Type", "text/plain")], parts=[b"x" * 4_000_000]))
    with make_client(loopback) as bedrock, pytest.raises(client.BedrockRuntimeError) as info:
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert info.value.body is not None and len(info.value.body) <= 64 * 1024


# --- retries ----------------------------------------------------------------------------------------------


def test_throttling_then_success(loopback: Loopback, no_sleep: list[float]) -> None:
    loopback.add(
        Reply.error(429, "ThrottlingException", "slow"),
        Reply.error(503, "ServiceUnavailableException", "busy"),
        Reply.stream(json_chunk({"ok": True})),
    )
    with make_client(loopback, max_attempts=3) as bedrock:
        stream = bedrock.invoke_model_with_response_stream("m", b"{}")
        assert stream.retry_attempts == 2
        assert [e.json() for e in stream] == [{"ok": True}]
    assert len(no_sleep) == 2
    assert 0 <= no_sleep[0] <= 0.5 and 0 <= no_sleep[1] <= 1.0  # full jitter under 0.5 * 2 ** (n - 1)
    # Every attempt is signed afresh.
    assert all("authorization" in r.headers for r in loopback.requests)


def test_retries_stop_at_max_attempts(loopback: Loopback, no_sleep: list[float]) -> None:
    loopback.default = Reply.error(500, "InternalServerException", "down")
    with (
        make_client(loopback, max_attempts=4) as bedrock,
        pytest.raises(client.InternalServerException) as info,
    ):
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert len(loopback.requests) == 4 and len(no_sleep) == 3
    assert info.value.retry_attempts == 3 and "after 3 retries" in str(info.value)


def test_connection_refused_is_retried_then_typed(no_sleep: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.
    bedrock = client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url=f"http://127.0.0.1:{port}", max_attempts=3, timeout=WAIT
    )
    with bedrock, pytest.raises(client.EndpointConnectionError) as info:
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(no_sleep) == 2 and info.value.retry_attempts == 2
    assert f"127.0.0.1:{port}" in str(info.value)


def test_in_stream_throttling_before_the_first_event_is_retried(
    loopback: Loopback, no_sleep: list[float]
) -> None:
    loopback.add(
        Reply.stream(exception_frame("throttlingException", {"message": "slow"}), request_id="first"),
        Reply.stream(json_chunk({"n": 1}), request_id="second"),
    )
    with make_client(loopback) as bedrock:
        stream = bedrock.invoke_model_with_response_stream("m", b"{}")
        assert stream.request_id == "first"
        assert [e.json() for e in stream] == [{"n": 1}]
        assert stream.request_id == "second" and stream.retry_attempts == 1
    assert len(loopback.requests) == 2 and len(no_sleep) == 1


def test_connection_drop_before_the_first_event_is_retried(loopback: Loopback, no_sleep: list[float]) -> None:
    loopback.add(Reply.stream(json_chunk({"n": 1})[:10], drop=True), Reply.stream(json_chunk({"n": 1})))
    with make_client(loopback) as bedrock:
        assert [e.json() for e in bedrock.invoke_model_with_response_stream("m", b"{}")] == [{"n": 1}]
    assert len(loopback.requests) == 2


def test_nothing_is_retried_after_the_first_event(loopback: Loopback, no_sleep: list[float]) -> None:
    loopback.add(
        Reply.stream(json_chunk({"n": 1}), exception_frame("throttlingException", {"message": "slow"})),
        Reply.stream(json_chunk({"n": 1}), json_chunk({"n": 2})[:10], drop=True),
    )
    with make_client(loopback, max_attempts=5) as bedrock:
        for expected in (client.ThrottlingException, client.StreamError):
            got = []
            with pytest.raises(expected):
                for event in bedrock.invoke_model_with_response_stream("m", b"{}"):
                    got.append(event.json())
            assert got == [{"n": 1}]
    assert len(loopback.requests) == 2 and no_sleep == []


def test_non_retryable_in_stream_error_before_first_event_is_raised(loopback: Loopback) -> None:
    loopback.add(Reply.stream(exception_frame("validationException", {"message": "bad prompt"})))
    with make_client(loopback) as bedrock, pytest.raises(client.ValidationException, match="bad prompt"):
        list(bedrock.invoke_model_with_response_stream("m", b"{}"))
    assert len(loopback.requests) == 1


def test_in_stream_retries_share_the_calls_attempt_budget(loopback: Loopback, no_sleep: list[float]) -> None:
    loopback.add(
        Reply.error(429, "ThrottlingException", "slow"),
        Reply.stream(exception_frame("serviceUnavailableException", {"message": "busy"})),
        Reply.stream(json_chunk({"never": "reached"})),
    )
    with make_client(loopback, max_attempts=2) as bedrock:
        stream = bedrock.invoke_model_with_response_stream("m", b"{}")
        with pytest.raises(client.ServiceUnavailableException) as info:
            list(stream)
    assert len(loopback.requests) == 2 and info.value.retry_attempts == 1


# --- clock skew ------------------------------------------------------------------------------------------


def _skew_reply(server_time: datetime) -> Reply:
    reply = Reply.error(
        403,
        "InvalidSignatureException",
        "Signature expired: 20200101T000000Z is now earlier than 20200101T000500Z "
        "(20200101T001000Z - 5 min.)",
    )
    reply.headers = [*reply.headers, ("Date", format_datetime(server_time, usegmt=True))]
    return reply


def test_signature_expired_is_corrected_from_the_date_header_once(
    loopback: Loopback, no_sleep: list[float]
) -> None:
    server_time = datetime.now(timezone.utc) + timedelta(hours=3)
    loopback.add(
        _skew_reply(server_time), Reply.stream(json_chunk({"n": 1})), Reply.stream(json_chunk({"n": 2}))
    )
    with make_client(loopback, max_attempts=1) as bedrock:
        assert [e.json() for e in bedrock.invoke_model_with_response_stream("m", b"{}")] == [{"n": 1}]
        # The correction sticks for later calls from the same client.
        assert [e.json() for e in bedrock.invoke_model_with_response_stream("m", b"{}")] == [{"n": 2}]
    stamps = [datetime.strptime(r.headers["x-amz-date"], "%Y%m%dT%H%M%SZ") for r in loopback.requests]
    stamps = [s.replace(tzinfo=timezone.utc) for s in stamps]
    assert abs(stamps[1] - server_time) < timedelta(minutes=1)
    assert abs(stamps[2] - server_time) < timedelta(minutes=1)
    assert abs(stamps[0] - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert no_sleep == []


def test_clock_skew_retry_happens_only_once(loopback: Loopback) -> None:
    server_time = datetime.now(timezone.utc) + timedelta(hours=3)
    loopback.add(_skew_reply(server_time), _skew_reply(server_time), Reply.stream())
    with (
        make_client(loopback) as bedrock,
        pytest.raises(client.BedrockRuntimeError, match="Signature expired"),
    ):
        bedrock.invoke_model_with_response_stream("m", b"{}")
    assert len(loopback.requests) == 2


def test_real_signature_check_and_clock_skew_against_the_emulator() -> None:
    emulator = pytest.importorskip("client.emulator")
    creds = Credentials(emulator.EXAMPLE_ACCESS_KEY_ID, emulator.EXAMPLE_SECRET_ACCESS_KEY)
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    with emulator.Emulator(clock_offset=2 * 3600.0) as emu:  # the service's clock is two hours ahead
        with client.BedrockRuntimeClient("us-east-1", credentials=creds, endpoint_url=emu.url) as bedrock:
            events = list(bedrock.invoke_model_with_response_stream(model, body))
        assert events and all(isinstance(e, client.Chunk) for e in events)
        assert len(emu.requests) == 2  # one rejected as expired, one corrected
        wrong = Credentials(emulator.EXAMPLE_ACCESS_KEY_ID, "not-the-secret")
        with (
            client.BedrockRuntimeClient("us-east-1", credentials=wrong, endpoint_url=emu.url) as bedrock,
            pytest.raises(client.BedrockRuntimeError) as info,
        ):
            bedrock.invoke_model_with_response_stream(model, body)
        # Expired first (this client had not learnt the offset yet), then corrected: and then refused for
        # what it is, a signature mismatch, which is not retried.
        assert info.value.status_code == 403 and info.value.retry_attempts == 1
        assert info.value.error_code == "InvalidSignatureException" and "does not match" in info.value.message
        assert len(emu.requests) == 4


# --- timeouts ---------------------------------------------------------------------------------------------


def test_timeout_number_and_httpx_timeout(loopback: Loopback) -> None:
    assert make_client(loopback, timeout=7.5)._config.timeout == httpx.Timeout(7.5)
    custom = httpx.Timeout(connect=1.0, read=120.0, write=5.0, pool=2.0)
    assert make_client(loopback, timeout=custom)._config.timeout is custom
    default = client.BedrockRuntimeClient("us-east-1", credentials=CREDS)._config.timeout
    assert isinstance(default, httpx.Timeout)
    assert (default.connect, default.read) == (10.0, 60.0)


def test_read_timeout_is_per_read_not_total(loopback: Loopback) -> None:
    # Five gaps of 0.15 s: 0.75 s in all, longer than the 0.4 s read timeout, yet no gap exceeds it.
    parts: list[bytes | float | threading.Event] = []
    for i in range(5):
        parts += [0.15, json_chunk({"n": i})]
    loopback.add(Reply.stream(*parts))
    start = time.monotonic()
    with make_client(loopback, timeout=httpx.Timeout(WAIT, read=0.4)) as bedrock:
        assert len(list(bedrock.invoke_model_with_response_stream("m", b"{}"))) == 5
    assert time.monotonic() - start > 0.4


def test_given_http_client_is_used_with_its_timeout_and_not_closed(loopback: Loopback) -> None:
    loopback.add(Reply.stream(json_chunk({})))
    seen: list[httpx.Request] = []
    http = httpx.Client(timeout=3.0, event_hooks={"request": [seen.append]})
    with client.BedrockRuntimeClient(
        "us-east-1", credentials=CREDS, endpoint_url=loopback.url, http_client=http
    ) as b:
        list(b.invoke_model_with_response_stream("m", b"{}"))
    assert len(seen) == 1 and seen[0].extensions["timeout"]["read"] == 3.0
    assert not http.is_closed
    http.close()


# --- sharing one client ------------------------------------------------------------------------------------


def test_one_client_shared_by_threads(loopback: Loopback) -> None:
    loopback.default = Reply.stream(*[json_chunk({"n": i}) for i in range(20)])
    results: list[list[int]] = []
    failures: list[BaseException] = []
    with make_client(loopback) as bedrock:

        def worker() -> None:
            try:
                for _ in range(3):
                    with bedrock.invoke_model_with_response_stream("m", b"{}") as stream:
                        results.append([e.json()["n"] for e in stream])
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 2)
    assert failures == []
    assert results == [list(range(20))] * 24


@pytest.mark.anyio
async def test_one_async_client_shared_by_tasks(loopback: Loopback) -> None:
    loopback.default = Reply.stream(*[json_chunk({"n": i}) for i in range(20)])
    results: list[list[int]] = []
    async with make_async_client(loopback) as bedrock:

        async def worker() -> None:
            for _ in range(3):
                stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
                async with stream:
                    results.append([e.json()["n"] async for e in stream])

        with anyio.fail_after(WAIT * 2):
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(worker)
    assert results == [list(range(20))] * 24


# --- async specifics -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_errors_retries_and_skew(loopback: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(client.runtime, "_async_sleep", fake_sleep)
    server_time = datetime.now(timezone.utc) - timedelta(hours=1)
    loopback.add(
        Reply.error(429, "ModelNotReadyException", "loading"),
        _skew_reply(server_time),
        Reply.stream(exception_frame("internalServerException", {"message": "oops"})),
        Reply.stream(json_chunk({"n": 1})),
        Reply.error(404, "ResourceNotFoundException", "no such model"),
    )
    async with make_async_client(loopback, max_attempts=3) as bedrock:
        stream = await bedrock.invoke_model_with_response_stream("m", b"{}")
        async with stream:
            assert [e.json() async for e in stream] == [{"n": 1}]
        assert stream.retry_attempts == 3  # throttled, skew-corrected, in-stream 500
        with pytest.raises(client.ResourceNotFoundException, match="no such model"):
            await bedrock.invoke_model_with_response_stream("m", b"{}")
    assert len(slept) == 2
    stamp = datetime.strptime(loopback.requests[2].headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    assert abs(stamp.replace(tzinfo=timezone.utc) - server_time) < timedelta(minutes=1)


@pytest.mark.anyio
async def test_async_bearer_and_unexpected_content_type(loopback: Loopback) -> None:
    loopback.add(Reply(headers=[("Content-Type", "text/html")], parts=[b"<html>login</html>"], chunked=False))
    async with client.AsyncBedrockRuntimeClient(bearer_token="k", endpoint_url=loopback.url) as bedrock:
        with pytest.raises(client.UnexpectedResponseError, match="text/html"):
            await bedrock.invoke_model_with_response_stream("m", b"{}")
    assert loopback.requests[0].headers["authorization"] == "Bearer k"
    with pytest.raises(client.ParamValidationError, match=r"httpx\.AsyncClient"):
        client.AsyncBedrockRuntimeClient("us-east-1", http_client=httpx.Client())  # type: ignore[arg-type]


def test_repr_shows_no_secrets(loopback: Loopback) -> None:
    bedrock = client.BedrockRuntimeClient(
        "us-east-1", bearer_token="super-secret-key", endpoint_url=loopback.url
    )
    assert "super-secret-key" not in repr(bedrock) and "super-secret-key" not in repr(bedrock.__dict__)
    signed = make_client(loopback)
    assert CREDS.secret_access_key not in repr(signed.__dict__) + repr(signed._config)
