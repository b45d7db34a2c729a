"""Headers: a message's immutable, ordered name -> value mapping, which remembers each value's wire type."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple, TypeAlias, TypeVar, overload

from .errors import EncodeError
from .header_block import Entry, parse_header_block, serialise_header_block
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

__all__ = ["Header", "HeaderInputValue", "Headers", "HeadersInput"]

#: A value Message/Headers accept: any HeaderValue, or a bytearray/memoryview (stored as bytes).
HeaderInputValue: TypeAlias = "HeaderValue | bytearray | memoryview"
#: What Message/Headers accept: a mapping, or an iterable of (name, value) pairs (order is kept).
HeadersInput: TypeAlias = "Mapping[str, HeaderInputValue] | Iterable[tuple[str, HeaderInputValue]]"

_T = TypeVar("_T")

_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class Header(NamedTuple):
    """One header as it is on the wire: name, wire type and Python value."""

    name: str
    type: HeaderType
    value: HeaderValue


def _normalise(name: str, value: object) -> tuple[HeaderType, HeaderValue]:
    """The wire type for a user-given value, and the value in the form decoding would give back."""
    if isinstance(value, bool):
        return (HeaderType.BOOL_TRUE if value else HeaderType.BOOL_FALSE), value
    if isinstance(value, int):
        if isinstance(value, Int8):
            return HeaderType.BYTE, value
        if isinstance(value, Int16):
            return HeaderType.SHORT, value
        if isinstance(value, Int32):
            return HeaderType.INTEGER, value
        if isinstance(value, Int64):
            return HeaderType.LONG, value
        if isinstance(value, Timestamp):
            return HeaderType.TIMESTAMP, millis_to_value(int(value))
        number = int(value)
        if _INT32_MIN <= number <= _INT32_MAX:
            return HeaderType.INTEGER, Int32(number)
        if _INT64_MIN <= number <= _INT64_MAX:
            return HeaderType.LONG, Int64(number)
        raise EncodeError(f"header {name!r}: integer {number} does not fit in a signed 64-bit integer")
    if isinstance(value, str):
        return HeaderType.STRING, str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return HeaderType.BYTE_ARRAY, bytes(value)
    if isinstance(value, _dt.datetime):
        try:
            millis = datetime_to_millis(value)
        except EncodeError as exc:
            raise EncodeError(f"header {name!r}: {exc}") from None
        return HeaderType.TIMESTAMP, millis_to_value(millis)
    import uuid  # noqa: PLC0415 - rare; kept off the start-up path (it imports `platform`)

    if isinstance(value, uuid.UUID):
        return HeaderType.UUID, value
    raise TypeError(
        f"header {name!r}: unsupported value type {type(value).__name__}; use bool, int (or Int8/Int16/Int32/"
        "Int64), str, bytes, an aware datetime (or Timestamp) or uuid.UUID"
    )


class Headers(Mapping[str, HeaderValue]):
    """Immutable ordered mapping from header name to Python value, keeping each header's wire type.

    Build one from a mapping or from an iterable of ``(name, value)`` pairs. Values map to wire types:
    ``bool`` -> 0/1, ``Int8``/``Int16``/``Int32``/``Int64`` -> 2/3/4/5, a plain ``int`` -> 4 (int32) if it
    fits else 5 (int64), ``bytes``/``bytearray``/``memoryview`` -> 6, ``str`` -> 7, an aware ``datetime`` or
    a :class:`Timestamp` -> 8, ``uuid.UUID`` -> 9. Values are stored as decoding would return them (ints
    wrapped in their width class, bytes-likes as ``bytes``, timestamps as UTC datetimes floored to the
    millisecond), so ``decode(encode(Message(h))).headers == Headers(h)``.

    Unsupported value types raise ``TypeError``; a duplicate name or an integer beyond int64 raises
    :class:`EncodeError`. Name and value *lengths* are checked when the headers are written (:func:`encode`).

    Two ``Headers`` are equal when they hold the same names, wire types and values in the same order (i.e.
    they encode to the same bytes); compared with any other mapping, only names and values count.
    """

    __slots__ = ("_entries", "_hash", "_types", "_values", "_wire")

    _entries: tuple[Header, ...]
    _values: dict[str, HeaderValue]
    _types: dict[str, HeaderType]
    _wire: bytes | None
    _hash: int | None

    # Two overloads rather than one union parameter: under a union context mypy infers a mixed dict literal
    # such as {"a": 1, "b": "x"} as dict[str, object] and rejects it.
    @overload
    def __init__(self, headers: Mapping[str, HeaderInputValue] = ...) -> None: ...

    @overload
    def __init__(self, headers: Iterable[tuple[str, HeaderInputValue]]) -> None: ...

    def __init__(self, headers: HeadersInput = ()) -> None:
        if isinstance(headers, Headers):
            self._entries, self._values, self._types, self._wire, self._hash = (
                headers._entries,
                headers._values,
                headers._types,
                headers._wire,
                headers._hash,
            )
            return
        items: Iterable[object] = headers.items() if isinstance(headers, Mapping) else headers
        entries: list[Header] = []
        values: dict[str, HeaderValue] = {}
        for item in items:
            if not isinstance(item, tuple) or len(item) != 2:
                raise TypeError(f"headers must be a mapping or (name, value) pairs, got item {item!r}")
            name, value = item
            if not isinstance(name, str):
                raise TypeError(f"header name must be str, got {type(name).__name__} {name!r}")
            name = str.__str__(name)
            if name in values:
                raise EncodeError(f"duplicate header name {name!r}")
            kind, normalised = _normalise(name, value)
            entries.append(Header(name, kind, normalised))
            values[name] = normalised
        self._entries = tuple(entries)
        self._values = values
        self._types = {entry.name: entry.type for entry in entries}
        self._wire = None
        self._hash = None

    @classmethod
    def from_wire(cls, raw: bytes, offset: int = 0, prelude: bytes = b"") -> Headers:
        """Parse a headers block as found on the wire (MalformedHeader on any defect).

        ``offset``/``prelude`` locate the frame for the error message. The block is kept, so writing these
        headers again returns exactly ``raw``.
        """
        entries, values = parse_header_block(raw, offset, prelude)
        self = object.__new__(cls)
        self._entries = tuple(Header(*entry) for entry in entries)
        self._values = values
        self._types = {entry[0]: entry[1] for entry in entries}
        self._wire = bytes(raw)
        self._hash = None
        return self

    def wire_type(self, name: str) -> HeaderType:
        """The wire type of header ``name`` (KeyError if absent)."""
        return self._types[name]

    def typed_items(self) -> tuple[Header, ...]:
        """Every header as ``Header(name, type, value)``, in wire order."""
        return self._entries

    def wire_bytes(self) -> bytes:
        """The headers block as written on the wire (EncodeError if a name or value is too long)."""
        wire = self._wire
        if wire is None:
            entries: list[Entry] = [(h.name, h.type, h.value) for h in self._entries]
            wire = self._wire = serialise_header_block(entries)
        return wire

    def __getitem__(self, name: str) -> HeaderValue:
        return self._values[name]

    # get() straight from the dict: Mapping.get goes through __getitem__ and an exception handler, and the
    # client calls get() on every event.
    @overload
    def get(self, name: str, /) -> HeaderValue | None: ...

    @overload
    def get(self, name: str, /, default: HeaderValue | _T) -> HeaderValue | _T: ...

    def get(self, name: str, /, default: object = None) -> object:
        """The value of header ``name``, or ``default`` if there is none."""
        return self._values.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self is other or self._entries == other._entries
        if isinstance(other, Mapping):
            return self._values == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        value = self._hash
        if value is None:
            value = self._hash = hash(self._entries)
        return value

    def __repr__(self) -> str:
        inner = ", ".join(f"{name!r}: {value!r}" for name, _, value in self._entries)
        return f"Headers({{{inner}}})"
