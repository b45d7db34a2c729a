"""The wire form of a headers block: parsing it (strictly) and writing it.

Each header is: name length (u8), name (UTF-8), type (u8), value. Value by type: 0/1 none (bool true/false),
2/3/4/5 a big-endian signed integer of 1/2/4/8 bytes, 6/7 a u16 length then that many bytes (7: UTF-8),
8 int64 milliseconds since the epoch, 9 the 16 bytes of a UUID.

The parser runs on untrusted input, so every length is checked against the end of the block before it is used:
no IndexError, struct.error or UnicodeDecodeError escapes, only MalformedHeader.
"""

from __future__ import annotations

import datetime as _dt
import struct
from collections.abc import Iterable

from .errors import EncodeError, MalformedHeader
from .header_type import HeaderType
from .header_values import (
    HeaderValue,
    Int8,
    Int16,
    Int32,
    Int64,
    Timestamp,
    datetime_to_millis,
    millis_to_value,
)
from .limits import MAX_HEADER_NAME_LENGTH, MAX_HEADER_VALUE_LENGTH, MAX_HEADERS_LENGTH

__all__ = ["Entry", "parse_header_block", "serialise_header_block"]

#: One header as (name, wire type, value).
Entry = tuple[str, HeaderType, HeaderValue]

_TYPES = tuple(HeaderType)
_INT_WIDTHS: dict[int, tuple[int, type[int]]] = {2: (1, Int8), 3: (2, Int16), 4: (4, Int32), 5: (8, Int64)}
_new_int = int.__new__
_U16 = struct.Struct(">H")
_PACK_INT = {
    HeaderType.BYTE: struct.Struct(">b").pack,
    HeaderType.SHORT: struct.Struct(">h").pack,
    HeaderType.INTEGER: struct.Struct(">i").pack,
    HeaderType.LONG: struct.Struct(">q").pack,
    HeaderType.TIMESTAMP: struct.Struct(">q").pack,
}


def parse_header_block(
    raw: bytes, offset: int = 0, prelude: bytes = b""
) -> tuple[list[Entry], dict[str, HeaderValue]]:
    """Parse a complete headers block into its entries (in wire order) and a name -> value dict.

    ``offset`` and ``prelude`` describe the frame the block belongs to; they go into the MalformedHeader
    raised on any defect (unknown type, name or value running past the block, empty name, invalid UTF-8,
    value longer than 32767 bytes, duplicate name).
    """
    entries: list[Entry] = []
    values: dict[str, HeaderValue] = {}
    end = len(raw)
    pos = 0

    def bad(what: str, start: int) -> MalformedHeader:
        return MalformedHeader(
            f"{what} (at byte {start} of the {end}-byte headers block)", offset=offset, prelude=prelude
        )

    while pos < end:
        start = pos
        name_length = raw[pos]
        pos += 1
        if name_length == 0:
            raise bad("empty header name", start)
        name_end = pos + name_length
        # The type byte must follow the name inside the block.
        if name_end >= end:
            raise bad(f"header name of {name_length} bytes runs past the end of the headers block", start)
        try:
            name = raw[pos:name_end].decode("utf-8")
        except UnicodeDecodeError:
            raise bad(f"header name {raw[pos:name_end]!r} is not valid UTF-8", start) from None
        if name in values:
            raise bad(f"duplicate header name {name!r}", start)
        code = raw[name_end]
        pos = name_end + 1
        value: HeaderValue
        if code == 0:
            value = True
        elif code == 1:
            value = False
        elif code in _INT_WIDTHS:
            width, wrapper = _INT_WIDTHS[code]
            if pos + width > end:
                raise bad(
                    f"{width}-byte value of header {name!r} runs past the end of the headers block", start
                )
            value = _new_int(wrapper, int.from_bytes(raw[pos : pos + width], "big", signed=True))
            pos += width
        elif code in (6, 7):
            if pos + 2 > end:
                raise bad(f"value length of header {name!r} runs past the end of the headers block", start)
            length = (raw[pos] << 8) | raw[pos + 1]
            pos += 2
            if length > MAX_HEADER_VALUE_LENGTH:
                raise bad(
                    f"value of header {name!r} is {length} bytes, over the "
                    f"{MAX_HEADER_VALUE_LENGTH}-byte limit",
                    start,
                )
            if pos + length > end:
                raise bad(
                    f"{length}-byte value of header {name!r} runs past the end of the headers block", start
                )
            data = raw[pos : pos + length]
            pos += length
            if code == 6:
                value = data
            else:
                try:
                    value = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise bad(f"string value of header {name!r} is not valid UTF-8", start) from None
        elif code == 8:
            if pos + 8 > end:
                raise bad(f"timestamp of header {name!r} runs past the end of the headers block", start)
            value = millis_to_value(int.from_bytes(raw[pos : pos + 8], "big", signed=True))
            pos += 8
        elif code == 9:
            if pos + 16 > end:
                raise bad(f"UUID of header {name!r} runs past the end of the headers block", start)
            import uuid  # noqa: PLC0415 - rare; kept off the start-up path (it imports `platform`)

            value = uuid.UUID(bytes=raw[pos : pos + 16])
            pos += 16
        else:
            raise bad(f"unknown value type {code} of header {name!r}", start)
        entries.append((name, _TYPES[code], value))
        values[name] = value
    return entries, values


def serialise_header_block(entries: Iterable[Entry]) -> bytes:
    """Write the wire form of the given headers; EncodeError if one cannot be represented.

    The entries are trusted to be normalised (a value of the Python type that goes with its wire type), as
    :class:`~eventstream.Headers` guarantees; names and lengths are checked here.
    """
    parts: list[bytes] = []
    for name, kind, value in entries:
        try:
            encoded_name = name.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EncodeError(f"header name {name!r} cannot be encoded as UTF-8: {exc.reason}") from None
        if not 1 <= len(encoded_name) <= MAX_HEADER_NAME_LENGTH:
            raise EncodeError(
                f"header name {name!r} is {len(encoded_name)} bytes of UTF-8; it must be 1 to "
                f"{MAX_HEADER_NAME_LENGTH}"
            )
        parts.append(bytes((len(encoded_name),)))
        parts.append(encoded_name)
        parts.append(bytes((kind,)))
        if kind is HeaderType.BOOL_TRUE or kind is HeaderType.BOOL_FALSE:
            continue
        if kind is HeaderType.BYTE_ARRAY or kind is HeaderType.STRING:
            if isinstance(value, str):
                try:
                    data = value.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise EncodeError(
                        f"string value of header {name!r} cannot be encoded as UTF-8: {exc.reason}"
                    ) from None
            else:
                data = bytes(value)  # type: ignore[arg-type]  # normalised: bytes for BYTE_ARRAY
            if len(data) > MAX_HEADER_VALUE_LENGTH:
                raise EncodeError(
                    f"value of header {name!r} is {len(data)} bytes; the limit is {MAX_HEADER_VALUE_LENGTH}"
                )
            parts.append(_U16.pack(len(data)))
            parts.append(data)
        elif kind is HeaderType.TIMESTAMP:
            millis = datetime_to_millis(value) if isinstance(value, _dt.datetime) else Timestamp(value)  # type: ignore[arg-type]
            parts.append(_PACK_INT[kind](millis))
        elif kind is HeaderType.UUID:
            parts.append(value.bytes)  # type: ignore[union-attr]
        else:
            parts.append(_PACK_INT[kind](value))
    block = b"".join(parts)
    if len(block) > MAX_HEADERS_LENGTH:
        raise EncodeError(f"headers block is {len(block)} bytes; the limit is {MAX_HEADERS_LENGTH}")
    return block
