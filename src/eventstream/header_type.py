"""The ten wire types of an event-stream header value."""

from __future__ import annotations

import enum

__all__ = ["HeaderType"]


class HeaderType(enum.IntEnum):
    """Wire type code of a header value (the byte after the header name)."""

    BOOL_TRUE = 0
    BOOL_FALSE = 1
    BYTE = 2
    SHORT = 3
    INTEGER = 4
    LONG = 5
    BYTE_ARRAY = 6
    STRING = 7
    TIMESTAMP = 8
    UUID = 9
