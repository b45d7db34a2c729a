"""Where every "random" part of an answer comes from: a SHA-256 of the request, so nothing is random.

Ids, latencies and signatures derive from :func:`request_seed` (the model id and the canonical JSON of the
request), which is what makes the same request get byte-identical answers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["request_seed", "token", "uuid_from"]

_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def request_seed(model_id: str, request: Mapping[str, Any]) -> bytes:
    """32 bytes that identify (``model_id``, ``request``); key order and whitespace do not matter."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(f"{model_id}\n{canonical}".encode("utf-8", "surrogatepass")).digest()


def token(seed: bytes, salt: bytes, length: int) -> str:
    """``length`` id characters (letters and digits, no look-alikes) derived from ``seed`` and ``salt``."""
    digest = hashlib.sha256(salt + seed).digest()
    return "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest[:length])


def uuid_from(seed: bytes, salt: bytes) -> str:
    """A version-4-shaped UUID derived from ``seed`` and ``salt``."""
    return str(uuid.UUID(bytes=hashlib.sha256(salt + seed).digest()[:16], version=4))
