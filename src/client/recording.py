"""The recording format of ``bedrock-stream invoke --record FILE``: what a replay needs to answer again.

FILE holds the event-stream bytes exactly as received (any event-stream decoder reads it). FILE + ``.meta``
(the sidecar) holds JSON lines: first ``{"format": "bedrock-stream-recording/1", "status", "reason",
"headers", "path"}`` of the HTTP response (and the request's path, which names the operation and the model),
then one ``{"at": seconds since the response headers, "end": bytes received so far}`` per piece as it arrived.
The CLI writes it (flushed after every piece); ``decode`` and the emulator's replay
(``Emulator(replay=FILE, replay_as_recorded=True)``, ``serve --replay FILE --as-recorded``) read it here.
Pure apart from reading the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RECORDING_FORMAT", "SIDECAR_SUFFIX", "Recording", "read_recording"]

#: The first line of a recording's sidecar says which format it is.
RECORDING_FORMAT = "bedrock-stream-recording/1"
#: ``invoke --record FILE`` writes the frames to FILE and what replay needs besides to FILE + this suffix.
SIDECAR_SUFFIX = ".meta"


@dataclass(frozen=True)
class Recording:
    """An ``invoke --record`` recording: the stream's bytes and what its ``.meta`` sidecar says.

    ``pieces`` are ``(seconds since the response headers, bytes received so far)``, one per piece as it
    arrived: a replay sends ``body[previous end:end]`` at each ``at`` to reproduce the recorded pacing.
    """

    body: bytes
    status: int | None
    reason: str
    headers: tuple[tuple[str, str], ...]
    path: str | None
    pieces: tuple[tuple[float, int], ...]
    #: What in the sidecar did not add up (a line cut by a kill, a byte count that differs), else None.
    problem: str | None = None


def read_recording(path: str, body: bytes | None = None) -> Recording | None:
    """The recording at ``path`` (frames) and ``path + ".meta"``; None when there is no such sidecar.

    ``body`` is the content of ``path`` when already read. A sidecar whose last line was cut (the recording
    was killed mid-write) still gives every complete piece, with ``problem`` saying so.
    """
    try:
        with open(path + SIDECAR_SUFFIX, encoding="utf-8") as meta:
            lines = meta.read().splitlines()
        head = json.loads(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    if not isinstance(head, dict) or head.get("format") != RECORDING_FORMAT:
        return None
    if body is None:
        body = Path(path).read_bytes()
    pieces: list[tuple[float, int]] = []
    problem = None
    for number, line in enumerate(lines[1:], 2):
        try:
            piece = json.loads(line)
            pieces.append((float(piece["at"]), int(piece["end"])))
        except (ValueError, KeyError, TypeError):
            problem = f"line {number} of the sidecar is not a piece record (cut short?)"
            break
    if problem is None and pieces and pieces[-1][1] != len(body):
        problem = f"the sidecar records {pieces[-1][1]} bytes, the file has {len(body)}"
    status = head.get("status")
    raw_headers = head.get("headers")
    headers = tuple(
        (str(item[0]), str(item[1]))
        for item in (raw_headers if isinstance(raw_headers, list) else [])
        if isinstance(item, list) and len(item) == 2
    )
    reason = head.get("reason")
    path_value = head.get("path")
    return Recording(
        body,
        status if isinstance(status, int) else None,
        reason if isinstance(reason, str) else "",
        headers,
        path_value if isinstance(path_value, str) else None,
        tuple(pieces),
        problem,
    )
