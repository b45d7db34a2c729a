"""Load: 200 concurrent streams of 500 events each against the emulator, with nothing lost: async tasks, and
sync threads on both sync transports (the default, ``StdlibTransport``, and httpx's).

Every stream asks its own question, so every answer is different; each stream's chunks must equal, in order
and in full, the events the emulator's deterministic model produces for that request (computed here without
going through the client or the decoder). A stream that got another's events, lost one, repeated one or
reordered two fails. The streams really are open at the same time: each reads its first event and then waits
until all of them have one before reading the rest.

Timing figures live in ``benchmarks/bench_load.py``; nothing here asserts a duration, but every wait is
bounded (``anyio.fail_after``) so a failure never hangs.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

import client
from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
from client.emulator.models import answer_events, resolve_model
from fault_tools import SYNC_MODES, Mode, assert_transport, sync_http_client, transport_of
from sigv4 import Credentials

STREAMS = 200
EVENTS = 500
# An Anthropic messages answer is message_start, content_block_start, the text deltas, content_block_stop,
# message_delta and message_stop: five events around the chunks the emulator is asked for.
AROUND_CHUNKS = 5
# The default-pool variant checks queueing for a connection, not volume: shorter answers keep it quick.
SHORT_EVENTS = 50
MODELS = (
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
)
REGION = "us-east-1"
CREDS = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, "load-test-session-token")
# Bound on the whole load (the pytest-timeout of 120 s is the last resort, not the plan).
DEADLINE = 90.0
# Each socket wait (connect, read, pool) is bounded too.
TIMEOUT = httpx.Timeout(30.0)


def question(index: int) -> str:
    return f"load stream {index} question q{index}x{index * 7919 % 1000}"


def request_body(index: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": question(index)}],
    }


@functools.cache
def expected_events(index: int, count: int) -> list[Any]:
    """The ``count`` events of the answer the emulator's deterministic model gives stream ``index``."""
    model_id = MODELS[index % len(MODELS)]
    chunks = count - AROUND_CHUNKS
    events = answer_events(resolve_model(model_id), model_id, request_body(index), chunk_count=chunks)
    # Through JSON and back, as a client sees them (tuples become lists, and so on).
    return [json.loads(json.dumps(event)) for event in events]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(chunk_count=EVENTS - AROUND_CHUNKS, pace=0.0) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def short_emu() -> Iterator[Emulator]:
    with Emulator(chunk_count=SHORT_EVENTS - AROUND_CHUNKS, pace=0.0) as emulator:
        yield emulator


async def read_all_streams(
    bedrock: client.AsyncBedrockRuntimeClient, *, wait_until_all_open: bool
) -> tuple[dict[int, list[client.Chunk]], int]:
    """Run STREAMS streams at once; return each one's chunks and the most that were open at one time."""
    received: dict[int, list[client.Chunk]] = {}
    open_now = 0
    most_open = 0
    with_first_event = 0
    all_open = anyio.Event()

    async def one(index: int) -> None:
        nonlocal open_now, most_open, with_first_event
        stream = await bedrock.invoke_model_with_response_stream(
            MODELS[index % len(MODELS)], request_body(index)
        )
        chunks: list[client.Chunk] = []
        async with stream:
            open_now += 1
            most_open = max(most_open, open_now)
            async for event in stream:
                chunks.append(event)
                if len(chunks) == 1 and wait_until_all_open:
                    with_first_event += 1
                    if with_first_event == STREAMS:
                        all_open.set()
                    await all_open.wait()
            open_now -= 1
        received[index] = chunks

    with anyio.fail_after(DEADLINE):
        async with anyio.create_task_group() as tasks:
            for index in range(STREAMS):
                tasks.start_soon(one, index)
    return received, most_open


