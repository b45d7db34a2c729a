"""Shared tools of the fault-matrix, secrets and trust tests (not a test module).

* distinctive credentials (secret key, session token, bearer token) and :func:`secret_forms`, the ways a
  secret could show up in text (plain, percent-encoded, base64 at every alignment);
* :func:`start_emulator`: an emulator that accepts exactly those credentials, with short answers;
* :func:`run_call`: one InvokeModelWithResponseStream call through the sync or the async client, read to
  its end, returning everything a fault test checks (events, error, retries, time taken, whether the
  connection went back to the pool, whether a thread was left behind, the backoff sleeps);
* :func:`raw_frames`: the frames of the fault-free answer as bytes, for exact byte offsets.

Every wait here is bounded; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import dataclasses
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import anyio
import httpx
import pytest

import client
import client.runtime
from client.emulator import Emulator
from client.retry import Backoff
from client.stdlib_transport import DEFAULT_LIMITS, StdlibTransport
from sigv4 import Credentials
from sigv4.signer import sign_request

# "sync" is the sync client as built by default (on StdlibTransport wherever no proxy applies, as in these
# tests); "sync-httpx" the same client forced onto httpx's own transport (transport="httpx"). Every test
# parametrized over MODES proves a behaviour on both sync transports and on the async client.
Mode = Literal["sync", "sync-httpx", "async"]
Auth = Literal["sigv4", "bearer"]
MODES: tuple[Mode, ...] = ("sync", "sync-httpx", "async")
SYNC_MODES: tuple[Mode, ...] = ("sync", "sync-httpx")


def transport_of(mode: Mode) -> str | None:
    """The ``transport=`` argument of a sync ``mode`` (None: the default)."""
    return "httpx" if mode == "sync-httpx" else None


def sync_http_client(mode: Mode, *, verify: bool | ssl.SSLContext = True, **kwargs: Any) -> httpx.Client:
    """A caller's own ``httpx.Client`` on the transport a sync ``mode`` stands for."""
    if mode == "sync":
        # The transport takes the pool limits (httpx.Client ignores limits= when given a transport).
        limits = kwargs.pop("limits", DEFAULT_LIMITS)
        return httpx.Client(transport=StdlibTransport(verify=verify, limits=limits), **kwargs)
    assert mode == "sync-httpx", mode
    return httpx.Client(verify=verify, **kwargs)


def assert_transport(bedrock: client.BedrockRuntimeClient, mode: Mode) -> None:
    """The client's default http client is on the transport ``mode`` names (the default is really tested)."""
    expected = StdlibTransport if mode == "sync" else httpx.HTTPTransport
    assert type(bedrock._http._transport) is expected, (mode, bedrock._http._transport)


MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
BODY: dict[str, Any] = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Walk me through the fault matrix"}],
}
# Text chunks per answer; Claude's answer adds its start/stop events around them.
CHUNK_COUNT = 6
REGION = "us-east-1"

# Distinctive values, with the characters (/ + =) that make their encoded forms differ from the plain ones.
ACCESS_KEY_ID = "AKIDFAULTMATRIX"
SECRET_KEY = "fM9/SecretKey+Never=Shown/0123456789abcdXY"
SESSION_TOKEN = "IQoJSessionToken/Never+Shown=Anywhere0123456789/ZZ"
BEARER_TOKEN = "bedrock-api-key-BearerNever/Shown+Anywhere=0123456789"
SECRETS = (SECRET_KEY, SESSION_TOKEN, BEARER_TOKEN)
CREDENTIALS = Credentials(ACCESS_KEY_ID, SECRET_KEY, SESSION_TOKEN)

# The longest any single wait in these tests may take; far above what a passing test needs.
WAIT = 10.0
# Backoff small enough to keep retries fast, large enough to be seen in the arrival times.
FAST_BACKOFF = Backoff(base=0.02, cap=0.08)


def start_emulator(**kwargs: Any) -> Emulator:
    """An emulator that accepts only :data:`CREDENTIALS` (any session token) and :data:`BEARER_TOKEN`."""
    kwargs.setdefault("chunk_count", CHUNK_COUNT)
    return Emulator(credentials={ACCESS_KEY_ID: SECRET_KEY}, bearer_tokens=[BEARER_TOKEN], **kwargs)


@contextmanager
def emulator(**kwargs: Any) -> Iterator[Emulator]:
    with start_emulator(**kwargs) as emu:
        yield emu


# --- secrets ---------------------------------------------------------------------------------------------


