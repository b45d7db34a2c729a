"""Credentials of the instance role from the EC2 instance metadata service (IMDSv2 session tokens).

Off EC2 nothing listens at the metadata address, so every request is bounded by a short timeout (1 s
by default, as in the AWS tools) and a failure means "no credentials here", never an error: this is the
last source of the chain and must not slow down or break machines that are not instances.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

from ..credentials import Credentials
from .credentials_document import DocumentError, parse_credentials_document
from .errors import CredentialError, NoCredentialsError
from .fetch import FetchError, Response, request
from .refreshing import RefreshingProvider

DISABLED = "AWS_EC2_METADATA_DISABLED"
ENDPOINT = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
ENDPOINT_MODE = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"
V1_DISABLED = "AWS_EC2_METADATA_V1_DISABLED"
TIMEOUT = "AWS_METADATA_SERVICE_TIMEOUT"
ATTEMPTS = "AWS_METADATA_SERVICE_NUM_ATTEMPTS"

IPV4_ENDPOINT = "http://169.254.169.254"
IPV6_ENDPOINT = "http://[fd00:ec2::254]"
TOKEN_PATH = "/latest/api/token"
ROLES_PATH = "/latest/meta-data/iam/security-credentials/"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
#: Session token lifetime asked for, in seconds (the maximum, 6 hours).
TOKEN_TTL = 21600
DEFAULT_TIMEOUT = 1.0
DEFAULT_ATTEMPTS = 1


def metadata_disabled() -> bool:
    """True when ``AWS_EC2_METADATA_DISABLED`` is ``true`` (any case)."""
    return _flag(DISABLED)


def metadata_endpoint() -> str:
    """``AWS_EC2_METADATA_SERVICE_ENDPOINT``, else the address for ``AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE``
    (``IPv4``, the default, or ``IPv6``), without a trailing slash."""
    configured = os.environ.get(ENDPOINT, "").strip()
    if configured:
        try:
            parts = urlsplit(configured)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            valid = False
        if not valid:
            raise CredentialError(f"{ENDPOINT} must be an http:// or https:// URL with a host")
        return configured.rstrip("/")
    mode = os.environ.get(ENDPOINT_MODE, "").strip().lower() or "ipv4"
    if mode == "ipv4":
        return IPV4_ENDPOINT
    if mode == "ipv6":
        return IPV6_ENDPOINT
    raise CredentialError(f"{ENDPOINT_MODE} must be IPv4 or IPv6, not {mode[:32]!r}")


class _UnavailableError(Exception):
    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class InstanceMetadataProvider:
    """The instance role's credentials: ``PUT /latest/api/token`` for a session token, then
    ``GET /latest/meta-data/iam/security-credentials/`` for the role name, then that role's credentials.

    When the token request is refused (HTTP 403/404/405) or times out after connecting (a container
    behind a hop limit of 1), the requests go without token (IMDSv1) unless
    ``AWS_EC2_METADATA_V1_DISABLED=true``. ``timeout`` (seconds per request) and ``attempts`` default to
    ``AWS_METADATA_SERVICE_TIMEOUT`` / ``AWS_METADATA_SERVICE_NUM_ATTEMPTS``, else 1 s and 1 attempt.

    Every way of not getting credentials — disabled by ``AWS_EC2_METADATA_DISABLED=true`` (then nothing
    is contacted), nothing listening, no role attached, an unusable answer — is a
    :class:`NoCredentialsError` saying which. Only a malformed setting is another error. Settings are
    read on each fetch; credentials are cached and fetched again shortly before they expire.
    """

    def __init__(self, *, timeout: float | None = None, attempts: int | None = None) -> None:
        self._timeout = timeout
        self._attempts = attempts
        self._cache = RefreshingProvider(self._fetch)

    def __repr__(self) -> str:
        return "InstanceMetadataProvider()"

    def load(self) -> Credentials:
        """The instance role's credentials (fetched on first use and before expiry)."""
        return self._cache.load()

    def _fetch(self) -> Credentials:
        if metadata_disabled():
            raise NoCredentialsError([f"EC2 instance metadata: disabled by {DISABLED}=true"])
        endpoint = metadata_endpoint()
        timeout = self._timeout if self._timeout is not None else _positive_float(TIMEOUT, DEFAULT_TIMEOUT)
        attempts = self._attempts if self._attempts is not None else _positive_int(ATTEMPTS, DEFAULT_ATTEMPTS)
        problem = ""
        for _ in range(max(attempts, 1)):
            try:
                return _fetch_once(endpoint, timeout)
            except _UnavailableError as unavailable:
                problem = unavailable.reason
                if not unavailable.retry:
                    break
        raise NoCredentialsError([f"EC2 instance metadata at {endpoint}: {problem}"])


def _fetch_once(endpoint: str, timeout: float) -> Credentials:
    headers: dict[str, str] = {}
    token, why_not = _session_token(endpoint, timeout)
    if token is not None:
        headers[TOKEN_HEADER] = token
    elif _flag(V1_DISABLED):
        raise _UnavailableError(f"no IMDSv2 session token ({why_not}) and {V1_DISABLED}=true", retry=False)
    roles = _get(endpoint + ROLES_PATH, headers, timeout, "role name request")
    if roles.status == 404:
        raise _UnavailableError("no IAM role is attached to this instance", retry=False)
    _expect_ok(roles, "role name request")
    names = [line.strip() for line in roles.body.decode("utf-8", "replace").splitlines() if line.strip()]
    if not names:
        raise _UnavailableError("no IAM role is attached to this instance", retry=False)
    role = names[0]
    answer = _get(endpoint + ROLES_PATH + quote(role, safe=""), headers, timeout, f"role {role!r} request")
    _expect_ok(answer, f"credentials request for role {role!r}")
    try:
        return parse_credentials_document(answer.body, f"EC2 instance metadata role {role!r}")
    except DocumentError as error:
        raise _UnavailableError(f"credentials of role {role!r} are unusable: {error}", retry=False) from None


def _session_token(endpoint: str, timeout: float) -> tuple[str | None, str]:
    try:
        answer = request("PUT", endpoint + TOKEN_PATH, {TOKEN_TTL_HEADER: str(TOKEN_TTL)}, timeout=timeout)
    except FetchError as error:
        if error.connected and error.retryable:
            return None, f"token request: {error.reason}"
        raise _UnavailableError(error.reason, retry=error.retryable) from None
    if answer.status in (403, 404, 405):
        return None, f"token request answered HTTP {answer.status}"
    _expect_ok(answer, "token request")
    token = answer.body.decode("ascii", "replace").strip()
    if not token or not all(" " < char <= "~" for char in token):
        raise _UnavailableError(
            "the token request answered something that is not a session token", retry=True
        )
    return token, ""


def _get(url: str, headers: dict[str, str], timeout: float, what: str) -> Response:
    try:
        return request("GET", url, headers, timeout=timeout)
    except FetchError as error:
        raise _UnavailableError(f"{what}: {error.reason}", retry=error.retryable) from None


def _expect_ok(answer: Response, what: str) -> None:
    if answer.status != 200:
        raise _UnavailableError(
            f"{what} answered HTTP {answer.status} {answer.reason}", retry=answer.status >= 500
        )


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() == "true"


def _positive_float(variable: str, default: float) -> float:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 3600:
        raise CredentialError(f"{variable} must be a number of seconds greater than 0, not {text[:32]!r}")
    return value


def _positive_int(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise CredentialError(f"{variable} must be a whole number of attempts (1 or more), not {text[:32]!r}")
    return int(text)
