"""SigV4 for event streams: each input event of a bidirectional stream carries a signature chained to the
last one.

An input event is an encoded event-stream message (the *inner* message) sent as the payload of an *outer*
frame whose headers are ``:date`` (a timestamp, whole seconds) and ``:chunk-signature`` (the 32 raw bytes
of the signature). The string to sign of one event:

    AWS4-HMAC-SHA256-PAYLOAD NL YYYYMMDDTHHMMSSZ NL date/region/service/aws4_request NL
    hex(prior signature) NL hex(sha256(encoded ":date" header)) NL hex(sha256(inner message))

signed with the ordinary SigV4 signing key (:mod:`sigv4.keys`). The first event's prior signature is the
signature of the initial HTTP request (sent with ``X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-EVENTS``,
see ``sign_request(payload_hash=...)``); each signature is the next event's prior. The input ends with one
signed frame whose payload is empty.

Standard library (plus :mod:`eventstream` for the frame) only; no I/O, no clock unless ``timestamp`` is
omitted.
"""

from __future__ import annotations

import hashlib
import math
import struct
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from eventstream import Message, encode

from .keys import signing_key
from .signer import _format_epoch

if TYPE_CHECKING:
    from .credentials import Credentials

__all__ = [
    "EVENT_ALGORITHM",
    "STREAMING_PAYLOAD",
    "EventSigner",
    "EventSignerClosedError",
    "SignedEvent",
    "event_signature",
    "event_string_to_sign",
    "sign_event",
]

#: The algorithm line of an event's string to sign.
EVENT_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
#: The payload hash (and ``X-Amz-Content-Sha256``) of the request that opens a signed event stream.
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-EVENTS"

# The encoded ":date" header is its name (length-prefixed), wire type 8 (timestamp) and int64 milliseconds.
_DATE_HEADER_PREFIX = b"\x05:date\x08"
_MILLIS = struct.Struct(">q")
_sha256 = hashlib.sha256


class EventSignerClosedError(RuntimeError):
    """An :class:`EventSigner` was asked to sign after it signed the end of the input."""


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """One signed input event.

    ``headers`` are the outer frame's headers in wire order, ``{":date": datetime, ":chunk-signature":
    bytes}``; ``signature`` is the hex signature (the next event's prior); ``frame`` the encoded outer frame.
    """

    headers: dict[str, datetime | bytes]
    signature: str
    frame: bytes


def _epoch_seconds(timestamp: datetime | None) -> int:
    """Whole seconds since the epoch of ``timestamp`` (now when ``None``), truncated, not rounded."""
    if timestamp is None:
        return int(time.time())
    if not isinstance(timestamp, datetime):
        raise TypeError(f"timestamp must be a timezone-aware datetime, not {type(timestamp).__name__}")
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError(f"timestamp must be timezone-aware (got naive {timestamp.isoformat()})")
    return math.floor(timestamp.timestamp())


def _check_prior(prior_signature: object) -> str:
    if not isinstance(prior_signature, str):
        raise TypeError(f"prior_signature must be a hex str, not {type(prior_signature).__name__}")
    try:
        bytes.fromhex(prior_signature)
    except ValueError:
        raise ValueError(f"prior_signature must be hex, got {prior_signature[:80]!r}") from None
    if not prior_signature:
        raise ValueError("prior_signature must not be empty (the first event's is the request's signature)")
    return prior_signature


def event_string_to_sign(
    header_bytes: bytes,
    payload: bytes,
    *,
    prior_signature: str,
    seconds: int,
    region: str,
    service: str,
) -> str:
    """The string to sign of one event, from the raw bytes its two hashes cover.

    ``header_bytes`` is the encoded ``:date`` header (any bytes for test vectors that hash other headers),
    ``payload`` the inner message, ``seconds`` the signing time in whole seconds since the epoch.
    """
    amz_date = _format_epoch(seconds)
    return (
        f"{EVENT_ALGORITHM}\n{amz_date}\n{amz_date[:8]}/{region}/{service}/aws4_request\n{prior_signature}\n"
        f"{_sha256(header_bytes).hexdigest()}\n{_sha256(payload).hexdigest()}"
    )


