"""AWS Signature Version 4 for Python: a fast, pure signer and a small httpx adapter.

Signing (``sign_request``, ``presign_request``) needs only the standard library. ``SigV4Auth`` and
``BearerAuth`` live in :mod:`sigv4.httpx_auth`, the only module importing httpx; they are re-exported here
lazily (PEP 562), so ``import sigv4`` never imports httpx and ``from sigv4 import SigV4Auth`` still works.
Credential sources are in :mod:`sigv4.providers` (imported on demand, not here, to keep start-up fast).
Event-stream signing (``sign_event``, ``EventSigner``: the chained signatures of a bidirectional stream's
input events) lives in :mod:`sigv4.event_signing`, also re-exported lazily (it imports :mod:`eventstream`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .credentials import CredentialProvider, Credentials
from .signer import SignedRequest, presign_request, sign_request

if TYPE_CHECKING:
    from .event_signing import EventSigner, EventSignerClosedError, SignedEvent, sign_event
    from .httpx_auth import BearerAuth, SigV4Auth

__all__ = [
    "BearerAuth",
    "CredentialProvider",
    "Credentials",
    "EventSigner",
    "EventSignerClosedError",
    "SigV4Auth",
    "SignedEvent",
    "SignedRequest",
    "presign_request",
    "sign_event",
    "sign_request",
]

_LAZY_HTTPX = frozenset({"BearerAuth", "SigV4Auth"})
_LAZY_EVENTS = frozenset({"EventSigner", "EventSignerClosedError", "SignedEvent", "sign_event"})
_LAZY = _LAZY_HTTPX | _LAZY_EVENTS


def __getattr__(name: str) -> Any:
    if name in _LAZY_HTTPX:
        from . import httpx_auth  # noqa: PLC0415 (lazy on purpose: importing httpx is slow)

        return getattr(httpx_auth, name)
    if name in _LAZY_EVENTS:
        from . import event_signing  # noqa: PLC0415 (lazy: only bidirectional streams need it)

        return getattr(event_signing, name)
    raise AttributeError(f"module 'sigv4' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
