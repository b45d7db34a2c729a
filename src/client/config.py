"""A client's configuration, checked once at construction: region, endpoint, timeouts, attempts, auth kind.

Pure apart from reading the environment (``AWS_BEARER_TOKEN_BEDROCK``, the region variables and the shared
config file) when the caller left a value out, exactly as the AWS tools do. Every mistake is a
:class:`~client.ParamValidationError` (or :class:`~client.NoRegionError`) raised here, before anything is
sent.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import httpx

from sigv4.credentials import CredentialError, utc_now
from sigv4.region_name import is_valid_region

from .errors import (
    BedrockRuntimeError,
    CredentialsError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)
from .retry import Backoff

if TYPE_CHECKING:
    from sigv4 import CredentialProvider, Credentials

__all__ = [
    "BEARER_TOKEN_ENV",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "SigningClock",
    "check_timeout",
    "credentials_error",
    "make_config",
    "utc_now",
]

#: Connect, read (per read: the longest silence tolerated between two pieces of the stream), write and pool
#: timeouts. There is no total-time limit: a long answer streams for as long as the model keeps talking.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)

BEARER_TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"


@dataclass(frozen=True)
class ClientConfig:
    """What one client decided at construction. Immutable, so one client is safe to share across threads."""

    region: str | None
    endpoint: str
    #: The timeouts every request is sent with (``None``: no timeout at all).
    timeout: httpx.Timeout | None
    #: The caller's ``http_client`` was given without a ``timeout``: its own timeout applies.
    keep_client_timeout: bool
    max_attempts: int
    backoff: Backoff
    #: ``True`` when requests carry a Bedrock API key instead of a SigV4 signature.
    bearer: bool


class SigningClock:
    """The clock requests are signed with: local UTC time corrected by the skew learnt from the service.

    The offset is one reference assignment, so threads reading ``now()`` while another corrects it see the
    old or the new offset, never a torn value.
    """

    __slots__ = ("offset",)

    def __init__(self) -> None:
        #: server time - local time, learnt from a ``Signature expired`` answer's ``Date`` header.
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Local UTC time plus the learnt offset."""
        return datetime.now(timezone.utc) + self.offset


def _check_seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    # 0 would make every socket non-blocking (a read fails at once with EAGAIN) and a negative value is
    # refused by the socket layer only when the first request is already on its way.
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or number <= 0:
        raise ParamValidationError(f"{name} must be a positive number of seconds or None, not {value!r}")
    return float(number)


def check_timeout(timeout: object) -> httpx.Timeout | None:
    """``timeout`` as an ``httpx.Timeout`` after checking every field is a positive number or ``None``."""
    if timeout is None:
        return None
    if isinstance(timeout, httpx.Timeout):
        for field in ("connect", "read", "write", "pool"):
            _check_seconds(f"timeout.{field}", getattr(timeout, field))
        return timeout
    return httpx.Timeout(_check_seconds("timeout", timeout))


def credentials_error(exc: CredentialError) -> BedrockRuntimeError:
    """The client's typed error for a failure of the credential or region lookup (message and cause kept)."""
    from sigv4.providers.errors import NoCredentialsError as _NoCredentials  # noqa: PLC0415 - already loaded

    cls = NoCredentialsError if isinstance(exc, _NoCredentials) else CredentialsError
    error = cls(str(exc))
    error.__cause__ = exc
    return error


def make_config(
    *,
    region: str | None,
    credentials: Credentials | CredentialProvider | None,
    bearer_token: str | None,
    endpoint_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_attempts: int,
    keep_client_timeout: bool,
) -> tuple[ClientConfig, str | None]:
    """Check the arguments of a client and fill in what the environment says. Returns the configuration and
    the bearer token to use (``None`` for SigV4)."""
    from .request import resolve_endpoint  # noqa: PLC0415 - request imports config's neighbours, not config

    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ParamValidationError(f"max_attempts must be an integer >= 1, not {max_attempts!r}")
    if credentials is not None and bearer_token is not None:
        raise ParamValidationError(
            "pass either credentials (SigV4) or bearer_token (Bedrock API key), not both"
        )
    if bearer_token is not None and (not isinstance(bearer_token, str) or not bearer_token.strip()):
        raise ParamValidationError("bearer_token must be a non-empty string")
    if credentials is not None and not callable(getattr(credentials, "load", None)):
        from sigv4 import Credentials as _Credentials  # noqa: PLC0415 - cold start: only when needed

        if not isinstance(credentials, _Credentials):
            raise ParamValidationError(
                "credentials must be sigv4.Credentials or a provider with load(), "
                f"not {type(credentials).__name__}"
            )
    if bearer_token is None and credentials is None:
        # Like botocore: the environment's API key is used unless credentials were configured in code.
        bearer_token = os.environ.get(BEARER_TOKEN_ENV) or None
    bearer = bearer_token is not None
    if region is not None and (not isinstance(region, str) or not is_valid_region(region)):
        raise ParamValidationError(f"region {region!r} is not a valid AWS region name (e.g. 'us-east-1')")
    if region is None and not (bearer and endpoint_url is not None):
        # Needed for the endpoint and the signing scope; only a bearer token with an explicit endpoint can do
        # without one.
        from sigv4.providers import resolve_region  # noqa: PLC0415 - cold start: only when needed

        try:
            region = resolve_region()
        except CredentialError as exc:
            raise credentials_error(exc) from exc
        if not region:
            raise NoRegionError(
                "no AWS region: pass region=..., set AWS_REGION (or AWS_DEFAULT_REGION), or set "
                "'region' in the profile of ~/.aws/config"
            )
    config = ClientConfig(
        region=region,
        endpoint=resolve_endpoint(endpoint_url, region),
        timeout=check_timeout(timeout),
        keep_client_timeout=keep_client_timeout,
        max_attempts=max_attempts,
        backoff=Backoff(),
        bearer=bearer,
    )
    return config, bearer_token
