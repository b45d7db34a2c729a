"""Trust: what a request is bound to, and where the client will (not) send its credentials.

* The emulator refuses what the service refuses: a captured request replayed outside the 5-minute window,
  a replay whose body, model, query or session token differs from what was signed (even one carrying the
  original body's ``x-amz-content-sha256``), a scope rewritten to another region or service, and requests
  that carry no signature - whatever else they carry. (The basic refusals - freshly signed with an old
  timestamp, a different body, a wrong region or service, no Authorization - are in
  tests/test_emulator_auth.py; these are the attacks they imply.)
* TLS verification is on by default: a server whose certificate the system does not trust, or whose
  certificate names another host, never gets a request; the same server with its CA trusted does.
* Redirects are never followed: a 3xx to another port or to the same server gets no second request, so
  neither the Authorization header nor the session token travels anywhere the caller did not point at -
  not even when the caller's own ``httpx`` client has ``follow_redirects=True``.

Everything on 127.0.0.1; certificates are made on the spot by the ``openssl`` binary (offline).
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import client
from client.emulator import Emulator
from fault_tools import (
    ACCESS_KEY_ID,
    BEARER_TOKEN,
    CREDENTIALS,
    MODEL,
    MODES,
    PATH,
    REGION,
    SESSION_TOKEN,
    SYNC_MODES,
    WAIT,
    Auth,
    Mode,
    assert_no_leak,
    body_bytes,
    error_text,
    signed_headers,
    start_emulator,
    sync_http_client,
    transport_of,
    wait_until,
)
from test_client_helpers import Loopback, Reply, json_chunk
from tls_helpers import make_certificate, tls_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator() as emulator:
        yield emulator


def send(url: str, headers: list[tuple[str, str]], body: bytes) -> httpx.Response:
    return httpx.post(url, headers=headers, content=body, timeout=WAIT)


def refused(response: httpx.Response) -> tuple[int, str, str]:
    """(status, error name, message) of a refusal, checked to carry the service's marks."""
    assert response.status_code == 403, response.text
    name = response.headers["x-amzn-errortype"].partition(":")[0]
    assert response.headers["x-amzn-requestid"]
    return response.status_code, name, response.json()["message"]