def check_every_stream(received: dict[int, list[client.Chunk]], count: int) -> None:
    assert sorted(received) == list(range(STREAMS)), "some streams did not complete"
    for index in range(STREAMS):
        chunks = received[index]
        assert len(chunks) == count, f"stream {index}: {len(chunks)} events, expected {count}"
        got = [chunk.json() for chunk in chunks]
        expected = expected_events(index, count)
        if got != expected:
            first = next(n for n, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            pytest.fail(f"stream {index}: event #{first} is {got[first]!r}, expected {expected[first]!r}")
        # Its own answer, not a neighbour's: the question is echoed at the start of the text.
        text = "".join(event["delta"]["text"] for event in got if event["type"] == "content_block_delta")
        assert question(index) in text, f"stream {index} got another stream's answer"


@pytest.mark.anyio
async def test_200_concurrent_streams_all_open_at_once_deliver_every_event_in_order(emu: Emulator) -> None:
    accepted_before = emu.connections_accepted
    # httpx's default pool holds 100 connections; 200 streams open at once need a pool that large.
    limits = httpx.Limits(max_connections=STREAMS, max_keepalive_connections=STREAMS)
    async with (
        httpx.AsyncClient(limits=limits, timeout=TIMEOUT) as http,
        client.AsyncBedrockRuntimeClient(
            REGION, credentials=CREDS, endpoint_url=emu.url, http_client=http, max_attempts=1
        ) as bedrock,
    ):
        started = time.monotonic()
        received, most_open = await read_all_streams(bedrock, wait_until_all_open=True)
        elapsed = time.monotonic() - started
    check_every_stream(received, EVENTS)
    assert most_open == STREAMS, f"only {most_open} streams were open at once"
    assert emu.connections_accepted - accepted_before == STREAMS
    ok = [r for r in emu.requests[-STREAMS:] if r.status == 200]
    assert len(ok) == STREAMS
    # Reported, never asserted (timings belong to benchmarks/bench_load.py).
    print(f"\n{STREAMS} x {EVENTS} events, all open at once: {elapsed:.2f} s")


@pytest.mark.anyio
async def test_200_concurrent_streams_through_the_default_pool_all_complete(short_emu: Emulator) -> None:
    # The client's own httpx.AsyncClient (a pool of 100 connections): streams beyond that wait for a
    # connection, and none is lost or mixed up for it.
    async with client.AsyncBedrockRuntimeClient(
        REGION, credentials=CREDS, endpoint_url=short_emu.url, timeout=TIMEOUT, max_attempts=1
    ) as bedrock:
        started = time.monotonic()
        received, most_open = await read_all_streams(bedrock, wait_until_all_open=False)
        elapsed = time.monotonic() - started
    check_every_stream(received, SHORT_EVENTS)
    assert 1 <= most_open <= 100
    print(f"\n{STREAMS} x {SHORT_EVENTS} events, default pool: {elapsed:.2f} s, {most_open} open at most")


def read_all_streams_in_threads(
    bedrock: client.BedrockRuntimeClient, *, wait_until_all_open: bool
) -> tuple[dict[int, list[client.Chunk]], int]:
    """The sync twin of :func:`read_all_streams`: one thread per stream, every wait bounded."""
    received: dict[int, list[client.Chunk]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    open_now = most_open = 0
    all_open = threading.Barrier(STREAMS)
    deadline = time.monotonic() + DEADLINE

    def one(index: int) -> None:
        nonlocal open_now, most_open
        try:
            stream = bedrock.invoke_model_with_response_stream(
                MODELS[index % len(MODELS)], request_body(index)
            )
            chunks: list[client.Chunk] = []
            with stream:
                with lock:
                    open_now += 1
                    most_open = max(most_open, open_now)
                for event in stream:
                    chunks.append(event)
                    if len(chunks) == 1 and wait_until_all_open:
                        all_open.wait(timeout=max(0.0, deadline - time.monotonic()))
                with lock:
                    open_now -= 1
            received[index] = chunks
        except BaseException as exc:  # reported by the test, never lost in a thread
            errors.append(exc)
            all_open.abort()

    threads = [threading.Thread(target=one, args=(index,), daemon=True) for index in range(STREAMS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the load did not finish in time"
    assert errors == [], errors[:3]
    return received, most_open


@pytest.mark.parametrize("mode", SYNC_MODES)
def test_200_concurrent_sync_streams_all_open_at_once_deliver_every_event_in_order(
    emu: Emulator, mode: Mode
) -> None:
    accepted_before = emu.connections_accepted
    limits = httpx.Limits(max_connections=STREAMS, max_keepalive_connections=STREAMS)
    with (
        sync_http_client(mode, limits=limits, timeout=TIMEOUT) as http,
        client.BedrockRuntimeClient(
            REGION, credentials=CREDS, endpoint_url=emu.url, http_client=http, max_attempts=1
        ) as bedrock,
    ):
        started = time.monotonic()
        received, most_open = read_all_streams_in_threads(bedrock, wait_until_all_open=True)
        elapsed = time.monotonic() - started
    check_every_stream(received, EVENTS)
    assert most_open == STREAMS, f"only {most_open} streams were open at once"
    assert emu.connections_accepted - accepted_before == STREAMS
    print(f"\n{mode}: {STREAMS} threads x {EVENTS} events, all open at once: {elapsed:.2f} s")


@pytest.mark.parametrize("mode", SYNC_MODES)
def test_200_sync_streams_through_the_default_pool_all_complete(short_emu: Emulator, mode: Mode) -> None:
    # The client's own default httpx.Client: at most 100 connections on either transport, so threads beyond
    # that wait for one (the pool timeout is generous here), and none is lost or mixed up for it.
    with client.BedrockRuntimeClient(
        REGION,
        credentials=CREDS,
        endpoint_url=short_emu.url,
        timeout=TIMEOUT,
        max_attempts=1,
        transport=transport_of(mode),
    ) as bedrock:
        assert_transport(bedrock, mode)
        started = time.monotonic()
        received, most_open = read_all_streams_in_threads(bedrock, wait_until_all_open=False)
        elapsed = time.monotonic() - started
    check_every_stream(received, SHORT_EVENTS)
    assert 1 <= most_open <= 100
    print(f"\n{mode}: {STREAMS} threads x {SHORT_EVENTS} events, default pool: {elapsed:.2f} s, {most_open}")


@pytest.mark.parametrize("which", ["emu", "short_emu"])
def test_emulator_connections_are_released_after_the_load(which: str, request: pytest.FixtureRequest) -> None:
    # Runs after the load tests (file order): every connection the clients opened was closed again.
    emulator: Emulator = request.getfixturevalue(which)
    deadline = time.monotonic() + 10.0
    while emulator.open_connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emulator.open_connections == 0
