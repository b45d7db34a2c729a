"""The fault matrix: every fault the emulator can inject, against both the sync and the async client.

For each fault, one call is read to its end and the test asserts that the client

1. raised the documented typed error (class, message, status, request id where the service gives them);
2. delivered every complete event sent before the fault, in order, none twice - compared with the same
   request without a fault (the emulator's answers are deterministic);
3. retried exactly when the policy says: before the first event, retryable faults are retried up to
   ``max_attempts`` (all attempts used when the fault is injected every time, success on attempt k when
   it is injected k - 1 times), with full-jitter backoff that shows in the arrival times; never once an
   event was delivered, and never for a fault retrying cannot fix;
4. released the connection (nothing checked out of the pool, the emulator sees it closed once the client
   is closed) and left no thread behind;
5. returned within an explicit bound.

Then: closing a stream early, breaking out of the loop and cancelling the async task each hang up at once.
The single-fault behaviours proven with scripted servers (tests/test_client_stream.py) and the emulator's
own byte-level faults (tests/test_emulator_faults.py) are not repeated here: this is their cross product
against the real emulator, through both clients.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

import client
from client.emulator import STREAM_EXCEPTIONS, Emulator, Fault, FaultKind
from eventstream import DEFAULT_MAX_MESSAGE_SIZE, FrameTooLarge, MessageChecksumMismatch, TruncatedStream
from fault_tools import (
    BODY,
    FAST_BACKOFF,
    MODEL,
    MODES,
    SYNC_MODES,
    Mode,
    Outcome,
    assert_no_leak,
    busy_connections,
    error_text,
    make_async_client,
    make_client,
    raw_frames,
    record_sleeps,
    run_call,
    start_emulator,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

MAX_ATTEMPTS = 3
AFTER = 3  # in-stream faults act after this many complete events
STALL_READ_TIMEOUT = 0.5
# A call's bound: generous next to what it needs (milliseconds, or a few read timeouts for stalls).
BOUND = 5.0


@dataclass(frozen=True)
class Normal:
    """The fault-free answer: the events the client yields and the frames on the wire."""

    events: list[bytes]
    frames: list[bytes]

    def offset(self, n: int) -> int:
        """Byte offset of frame ``n`` (the end of the first ``n`` frames)."""
        return sum(len(frame) for frame in self.frames[:n])


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def normal() -> Normal:
    """Computed once, on an emulator of its own: answers depend only on the request, so every test's
    emulator must give exactly these events (which the tests' comparisons also prove)."""
    with start_emulator() as emu:
        frames = raw_frames(emu)
        outcome = run_call("sync", emu)
    assert outcome.error is None
    assert len(outcome.events) == len(frames) > AFTER + 1
    return Normal(outcome.events, frames)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return record_sleeps(monkeypatch)


@dataclass(frozen=True)
class Bench:
    """A test's emulator, its fault-free answer, and the backoff sleeps the clients take."""

    emu: Emulator
    normal: Normal
    slept: list[float]


@pytest.fixture
def bench(emu: Emulator, normal: Normal, slept: list[float]) -> Bench:
    return Bench(emu, normal, slept)


def check_released(outcome: Outcome) -> None:
    """Point 4, and no secret in whatever was raised."""
    assert outcome.busy_connections == 0, "a pooled connection is still checked out after the stream closed"
    assert outcome.server_open_after_close == 0, "the emulator still has an open connection"
    assert outcome.new_threads == [], f"threads left behind: {outcome.new_threads}"
    if outcome.error is not None:
        assert_no_leak(error_text(outcome.error), "an error of the fault matrix")


def check_retries(emu: Emulator, slept: list[float], attempts: int) -> None:
    """Point 3: ``attempts`` requests, separated by full-jitter sleeps that the arrival times show."""
    requests = emu.requests
    assert len(requests) == attempts, [(r.status, r.fault) for r in requests]
    assert len(slept) == attempts - 1
    for retry, delay in enumerate(slept, 1):
        ceiling = min(FAST_BACKOFF.cap, FAST_BACKOFF.base * 2 ** (retry - 1))
        assert 0 <= delay <= ceiling, f"retry {retry} slept {delay} s, outside full jitter [0, {ceiling}]"
        gap = requests[retry].received_at - requests[retry - 1].received_at
        assert gap > 0 and gap >= delay - 0.002, f"retry {retry} came {gap:.4f} s after, slept {delay:.4f}"


def check_error(
    error: BaseException | None, cls: type[client.BedrockRuntimeError], *, status: int | None
) -> client.BedrockRuntimeError:
    """Point 1, the common part: exactly the documented class, the status, and a message in str()."""
    assert error is not None, "the call ended without an error"
    assert type(error) is cls, f"expected {cls.__name__}, got {type(error).__name__}: {error}"
    assert isinstance(error, client.BedrockRuntimeError)
    assert error.status_code == status
    assert error.message and error.message in str(error)
    return error


# --- before the stream -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Before:
    fault: Fault
    cls: type[client.BedrockRuntimeError]
    retryable: bool


BEFORE = {
    "throttling": Before(Fault(FaultKind.THROTTLING), client.ThrottlingException, True),
    "model-not-ready": Before(Fault(FaultKind.MODEL_NOT_READY), client.ModelNotReadyException, True),
    "internal-error": Before(Fault(FaultKind.INTERNAL_ERROR), client.InternalServerException, True),
    "service-unavailable": Before(
        Fault(FaultKind.SERVICE_UNAVAILABLE), client.ServiceUnavailableException, True
    ),
    "proxy-html-502": Before(Fault(FaultKind.BAD_GATEWAY), client.BedrockRuntimeError, True),
    "200-not-eventstream": Before(Fault(FaultKind.NOT_EVENTSTREAM), client.UnexpectedResponseError, False),
}
RETRYABLE_BEFORE = [name for name, case in BEFORE.items() if case.retryable]


def check_before_stream_error(outcome: Outcome, case: Before, emu: Emulator) -> None:
    fault = case.fault
    error = check_error(outcome.error, case.cls, status=fault.status)
    last = emu.requests[-1]
    assert not error.in_stream
    if fault.kind is FaultKind.BAD_GATEWAY:
        # A proxy's page: none of the service's marks, so no request id and no error code; the raw page is
        # kept for whoever debugs it.
        assert error.request_id is None and error.error_code is None
        assert error.body is not None and b"<h1>502 Bad Gateway</h1>" in error.body
        assert "502 Bad Gateway" in str(error)
    elif fault.kind is FaultKind.NOT_EVENTSTREAM:
        assert error.request_id == last.request_id
        assert error.body is not None and fault.error_message.encode() in error.body
        assert "application/json" in error.message
    else:
        assert error.request_id == last.request_id
        assert error.message == fault.error_message
        assert error.error_code == fault.error_name


@pytest.mark.parametrize("name", list(BEFORE))
@pytest.mark.parametrize("mode", MODES)
def test_fault_before_the_stream_on_every_attempt(
    emu: Emulator, slept: list[float], mode: Mode, name: str
) -> None:
    case = BEFORE[name]
    emu.inject(case.fault, times=MAX_ATTEMPTS + 1)
    outcome = run_call(mode, emu, max_attempts=MAX_ATTEMPTS, bound=BOUND)
    attempts = MAX_ATTEMPTS if case.retryable else 1
    check_before_stream_error(outcome, case, emu)
    assert outcome.events == []
    check_retries(emu, slept, attempts)
    assert isinstance(outcome.error, client.BedrockRuntimeError)
    assert outcome.error.retry_attempts == attempts - 1
    # The client stopped by itself: the faults it did not ask for are still queued.
    assert len(emu.pending_faults) == MAX_ATTEMPTS + 1 - attempts
    check_released(outcome)


@pytest.mark.parametrize("succeeds_on", [2, 3])
@pytest.mark.parametrize("name", RETRYABLE_BEFORE)
@pytest.mark.parametrize("mode", MODES)
def test_fault_before_the_stream_then_success(bench: Bench, mode: Mode, name: str, succeeds_on: int) -> None:
    emu, normal, slept = bench.emu, bench.normal, bench.slept
    case = BEFORE[name]
    emu.inject(case.fault, times=succeeds_on - 1)
    outcome = run_call(mode, emu, max_attempts=MAX_ATTEMPTS, bound=BOUND)
    assert outcome.error is None, outcome.error
    assert outcome.events == normal.events  # the whole answer, once
    check_retries(emu, slept, succeeds_on)
    assert [r.status for r in emu.requests] == [case.fault.status] * (succeeds_on - 1) + [200]
    assert outcome.retry_attempts == succeeds_on - 1
    assert outcome.request_id == emu.requests[-1].request_id
    check_released(outcome)


# --- in the stream -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class During:
    """An in-stream fault: how to make it act after ``n`` events, and what it must raise."""

    make: Callable[[int], Fault]
    cls: type[client.BedrockRuntimeError]
    retryable: bool  # when it strikes before the first event
    read_timeout: float = 10.0


_EXCEPTION_CLASSES: dict[str, type[client.BedrockRuntimeError]] = {
    "internalServerException": client.InternalServerException,
    "modelStreamErrorException": client.ModelStreamErrorException,
    "validationException": client.ValidationException,
    "throttlingException": client.ThrottlingException,
    "modelTimeoutException": client.ModelTimeoutException,
    "serviceUnavailableException": client.ServiceUnavailableException,
}
_RETRYABLE_EXCEPTIONS = {"internalServerException", "throttlingException", "serviceUnavailableException"}


def _exception(name: str) -> Callable[[int], Fault]:
    return lambda n: Fault(FaultKind.EXCEPTION, name=name, after=n)


def _kind(kind: FaultKind, **kwargs: Any) -> Callable[[int], Fault]:
    return lambda n: Fault(kind, after=n, **kwargs)


DURING: dict[str, During] = {
    **{
        name: During(_exception(name), _EXCEPTION_CLASSES[name], name in _RETRYABLE_EXCEPTIONS)
        for name in STREAM_EXCEPTIONS
    },
    "error-message": During(_kind(FaultKind.ERROR), client.UnmodeledStreamError, False),
    "drop-between-frames": During(_kind(FaultKind.DROP), client.StreamError, True),
    "drop-mid-frame": During(_kind(FaultKind.DROP_MID_FRAME), client.StreamError, True),
    "truncated-body": During(_kind(FaultKind.TRUNCATE), client.StreamError, False),
    "bad-crc": During(_kind(FaultKind.BAD_CRC), client.StreamError, False),
    "oversized-frame": During(
        _kind(FaultKind.OVERSIZED_FRAME, size=DEFAULT_MAX_MESSAGE_SIZE + 1), client.StreamError, False
    ),
    "stall": During(_kind(FaultKind.STALL, seconds=30.0), client.StreamError, True, STALL_READ_TIMEOUT),
}
assert set(STREAM_EXCEPTIONS) <= set(DURING)
RETRYABLE_DURING = [name for name, case in DURING.items() if case.retryable]


def check_in_stream_error(outcome: Outcome, case: During, fault: Fault, n: int, normal: Normal) -> None:
    """Point 1 for an in-stream fault that acted after ``n`` events of the attempt that raised it."""
    error = check_error(outcome.error, case.cls, status=200)
    request_id = outcome.request_id
    assert request_id is not None and error.request_id == request_id
    kind = fault.kind
    if kind is FaultKind.EXCEPTION:
        assert error.in_stream and error.exception_type == fault.error_name
        assert error.error_code == fault.error_name[0].upper() + fault.error_name[1:]
        assert error.message == fault.error_message
        if isinstance(error, client.ModelStreamErrorException):
            assert error.original_status_code == 500
            assert error.original_message == "The model's backend failed while streaming."
        return
    if kind is FaultKind.ERROR:
        assert error.in_stream and error.error_code == "InternalFailure"
        assert error.message == fault.error_message
        return
    assert isinstance(error, client.StreamError)
    cause = error.__cause__
    expected_offset = normal.offset(n)
    if kind in (FaultKind.DROP, FaultKind.DROP_MID_FRAME):
        assert "connection dropped" in error.message
        assert isinstance(cause, httpx.TransportError)
        if kind is FaultKind.DROP_MID_FRAME:
            expected_offset += len(normal.frames[n]) // 2
    elif kind is FaultKind.TRUNCATE:
        assert "ended mid-frame" in error.message and isinstance(cause, TruncatedStream)
    elif kind is FaultKind.BAD_CRC:
        assert "corrupt" in error.message and isinstance(cause, MessageChecksumMismatch)
    elif kind is FaultKind.OVERSIZED_FRAME:
        assert "corrupt" in error.message and isinstance(cause, FrameTooLarge)
    elif kind is FaultKind.STALL:
        assert "stalled" in error.message and isinstance(cause, httpx.ReadTimeout)
    assert error.offset == expected_offset, f"offset {error.offset}, expected {expected_offset}"


@pytest.mark.parametrize("name", list(DURING))
@pytest.mark.parametrize("mode", MODES)
def test_fault_in_the_stream_after_events(
    emu: Emulator, normal: Normal, slept: list[float], mode: Mode, name: str
) -> None:
    case = DURING[name]
    fault = case.make(AFTER)
    # Queued for every attempt: a retry after events were delivered would be seen consuming one.
    emu.inject(fault, times=MAX_ATTEMPTS)
    outcome = run_call(mode, emu, read_timeout=case.read_timeout, max_attempts=MAX_ATTEMPTS, bound=BOUND)
    check_in_stream_error(outcome, case, fault, AFTER, normal)
    assert outcome.events == normal.events[:AFTER]  # every complete event before the fault, once, in order
    check_retries(emu, slept, 1)
    assert outcome.retry_attempts == 0
    assert len(emu.pending_faults) == MAX_ATTEMPTS - 1
    if fault.kind is FaultKind.STALL:
        assert outcome.elapsed >= STALL_READ_TIMEOUT
    check_released(outcome)


@pytest.mark.parametrize("name", ["drop-between-frames", "throttlingException", "error-message", "stall"])
@pytest.mark.parametrize("mode", MODES)
def test_fault_after_the_last_event_is_still_raised(
    emu: Emulator, normal: Normal, slept: list[float], mode: Mode, name: str
) -> None:
    # All the answer's events arrived: the fault must still surface, never read as a clean end.
    case = DURING[name]
    fault = case.make(len(normal.events))
    emu.inject(fault)
    outcome = run_call(mode, emu, read_timeout=case.read_timeout, bound=BOUND)
    check_in_stream_error(outcome, case, fault, len(normal.events), normal)
    assert outcome.events == normal.events
    check_retries(emu, slept, 1)
    check_released(outcome)


@pytest.mark.parametrize("name", list(DURING))
@pytest.mark.parametrize("mode", MODES)
def test_fault_in_the_stream_before_the_first_event_on_every_attempt(
    emu: Emulator, normal: Normal, slept: list[float], mode: Mode, name: str
) -> None:
    case = DURING[name]
    fault = case.make(0)
    emu.inject(fault, times=MAX_ATTEMPTS + 1)
    outcome = run_call(mode, emu, read_timeout=case.read_timeout, max_attempts=MAX_ATTEMPTS, bound=BOUND)
    attempts = MAX_ATTEMPTS if case.retryable else 1
    check_in_stream_error(outcome, case, fault, 0, normal)
    assert outcome.events == []
    check_retries(emu, slept, attempts)
    assert outcome.request_id == emu.requests[-1].request_id  # the error is the last attempt's
    assert isinstance(outcome.error, client.BedrockRuntimeError)
    assert outcome.error.retry_attempts == attempts - 1
    assert len(emu.pending_faults) == MAX_ATTEMPTS + 1 - attempts
    check_released(outcome)


@pytest.mark.parametrize("succeeds_on", [2, 3])
@pytest.mark.parametrize("name", RETRYABLE_DURING)
@pytest.mark.parametrize("mode", MODES)
def test_fault_in_the_stream_before_the_first_event_then_success(
    bench: Bench, mode: Mode, name: str, succeeds_on: int
) -> None:
    emu, normal, slept = bench.emu, bench.normal, bench.slept
    case = DURING[name]
    emu.inject(case.make(0), times=succeeds_on - 1)
    outcome = run_call(mode, emu, read_timeout=case.read_timeout, max_attempts=MAX_ATTEMPTS, bound=BOUND)
    assert outcome.error is None, outcome.error
    assert outcome.events == normal.events
    check_retries(emu, slept, succeeds_on)
    assert outcome.retry_attempts == succeeds_on - 1
    assert outcome.request_id == emu.requests[-1].request_id  # the stream describes the answer it gave
    check_released(outcome)


# --- closing early ------------------------------------------------------------------------------------------

# The server is mid-answer (a long stall after two events) when the caller stops: it must see the hang-up
# at once, not when its stall or the client's read timeout would end.
HANG_UP_BOUND = 1.0


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Closing must not depend on the cyclic garbage collector happening to run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stalled_emulator() -> Emulator:
    return start_emulator(faults=[Fault(FaultKind.STALL, after=2, seconds=60.0)])


def _check_hung_up(emu: Emulator, started: float) -> None:
    assert wait_until(lambda: emu.open_connections == 0, HANG_UP_BOUND), "the server never saw the hang-up"
    assert time.monotonic() - started < HANG_UP_BOUND + 0.5
    assert len(emu.requests) == 1  # stopping is not a failure to retry


@pytest.mark.parametrize("how", ["close", "leave-with", "break-for", "drop-unread"])
@pytest.mark.parametrize("mode", SYNC_MODES)
def test_stopping_early_hangs_up_at_once(mode: Mode, how: str) -> None:
    with _stalled_emulator() as emu, make_client(emu, mode=mode) as bedrock, no_cyclic_gc():
        before = set(threading.enumerate())
        started = time.monotonic()
        if how == "break-for":
            # No `with`, no name for the stream: only dropping it after `break` can close it.
            for event in bedrock.invoke_model_with_response_stream(MODEL, BODY):
                assert event.bytes
                break
        else:
            stream = bedrock.invoke_model_with_response_stream(MODEL, BODY)
            if how == "close":
                assert next(stream).bytes
                stream.close()
            elif how == "leave-with":
                with stream:
                    assert next(stream).bytes
            else:  # dropped before reading anything
                del stream
        _check_hung_up(emu, started)
        assert busy_connections(bedrock._http) == 0
        # The client is unharmed: the next call streams normally (the stall fault was consumed).
        assert len(list(bedrock.invoke_model_with_response_stream(MODEL, BODY))) > 2
        assert [t for t in threading.enumerate() if t not in before] == []


@pytest.mark.parametrize("how", ["aclose", "leave-async-with", "break-async-for", "cancel-task"])
def test_async_stopping_early_hangs_up_at_once(how: str) -> None:
    async def scenario(emu: Emulator) -> None:
        async with make_async_client(emu) as bedrock:
            with anyio.fail_after(BOUND):
                started = time.monotonic()
                if how == "aclose":
                    stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
                    assert (await stream.__anext__()).bytes
                    await stream.aclose()
                elif how == "leave-async-with":
                    stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
                    async with stream:
                        assert (await stream.__anext__()).bytes
                elif how == "break-async-for":
                    async for event in await bedrock.invoke_model_with_response_stream(MODEL, BODY):
                        assert event.bytes
                        break
                else:
                    got: list[bytes] = []

                    async def reader() -> None:
                        stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
                        async with stream:
                            async for event in stream:
                                got.append(event.bytes)

                    async with anyio.create_task_group() as tasks:
                        tasks.start_soon(reader)
                        while len(got) < 2:
                            await anyio.sleep(0.005)
                        started = time.monotonic()
                        tasks.cancel_scope.cancel()  # the reader is waiting out the stall
                    assert len(got) == 2
                deadline = time.monotonic() + HANG_UP_BOUND
                while emu.open_connections and time.monotonic() < deadline:
                    await anyio.sleep(0.005)
                _check_hung_up(emu, started)
                assert busy_connections(bedrock._http) == 0
                stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
                async with stream:
                    assert len([event async for event in stream]) > 2

    with _stalled_emulator() as emu, no_cyclic_gc():
        before = set(threading.enumerate())
        anyio.run(scenario, emu)
        assert [t for t in threading.enumerate() if t not in before] == []
