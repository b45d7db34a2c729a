"""httpx authentication: ``SigV4Auth`` signs each request as sent; ``BearerAuth`` sends a Bedrock API key.

The only module of ``sigv4`` that imports httpx. One ``auth_flow`` per class serves ``httpx.Client`` and
``httpx.AsyncClient``; SigV4Auth overrides the async flow only so that loading credentials from a provider
(which may do I/O on a refresh) runs in a worker thread instead of blocking the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from datetime import datetime

import httpx

from .credentials import CredentialProvider, Credentials, utc_now
from .signer import sign_request

__all__ = ["BearerAuth", "SigV4Auth"]

# Written by SigV4Auth; removed by BearerAuth so a request never mixes the two schemes.
_SIGV4_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class SigV4Auth(httpx.Auth):
    """Sign every request with AWS Signature Version 4 (header signing), afresh on every send and retry.

    ``credentials_or_provider`` is a :class:`~sigv4.Credentials` or anything with ``load() -> Credentials``
    (called for every request; providers cache and refresh). ``region`` and ``service`` form the scope
    (Bedrock Runtime signs as service ``bedrock``). ``clock`` returns the timezone-aware time to sign with
    (default: now, UTC); a client corrects clock skew through it.

    The request is signed as it goes on the wire: the path and query come from ``request.url.raw_path``,
    so an encoded model ARN (``%3A``) is signed as ``%253A``; the body is read first
    (``requires_request_body``) and hashed; all headers httpx will send are signed except the hop-by-hop
    and tracing ones (``sigv4.signer.UNSIGNED_HEADERS``). No ``x-amz-content-sha256`` header is sent
    (as botocore does for Bedrock). With ``httpx.AsyncClient``, ``provider.load()`` runs in a worker
    thread (``anyio.to_thread.run_sync``).
    """

    requires_request_body = True

    def __init__(
        self,
        credentials_or_provider: Credentials | CredentialProvider,
        region: str,
        service: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not region or not service:
            raise ValueError("SigV4Auth needs a non-empty region and service")
        if not isinstance(credentials_or_provider, Credentials) and not callable(
            getattr(credentials_or_provider, "load", None)
        ):
            raise TypeError(
                "SigV4Auth needs Credentials or a provider with load(), not "
                f"{type(credentials_or_provider).__name__}"
            )
        self._source = credentials_or_provider
        self.region = region
        self.service = service
        self._clock = clock if clock is not None else utc_now

    def __repr__(self) -> str:
        return f"SigV4Auth({self._source!r}, region={self.region!r}, service={self.service!r})"

    def sign(self, request: httpx.Request, credentials: Credentials) -> None:
        """Sign ``request`` in place (body already read): set ``X-Amz-Date``, token, ``Authorization``.

        The headers are replaced by the signed set in one step (cheaper than editing ``httpx.Headers``
        entry by entry), keeping every header's raw bytes and order; SigV4 headers of an earlier signing
        are dropped, so a re-sent request never carries two signatures.
        """
        headers = request.headers
        encoding = headers.encoding
        url = request.url
        signed = sign_request(
            request.method,
            f"{url.scheme}://{url.netloc.decode('ascii')}{url.raw_path.decode('ascii')}",
            [(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw],
            request.content,
            credentials=credentials,
            region=self.region,
            service=self.service,
            timestamp=self._clock(),
        )
        request.headers = httpx.Headers(signed.headers, encoding=encoding)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign with the credentials (loaded from the provider on this thread) and send once."""
        credentials = self._load()
        self.sign(request, credentials)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """As :meth:`auth_flow`, loading provider credentials in a worker thread."""
        await request.aread()
        if isinstance(self._source, Credentials):
            credentials = self._source
        else:
            import anyio.to_thread  # noqa: PLC0415 - only async use pays for it (~1.5 ms at import)

            credentials = await anyio.to_thread.run_sync(self._load)
        self.sign(request, credentials)
        yield request

    def _load(self) -> Credentials:
        source = self._source
        if isinstance(source, Credentials):
            return source
        credentials = source.load()
        if not isinstance(credentials, Credentials):
            raise TypeError(
                f"credential provider {source!r} returned {type(credentials).__name__}, not Credentials"
            )
        return credentials


class BearerAuth(httpx.Auth):
    """Send ``Authorization: Bearer <token>`` (a Bedrock API key) instead of SigV4.

    Any SigV4 headers on the request are removed, so the two schemes are never mixed. ``repr`` hides the
    token.
    """

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("BearerAuth needs a non-empty token")
        if any(char in token for char in "\r\n\0") or token != token.strip():
            raise ValueError("BearerAuth token must be a single line without surrounding whitespace")
        self._authorization = f"Bearer {token}"

    def __repr__(self) -> str:
        return "BearerAuth(token=<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the bearer header and send once."""
        headers = request.headers
        for name in _SIGV4_HEADERS:
            if name in headers:
                del headers[name]
        headers["Authorization"] = self._authorization
        yield request
