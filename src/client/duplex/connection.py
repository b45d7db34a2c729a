"""Opening the byte stream an HTTP/2 session runs on (anyio): TLS with ALPN ``h2``, or h2c for ``http://``.

``https://``: certificate verification on, with the trust store httpx uses (certifi's bundle, or
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set); the server must agree to ``h2`` in ALPN. ``http://``: HTTP/2
with prior knowledge (h2c), for local endpoints such as the emulator.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import anyio
import anyio.abc
import anyio.streams.tls
import httpx

from ..errors import EndpointConnectionError, ParamValidationError

__all__ = ["Endpoint", "open_connection", "parse_endpoint", "tls_context"]


class Endpoint:
    """Where to connect: scheme, host, port and the ``:authority`` to send."""

    __slots__ = ("authority", "host", "port", "scheme")

    def __init__(self, scheme: str, host: str, port: int, authority: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.authority = authority

    def __repr__(self) -> str:
        return f"Endpoint({self.scheme}://{self.authority})"


def parse_endpoint(url: str) -> Endpoint:
    """Split an ``http(s)://host[:port]`` base URL; a path or query is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParamValidationError(f"endpoint {url!r} must be an absolute http:// or https:// URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ParamValidationError(f"endpoint {url!r} must not have a path, query or fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ParamValidationError(f"endpoint {url!r} has an invalid port: {exc}") from None
    return Endpoint(parts.scheme, parts.hostname, port, parts.netloc.rpartition("@")[2])


def tls_context() -> ssl.SSLContext:
    """A verifying client context with httpx's trust store (honours SSL_CERT_FILE) offering only ``h2``."""
    context = httpx.create_ssl_context()
    context.set_alpn_protocols(["h2"])
    return context


async def open_connection(
    endpoint: Endpoint, *, connect_timeout: float | None, ssl_context: ssl.SSLContext | None = None
) -> anyio.abc.ByteStream:
    """Connect (and for https, handshake and check ALPN) within ``connect_timeout`` seconds.

    Raises :class:`~client.errors.EndpointConnectionError` (the cause chained) on any failure.
    """
    try:
        with anyio.fail_after(connect_timeout):
            tcp = await anyio.connect_tcp(endpoint.host, endpoint.port)
            if endpoint.scheme == "http":
                return tcp
            try:
                tls = await anyio.streams.tls.TLSStream.wrap(
                    tcp,
                    server_side=False,
                    hostname=endpoint.host,
                    ssl_context=ssl_context or tls_context(),
                    standard_compatible=False,
                )
            except BaseException:
                await anyio.aclose_forcefully(tcp)
                raise
    except TimeoutError as exc:
        raise EndpointConnectionError(
            f"could not connect to {endpoint.authority} within {connect_timeout} s (connect timeout)"
        ) from exc
    except (OSError, ssl.SSLError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        raise EndpointConnectionError(f"could not connect to {endpoint.authority}: {exc}") from exc
    protocol = tls.extra(anyio.streams.tls.TLSAttribute.alpn_protocol)
    if protocol != "h2":
        await anyio.aclose_forcefully(tls)
        raise EndpointConnectionError(
            f"{endpoint.authority} does not speak HTTP/2 over TLS (ALPN gave {protocol!r}, need 'h2')"
        )
    return tls
