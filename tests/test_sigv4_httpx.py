"""SigV4Auth and BearerAuth with real httpx clients over httpx.MockTransport (no network).

Each received request is verified the way a server does it: by re-signing what arrived, with our signer
and, independently, with botocore.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from unittest import mock
from urllib.parse import quote

import botocore.auth
import httpx
import pytest
from botocore.auth import SigV4Auth as BotoSigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from sigv4 import BearerAuth, Credentials, SigV4Auth, sign_request
from sigv4.signer import UNSIGNED_HEADERS

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "session-token-EXAMPLE/+="
CREDS = Credentials("AKIDEXAMPLE", SECRET, TOKEN)
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
URL = (
    f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{quote(ARN, safe='')}/invoke-with-response-stream"
)
BODY = b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": []}'
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
SIGV4_NAMES = {"authorization", "x-amz-date", "x-amz-security-token"}


class Ticking:
    """A clock that advances one second per reading (so a re-sign is visibly a new signature)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class RotatingProvider:
    """A CredentialProvider that hands out the next credentials on each load() and records its thread."""

    def __init__(self, *credentials: Credentials) -> None:
        self.queue = list(credentials)
        self.threads: list[int] = []

    def load(self) -> Credentials:
        self.threads.append(threading.get_ident())
        return self.queue.pop(0) if len(self.queue) > 1 else self.queue[0]


def wire_url(request: httpx.Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc.decode()}{request.url.raw_path.decode()}"


def amz_time(request: httpx.Request) -> datetime:
    return datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def verify(
    request: httpx.Request, secret: str = SECRET, region: str = "us-east-1", service: str = "bedrock"
) -> None:
    """Re-sign the received request (our signer, then botocore) and require the same Authorization."""
    authorization = request.headers["authorization"]
    access_key = authorization.split("Credential=")[1].split("/")[0]
    token = request.headers.get("x-amz-security-token")
    resigned = sign_request(
        request.method,
        wire_url(request),
        request.headers.multi_items(),
        request.content,
        credentials=Credentials(access_key, secret, token),
        region=region,
        service=service,
        timestamp=amz_time(request),
    )
    assert resigned.header("authorization") == authorization

    boto = AWSRequest(method=request.method, url=wire_url(request), data=request.content)
    for name, value in request.headers.multi_items():
        if name not in SIGV4_NAMES:
            boto.headers[name] = value
    naive = amz_time(request).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: naive):
        BotoSigV4Auth(BotoCredentials(access_key, secret, token), service, region).add_auth(boto)
    assert boto.headers["Authorization"] == authorization


Recorder = Callable[[httpx.Request], httpx.Response]


def recorder(seen: list[httpx.Request], status: int = 200) -> Recorder:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        # Snapshot: a retry mutates the same Request object afterwards.
        # (an explicit stream keeps httpx from adding default headers: the snapshot is what was sent).
        snapshot = httpx.Request(
            request.method,
            request.url,
            headers=request.headers.multi_items(),
            stream=httpx.ByteStream(request.content),
        )
        snapshot.read()
        seen.append(snapshot)
        return httpx.Response(status, json={"ok": True})

    return handler


def bedrock_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Amzn-Bedrock-Accept": "application/json"}


def test_sync_client_sends_a_verifiable_signature() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(CREDS, "us-east-1", "bedrock", clock=Ticking())
    with httpx.Client(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        response = client.post(URL, content=BODY, headers=bedrock_headers())
    assert response.status_code == 200
    (request,) = seen
    verify(request)
    assert request.url.raw_path.startswith(b"/model/arn%3Aaws%3Abedrock%3A")
    assert request.headers["x-amz-date"] == "20240501T120001Z"
    assert request.headers["x-amz-security-token"] == TOKEN
    assert "x-amz-content-sha256" not in request.headers
    signed = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "content-type", "x-amzn-bedrock-accept", "x-amz-date", "x-amz-security-token"} <= set(
        signed
    )
    assert not set(signed) & UNSIGNED_HEADERS  # user-agent, connection: not signed


def test_the_canonical_uri_of_an_arn_is_the_wire_path_encoded_again() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(CREDS, "us-east-1", "bedrock", clock=Ticking())
    with httpx.Client(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        client.post(URL, content=BODY)
    (request,) = seen
    resigned = sign_request(
        "POST",
        wire_url(request),
        request.headers.multi_items(),
        BODY,
        credentials=CREDS,
        region="us-east-1",
        service="bedrock",
        timestamp=amz_time(request),
    )
    assert resigned.canonical_request.split("\n")[1].startswith("/model/arn%253Aaws%253Abedrock%253A")
    assert resigned.header("authorization") == request.headers["authorization"]


@pytest.mark.anyio
async def test_async_client_sends_a_verifiable_signature_and_loads_off_the_loop() -> None:
    seen: list[httpx.Request] = []
    provider = RotatingProvider(CREDS)
    auth = SigV4Auth(provider, "us-east-1", "bedrock", clock=Ticking())
    loop_thread = threading.get_ident()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        response = await client.post(URL, content=BODY, headers=bedrock_headers())
    assert response.status_code == 200
    (request,) = seen
    verify(request)
    assert len(provider.threads) == 1
    assert provider.threads[0] != loop_thread  # provider.load() ran in a worker thread


def test_sync_client_loads_from_the_provider_on_every_request() -> None:
    seen: list[httpx.Request] = []
    second = Credentials("AKIDSECOND", "second-secret")
    provider = RotatingProvider(CREDS, second)
    auth = SigV4Auth(provider, "us-east-1", "bedrock", clock=Ticking())
    with httpx.Client(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        client.post(URL, content=BODY)
        client.post(URL, content=BODY)
    assert provider.threads == [threading.get_ident()] * 2
    verify(seen[0])
    verify(seen[1], secret="second-secret")
    assert "Credential=AKIDSECOND/" in seen[1].headers["authorization"]
    assert "x-amz-security-token" not in seen[1].headers  # the new credentials have no token


def test_a_retry_is_signed_afresh() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(CREDS, "us-east-1", "bedrock", clock=Ticking())
    with httpx.Client(transport=httpx.MockTransport(recorder(seen, status=503)), auth=auth) as client:
        request = client.build_request("POST", URL, content=BODY, headers=bedrock_headers())
        for _ in range(3):  # what a retry loop does: send the same request again
            client.send(request)
    assert [r.headers["x-amz-date"] for r in seen] == [
        "20240501T120001Z",
        "20240501T120002Z",
        "20240501T120003Z",
    ]
    assert len({r.headers["authorization"] for r in seen}) == 3
    for sent in seen:
        verify(sent)
        for name in SIGV4_NAMES:
            assert len(sent.headers.get_list(name)) == 1, name


@pytest.mark.anyio
async def test_async_retry_is_signed_afresh() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(RotatingProvider(CREDS), "us-east-1", "bedrock", clock=Ticking())
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder(seen, 429)), auth=auth) as client:
        request = client.build_request("POST", URL, content=BODY)
        await client.send(request)
        await client.send(request)
    assert seen[0].headers["x-amz-date"] != seen[1].headers["x-amz-date"]
    for sent in seen:
        verify(sent)
        assert len(sent.headers.get_list("authorization")) == 1


