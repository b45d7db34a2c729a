"""Credentials from the AWS_* environment variables."""

from __future__ import annotations

import os

from ..credentials import Credentials
from .errors import NoCredentialsError, PartialCredentialsError
from .expiration import parse_expiration
from .refreshing import RefreshingProvider

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
SESSION_TOKEN = "AWS_SESSION_TOKEN"
#: The pre-2014 name of AWS_SESSION_TOKEN, still honoured by the AWS tools.
LEGACY_SESSION_TOKEN = "AWS_SECURITY_TOKEN"
#: Optional expiry of temporary credentials in the environment; with it the variables are re-read
#: shortly before that time (whoever exported them may have exported new ones).
CREDENTIAL_EXPIRATION = "AWS_CREDENTIAL_EXPIRATION"


class EnvironmentProvider:
    """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and optionally ``AWS_SESSION_TOKEN`` (or
    ``AWS_SECURITY_TOKEN``) and ``AWS_CREDENTIAL_EXPIRATION``.

    The variables are read on the first ``load()`` and cached (re-read before an
    ``AWS_CREDENTIAL_EXPIRATION``). Empty variables count as unset. One key without the other is a
    :class:`PartialCredentialsError`; neither is a :class:`NoCredentialsError`.
    """

    def __init__(self) -> None:
        self._cache = RefreshingProvider(_read_environment)

    def load(self) -> Credentials:
        """Credentials from the environment, or ``NoCredentialsError`` when the variables are unset."""
        return self._cache.load()

    def __repr__(self) -> str:
        return "EnvironmentProvider()"


def _read_environment() -> Credentials:
    access_key = os.environ.get(ACCESS_KEY_ID, "").strip()
    secret_key = os.environ.get(SECRET_ACCESS_KEY, "").strip()
    if not access_key and not secret_key:
        raise NoCredentialsError([f"environment variables {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY}: not set"])
    if not secret_key:
        raise PartialCredentialsError(f"{ACCESS_KEY_ID} is set but {SECRET_ACCESS_KEY} is not (or is empty)")
    if not access_key:
        raise PartialCredentialsError(f"{SECRET_ACCESS_KEY} is set but {ACCESS_KEY_ID} is not (or is empty)")
    token = os.environ.get(SESSION_TOKEN, "").strip() or os.environ.get(LEGACY_SESSION_TOKEN, "").strip()
    expiry_text = os.environ.get(CREDENTIAL_EXPIRATION, "").strip()
    expiration = parse_expiration(expiry_text, CREDENTIAL_EXPIRATION) if expiry_text else None
    return Credentials(access_key, secret_key, token or None, expiration)
