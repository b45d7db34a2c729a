"""Reading the JSON credentials document that the container and instance-metadata endpoints serve."""

from __future__ import annotations

from typing import Any

from ..credentials import Credentials
from .expiration import parse_expiration


class DocumentError(ValueError):
    """The document is unusable; the message names the problem, never a value from the document."""


def parse_credentials_document(body: bytes, source: str) -> Credentials:
    """``{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`` (``Token`` and ``Expiration``
    optional) as :class:`Credentials`. ``source`` names the endpoint in errors."""
    import json  # noqa: PLC0415 - lazy: only needed when an endpoint answers

    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DocumentError("the answer is not a JSON document") from None
    if not isinstance(document, dict):
        raise DocumentError("the answer is not a JSON object")
    # The instance-metadata service reports failures in-band: {"Code": "...", "Message": "..."}.
    code = document.get("Code", "Success")
    if code != "Success":
        shown = repr(code[:64]) if isinstance(code, str) else type(code).__name__
        raise DocumentError(f"the answer's Code is {shown}, not 'Success'")
    access_key = _required(document, "AccessKeyId")
    secret_key = _required(document, "SecretAccessKey")
    token = _optional(document, "Token")
    expiry = _optional(document, "Expiration")
    expiration = parse_expiration(expiry, source) if expiry is not None else None
    return Credentials(access_key, secret_key, token, expiration)


def _required(document: dict[str, Any], name: str) -> str:
    value = _optional(document, name)
    if value is None:
        raise DocumentError(f"the answer has no {name}")
    return value


def _optional(document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise DocumentError(f"the answer's {name} is not a non-empty string")
    return value
