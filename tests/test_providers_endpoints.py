"""Container and EC2 instance-metadata sources against real HTTP servers on 127.0.0.1.

The servers are started and stopped by each test; every client request has a timeout of at most a few
seconds and every server-side wait is bounded. Nothing is ever sent to 169.254.x: the link-local
addresses only appear in pure URL checks and in the guard test, where connecting is intercepted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from sigv4.credentials import Credentials
from sigv4.providers import (
    ContainerProvider,
    CredentialEndpointError,
    CredentialError,
    InstanceMetadataProvider,
    NoCredentialsError,
    default_chain,
)
from sigv4.providers.container import check_full_uri
from sigv4.providers.instance_metadata import metadata_endpoint

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "IQoJb3JpZ2luX2VjSESSIONTOKENxyz=="
AUTH = "pod-identity-AUTHORIZATION-token"
IMDS_TOKEN = "AQAEAImdsSessionToken123=="


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Reply = tuple[int, bytes] | None  # None: never answer (until the server stops)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 whose answers come from ``route``; records every request."""

    def __init__(self, route: Callable[[Seen], Reply]) -> None:
        self.requests: list[Seen] = []
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # seconds a connection may idle: bounds every server-side read

            def _serve(self) -> None:
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                server.requests.append(seen)
                reply = route(seen)
                if reply is None:
                    server._stop.wait(timeout=10)
                    return
                status, body = reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def document(expiration: datetime | None = None, **extra: object) -> bytes:
    body: dict[str, object] = {"AccessKeyId": "AKIDENDPOINT", "SecretAccessKey": SECRET, "Token": TOKEN}
    if expiration is not None:
        body["Expiration"] = expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    body.update(extra)
    return json.dumps(body).encode()


LATER = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=6)


def assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error)):
        for secret in (SECRET, TOKEN, AUTH, IMDS_TOKEN):
            assert secret not in text


# --- container: URL rules (pure) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8080/creds",
        "http://127.9.9.9/creds",
        "http://[::1]:80/creds",
        "http://localhost:1234/x",
        "http://169.254.170.2/v2/credentials/abc",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials",
        "https://credentials.example.com/role",
    ],
)
def test_full_uri_hosts_allowed(uri: str) -> None:
    check_full_uri(uri)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://example.com/creds", "names host 'example.com' over plain http"),
        ("http://10.0.0.5/creds", "names host '10.0.0.5' over plain http"),
        ("http://169.254.169.254/latest", "names host '169.254.169.254' over plain http"),
        ("ftp://127.0.0.1/creds", "must be an http:// or https:// URL"),
        ("http:///creds", "must be an http:// or https:// URL with a host"),
        ("http://127.0.0.1:99999/creds", "is not a valid URL"),
    ],
)
def test_full_uri_hosts_refused(uri: str, reason: str) -> None:
    with pytest.raises(CredentialEndpointError, match=reason):
        check_full_uri(uri)


# --- container: fetching --------------------------------------------------------------------------


def test_full_uri_with_authorization_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(lambda seen: (200, document(LATER, RoleArn="arn:x"))) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/v1/credentials?x=1")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH)
        provider = ContainerProvider(timeout=2)
        credentials = provider.load()
        assert provider.load() is credentials  # cached
    assert credentials == Credentials("AKIDENDPOINT", SECRET, TOKEN, LATER)
    assert len(server.requests) == 1
    seen = server.requests[0]
    assert (seen.method, seen.path) == ("GET", "/v1/credentials?x=1")
    assert seen.headers["authorization"] == AUTH


def test_relative_uri_goes_to_the_base_and_wins_over_full_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(lambda seen: (200, document())) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-id")
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{closed_port()}/never")
        credentials = ContainerProvider(relative_uri_base=server.url).load()
    assert credentials.expiration is None
    assert [seen.path for seen in server.requests] == ["/v2/credentials/task-id"]
    assert "authorization" not in server.requests[0].headers


