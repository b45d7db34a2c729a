"""The fault choreography as data: the steps any wire layer plays, checked without a socket."""

from __future__ import annotations

import pytest

from client.emulator import Fault, FaultKind, faults
from client.emulator.frames import corrupt_crc
from client.emulator.plan import Abort, End, Flush, Pause, Send, body_steps, stream_steps
from client.operations import ERRORS, INVOKE_MODEL_WITH_RESPONSE_STREAM

FRAMES = (b"a" * 20, b"b" * 20, b"c" * 20, b"d" * 20)
TYPES = ("messageStart", "contentBlockDelta", "messageStop", "metadata")


def test_no_fault_sends_every_frame_paced_then_ends() -> None:
    assert stream_steps(FRAMES[:2], pace=0.5) == (Send(FRAMES[0]), Pause(0.5), Send(FRAMES[1]), End())
    assert stream_steps(FRAMES) == (*(Send(frame) for frame in FRAMES), End())


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(FaultKind.DROP, after=1), (Send(FRAMES[0]), Flush(), Abort())),
        (Fault(FaultKind.DROP, before="messageStop"), (Send(FRAMES[0]), Send(FRAMES[1]), Flush(), Abort())),
        (Fault(FaultKind.DROP_MID_FRAME, after=0), (Send(FRAMES[0][:10]), Abort())),
        (Fault(FaultKind.TRUNCATE, after=99), (*(Send(f) for f in FRAMES[:3]), Send(FRAMES[3][:10]), End())),
        (
            Fault(FaultKind.STALL, after=3, seconds=2),
            (*(Send(f) for f in FRAMES[:3]), Flush(), Pause(2), Send(FRAMES[3]), End()),
        ),
    ],
)
def test_in_stream_faults(fault: Fault, expected: tuple[object, ...]) -> None:
    assert stream_steps(FRAMES, event_types=TYPES, fault=fault) == expected


def test_bad_crc_corrupts_one_frame_and_sends_the_rest() -> None:
    frame = bytes(range(32))
    steps = stream_steps((frame, frame), fault=Fault(FaultKind.BAD_CRC, after=0))
    assert steps == (Send(corrupt_crc(frame)), Send(frame), End())


def test_fault_frames_replace_the_rest() -> None:
    steps = stream_steps(FRAMES, fault=Fault(FaultKind.ERROR, after=2), fault_frame=b"E")
    assert steps == (Send(FRAMES[0]), Send(FRAMES[1]), Send(b"E"), End())


def test_before_an_absent_event_acts_at_the_end() -> None:
    steps = stream_steps(
        FRAMES, event_types=("chunk",) * 4, fault=Fault(FaultKind.DROP, before="messageStop")
    )
    assert steps == (*(Send(f) for f in FRAMES), Flush(), Abort())


def test_body_faults() -> None:
    body = b'{"text": "hello"}'
    assert body_steps(body) == (body, (Send(body), End()))
    sent, steps = body_steps(body, Fault(FaultKind.TRUNCATE))
    assert sent == body[:8] and steps == (Send(body[:8]), End())
    assert body_steps(body, Fault(FaultKind.DROP))[1] == (Send(body[:8]), Flush(), Abort())
    assert body_steps(body, Fault(FaultKind.STALL, seconds=1))[1] == (Flush(), Pause(1), Send(body), End())
    padded, _ = body_steps(body, Fault(FaultKind.OVERSIZED_FRAME, size=100))
    assert len(padded) == 100 and padded.strip() == body


def test_before_must_name_an_event() -> None:
    with pytest.raises(ValueError, match="before= must be an event name"):
        Fault(FaultKind.DROP, before="nope")


def test_fault_tables_name_only_errors_of_the_operations_table() -> None:
    assert set(faults.HTTP_ERROR_STATUS) == set(ERRORS)
    assert all(status == ERRORS[name].status for name, status in faults.HTTP_ERROR_STATUS.items())
    assert INVOKE_MODEL_WITH_RESPONSE_STREAM.stream_exceptions == faults.STREAM_EXCEPTIONS
    for kind in FaultKind:
        if kind in (FaultKind.THROTTLING, FaultKind.MODEL_NOT_READY, FaultKind.INTERNAL_ERROR):
            assert Fault(kind).error_name in ERRORS