def event_signature(
    header_bytes: bytes,
    payload: bytes,
    *,
    prior_signature: str,
    credentials: Credentials,
    region: str,
    service: str,
    seconds: int,
) -> str:
    """The hex signature of one event over raw bytes (the lower-level form of :func:`sign_event`)."""
    string_to_sign = event_string_to_sign(
        header_bytes,
        payload,
        prior_signature=prior_signature,
        seconds=seconds,
        region=region,
        service=service,
    )
    key = signing_key(credentials.secret_access_key, _format_epoch(seconds)[:8], region, service)
    return key.sign(string_to_sign.encode())


def _sign(
    message: bytes, prior_signature: str, credentials: Credentials, region: str, service: str, *, seconds: int
) -> SignedEvent:
    date_header = _DATE_HEADER_PREFIX + _MILLIS.pack(seconds * 1000)
    signature = event_signature(
        date_header,
        message,
        prior_signature=prior_signature,
        credentials=credentials,
        region=region,
        service=service,
        seconds=seconds,
    )
    headers: dict[str, datetime | bytes] = {
        ":date": datetime.fromtimestamp(seconds, timezone.utc),
        ":chunk-signature": bytes.fromhex(signature),
    }
    return SignedEvent(headers, signature, encode(Message(headers, message)))


def sign_event(
    message: bytes | bytearray | memoryview,
    *,
    prior_signature: str,
    credentials: Credentials,
    region: str,
    service: str,
    timestamp: datetime | None = None,
) -> SignedEvent:
    """Sign one input event: ``message`` is the encoded inner event-stream message (``b""`` for the
    end-of-input frame), ``prior_signature`` the hex signature before it (the initial request's for the
    first event). ``timestamp`` (timezone-aware; default now) is truncated to whole seconds.

    Raises ``TypeError`` / ``ValueError`` for arguments of the wrong type or form (never showing the secret).
    """
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"message must be bytes (an encoded event-stream message), not {type(message).__name__}"
        )
    return _sign(
        bytes(message),
        _check_prior(prior_signature),
        credentials,
        region,
        service,
        seconds=_epoch_seconds(timestamp),
    )


class EventSigner:
    """The signature chain of one stream's input: each :meth:`sign` returns a frame to send and moves on.

    ``seed_signature`` is the hex signature of the initial request. After :meth:`end` (the signed empty
    frame), signing raises :class:`EventSignerClosedError`. Not thread-safe (a chain is one sequence).
    """

    __slots__ = ("_closed", "_credentials", "_prior", "_region", "_service")

    def __init__(self, credentials: Credentials, region: str, service: str, seed_signature: str) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service
        self._prior = _check_prior(seed_signature)
        self._closed = False

    @property
    def signature(self) -> str:
        """The hex signature of the last signed frame (the seed before the first)."""
        return self._prior

    @property
    def closed(self) -> bool:
        """Whether the end-of-input frame has been signed."""
        return self._closed

    def sign(self, message: bytes | bytearray | memoryview, timestamp: datetime | None = None) -> bytes:
        """The outer frame carrying ``message`` (an encoded inner message), signed and chained."""
        if self._closed:
            raise EventSignerClosedError("cannot sign an event after the end of the input was signed")
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"message must be bytes (an encoded event-stream message), not {type(message).__name__}"
            )
        signed = _sign(
            bytes(message),
            self._prior,
            self._credentials,
            self._region,
            self._service,
            seconds=_epoch_seconds(timestamp),
        )
        self._prior = signed.signature
        return signed.frame

    def end(self, timestamp: datetime | None = None) -> bytes:
        """The signed end-of-input frame (empty payload); the chain is closed afterwards."""
        frame = self.sign(b"", timestamp)
        self._closed = True
        return frame

    def __repr__(self) -> str:
        return f"EventSigner(region={self._region!r}, service={self._service!r}, closed={self._closed})"