def test_token_file_wins_and_is_reread_on_refresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text("first-token\n")
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    with LoopbackServer(lambda seen: (200, document(past))) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-token")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
        provider = ContainerProvider()
        provider.load()
        token_file.write_text("second-token")
        provider.load()  # expired: fetched again, with the rotated token
    assert [seen.headers["authorization"] for seen in server.requests] == ["first-token", "second-token"]


@pytest.mark.parametrize("token", [AUTH + "\r\nX-Injected: 1", AUTH + "\x7f", AUTH + "é"])
def test_token_that_cannot_be_a_header_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with LoopbackServer(lambda seen: (200, document())) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
        with pytest.raises(CredentialEndpointError, match="cannot go in an HTTP header") as caught:
            ContainerProvider().load()
    assert server.requests == []
    assert_no_secret(caught.value)


def test_unreadable_token_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(CredentialEndpointError, match="cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
        ContainerProvider().load()


def test_server_errors_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([(503, b"busy"), (500, b"oops"), (200, document())])
    with LoopbackServer(lambda seen: next(answers)) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
        credentials = ContainerProvider(attempts=3, retry_delay=0).load()
    assert credentials.access_key_id == "AKIDENDPOINT"
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(lambda seen: (403, b'{"message": "denied"}')) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + f"/creds?sig={AUTH}")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH)
        with pytest.raises(CredentialEndpointError) as caught:
            ContainerProvider(attempts=3, retry_delay=0).load()
    assert len(server.requests) == 1
    error = caught.value
    assert error.status == 403
    assert error.url == server.url + "/creds"  # query string dropped from messages
    assert "answered HTTP 403 Forbidden" in str(error)
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in str(error)
    assert_no_secret(error)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "not a JSON document"),
        (b"[]", "not a JSON object"),
        (json.dumps({"AccessKeyId": "A", "Token": TOKEN}).encode(), "no SecretAccessKey"),
        (json.dumps({"AccessKeyId": "A", "SecretAccessKey": SECRET, "Token": 7}).encode(), "Token is not"),
        (
            json.dumps({"AccessKeyId": "A", "SecretAccessKey": SECRET, "Expiration": "x"}).encode(),
            "expiration 'x'",
        ),
    ],
)
def test_unusable_documents(monkeypatch: pytest.MonkeyPatch, body: bytes, reason: str) -> None:
    with LoopbackServer(lambda seen: (200, body)) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
        with pytest.raises(CredentialError, match=reason) as caught:
            ContainerProvider().load()
    assert_no_secret(caught.value)


def test_unreachable_endpoint_fails_after_its_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{closed_port()}/creds")
    with pytest.raises(CredentialEndpointError, match="failed after 2 attempts: connection refused"):
        ContainerProvider(attempts=2, retry_delay=0).load()


def test_silent_endpoint_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(lambda seen: None) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + "/creds")
        started = time.monotonic()
        with pytest.raises(CredentialEndpointError, match=r"failed after 1 attempt: no answer within 0.3 s"):
            ContainerProvider(timeout=0.3, attempts=1).load()
        assert time.monotonic() - started < 5


def test_container_unset_is_no_credentials() -> None:
    with pytest.raises(NoCredentialsError, match="neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor"):
        ContainerProvider().load()


def test_disallowed_full_uri_is_refused_without_connecting(
    monkeypatch: pytest.MonkeyPatch, connections: list[object]
) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10/creds")
    with pytest.raises(CredentialEndpointError, match="over plain http"):
        ContainerProvider().load()
    assert connections == []


# --- instance metadata ----------------------------------------------------------------------------