def replace_header(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    assert any(k.lower() == name.lower() for k, _ in headers), name
    return [(k, value if k.lower() == name.lower() else v) for k, v in headers]


# --- the emulator binds a signature to time, content and scope ------------------------------------------


def test_a_captured_request_is_refused_once_it_is_over_five_minutes_old(emu: Emulator) -> None:
    url = emu.url + PATH
    body = body_bytes()
    captured = signed_headers(url, body)
    assert send(url, captured, body).status_code == 200
    # Replayed byte for byte four minutes later: still inside the window, as on the service.
    emu.clock_offset = 4 * 60
    assert send(url, captured, body).status_code == 200
    # Five minutes and a few seconds later: expired.
    emu.clock_offset = 5 * 60 + 5
    status, name, message = refused(send(url, captured, body))
    assert (status, name) == (403, "InvalidSignatureException")
    assert message.startswith("Signature expired: ")
    # And one signed more than five minutes in the future (a clock set ahead to make replays last) is
    # not yet current.
    emu.clock_offset = 0
    ahead = datetime.now(timezone.utc) + timedelta(minutes=5, seconds=30)
    status, name, message = refused(send(url, signed_headers(url, body, timestamp=ahead), body))
    assert message.startswith("Signature not yet current: ")
    assert [r.status for r in emu.requests] == [200, 200, 403, 403]


def _other_body(body: bytes) -> bytes:
    other = body.replace(b"fault matrix", b"fault MATRIX")
    assert other != body and len(other) == len(body)
    return other


@pytest.mark.parametrize(
    "tamper", ["body", "body-with-its-old-content-sha256", "model", "query", "session-token"]
)
def test_a_replay_cannot_change_what_was_signed(emu: Emulator, tamper: str) -> None:
    url = emu.url + PATH
    body = body_bytes()
    sign_body = tamper == "body-with-its-old-content-sha256"
    headers = signed_headers(url, body, sign_body=sign_body)
    assert send(url, headers, body).status_code == 200
    target, new_body = url, body
    if tamper.startswith("body"):
        # Same length, same headers (x-amz-content-sha256 still names the signed body's hash): the service
        # hashes what it received instead of trusting the header.
        new_body = _other_body(body)
        if sign_body:
            assert ("x-amz-content-sha256", _sha256_hex(body)) in headers
    elif tamper == "model":
        target = url.replace("claude-3-haiku", "claude-3-sonnet")
    elif tamper == "query":
        target = url + "?x=1"
    else:
        headers = replace_header(headers, "X-Amz-Security-Token", SESSION_TOKEN + "-stolen-elsewhere")
    status, name, message = refused(send(target, headers, new_body))
    assert (status, name) == (403, "InvalidSignatureException")
    assert message.startswith("The request signature we calculated does not match")
    assert_no_leak(message, "the emulator's refusal")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(("region", "service"), [("eu-west-1", "bedrock"), ("us-west-2", "execute-api")])
def test_the_scope_cannot_be_rewritten_after_signing(region: str, service: str) -> None:
    # Signed for another region (or service), then relabelled as the accepted one: the scope is part of
    # what was signed, so the relabelled request is refused as a signature mismatch.
    with start_emulator(region="us-west-2") as emu:
        url = emu.url + PATH
        body = body_bytes()
        headers = signed_headers(url, body, region=region, service=service)
        status, name, message = refused(send(url, headers, body))
        assert name == "InvalidSignatureException" and "scoped to" in message  # as signed: wrong scope
        authorization = dict(headers)["Authorization"]
        old = f"/{region}/{service}/aws4_request"
        assert old in authorization
        relabelled = replace_header(
            headers, "Authorization", authorization.replace(old, "/us-west-2/bedrock/aws4_request")
        )
        status, name, message = refused(send(url, relabelled, body))
        assert (status, name) == (403, "InvalidSignatureException")
        assert message.startswith("The request signature we calculated does not match")
        assert send(url, signed_headers(url, body, region="us-west-2"), body).status_code == 200


def test_a_signature_from_another_request_does_not_authenticate_this_one(emu: Emulator) -> None:
    url = emu.url + PATH
    body = body_bytes()
    other_url = url.replace("claude-3-haiku", "claude-3-sonnet")
    stolen = dict(signed_headers(other_url, body))
    mine = dict(signed_headers(url, body))
    headers = replace_header(list(mine.items()), "Authorization", stolen["Authorization"])
    headers = replace_header(headers, "X-Amz-Date", stolen["X-Amz-Date"])
    assert refused(send(url, headers, body))[1] == "InvalidSignatureException"


@pytest.mark.parametrize(
    ("what", "error"),
    [
        ("session token and date, no Authorization", "MissingAuthenticationTokenException"),
        ("basic credentials", "IncompleteSignatureException"),
        ("signature left empty", "IncompleteSignatureException"),
        ("signature of zeros", "InvalidSignatureException"),
        ("presigned query string", "IncompleteSignatureException"),
    ],
)
def test_a_request_without_a_valid_signature_is_refused_whatever_it_carries(
    emu: Emulator, what: str, error: str
) -> None:
    url = emu.url + PATH
    body = body_bytes()
    headers = signed_headers(url, body)
    authorization = dict(headers)["Authorization"]
    if what.startswith("session token"):
        headers = [(k, v) for k, v in headers if k != "Authorization"]
    elif what == "basic credentials":
        headers = [(k, v) for k, v in headers if not k.lower().startswith(("authorization", "x-amz-"))]
        headers.append(("Authorization", "Basic " + base64.b64encode(f"{ACCESS_KEY_ID}:x".encode()).decode()))
    elif what == "signature left empty":
        headers = replace_header(headers, "Authorization", authorization.rsplit("=", 1)[0] + "=")
    elif what == "signature of zeros":
        headers = replace_header(headers, "Authorization", authorization.rsplit("=", 1)[0] + "=" + "0" * 64)
    else:
        from sigv4.signer import presign_request

        presigned = presign_request(
            "POST",
            url,
            {"Content-Type": "application/json"},
            body,
            expires_in=300,
            credentials=CREDENTIALS,
            region=REGION,
            service="bedrock",
        )
        url, headers = presigned.url, list(presigned.headers)
    status, name, _ = refused(send(url, headers, body))
    assert (status, name) == (403, error)
    # None of them reached the model or consumed anything.
    assert all(r.status == 403 and r.model_id is None for r in emu.requests)


# --- TLS ----------------------------------------------------------------------------------------------------


def _https_client(mode: Mode, url: str) -> client.BedrockRuntimeClient | client.AsyncBedrockRuntimeClient:
    if mode != "async":
        return client.BedrockRuntimeClient(
            REGION, credentials=CREDENTIALS, endpoint_url=url, max_attempts=1, transport=transport_of(mode)
        )
    return client.AsyncBedrockRuntimeClient(REGION, credentials=CREDENTIALS, endpoint_url=url, max_attempts=1)


@pytest.mark.parametrize("mode", MODES)
def test_the_default_http_client_verifies_certificates_and_host_names(mode: Mode) -> None:
    bedrock = _https_client(mode, "https://127.0.0.1:9")
    transport: Any = bedrock._http._transport
    context = transport._context() if mode == "sync" else transport._pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert bedrock.endpoint_url == "https://127.0.0.1:9"
    # Both sync transports hold the same settings: httpx's trust store, minimum version and options.
    reference: Any = httpx.HTTPTransport()._pool._ssl_context
    assert context.minimum_version == reference.minimum_version
    assert context.options == reference.options
    assert context.get_ca_certs() == reference.get_ca_certs()


def _invoke(mode: Mode, url: str, http: httpx.Client | httpx.AsyncClient | None = None) -> list[bytes]:
    """Stream one call to ``url``; the events' bytes (or the client's error)."""
    if mode != "async":
        assert http is None or isinstance(http, httpx.Client)
        with client.BedrockRuntimeClient(
            REGION,
            credentials=CREDENTIALS,
            endpoint_url=url,
            http_client=http,
            max_attempts=1,
            timeout=WAIT,
            transport=transport_of(mode) if http is None else None,
        ) as bedrock:
            return [event.bytes for event in bedrock.invoke_model_with_response_stream(MODEL, b"{}")]

    async def call() -> list[bytes]:
        assert http is None or isinstance(http, httpx.AsyncClient)
        async with client.AsyncBedrockRuntimeClient(
            REGION, credentials=CREDENTIALS, endpoint_url=url, http_client=http, max_attempts=1, timeout=WAIT
        ) as bedrock:
            with anyio.fail_after(WAIT):
                stream = await bedrock.invoke_model_with_response_stream(MODEL, b"{}")
                async with stream:
                    return [event.bytes async for event in stream]

    return anyio.run(call)


def _trusting(mode: Mode, cafile: Path) -> httpx.Client | httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(cafile))
    if mode != "async":
        return sync_http_client(mode, verify=context, timeout=WAIT)
    return httpx.AsyncClient(verify=context, timeout=WAIT)


