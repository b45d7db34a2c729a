"""The SigV4 signing key: derived once per (secret, date, region, service), HMAC state precomputed."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["SIGNING_KEY_CACHE_SIZE", "SigningKey", "derive_signing_key", "signing_key"]

#: How many derived keys are remembered. One key serves one UTC day of one region and service, so a
#: process needs a handful; the bound keeps rotating credentials from growing memory without limit.
SIGNING_KEY_CACHE_SIZE = 64

_SHA256_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The raw 32-byte key: HMAC-SHA256 chain ``AWS4<secret>`` -> ``YYYYMMDD`` -> region -> service ->
    ``aws4_request``. Not cached; :func:`signing_key` is the cached form the signer uses."""
    for label, value in (("region", region), ("service", service)):
        if not value or "/" in value or value != value.strip() or not value.isprintable():
            raise ValueError(f"invalid SigV4 {label} {value!r}: must be non-empty, printable, without '/'")
    if len(date) != 8 or not date.isdigit():
        raise ValueError(f"invalid SigV4 date {date!r}: expected YYYYMMDD")
    try:
        secret = ("AWS4" + secret_access_key).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the secret access key is not valid Unicode (lone surrogate)") from None
    key = hmac.digest(secret, date.encode("ascii"), "sha256")
    key = hmac.digest(key, region.encode("utf-8"), "sha256")
    key = hmac.digest(key, service.encode("utf-8"), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


@dataclass(frozen=True, eq=False)
class SigningKey:
    """A derived signing key ready to sign: HMAC-SHA256 with the key's inner and outer hash states
    precomputed (RFC 2104), so a signature costs two hash copies instead of a full HMAC set-up.

    ``repr`` never shows the key.
    """

    key: bytes = field(repr=False)
    _inner: Any = field(init=False, repr=False)
    _outer: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.key) > _SHA256_BLOCK:
            raise ValueError("a SigV4 signing key is 32 bytes")
        padded = self.key.ljust(_SHA256_BLOCK, b"\0")
        object.__setattr__(self, "_inner", hashlib.sha256(padded.translate(_IPAD)))
        object.__setattr__(self, "_outer", hashlib.sha256(padded.translate(_OPAD)))

    def sign(self, message: bytes) -> str:
        """Hex HMAC-SHA256 of ``message`` under this key (thread-safe: the stored states are only copied)."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        hexdigest: str = outer.hexdigest()
        return hexdigest


@lru_cache(maxsize=SIGNING_KEY_CACHE_SIZE)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> SigningKey:
    """The :class:`SigningKey` for (secret, date, region, service), memoized in a bounded, thread-safe LRU.

    The four derivation HMACs (and the validation of ``region``/``service``) run on a cache miss only,
    i.e. once per key and UTC day. The cache holds the secret in its keys, as the credentials object
    itself does; ``signing_key.cache_info()`` shows counts only.
    """
    return SigningKey(derive_signing_key(secret_access_key, date, region, service))
