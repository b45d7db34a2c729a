"""What a region name may look like: the one rule, shared by the region lookup and every client."""

from __future__ import annotations

import re

__all__ = ["is_valid_region"]

# A region goes into the endpoint's host name and the signing scope, so anything but one DNS label is refused
# (a value like "evil.example#" would send signed requests elsewhere). Upper case is refused too: AWS region
# names are lower case, and "US-EAST-1" would reach the right host but sign for a scope the service rejects.
_REGION_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def is_valid_region(name: str) -> bool:
    """True when ``name`` can be a region: one lower-case DNS label (letters, digits, inner hyphens)."""
    return isinstance(name, str) and _REGION_NAME.fullmatch(name) is not None
