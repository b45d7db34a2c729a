"""The choreography of one response, as data: what to send, when to pause, and how the body ends.

Pure. The service decides an answer (a head and either an event stream's frames or one body) and a fault;
the functions here turn them into a :class:`Plan`, a flat tuple of steps that any wire layer plays in order
(the HTTP/1.1 server, and the HTTP/2 duplex), so every fault behaves the same on every operation and every
transport:

- :class:`Send` bytes (one HTTP chunk or DATA frame per ``Send`` of a stream: one event-stream frame each);
- :class:`Flush` what is buffered, so the client has it before a :class:`Pause`;
- :class:`Pause` for some seconds (pacing, stalls); a player that sees the client hang up meanwhile stops
  there, as if the plan said :class:`Abort`;
- :class:`End` the body properly (the last chunk / END_STREAM), or :class:`Abort`: close the connection
  (reset the stream) without ending it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import Fault, FaultKind
from .frames import corrupt_crc

__all__ = ["Abort", "End", "Flush", "Pause", "Plan", "Send", "Step", "body_steps", "stream_steps"]


@dataclass(frozen=True, slots=True)
class Send:
    """Send these bytes."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Flush:
    """Push out whatever the player buffered (re-chunking), so the client has it now."""


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait ``seconds``; stop the plan if the client hangs up meanwhile."""

    seconds: float


@dataclass(frozen=True, slots=True)
class End:
    """End the body properly; the connection may serve another request."""


@dataclass(frozen=True, slots=True)
class Abort:
    """Close the connection after what was sent, without ending the body."""


Step = Send | Flush | Pause | End | Abort


@dataclass(frozen=True)
class Plan:
    """A response to play: status, headers (in order) and the steps of its body.

    ``streamed``: the body is an event stream (chunked on HTTP/1.1); otherwise the headers carry its
    ``Content-Length``. ``frames`` and ``fault`` are kept for whoever inspects the plan (replay, tests).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...]
    streamed: bool = True
    fault: Fault | None = None


# Faults that break a frame need one to break: they act on the last frame at the latest.
_BREAKS_FRAME = frozenset({FaultKind.DROP_MID_FRAME, FaultKind.TRUNCATE, FaultKind.BAD_CRC})


def fault_index(fault: Fault, event_types: tuple[str, ...]) -> int:
    """Where an in-stream fault acts: before frame number ``after`` (or before the first frame of type
    ``before``), clamped to the answer."""
    count = len(event_types)
    at = fault.after
    if fault.before is not None:
        at = event_types.index(fault.before) if fault.before in event_types else count
    return min(at, count - 1 if fault.kind in _BREAKS_FRAME else count)


def stream_steps(
    frames: tuple[bytes, ...],
    *,
    event_types: tuple[str, ...] = (),
    fault: Fault | None = None,
    fault_frame: bytes | None = None,
    pace: float = 0.0,
) -> tuple[Step, ...]:
    """The steps of an event stream of ``frames``, ``pace`` seconds apart, acting out ``fault``.

    ``event_types`` names each frame's event (for ``Fault(before=...)``); ``fault_frame`` is the frame an
    ``exception``, ``error`` or ``oversized-frame`` fault sends instead of the rest of the answer.
    """
    steps: list[Step] = []
    at = fault_index(fault, event_types or ("",) * len(frames)) if fault is not None else -1
    for index in range(len(frames) + 1):
        if index == at and fault is not None:
            kind = fault.kind
            if kind in (FaultKind.EXCEPTION, FaultKind.ERROR, FaultKind.OVERSIZED_FRAME):
                assert fault_frame is not None
                return (*steps, Send(fault_frame), End())
            if kind is FaultKind.DROP:
                return (*steps, Flush(), Abort())
            if kind in (FaultKind.DROP_MID_FRAME, FaultKind.TRUNCATE):
                frame = frames[index]
                return (
                    *steps,
                    Send(frame[: len(frame) // 2]),
                    End() if kind is FaultKind.TRUNCATE else Abort(),
                )
            if kind is FaultKind.BAD_CRC:
                rest = [Send(frame) for frame in frames[index + 1 :]]
                return (*steps, Send(corrupt_crc(frames[index])), *rest, End())
            if kind is FaultKind.STALL:
                steps += [Flush(), Pause(fault.seconds)]
        if index == len(frames):
            break
        steps.append(Send(frames[index]))
        if pace and index < len(frames) - 1:
            steps.append(Pause(pace))
    steps.append(End())
    return tuple(steps)


def body_steps(body: bytes, fault: Fault | None = None) -> tuple[bytes, tuple[Step, ...]]:
    """A one-piece answer's body (``Content-Length`` follows it) and steps, acting out an in-stream ``fault``.

    On a body, the stream faults mean: ``stall`` pauses after the head; ``drop`` and ``drop-mid-frame`` send
    half the body and close; ``truncate`` sends half the body as a complete (shorter) one; ``bad-crc``
    corrupts a byte in the middle (invalid UTF-8); ``oversized-frame`` pads the answer with trailing
    whitespace to ``size`` bytes. ``exception`` and ``error`` are answered as HTTP errors by the service.
    """
    kind = fault.kind if fault is not None else None
    half = body[: len(body) // 2]
    if kind is FaultKind.STALL:
        assert fault is not None
        return body, (Flush(), Pause(fault.seconds), Send(body), End())
    if kind in (FaultKind.DROP, FaultKind.DROP_MID_FRAME):
        return body, (Send(half), Flush(), Abort())
    if kind is FaultKind.TRUNCATE:
        return half, (Send(half), End())
    if kind is FaultKind.BAD_CRC and body:
        middle = len(body) // 2
        broken = body[:middle] + b"\xff" + body[middle + 1 :]
        return broken, (Send(broken), End())
    if kind is FaultKind.OVERSIZED_FRAME and fault is not None:
        padded = body + b" " * max(0, fault.size - len(body))
        return padded, (Send(padded), End())
    return body, (Send(body), End())
