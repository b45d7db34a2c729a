"""Python values that pin a header's wire type, and the timestamp <-> datetime mapping.

A plain ``int`` header value is written as int32 when it fits and int64 otherwise. To choose another width,
wrap it: ``Int8(5)``, ``Int16(5)``, ``Int32(5)``, ``Int64(5)``. Decoded integers come back wrapped, so
``encode(decode(frame)) == frame`` byte for byte. The wrappers are ``int`` subclasses: arithmetic and
comparisons work as usual (and return plain ``int``).

Timestamps (wire type 8) are int64 milliseconds since the Unix epoch. They are exposed as timezone-aware
UTC :class:`datetime.datetime` values. An int64 millisecond count outside ``datetime``'s range (years
1-9999) cannot be a ``datetime``; such a value is exposed as :class:`Timestamp`, an ``int`` subclass holding
the milliseconds, which encodes back to the same bytes. Users may also give a ``Timestamp`` themselves.
"""

from __future__ import annotations

import datetime as _dt
import operator
from typing import TYPE_CHECKING, SupportsIndex, TypeAlias

from .errors import EncodeError

if TYPE_CHECKING:
    import uuid

__all__ = [
    "EPOCH",
    "HeaderValue",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Timestamp",
    "datetime_to_millis",
    "millis_to_value",
]

#: What a header value is in Python: bool (types 0/1), int (2-5: Int8..Int64 once decoded), bytes (6),
#: str (7), datetime or Timestamp (8), uuid.UUID (9).
# A string: `uuid` is imported only where a UUID header is met (it pulls in `platform`: ~3 ms of start-up).
HeaderValue: TypeAlias = "bool | int | bytes | str | _dt.datetime | uuid.UUID"

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ONE_MS = _dt.timedelta(milliseconds=1)
# datetime's range in whole milliseconds since the epoch: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z.
_MIN_DATETIME_MS = -62_135_596_800_000
_MAX_DATETIME_MS = 253_402_300_799_999


def _checked(cls: type[int], value: SupportsIndex, bits: int) -> int:
    number = operator.index(value)
    limit = 1 << (bits - 1)
    if not -limit <= number < limit:
        raise EncodeError(f"{number} does not fit in a signed {bits}-bit integer ({cls.__name__})")
    return number


class Int8(int):
    """An integer header value written as wire type 2 (signed 8-bit)."""

    __slots__ = ()

    def __new__(cls, value: SupportsIndex = 0) -> Int8:
        return super().__new__(cls, _checked(cls, value, 8))

    def __repr__(self) -> str:
        return f"Int8({int(self)})"


class Int16(int):
    """An integer header value written as wire type 3 (signed 16-bit)."""

    __slots__ = ()

    def __new__(cls, value: SupportsIndex = 0) -> Int16:
        return super().__new__(cls, _checked(cls, value, 16))

    def __repr__(self) -> str:
        return f"Int16({int(self)})"


class Int32(int):
    """An integer header value written as wire type 4 (signed 32-bit)."""

    __slots__ = ()

    def __new__(cls, value: SupportsIndex = 0) -> Int32:
        return super().__new__(cls, _checked(cls, value, 32))

    def __repr__(self) -> str:
        return f"Int32({int(self)})"


class Int64(int):
    """An integer header value written as wire type 5 (signed 64-bit)."""

    __slots__ = ()

    def __new__(cls, value: SupportsIndex = 0) -> Int64:
        return super().__new__(cls, _checked(cls, value, 64))

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


class Timestamp(int):
    """A timestamp header value (wire type 8) as int64 milliseconds since the Unix epoch.

    Decoding yields a UTC ``datetime`` whenever the value is within ``datetime``'s range and a ``Timestamp``
    only outside it; giving a ``Timestamp`` to :class:`~eventstream.Message` is normalised the same way.
    """

    __slots__ = ()

    def __new__(cls, milliseconds: SupportsIndex = 0) -> Timestamp:
        return super().__new__(cls, _checked(cls, milliseconds, 64))

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> Timestamp:
        """The timestamp of a timezone-aware datetime (floored to whole milliseconds)."""
        return cls(datetime_to_millis(value))

    def to_datetime(self) -> _dt.datetime:
        """This timestamp as a UTC datetime; ``OverflowError`` if it is outside years 1-9999."""
        if not _MIN_DATETIME_MS <= self <= _MAX_DATETIME_MS:
            raise OverflowError(f"timestamp {int(self)} ms is outside the range of datetime")
        return EPOCH + _dt.timedelta(milliseconds=int(self))

    def __repr__(self) -> str:
        return f"Timestamp({int(self)})"


def datetime_to_millis(value: _dt.datetime) -> int:
    """Milliseconds since the epoch of a timezone-aware datetime, floored (sub-millisecond digits dropped).

    Raises EncodeError for a naive datetime: its instant is unknown.
    """
    if value.utcoffset() is None:
        raise EncodeError(f"naive datetime {value.isoformat()} has no timezone; give an aware datetime")
    return (value - EPOCH) // _ONE_MS


def millis_to_value(milliseconds: int) -> _dt.datetime | Timestamp:
    """The header value for an int64 millisecond count: a UTC datetime, or a Timestamp outside its range."""
    if _MIN_DATETIME_MS <= milliseconds <= _MAX_DATETIME_MS:
        return EPOCH + _dt.timedelta(milliseconds=milliseconds)
    return Timestamp(milliseconds)
