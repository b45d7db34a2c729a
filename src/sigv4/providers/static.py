"""Credentials given explicitly, as a provider."""

from __future__ import annotations

from ..credentials import Credentials


class StaticProvider:
    """Always hands out the same :class:`~sigv4.credentials.Credentials` (explicit credentials)."""

    def __init__(self, credentials: Credentials) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError(f"StaticProvider needs Credentials, not {type(credentials).__name__}")
        self._credentials = credentials

    def load(self) -> Credentials:
        """The credentials given at construction."""
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticProvider({self._credentials!r})"