def test_streaming_body_is_read_and_signed() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(CREDS, "us-east-1", "bedrock", clock=Ticking())

    def chunks() -> Iterator[bytes]:
        yield BODY[:10]
        yield BODY[10:]

    with httpx.Client(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        client.post(URL, content=chunks())
    assert seen[0].content == BODY
    verify(seen[0])


@pytest.mark.anyio
async def test_async_streaming_body_is_read_and_signed() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(CREDS, "us-east-1", "bedrock", clock=Ticking())

    async def chunks() -> AsyncIterator[bytes]:
        yield BODY[:10]
        yield BODY[10:]

    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        await client.post(URL, content=chunks())
    assert seen[0].content == BODY
    verify(seen[0])


def test_query_and_port_are_signed_as_sent() -> None:
    seen: list[httpx.Request] = []
    auth = SigV4Auth(Credentials("AK", "sk"), "us-west-2", "execute-api", clock=Ticking())
    url = "http://127.0.0.1:8080/stage/items/a%20b?z=1&a=%E1%88%B4&a=0"
    with httpx.Client(transport=httpx.MockTransport(recorder(seen)), auth=auth) as client:
        client.get(url, headers={"X-Custom": "  spaced   value "})
    (request,) = seen
    assert request.headers["host"] == "127.0.0.1:8080"
    verify(request, secret="sk", region="us-west-2", service="execute-api")


def test_default_clock_is_now() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(
        transport=httpx.MockTransport(recorder(seen)), auth=SigV4Auth(CREDS, "us-east-1", "bedrock")
    ) as client:
        before = datetime.now(timezone.utc).replace(microsecond=0)
        client.get(URL)
        after = datetime.now(timezone.utc)
    assert before <= amz_time(seen[0]) <= after
    verify(seen[0])


def test_sigv4auth_rejects_bad_arguments_and_hides_secrets() -> None:
    with pytest.raises(TypeError, match="Credentials or a provider"):
        SigV4Auth("AKID:secret", "us-east-1", "bedrock")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="region and service"):
        SigV4Auth(CREDS, "", "bedrock")
    auth = SigV4Auth(CREDS, "us-east-1", "bedrock")
    assert SECRET not in repr(auth) and TOKEN not in repr(auth)
    assert "AKIDEXAMPLE" in repr(auth) and "us-east-1" in repr(auth)


def test_a_provider_returning_something_else_is_a_clear_error() -> None:
    class Broken:
        def load(self) -> Credentials:
            return ("AK", "SK")  # type: ignore[return-value]

    auth = SigV4Auth(Broken(), "us-east-1", "bedrock")
    with (
        httpx.Client(transport=httpx.MockTransport(recorder([])), auth=auth) as client,
        pytest.raises(TypeError, match="returned tuple, not Credentials"),
    ):
        client.get(URL)


# --- BearerAuth -------------------------------------------------------------------------------------------


def test_bearer_auth_sets_only_the_bearer_header() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(
        transport=httpx.MockTransport(recorder(seen)), auth=BearerAuth("bedrock-api-key-XYZ")
    ) as c:
        c.post(URL, content=BODY, headers={"X-Amz-Date": "20240101T000000Z", "X-Amz-Security-Token": "t"})
    (request,) = seen
    assert request.headers.get_list("authorization") == ["Bearer bedrock-api-key-XYZ"]
    assert "x-amz-date" not in request.headers
    assert "x-amz-security-token" not in request.headers


@pytest.mark.anyio
async def test_bearer_auth_async() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(recorder(seen)), auth=BearerAuth("k")
    ) as client:
        await client.get(URL)
    assert seen[0].headers["authorization"] == "Bearer k"


@pytest.mark.parametrize("token", ["", "   ", "a\nb", "a\r\nX-Evil: 1", " padded"])
def test_bearer_auth_rejects_bad_tokens_without_echoing_them(token: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        BearerAuth(token)
    if token.strip():
        assert token.strip() not in str(excinfo.value)


def test_bearer_auth_repr_hides_the_token() -> None:
    assert "secret-key" not in repr(BearerAuth("secret-key"))
    assert "secret-key" not in str(BearerAuth("secret-key"))
