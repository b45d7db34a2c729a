"""AWS credentials as an immutable value whose repr never shows a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the clock every signature and expiry check uses by default)."""
    return datetime.now(timezone.utc)


class CredentialError(RuntimeError):
    """Base class of every error raised while resolving credentials or the region (the sources and their
    errors are in :mod:`sigv4.providers`; the base lives here so that a client can catch it without importing
    them)."""


@dataclass(frozen=True)
class Credentials:
    """An access key, its secret and an optional session token.

    ``repr()`` and ``str()`` show only the access key id (which AWS treats as non-secret) and the expiry:
    the secret key and the session token are excluded so that logging a client, a provider or an
    exception holding credentials can never leak them.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None

    def __post_init__(self) -> None:
        if not self.access_key_id:
            raise ValueError("Credentials need a non-empty access_key_id")
        if not self.secret_access_key:
            raise ValueError(f"Credentials for access key {self.access_key_id} have an empty secret key")
        if self.expiration is not None and self.expiration.tzinfo is None:
            raise ValueError("Credentials.expiration must be timezone-aware")

    def expires_within(self, margin: timedelta, now: datetime | None = None) -> bool:
        """True when these credentials expire less than ``margin`` from ``now`` (never, without an expiry)."""
        if self.expiration is None:
            return False
        current = now if now is not None else datetime.now(timezone.utc)
        return self.expiration - current < margin

    def __str__(self) -> str:
        return repr(self)


class CredentialProvider(Protocol):
    """Anything that can hand out current credentials: a source (env, files, IMDS...) or a chain of them.

    ``load()`` may do I/O the first time and must be cheap afterwards (cached until shortly before expiry);
    it must be safe to call from several threads at once.
    """

    def load(self) -> Credentials:
        """Return credentials valid for at least the next few minutes, or raise a ``CredentialError``."""
        ...
