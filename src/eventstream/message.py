"""Message: one event-stream frame's content (headers and payload), immutable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, overload

from .headers import HeaderInputValue, Headers, HeadersInput

__all__ = ["Message"]

_REPR_PAYLOAD_BYTES = 64


@dataclass(frozen=True, slots=True, init=False, repr=False)
class Message:
    """An event-stream message: ordered, typed headers and a binary payload.

    ``Message(headers, payload=b"")``: ``headers`` is a mapping or an iterable of ``(name, value)`` pairs (see
    :class:`~eventstream.Headers` for how Python values map to wire types); ``payload`` is bytes-like and is
    stored as ``bytes``. Messages are frozen, hashable and compare equal when they would encode to the same
    bytes.
    """

    headers: Headers
    payload: bytes

    @overload
    def __init__(
        self, headers: Mapping[str, HeaderInputValue] = ..., payload: bytes | bytearray | memoryview = ...
    ) -> None: ...

    @overload
    def __init__(
        self, headers: Iterable[tuple[str, HeaderInputValue]], payload: bytes | bytearray | memoryview = ...
    ) -> None: ...

    def __init__(self, headers: HeadersInput = (), payload: bytes | bytearray | memoryview = b"") -> None:
        if type(headers) is not Headers:
            headers = Headers(headers)
        if type(payload) is not bytes:
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(f"payload must be bytes-like, got {type(payload).__name__}")
            payload = bytes(payload)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "payload", payload)

    def __repr__(self) -> str:
        payload = self.payload
        if len(payload) <= _REPR_PAYLOAD_BYTES:
            shown = repr(payload)
        else:
            shown = f"{payload[:_REPR_PAYLOAD_BYTES]!r}... ({len(payload)} bytes)"
        return f"Message(headers={self.headers!r}, payload={shown})"


# The decoder builds Message objects from values it has already validated: going through the slot descriptors
# skips __init__'s checks, which are a measurable share of the per-frame cost on small Bedrock frames.
# (Only for the decoder's hot loop: headers must be a Headers and payload a bytes object.)
_new_message = object.__new__
_set_headers: Any = Message.__dict__["headers"].__set__
_set_payload: Any = Message.__dict__["payload"].__set__