class Imds:
    """Routes of a fake metadata service; ``token_status`` 200 serves IMDSv2, else the PUT gets that status
    (or no answer at all with ``None``)."""

    def __init__(
        self, *, token_status: int | None = 200, role: str = "app-role", credentials: bytes = b""
    ) -> None:
        self.token_status = token_status
        self.role = role
        self.credentials = credentials or document(LATER, Code="Success", Type="AWS-HMAC")
        self.require_token = token_status == 200

    def __call__(self, seen: Seen) -> Reply:
        if seen.method == "PUT" and seen.path == "/latest/api/token":
            if self.token_status is None:
                return None
            if self.token_status == 200:
                assert seen.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
                return 200, IMDS_TOKEN.encode()
            return self.token_status, b""
        if self.require_token and seen.headers.get("x-aws-ec2-metadata-token") != IMDS_TOKEN:
            return 401, b""
        if seen.method == "GET" and seen.path == "/latest/meta-data/iam/security-credentials/":
            return (200, f"{self.role}\n".encode()) if self.role else (404, b"")
        if seen.method == "GET" and seen.path == f"/latest/meta-data/iam/security-credentials/{self.role}":
            return 200, self.credentials
        return 404, b""


@pytest.fixture
def imds_on(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def enable(endpoint: str) -> None:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)

    return enable


def test_imdsv2_token_role_and_credentials(imds_on: Callable[[str], None]) -> None:
    with LoopbackServer(Imds()) as server:
        imds_on(server.url + "/")
        provider = InstanceMetadataProvider()
        credentials = provider.load()
        assert provider.load() is credentials  # cached: no second round of requests
    assert credentials == Credentials("AKIDENDPOINT", SECRET, TOKEN, LATER)
    assert [(seen.method, seen.path) for seen in server.requests] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/app-role"),
    ]
    assert all(seen.headers["x-aws-ec2-metadata-token"] == IMDS_TOKEN for seen in server.requests[1:])


@pytest.mark.parametrize("status", [403, 404, 405])
def test_refused_token_falls_back_to_imdsv1(imds_on: Callable[[str], None], status: int) -> None:
    with LoopbackServer(Imds(token_status=status)) as server:
        imds_on(server.url)
        assert InstanceMetadataProvider().load().access_key_id == "AKIDENDPOINT"
    assert all("x-aws-ec2-metadata-token" not in seen.headers for seen in server.requests[1:])