@pytest.mark.parametrize("mode", MODES)
def test_an_untrusted_certificate_is_refused_before_anything_is_sent(mode: Mode, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "127.0.0.1", "IP:127.0.0.1")
    with tls_server(cert, key) as server:
        url = f"https://127.0.0.1:{server.port}"
        with pytest.raises(client.EndpointConnectionError) as info:
            _invoke(mode, url)
        cause = info.value.__cause__
        assert isinstance(cause, httpx.ConnectError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(cause)
        assert server.requests == []  # no request, so no Authorization, ever reached it
        assert wait_until(lambda: len(server.handshakes_failed) == 1, WAIT), server.handshakes_failed
        assert_no_leak(error_text(info.value), "a TLS error")
        # The control: the same server, its certificate trusted, gets the request and answers it.
        assert _invoke(mode, url, _trusting(mode, cert)) == [b'{"over": "tls"}']
        (request,) = server.requests
        assert b"\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" + ACCESS_KEY_ID.encode() in request


@pytest.mark.parametrize("mode", MODES)
def test_a_trusted_certificate_for_another_host_is_refused(mode: Mode, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "bedrock-runtime.example", "DNS:bedrock-runtime.example")
    with tls_server(cert, key) as server:
        with pytest.raises(client.EndpointConnectionError) as info:
            _invoke(mode, f"https://127.0.0.1:{server.port}", _trusting(mode, cert))
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        assert "127.0.0.1" in str(info.value.__cause__)  # "IP address mismatch" / "doesn't match"
        assert server.requests == []


# --- redirects ----------------------------------------------------------------------------------------------

REDIRECTS = [301, 302, 303, 307, 308]


def _redirecting_client(
    mode: Mode, auth: Auth, url: str, follow: bool
) -> client.BedrockRuntimeClient | client.AsyncBedrockRuntimeClient:
    kwargs: dict[str, Any] = {"endpoint_url": url, "max_attempts": 3, "timeout": WAIT}
    if auth == "bearer":
        kwargs["bearer_token"] = BEARER_TOKEN
    else:
        kwargs.update(region=REGION, credentials=CREDENTIALS)
    if mode != "async":
        if follow:
            kwargs["http_client"] = sync_http_client(mode, follow_redirects=True, timeout=WAIT)
        else:
            kwargs["transport"] = transport_of(mode)
        return client.BedrockRuntimeClient(**kwargs)
    if follow:
        kwargs["http_client"] = httpx.AsyncClient(follow_redirects=True, timeout=WAIT)
    return client.AsyncBedrockRuntimeClient(**kwargs)


def _invoke_expecting_error(
    bedrock: client.BedrockRuntimeClient | client.AsyncBedrockRuntimeClient,
) -> client.BedrockRuntimeError:
    if isinstance(bedrock, client.BedrockRuntimeClient):
        with bedrock, pytest.raises(client.BedrockRuntimeError) as info:
            list(bedrock.invoke_model_with_response_stream(MODEL, b"{}"))
        return info.value

    async def call() -> client.BedrockRuntimeError:
        async with bedrock:
            with anyio.fail_after(WAIT), pytest.raises(client.BedrockRuntimeError) as info:
                stream = await bedrock.invoke_model_with_response_stream(MODEL, b"{}")
                async with stream:
                    _ = [event async for event in stream]
        return info.value

    return anyio.run(call)


# Every redirect status with the riskiest setup (the caller's httpx client follows redirects, SigV4 with a
# session token); the other setups with a 307, the status that re-sends the body too.
REDIRECT_CASES = [(status, "sigv4", True) for status in REDIRECTS] + [
    (307, "sigv4", False),
    (307, "bearer", False),
    (307, "bearer", True),
]


@pytest.mark.parametrize(
    ("status", "auth", "follow"),
    REDIRECT_CASES,
    ids=[
        f"{s}-{a}-{'own-client-following-redirects' if f else 'default-client'}" for s, a, f in REDIRECT_CASES
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_is_never_followed(mode: Mode, auth: Auth, follow: bool, status: int) -> None:
    with Loopback() as elsewhere, Loopback() as endpoint:
        elsewhere.default = Reply.stream(json_chunk({"stolen": True}))
        endpoint.default = Reply(
            status=status,
            headers=[("Location", elsewhere.url + PATH), ("Content-Type", "text/plain")],
            parts=[b"moved"],
            chunked=False,
        )
        error = _invoke_expecting_error(_redirecting_client(mode, auth, endpoint.url, follow))
        # The 3xx is the answer: an error naming it, not retried, and nothing sent anywhere else.
        assert type(error) is client.BedrockRuntimeError and error.status_code == status
        assert error.body == b"moved"
        assert len(endpoint.requests) == 1
        assert "authorization" in endpoint.requests[0].headers  # what could have been forwarded
        assert elsewhere.connections == 0 and elsewhere.requests == []
        assert_no_leak(error_text(error), "a redirect error")


@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_to_the_same_server_is_not_followed_either(mode: Mode) -> None:
    with Loopback() as endpoint:
        endpoint.add(
            Reply(status=307, headers=[("Location", endpoint.url + "/elsewhere")], parts=[b""], chunked=False)
        )
        endpoint.default = Reply.stream(json_chunk({"n": 1}))
        error = _invoke_expecting_error(_redirecting_client(mode, "sigv4", endpoint.url, True))
        assert error.status_code == 307
        assert [r.target for r in endpoint.requests] == [PATH]


@pytest.mark.parametrize("mode", SYNC_MODES)
def test_a_certificate_failure_is_not_retried(mode: Mode, tmp_path: Path) -> None:
    """The same certificate comes back on every attempt: one handshake, then the error."""
    cert, key = make_certificate(tmp_path, "selfsigned", "IP:127.0.0.1")
    with tls_server(cert, key) as server:
        with (
            client.BedrockRuntimeClient(
                REGION,
                credentials=CREDENTIALS,
                endpoint_url=f"https://127.0.0.1:{server.port}",
                max_attempts=3,
                transport=transport_of(mode),
            ) as bedrock,
            pytest.raises(client.EndpointConnectionError) as caught,
        ):
            bedrock.invoke_model_with_response_stream(MODEL, b"{}")
        deadline = time.monotonic() + WAIT
        while not server.handshakes_failed and time.monotonic() < deadline:
            time.sleep(0.01)
    assert caught.value.retry_attempts == 0
    assert len(server.handshakes_failed) == 1
    assert server.requests == []
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("mode", SYNC_MODES)
def test_ssl_cert_file_is_trusted_as_httpx_trusts_it(
    mode: Mode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default client reads SSL_CERT_FILE on both transports (httpx's rule), and offers ALPN http/1.1."""
    cert, key = make_certificate(tmp_path, "127.0.0.1", "IP:127.0.0.1")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with tls_server(cert, key) as server:
        assert _invoke(mode, f"https://127.0.0.1:{server.port}") == [b'{"over": "tls"}']
        assert server.alpn == ["http/1.1"]
    # SSL_CERT_DIR: an OpenSSL hashed directory (<subject hash>.0), as `c_rehash` makes it.
    monkeypatch.delenv("SSL_CERT_FILE")
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(cert)],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / f"{subject_hash}.0").write_bytes(cert.read_bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    with tls_server(cert, key) as server:
        assert _invoke(mode, f"https://127.0.0.1:{server.port}") == [b'{"over": "tls"}']
