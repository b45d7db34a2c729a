"""Dump a recorded event stream as JSON lines: ``python -m eventstream FILE`` (``-`` reads standard input).

One JSON object per frame, in stream order::

    {"offset": 0, "length": 251,
     "headers": [{"name": ":event-type", "type": "string", "value": "chunk"}, ...],
     "payload": {"bytes": "eyJ0eXBlIjoi...", "p": "abcd"},
     "chunk": {"type": "content_block_delta", ...}}

* ``headers``: every header in wire order with its wire type name (``bool_true``, ``bool_false``, ``byte``,
  ``short``, ``integer``, ``long``, ``byte_array``, ``string``, ``timestamp``, ``uuid``) and its value:
  byte arrays as base64, UUIDs in canonical text form, timestamps as ISO 8601 UTC text with the raw
  milliseconds in ``"ms"`` (only ``"ms"`` when the value is outside the years 1-9999).
* The payload is ``payload`` (parsed JSON) when ``:content-type`` is JSON and the payload parses; otherwise
  ``payload_text`` (valid UTF-8) or ``payload_base64``.
* A Bedrock chunk (JSON payload with a base64 ``bytes`` member) also gets its decoded content: ``chunk``
  (parsed JSON), else ``chunk_text`` or ``chunk_base64``.

On a bad frame the last line is ``{"offset": N, "error": "<ErrorClass>", "message": "...", "prelude_hex":
"00 00 00 3d ..."}`` (the bytes of the frame's prelude that were present), the error also goes to standard
error, and the exit status is 1; when the input is text (JSON, HTML, an HTTP capture) the error says so. An
empty input is an error too (exit status 1): an event stream has at least one frame. Exit status 2: the
input could not be read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
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

__all__ = ["describe_error", "describe_message", "main", "not_an_event_stream"]

_READ_SIZE = 64 * 1024


def _header_json(name: str, kind: HeaderType, value: object) -> dict[str, Any]:
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


def _put_bytes(record: dict[str, Any], key: str, data: bytes, *, try_json: bool) -> None:
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
        "headers": [_header_json(name, kind, value) for name, kind, value in headers.typed_items()],
    }
    _put_bytes(record, "payload", message.payload, try_json=_is_json_content(headers))
    payload = record.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("bytes"), str):
        try:
            chunk = base64.b64decode(payload["bytes"], validate=True)
        except binascii.Error as exc:
            record["chunk_error"] = f"invalid base64 in 'bytes': {exc}"
        else:
            _put_bytes(record, "chunk", chunk, try_json=True)
    return record


def describe_error(error: DecodeError) -> dict[str, Any]:
    """The JSON-ready description of a bad frame: error class, message, offset and prelude bytes in hex."""
    return {
        "offset": error.offset,
        "error": type(error).__name__,
        "message": error.reason,
        "prelude_hex": error.prelude.hex(" "),
    }


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
