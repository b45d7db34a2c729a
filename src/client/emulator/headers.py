"""Request headers as the emulator reads them: one case-folding, one notion of what is secret.

HTTP header names are case-insensitive (RFC 9110 5.1) and a repeated header is its values joined by ``,``
(5.3); everything in the emulator that looks a header up goes through :func:`fold`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SECRET_HEADERS", "fold", "redacted"]

#: Headers whose values are credentials: never recorded, logged or shown as sent.
SECRET_HEADERS = frozenset({"authorization", "x-amz-security-token"})


def fold(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``headers`` as a dict of lower-case names, repeats joined by ``,`` in order."""
    folded: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        folded[key] = f"{folded[key]},{value}" if key in folded else value
    return folded


def redacted(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``headers`` with the values of :data:`SECRET_HEADERS` replaced by ``<redacted>``."""
    return tuple((name, "<redacted>" if name.lower() in SECRET_HEADERS else value) for name, value in headers)