def _base64_cores(data: bytes) -> list[str]:
    """Substrings present in the base64 of any byte string that contains ``data``, whatever its offset:
    for each of the three alignments, the encoding minus the groups it shares with neighbouring bytes."""
    cores = []
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + data).decode("ascii").rstrip("=")
            start = 4 if pad else 0
            cores.append(text[start:-4])
    return cores


def secret_forms(secret: str) -> list[str]:
    """Every form of ``secret`` a leak could take in text: plain, percent-encoded, base64, hex, repr."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret), raw.hex(), repr(raw)[2:-1]}
    forms.update(_base64_cores(raw))
    return sorted(form for form in forms if len(form) >= 16)


_ALL_FORMS = [(secret, form) for secret in SECRETS for form in secret_forms(secret)]


def leaks(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """The forms of ``secrets`` found in ``text`` (empty: nothing leaked)."""
    return [form for secret, form in _ALL_FORMS if secret in secrets and form in text]


def assert_no_leak(text: str, where: str, secrets: tuple[str, ...] = SECRETS) -> None:
    found = leaks(text, secrets)
    assert not found, f"a secret leaked into {where}: {found}"


def error_text(exc: BaseException) -> str:
    """Everything an error shows: str, repr, args, attributes and traceback, of it and every cause."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        parts.append("".join(traceback.format_exception_only(type(current), current)))
        current = current.__cause__ or current.__context__
    parts.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return "\n".join(parts)


# --- the wire ------------------------------------------------------------------------------------------


def signed_headers(url: str, body: bytes, **kwargs: Any) -> list[tuple[str, str]]:
    """Headers of a request signed with :data:`CREDENTIALS` (``sign_request`` keyword overrides)."""
    options: dict[str, Any] = {"credentials": CREDENTIALS, "region": REGION, "service": "bedrock"}
    options.update(kwargs)
    signed = sign_request("POST", url, {"Content-Type": "application/json"}, body, **options)
    return list(signed.headers)


def body_bytes() -> bytes:
    """:data:`BODY` exactly as the client serialises it (so both hit the same deterministic answer)."""
    from client.request import build_invoke_request

    return build_invoke_request("http://127.0.0.1", MODEL, BODY).body


def raw_frames(emu: Emulator) -> list[bytes]:
    """The fault-free answer's frames, each as its bytes on the wire; forgets the request afterwards."""
    url = emu.url + PATH
    body = body_bytes()
    response = httpx.post(url, headers=signed_headers(url, body), content=body, timeout=WAIT)
    assert response.status_code == 200, response.text
    data = response.content
    frames = []
    while data:
        total = int.from_bytes(data[:4], "big")
        frames.append(data[:total])
        data = data[total:]
    emu.clear_requests()
    return frames


# --- one call, observed ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one call did. ``error`` is whatever ended it (``None``: the stream ended cleanly)."""

    events: list[bytes]
    error: BaseException | None
    elapsed: float
    request_id: str | None = None
    retry_attempts: int | None = None
    busy_connections: int = 0
    new_threads: list[str] = field(default_factory=list)
    server_open_after_close: int = 0


