"""The HTTP/1.1 the emulator speaks: parsing a request head, writing response heads and body chunks.

Pure byte functions (no sockets): the server in ``server.py`` is the only place that does I/O. Just what a
client of the service sends is supported — request bodies with Content-Length or chunked encoding,
keep-alive — and anything else is refused with a clear 400 rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from .replies import reason

__all__ = [
    "LAST_CHUNK",
    "MAX_HEAD_BYTES",
    "MalformedRequestError",
    "RequestHead",
    "chunk",
    "parse_chunk_size",
    "parse_head",
    "response_head",
]

MAX_HEAD_BYTES = 64 * 1024
LAST_CHUNK = b"0\r\n\r\n"
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class MalformedRequestError(ValueError):
    """A request the server cannot read as HTTP/1.1; ``status`` is what it answers (400, 411, 505 ...)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    """A parsed request line and headers (names keep their case, in order)."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """Header ``name`` (case-insensitive), repeats joined by ``,``; ``None`` when absent."""
        lname = name.lower()
        values = [value for key, value in self.headers if key.lower() == lname]
        return ",".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        """Whether the client lets the connection serve another request after this one."""
        tokens = {t.strip().lower() for t in (self.get("connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    def body_length(self) -> int | None:
        """The Content-Length, ``None`` for a chunked body; MalformedRequestError when they are invalid."""
        transfer = self.get("transfer-encoding")
        length = self.get("content-length")
        if transfer is not None:
            if length is not None:
                raise MalformedRequestError("request has both Transfer-Encoding and Content-Length")
            if transfer.strip().lower() != "chunked":
                raise MalformedRequestError(f"unsupported Transfer-Encoding {transfer!r} (only chunked)", 501)
            return None
        if length is None:
            return 0
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise MalformedRequestError(f"invalid Content-Length {length!r}")
        return int(next(iter(values)))


def parse_head(data: bytes) -> RequestHead:
    """Parse a request head (request line, headers, blank line); MalformedRequestError if invalid."""
    text = data.decode("latin-1")
    lines = text.split("\r\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise MalformedRequestError("empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise MalformedRequestError(f"malformed request line {lines[0][:200]!r}")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise MalformedRequestError(f"unsupported protocol version {version[:40]!r}", 505)
    if not set(method) <= _TOKEN:
        raise MalformedRequestError(f"invalid method {method[:40]!r}")
    headers: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if line[:1] in (" ", "\t"):
            raise MalformedRequestError(f"obsolete header line folding on line {number}")
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= _TOKEN:
            raise MalformedRequestError(f"malformed header on line {number}: {line[:100]!r}")
        headers.append((name, value.strip(" \t")))
    return RequestHead(method, target, version, tuple(headers))


def parse_chunk_size(line: bytes) -> int:
    """The size in a chunked body's size line (extensions ignored); MalformedRequestError if not hex."""
    size = line.split(b";", 1)[0].strip()
    if not size or len(size) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size):
        raise MalformedRequestError(f"invalid chunk size line {line[:40]!r}")
    return int(size, 16)


def response_head(status: int, headers: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> bytes:
    """The status line and headers of a response, ready to write."""
    lines = [f"HTTP/1.1 {status} {reason(status)}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked body (must not be empty: an empty chunk ends the body)."""
    return b"%x\r\n%b\r\n" % (len(data), data)
