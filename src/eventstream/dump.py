"""Dump a recorded event stream as JSON lines: ``python -m eventstream FILE`` (``-`` reads standard input).

One JSON object per frame, in stream order::

    {"offset": 0, "length": 251,
     "headers": [{"name": ":event-type", "type": "string", "value": "chunk"}, ...],
     "payload": {"bytes": "eyJ0eXBlIjoi...", "p": "abcd"}}

* ``headers``: every header in wire order with its wire type name (``bool_true``, ``bool_false``, ``byte``,
  ``short``, ``integer``, ``long``, ``byte_array``, ``string``, ``timestamp``, ``uuid``) and its value:
  byte arrays as base64, UUIDs in canonical text form, timestamps as ISO 8601 UTC text with the raw
  milliseconds in ``"ms"`` (only ``"ms"`` when the value is outside the years 1-9999).
* The payload is ``payload`` (parsed JSON) when ``:content-type`` is JSON and the payload parses; otherwise
  ``payload_text`` (valid UTF-8) or ``payload_base64``.

The format knows nothing of any service: what a payload means (Bedrock's base64 ``bytes`` member, say) is
for the service's own tools to add (``bedrock-stream decode`` does, with :func:`put_bytes`).

On a bad frame the last line is ``{"offset": N, "error": "<ErrorClass>", "message": "...", "prelude_hex":
"00 00 00 3d ..."}`` (the bytes of the frame's prelude that were present; :func:`describe_error` given the
frame's bytes also adds its ``headers`` when they parse), the error also goes to standard
error, and the exit status is 1; when the input is text (JSON, HTML, an HTTP capture) the error says so. An
empty input is an error too (exit status 1): an event stream has at least one frame. Exit status 2: the
input could not be read.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

from .decoder import Decoder
from .errors import DecodeError
from .header_type import HeaderType
from .headers import Headers
from .limits import DEFAULT_MAX_MESSAGE_SIZE
from .message import Message

__all__ = [
    "describe_error",
    "describe_message",
    "frame_headers",
    "header_json",
    "hexdump_frame",
    "main",
    "not_an_event_stream",
    "put_bytes",
]

_READ_SIZE = 64 * 1024


def header_json(name: str, kind: HeaderType, value: object) -> dict[str, Any]:
    """One header as JSON: ``{"name", "type", "value"}`` (see the module docstring for the value forms)."""
    item: dict[str, Any] = {"name": name, "type": kind.name.lower()}
    if isinstance(value, bytes):
        item["value"] = base64.b64encode(value).decode("ascii")
    elif kind is HeaderType.UUID:
        item["value"] = str(value)
    elif kind is HeaderType.TIMESTAMP:
        if isinstance(value, _dt.datetime):
            item["value"] = value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            item["ms"] = (value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) // _dt.timedelta(
                milliseconds=1
            )
        else:
            item["ms"] = int(value)  # type: ignore[call-overload]  # Timestamp outside datetime's range
    elif isinstance(value, bool):
        item["value"] = value
    elif isinstance(value, int):
        item["value"] = int(value)
    else:
        item["value"] = value
    return item


def _is_json_content(headers: Headers) -> bool:
    content_type = headers.get(":content-type")
    if not isinstance(content_type, str):
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def put_bytes(record: dict[str, Any], key: str, data: bytes, *, try_json: bool) -> None:
    """Store ``data`` under ``key`` as parsed JSON, else under ``key_text`` / ``key_base64``."""
    if try_json:
        try:
            record[key] = json.loads(data)
            return
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            pass
    try:
        record[f"{key}_text"] = data.decode("utf-8")
    except UnicodeDecodeError:
        record[f"{key}_base64"] = base64.b64encode(data).decode("ascii")


def describe_message(offset: int, message: Message) -> dict[str, Any]:
    """The JSON-ready description of one decoded frame (see the module docstring)."""
    headers = message.headers
    record: dict[str, Any] = {
        "offset": offset,
        "length": 16 + len(headers.wire_bytes()) + len(message.payload),
        "headers": [header_json(name, kind, value) for name, kind, value in headers.typed_items()],
    }
    put_bytes(record, "payload", message.payload, try_json=_is_json_content(headers))
    return record


def frame_headers(frame: bytes) -> Headers | None:
    """The headers of a frame that failed to decode, when its header block is all there and parses.

    ``frame`` starts at the bad frame's first byte. Checksums are not checked: this is for showing what a
    damaged frame was meant to be, never for trusting it.
    """
    if len(frame) < _PRELUDE_SIZE:
        return None
    headers_length = int.from_bytes(frame[4:8], "big")
    end = _PRELUDE_SIZE + headers_length
    if headers_length == 0 or len(frame) < end:
        return None
    try:
        return Headers.from_wire(bytes(frame[_PRELUDE_SIZE:end]))
    except DecodeError:
        return None


def describe_error(error: DecodeError, frame: bytes = b"") -> dict[str, Any]:
    """The JSON-ready description of a bad frame: error class, message, offset and prelude bytes in hex.

    With the bytes of the frame (from its first byte), also its ``headers`` when they parse.
    """
    record: dict[str, Any] = {
        "offset": error.offset,
        "error": type(error).__name__,
        "message": error.reason,
        "prelude_hex": error.prelude.hex(" "),
    }
    headers = frame_headers(frame)
    if headers is not None:
        record["headers"] = [header_json(name, kind, value) for name, kind, value in headers.typed_items()]
    return record


_PRELUDE_SIZE = 12
_HEX_WIDTH = 16


def hexdump_frame(frame: bytes, offset: int) -> list[str]:
    """Lines showing one frame's bytes with its parts marked: prelude, header block, payload, message CRC.

    ``frame`` holds the frame from its first byte (possibly cut short: what is present is shown, and the
    missing part is named); ``offset`` is its position in the stream, printed at the start of each line.
    """
    lines: list[str] = []
    if len(frame) >= 8:
        total = int.from_bytes(frame[0:4], "big")
        headers_length = int.from_bytes(frame[4:8], "big")
        lines.append(f"frame at {offset}: {total} bytes, {headers_length} of headers")
    else:
        total, headers_length = len(frame), 0
        lines.append(f"frame at {offset}: only {len(frame)} bytes, not even a prelude")
    payload_end = max(total - 4, _PRELUDE_SIZE + headers_length)
    parts = (
        ("prelude", 0, min(_PRELUDE_SIZE, total)),
        ("headers", _PRELUDE_SIZE, _PRELUDE_SIZE + headers_length),
        ("payload", _PRELUDE_SIZE + headers_length, payload_end),
        ("message crc", payload_end, total),
    )
    for label, start, stop in parts:
        if stop <= start:
            continue
        present = frame[start:stop]
        detail = f"{stop - start} bytes" + (
            "" if len(present) == stop - start else f", {len(present)} present"
        )
        lines.append(f"  {label} ({detail})")
        for at in range(0, len(present), _HEX_WIDTH):
            piece = present[at : at + _HEX_WIDTH]
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in piece)
            lines.append(f"    {offset + start + at:08x}  {piece.hex(' '):<{_HEX_WIDTH * 3}} {text}")
    if len(frame) > total >= 16:
        lines.append(f"  ({len(frame) - total} bytes follow: the next frame)")
    return lines


def not_an_event_stream(data: bytes) -> str | None:
    """What the start of ``data`` looks like when it is text rather than an event stream, else None.

    An event stream starts with a binary prelude (a 4-byte big-endian length, small for any real frame, so
    its first byte is almost always 0); a saved error response, an HTTP capture or a JSON document starts
    with printable text. Used to turn "bad prelude CRC at offset 0" into a hint the user can act on.
    """
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut by the 512-byte window
            return None
        text = head[: exc.start].decode("utf-8")
    if not text or any(not (ch.isprintable() or ch in "\r\n\t") for ch in text):
        return None
    stripped = text.lstrip()
    if stripped.startswith("HTTP/"):
        return "this looks like HTTP text (a status line and headers), not an event stream"
    if stripped[:1] in ("{", "["):
        return "this looks like JSON text (an error response saved instead?), not an event stream"
    if stripped[:1] == "<":
        return "this looks like HTML or XML text (a proxy's error page?), not an event stream"
    return "this looks like text, not an event stream"


def _emit(out: IO[str], records: Iterable[dict[str, Any]]) -> None:
    for record in records:
        out.write(json.dumps(record))
        out.write("\n")


def _dump(stream: IO[bytes], out: IO[str], max_message_size: int) -> int:
    decoder = Decoder(max_message_size)
    head = b""
    try:
        while True:
            data = stream.read(_READ_SIZE)
            if not data:
                break
            if len(head) < 512:
                head += data[: 512 - len(head)]
            decoded = decoder.feed_with_offsets(data)
            _emit(out, (describe_message(offset, message) for offset, message in decoded))
        decoder.close()
    except DecodeError as exc:
        _emit(out, (describe_message(offset, message) for offset, message in exc.decoded))
        _emit(out, [describe_error(exc)])
        out.flush()
        hint = not_an_event_stream(head) if exc.offset == 0 else None
        print(f"eventstream: {type(exc).__name__}: {exc}" + (f": {hint}" if hint else ""), file=sys.stderr)
        return 1
    if not head:
        # An empty recording is not "a stream of no frames": an event stream always has at least one frame.
        print("eventstream: the input is empty: no event-stream frame in it", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Dump the event stream in a file (or ``-`` for standard input) as JSON lines; return the exit status.

    0: every frame decoded; 1: a bad frame (reported as the last line) or an empty input; 2: usage error or
    unreadable input.
    """
    parser = argparse.ArgumentParser(
        prog="python -m eventstream",
        description="Decode an AWS event stream (application/vnd.amazon.eventstream) into JSON lines.",
    )
    parser.add_argument("file", help="recorded stream, or - for standard input")
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=DEFAULT_MAX_MESSAGE_SIZE,
        help="largest frame accepted, in bytes (default: %(default)s)",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): a status for the caller, not an exit
        return exc.code if isinstance(exc.code, int) else 2
    if not 16 <= args.max_message_size <= 0xFFFFFFFF:
        print("eventstream: --max-message-size must be between 16 and 4294967295", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            return _dump(sys.stdin.buffer, sys.stdout, args.max_message_size)
        with open(args.file, "rb") as stream:
            return _dump(stream, sys.stdout, args.max_message_size)
    except BrokenPipeError:
        # The reader went away (`... | head`): its choice, not an error of the stream or of the file. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"eventstream: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