def test_token_request_without_answer_falls_back_to_imdsv1(
    imds_on: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container behind a hop limit of 1 connects but never gets the PUT's answer.
    with LoopbackServer(Imds(token_status=None)) as server:
        imds_on(server.url)
        monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.3")
        assert InstanceMetadataProvider().load().access_key_id == "AKIDENDPOINT"


def test_imdsv1_fallback_can_be_disabled(
    imds_on: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackServer(Imds(token_status=403)) as server:
        imds_on(server.url)
        monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
        with pytest.raises(NoCredentialsError) as caught:
            InstanceMetadataProvider().load()
    assert len(server.requests) == 1
    assert caught.value.places == (
        f"EC2 instance metadata at {server.url}: no IMDSv2 session token (token request answered"
        " HTTP 403) and AWS_EC2_METADATA_V1_DISABLED=true",
    )


def test_no_role_attached(imds_on: Callable[[str], None]) -> None:
    with LoopbackServer(Imds(role="")) as server:
        imds_on(server.url)
        with pytest.raises(NoCredentialsError, match="no IAM role is attached to this instance"):
            InstanceMetadataProvider().load()


def test_failure_code_in_the_document(imds_on: Callable[[str], None]) -> None:
    failing = json.dumps({"Code": "AssumeRoleUnauthorizedAccess", "Message": "denied"}).encode()
    with LoopbackServer(Imds(credentials=failing)) as server:
        imds_on(server.url)
        with pytest.raises(NoCredentialsError, match="Code is 'AssumeRoleUnauthorizedAccess'"):
            InstanceMetadataProvider().load()


def test_role_names_are_quoted_in_the_path(imds_on: Callable[[str], None]) -> None:
    fake = Imds(role="role with space")
    with LoopbackServer(
        lambda seen: fake(Seen(seen.method, seen.path.replace("%20", " "), seen.headers))
    ) as server:
        imds_on(server.url)
        InstanceMetadataProvider().load()
    assert server.requests[-1].path == "/latest/meta-data/iam/security-credentials/role%20with%20space"


def test_nothing_listening_is_no_credentials(imds_on: Callable[[str], None]) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    imds_on(endpoint)
    with pytest.raises(NoCredentialsError) as caught:
        InstanceMetadataProvider().load()
    assert caught.value.places == (f"EC2 instance metadata at {endpoint}: connection refused",)


def test_silent_service_is_bounded_by_the_configured_timeout(
    imds_on: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackServer(lambda seen: None) as server:
        imds_on(server.url)
        monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.2")
        monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2")
        started = time.monotonic()
        with pytest.raises(NoCredentialsError, match=r"no answer within 0.2 s"):
            InstanceMetadataProvider().load()
        assert time.monotonic() - started < 5
    assert len(server.requests) == 4  # two attempts, each a PUT then a GET (IMDSv1 fallback)


def test_server_errors_are_retried_up_to_the_attempts(imds_on: Callable[[str], None]) -> None:
    fake = Imds()
    answers: Iterator[Reply] = iter([(500, b"")])

    def flaky(seen: Seen) -> Reply:
        return next(answers, None) or fake(seen)

    with LoopbackServer(flaky) as server:
        imds_on(server.url)
        assert InstanceMetadataProvider(attempts=2, timeout=2).load().access_key_id == "AKIDENDPOINT"


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("AWS_METADATA_SERVICE_TIMEOUT", "soon", "AWS_METADATA_SERVICE_TIMEOUT must be a number"),
        ("AWS_METADATA_SERVICE_TIMEOUT", "0", "AWS_METADATA_SERVICE_TIMEOUT must be a number"),
        ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "-1", "AWS_METADATA_SERVICE_NUM_ATTEMPTS must be a whole"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254", "must be an http:// or https:// URL"),
    ],
)
def test_malformed_metadata_settings(
    monkeypatch: pytest.MonkeyPatch, connections: list[object], variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv(variable, value)
    with pytest.raises(CredentialError, match=reason):
        InstanceMetadataProvider().load()
    assert connections == []


def test_endpoint_selection_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    assert metadata_endpoint() == "http://169.254.169.254"
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")
    assert metadata_endpoint() == "http://[fd00:ec2::254]"
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipx")
    with pytest.raises(CredentialError, match="must be IPv4 or IPv6"):
        metadata_endpoint()
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/")
    assert metadata_endpoint() == "http://127.0.0.1:1338"


# --- the guard: nothing is contacted unless a test points at its own loopback server --------------


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Intercepts every outgoing TCP connection: records the address and refuses, so nothing is sent."""
    attempts: list[object] = []

    def refuse_create_connection(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("intercepted by the test")

    def refuse_connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise ConnectionRefusedError("intercepted by the test")

    monkeypatch.setattr(socket, "create_connection", refuse_create_connection)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    return attempts


def test_with_metadata_disabled_the_default_chain_contacts_nothing(connections: list[object]) -> None:
    with pytest.raises(NoCredentialsError) as caught:
        default_chain().load()
    assert connections == []
    assert caught.value.places[-1] == "EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED=true"


def test_disabled_flag_is_case_insensitive(
    monkeypatch: pytest.MonkeyPatch, connections: list[object]
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "TRUE")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(NoCredentialsError, match="disabled by AWS_EC2_METADATA_DISABLED"):
        InstanceMetadataProvider().load()
    assert connections == []


def test_the_guard_does_see_connection_attempts(
    imds_on: Callable[[str], None], connections: list[object]
) -> None:
    # Control for the tests above: with metadata enabled (at a loopback address), the guard records the
    # attempt, so an empty list there really means nothing was contacted.
    imds_on("http://127.0.0.1:9")
    with pytest.raises(NoCredentialsError, match=r"127\.0\.0\.1:9: connection refused"):
        InstanceMetadataProvider().load()
    assert connections == [("127.0.0.1", 9)]
