"""Reading a recorded event stream for replay: the bytes to send again, cut at frame boundaries.

Pure. :func:`read_recording` accepts

- a plain concatenation of event-stream frames (what ``invoke --raw`` writes, or the body of a capture);
- a raw HTTP/1.1 response capture (status line, headers, then the body with ``Content-Length`` or chunked
  framing): its body's frames are replayed (the head is the emulator's own, so the answer stays
  well-formed for the request it answers).

The frames are split by their prelude's total length without checking CRCs or headers, so a recording of
a broken stream (a flipped CRC, a frame cut short at the end) replays byte for byte: whatever follows the
last whole frame is sent as one last piece. Frames are paced by the emulator's ``pace``.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from eventstream import DecodeError, Decoder

__all__ = ["Recording", "RecordingError", "load_recording", "read_recording"]

_PRELUDE = struct.Struct(">I")
_MIN_FRAME = 16  # prelude (8) + prelude CRC (4) + message CRC (4)


class RecordingError(ValueError):
    """A file that holds no event stream to replay (empty, or an HTTP capture that cannot be read)."""


@dataclass(frozen=True)
class Recording:
    """A recorded stream: ``pieces`` are its frames in order (the last one possibly partial)."""

    pieces: tuple[bytes, ...]

    @property
    def event_types(self) -> tuple[str, ...]:
        """Each piece's ``:event-type`` (or ``:exception-type``), ``""`` when it does not decode."""
        types: list[str] = []
        for piece in self.pieces:
            try:
                messages = Decoder().feed(piece)
            except DecodeError:
                messages = []
            headers = messages[0].headers if messages else {}
            name = headers.get(":event-type", headers.get(":exception-type", ""))
            types.append(name if isinstance(name, str) else "")
        return tuple(types)


def _split_frames(data: bytes) -> tuple[bytes, ...]:
    pieces: list[bytes] = []
    offset = 0
    while offset < len(data):
        rest = len(data) - offset
        total = _PRELUDE.unpack_from(data, offset)[0] if rest >= 4 else 0
        if total < _MIN_FRAME or total > rest:
            pieces.append(data[offset:])  # a frame cut short, or bytes that are not a frame: sent as they are
            break
        pieces.append(data[offset : offset + total])
        offset += total
    return tuple(pieces)


def _http_body(data: bytes) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise RecordingError("an HTTP capture without the blank line that ends its head")
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if fields.get(b"transfer-encoding", b"").lower() != b"chunked":
        length = fields.get(b"content-length")
        return body[: int(length)] if length is not None and length.isdigit() else body
    parts: list[bytes] = []
    while body:
        size_line, crlf, body = body.partition(b"\r\n")
        size_text = size_line.split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise RecordingError(f"an HTTP capture with a bad chunk size line {size_line[:40]!r}") from None
        if not crlf or size == 0:
            break
        parts.append(body[:size])  # a capture cut mid-chunk keeps what it has
        body = body[size + 2 :]
    return b"".join(parts)


def read_recording(data: bytes) -> Recording:
    """The recording in ``data`` (see the module docstring); :class:`RecordingError` if there is none."""
    if data.startswith(b"HTTP/1."):
        data = _http_body(data)
    if not data:
        raise RecordingError("the recording is empty: there is no stream to replay")
    return Recording(_split_frames(data))


def load_recording(path: str | os.PathLike[str]) -> Recording:
    """The recording in the file at ``path``."""
    with open(path, "rb") as file:
        return read_recording(file.read())