def busy_connections(http: httpx.Client | httpx.AsyncClient) -> int:
    """Connections of the client's pool still checked out (neither idle nor closed).

    httpx has no public pool statistics: this reads the default transport's httpcore pool, whose
    ``connections`` and their ``is_idle()``/``is_closed()`` are public httpcore API, or StdlibTransport's
    own count.
    """
    transport = http._transport
    if isinstance(transport, StdlibTransport):
        return transport.connections_in_use
    assert isinstance(transport, (httpx.HTTPTransport, httpx.AsyncHTTPTransport))
    pool: Any = transport._pool
    return sum(1 for conn in pool.connections if not (conn.is_idle() or conn.is_closed()))


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` every 5 ms for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def _new_threads(before: set[threading.Thread]) -> list[str]:
    def extra() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive()]

    wait_until(lambda: not extra(), 2.0)
    return [t.name for t in extra()]


def make_client(
    emu: Emulator,
    *,
    mode: Mode = "sync",
    auth: Auth = "sigv4",
    read_timeout: float = WAIT,
    max_attempts: int = 3,
) -> client.BedrockRuntimeClient:
    timeout = httpx.Timeout(WAIT, read=read_timeout)
    common: dict[str, Any] = {
        "endpoint_url": emu.url,
        "timeout": timeout,
        "max_attempts": max_attempts,
        "transport": transport_of(mode),
    }
    if auth == "bearer":
        bedrock = client.BedrockRuntimeClient(bearer_token=BEARER_TOKEN, **common)
    else:
        bedrock = client.BedrockRuntimeClient(REGION, credentials=CREDENTIALS, **common)
    assert_transport(bedrock, mode)
    # no public knob: the schedule's shape is what is tested
    bedrock._config = dataclasses.replace(bedrock._config, backoff=FAST_BACKOFF)
    return bedrock


def make_async_client(
    emu: Emulator, *, auth: Auth = "sigv4", read_timeout: float = WAIT, max_attempts: int = 3
) -> client.AsyncBedrockRuntimeClient:
    timeout = httpx.Timeout(WAIT, read=read_timeout)
    if auth == "bearer":
        bedrock = client.AsyncBedrockRuntimeClient(
            bearer_token=BEARER_TOKEN, endpoint_url=emu.url, timeout=timeout, max_attempts=max_attempts
        )
    else:
        bedrock = client.AsyncBedrockRuntimeClient(
            REGION, credentials=CREDENTIALS, endpoint_url=emu.url, timeout=timeout, max_attempts=max_attempts
        )
    bedrock._config = dataclasses.replace(bedrock._config, backoff=FAST_BACKOFF)
    return bedrock


def _run_sync(emu: Emulator, mode: Mode, auth: Auth, read_timeout: float, max_attempts: int) -> Outcome:
    events: list[bytes] = []
    error: Exception | None = None
    request_id: str | None = None
    retries: int | None = None
    started = time.monotonic()
    with make_client(
        emu, mode=mode, auth=auth, read_timeout=read_timeout, max_attempts=max_attempts
    ) as bedrock:
        try:
            stream = bedrock.invoke_model_with_response_stream(MODEL, BODY)
            with stream:
                try:
                    for event in stream:
                        events.append(event.bytes)
                finally:
                    request_id, retries = stream.request_id, stream.retry_attempts
        except Exception as exc:
            error = exc
        elapsed = time.monotonic() - started
        busy = busy_connections(bedrock._http)
    return Outcome(events, error, elapsed, request_id, retries, busy)


def _run_async(emu: Emulator, auth: Auth, read_timeout: float, max_attempts: int, bound: float) -> Outcome:
    async def call() -> Outcome:
        events: list[bytes] = []
        error: Exception | None = None
        request_id: str | None = None
        retries: int | None = None
        started = time.monotonic()
        async with make_async_client(
            emu, auth=auth, read_timeout=read_timeout, max_attempts=max_attempts
        ) as bedrock:
            with anyio.fail_after(bound):
                try:
                    stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
                    async with stream:
                        try:
                            async for event in stream:
                                events.append(event.bytes)
                        finally:
                            request_id, retries = stream.request_id, stream.retry_attempts
                except Exception as exc:
                    error = exc
            elapsed = time.monotonic() - started
            busy = busy_connections(bedrock._http)
        return Outcome(events, error, elapsed, request_id, retries, busy)

    return anyio.run(call)


def run_call(
    mode: Mode,
    emu: Emulator,
    *,
    auth: Auth = "sigv4",
    read_timeout: float = WAIT,
    max_attempts: int = 3,
    bound: float = 5.0,
) -> Outcome:
    """One call read to its end (or its error) by the ``mode`` client, which is then closed.

    Also measures: whether a pooled connection was still checked out once the stream was closed, the
    emulator's open connections after the client was closed (waited for, bounded), and threads started
    during the call that are still running afterwards. Fails if the call takes longer than ``bound``.
    """
    before = set(threading.enumerate())
    if mode != "async":
        outcome = _run_sync(emu, mode, auth, read_timeout, max_attempts)
    else:
        outcome = _run_async(emu, auth, read_timeout, max_attempts, bound)
    assert outcome.elapsed < bound, f"the call took {outcome.elapsed:.2f} s (bound {bound} s)"
    wait_until(lambda: emu.open_connections == 0, 5.0)
    outcome.server_open_after_close = emu.open_connections
    outcome.new_threads = _new_threads(before)
    return outcome


def record_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every backoff delay the clients sleep (they still sleep it, so arrival gaps show it)."""
    slept: list[float] = []
    real_sleep = time.sleep  # what client.runtime._sleep is
    real_async_sleep = client.runtime._async_sleep

    def sleep(delay: float) -> None:
        slept.append(delay)
        real_sleep(delay)

    async def async_sleep(delay: float) -> None:
        slept.append(delay)
        await real_async_sleep(delay)

    monkeypatch.setattr(client.runtime, "_sleep", sleep)
    monkeypatch.setattr(client.runtime, "_async_sleep", async_sleep)
    return slept
