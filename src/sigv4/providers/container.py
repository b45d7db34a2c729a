"""Credentials from the container credentials endpoint (Amazon ECS task roles, EKS Pod Identity)."""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

from ..credentials import Credentials
from .credentials_document import DocumentError, parse_credentials_document
from .errors import CredentialEndpointError, NoCredentialsError
from .fetch import FetchError, Response, request, safe_url
from .refreshing import RefreshingProvider

RELATIVE_URI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
AUTHORIZATION_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
AUTHORIZATION_TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
#: Where a RELATIVE_URI points: the Amazon ECS agent's link-local address.
ECS_ENDPOINT = "http://169.254.170.2"
#: Plain-http hosts a FULL_URI may name besides loopback addresses (the ECS agent, EKS Pod Identity
#: over IPv4 and IPv6, and localhost), exactly as the AWS SDKs allow: anything else must use https so
#: that credentials never cross a network in clear.
ALLOWED_HTTP_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})


def check_full_uri(uri: str) -> None:
    """Raise :class:`CredentialEndpointError` unless ``uri`` is https, or http to a loopback address or
    one of :data:`ALLOWED_HTTP_HOSTS`. Pure: nothing is contacted."""
    import ipaddress  # noqa: PLC0415 - lazy: only needed when a FULL_URI is set

    shown = safe_url(uri)
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise CredentialEndpointError(f"{FULL_URI} is not a valid URL", url=shown) from None
    if parts.scheme not in ("http", "https") or not host:
        raise CredentialEndpointError(f"{FULL_URI} must be an http:// or https:// URL with a host", url=shown)
    if parts.scheme == "https" or host in ALLOWED_HTTP_HOSTS:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise CredentialEndpointError(
        f"{FULL_URI} names host {host!r} over plain http; use https, or a loopback address or one of "
        + ", ".join(sorted(ALLOWED_HTTP_HOSTS)),
        url=shown,
    )


class ContainerProvider:
    """Credentials from the endpoint in ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (appended to
    ``relative_uri_base``, the ECS agent by default) or else ``AWS_CONTAINER_CREDENTIALS_FULL_URI``
    (checked by :func:`check_full_uri`), read on each fetch.

    The ``Authorization`` header is the contents of ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (re-read on
    every refresh: EKS rotates it) or else ``AWS_CONTAINER_AUTHORIZATION_TOKEN``. Each attempt is bounded
    by ``timeout`` seconds; connection failures and 5xx answers are retried (``attempts`` in all,
    ``retry_delay`` seconds apart), other statuses are not. When neither URI variable is set, ``load()``
    raises :class:`NoCredentialsError`; when one is set but fails, :class:`CredentialEndpointError`.
    """

    def __init__(
        self,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        retry_delay: float = 0.5,
        relative_uri_base: str = ECS_ENDPOINT,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._timeout = timeout
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._relative_uri_base = relative_uri_base
        self._cache = RefreshingProvider(self._fetch)

    def load(self) -> Credentials:
        """Credentials from the container endpoint (fetched on first use and before expiry)."""
        return self._cache.load()

    def __repr__(self) -> str:
        return "ContainerProvider()"

    def _fetch(self) -> Credentials:
        relative = os.environ.get(RELATIVE_URI, "").strip()
        full = os.environ.get(FULL_URI, "").strip()
        if relative:
            url = self._relative_uri_base.rstrip("/") + "/" + relative.lstrip("/")
            variable = RELATIVE_URI
        elif full:
            check_full_uri(full)
            url = full
            variable = FULL_URI
        else:
            raise NoCredentialsError([f"container credentials: neither {RELATIVE_URI} nor {FULL_URI} is set"])
        shown = safe_url(url)
        headers = {"Accept": "application/json"}
        token = _authorization_token(shown)
        if token is not None:
            headers["Authorization"] = token
        label = f"container credentials endpoint {shown} (from {variable})"
        response = self._get(url, headers, label, shown)
        if response.status != 200:
            raise CredentialEndpointError(
                f"{label} answered HTTP {response.status} {response.reason}",
                url=shown,
                status=response.status,
            )
        try:
            return parse_credentials_document(response.body, label)
        except DocumentError as error:
            raise CredentialEndpointError(f"{label}: {error}", url=shown, status=200) from None

    def _get(self, url: str, headers: dict[str, str], label: str, shown: str) -> Response:
        problem = ""
        tries = 0
        while tries < self._attempts:
            if tries:
                time.sleep(self._retry_delay)
            tries += 1
            try:
                response = request("GET", url, headers, timeout=self._timeout)
            except FetchError as error:
                problem = error.reason
                if not error.retryable:
                    break
                continue
            if response.status < 500:
                return response
            problem = f"HTTP {response.status} {response.reason}"
        raise CredentialEndpointError(
            f"{label} failed after {tries} attempt{'s' if tries > 1 else ''}: {problem}", url=shown
        )


def _authorization_token(shown: str) -> str | None:
    path = os.environ.get(AUTHORIZATION_TOKEN_FILE, "").strip()
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                token = handle.read().strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise CredentialEndpointError(
                f"cannot read {AUTHORIZATION_TOKEN_FILE} {path}: {reason}", url=shown
            ) from None
        source = f"{AUTHORIZATION_TOKEN_FILE} {path}"
    else:
        token = os.environ.get(AUTHORIZATION_TOKEN, "").strip()
        source = AUTHORIZATION_TOKEN
    if not token:
        return None
    # A line break would let the token inject headers; http.client would refuse it but quote the token.
    if not all(" " <= char <= "~" for char in token):
        raise CredentialEndpointError(
            f"the authorization token from {source} contains a line break or another character that"
            " cannot go in an HTTP header",
            url=shown,
        )
    return token
