"""Parsing the ISO 8601 expiry times that credential sources hand out."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .errors import CredentialError

# YYYY-MM-DD, 'T' or space, HH:MM[:SS[.fraction]], then Z, a numeric offset (+HH:MM, -HHMM) or nothing.
_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:[Zz]|([+-])(\d{2}):?(\d{2}))?"
)


def parse_expiration(text: str, source: str) -> datetime:
    """The timezone-aware UTC instant ``text`` names (read as UTC when it carries no offset).

    Accepts what AWS sources produce (``2024-05-01T12:00:00Z``, fractional seconds, numeric offsets) on
    every supported Python (3.10's ``datetime.fromisoformat`` rejects ``Z``). ``source`` names where the
    value came from, for the error message.
    """
    match = _ISO_8601.fullmatch(text.strip())
    if match is None:
        raise CredentialError(f"{source}: expiration {text[:64]!r} is not an ISO 8601 timestamp")
    year, month, day, hour, minute, second, fraction, sign, off_hours, off_minutes = match.groups()
    offset = timedelta(0)
    if sign is not None:
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        if sign == "-":
            offset = -offset
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone(offset),
        )
    except ValueError as error:
        raise CredentialError(f"{source}: expiration {text[:64]!r} is not a valid date ({error})") from None
    return value.astimezone(timezone.utc)
