"""AWS Signature Version 4 for Python: a fast, pure signer and a small httpx adapter.

Signing (``sign_request``, ``presign_request``) needs only the standard library. ``SigV4Auth`` and
``BearerAuth`` live in :mod:`sigv4.httpx_auth`, the only module importing httpx; they are re-exported here
lazily (PEP 562), so ``import sigv4`` never imports httpx and ``from sigv4 import SigV4Auth`` still works.
Credential sources are in :mod:`sigv4.providers` (imported on demand, not here, to keep start-up fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .credentials import CredentialProvider, Credentials
from .signer import SignedRequest, presign_request, sign_request

if TYPE_CHECKING:
    from .httpx_auth import BearerAuth, SigV4Auth

__all__ = [
    "BearerAuth",
    "CredentialProvider",
    "Credentials",
    "SigV4Auth",
    "SignedRequest",
    "presign_request",
    "sign_request",
]

_LAZY = frozenset({"BearerAuth", "SigV4Auth"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import httpx_auth  # noqa: PLC0415 (lazy on purpose: importing httpx is slow)

        return getattr(httpx_auth, name)
    raise AttributeError(f"module 'sigv4' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
