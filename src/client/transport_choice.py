"""Which wire layer the sync client's default ``httpx.Client`` gets: ``StdlibTransport`` or httpx's own.

``client.stdlib_transport.StdlibTransport`` (``http.client`` underneath) spends a fraction of httpx's default
transport's CPU per streamed event, and behaves the same for everything this client does (HTTP/1.1, the same
trust store, timeouts and exception types) with one exception: it cannot talk through a proxy. So it is the
default exactly where httpx itself would not use a proxy for the endpoint; otherwise httpx's transport is
used, built by httpx from the same environment it always reads.

The decision, first match wins:

1. ``transport="stdlib"`` or ``transport="httpx"`` given to the client;
2. the ``BEDROCK_STREAM_TRANSPORT`` environment variable (same two values; empty counts as unset);
3. ``"httpx"`` when httpx's environment rules (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``
   and their lowercase forms, read only when ``trust_env`` is true, exactly as ``httpx.Client`` reads them)
   route the endpoint through a proxy, or when the endpoint is not plain ``http``/``https``;
4. ``"stdlib"`` otherwise.

Forcing ``"stdlib"`` ignores proxy variables (``StdlibTransport`` never consults them). The rules are
evaluated by httpx's own helpers (``get_environment_proxies``, ``URLPattern``) so they cannot drift from
what httpx would do; an httpx without them gets httpx's transport, which is equivalent by definition.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import httpx

from .errors import ParamValidationError

__all__ = [
    "TRANSPORTS",
    "TRANSPORT_ENV",
    "TransportName",
    "choose_transport",
    "default_sync_http_client",
    "environment_proxies",
    "proxy_for",
    "validate_transport",
]

TransportName = Literal["stdlib", "httpx"]

#: The accepted values of ``transport=`` and of :data:`TRANSPORT_ENV`.
TRANSPORTS: tuple[TransportName, ...] = ("stdlib", "httpx")

#: Environment variable choosing the sync client's default transport (``stdlib`` or ``httpx``).
TRANSPORT_ENV = "BEDROCK_STREAM_TRANSPORT"


def validate_transport(value: object, *, where: str = "transport") -> TransportName | None:
    """``value`` as a transport name; None stays None. Anything else raises ParamValidationError."""
    if value is None:
        return None
    if value == "stdlib":
        return "stdlib"
    if value == "httpx":
        return "httpx"
    raise ParamValidationError(f'{where} must be "stdlib", "httpx" or None, not {value!r}')


def environment_proxies(*, trust_env: bool = True) -> dict[str, str | None]:
    """httpx's proxy mounts for this process: URL pattern -> proxy URL, or None for "go direct".

    The same map ``httpx.Client(trust_env=...)`` builds (``httpx._utils.get_environment_proxies``, which
    reads ``*_PROXY``/``*_proxy`` and ``NO_PROXY`` through ``urllib.request.getproxies``); empty when
    ``trust_env`` is false, as httpx ignores the environment then.
    """
    if not trust_env:
        return {}
    return dict(_get_environment_proxies())


def proxy_for(url: str | httpx.URL, proxies: Mapping[str, str | None]) -> str | None:
    """The proxy httpx would send ``url`` through given its proxy mounts, or None for a direct connection.

    httpx sorts its mount patterns most specific first (port, then host length, then scheme length) and
    uses the first that matches; a ``None`` mount (from ``NO_PROXY``) means httpx's plain transport.
    """
    if not proxies:
        return None
    target = url if isinstance(url, httpx.URL) else httpx.URL(url)
    for pattern, proxy in sorted((_URLPattern(key), proxy) for key, proxy in proxies.items()):
        if pattern.matches(target):
            return proxy
    return None


def choose_transport(
    endpoint: str | httpx.URL,
    *,
    transport: str | None = None,
    environ: Mapping[str, str] | None = None,
    proxies: Mapping[str, str | None] | None = None,
) -> TransportName:
    """Pure: the transport for ``endpoint`` from the explicit choice, the environment and the proxy mounts.

    Args:
        endpoint: the client's endpoint URL.
        transport: the explicit choice (``"stdlib"``, ``"httpx"`` or None).
        environ: where :data:`TRANSPORT_ENV` is read (default: empty, i.e. not set).
        proxies: httpx's proxy mounts for this client (:func:`environment_proxies`); default: none.

    Raises:
        ParamValidationError: ``transport`` or :data:`TRANSPORT_ENV` is not one of :data:`TRANSPORTS`.
    """
    explicit = validate_transport(transport)
    if explicit is not None:
        return explicit
    from_env = (environ or {}).get(TRANSPORT_ENV, "").strip()
    if from_env:
        chosen = validate_transport(from_env.lower(), where=f"the {TRANSPORT_ENV} environment variable")
        assert chosen is not None
        return chosen
    url = endpoint if isinstance(endpoint, httpx.URL) else httpx.URL(endpoint)
    if url.scheme not in ("http", "https"):
        return "httpx"  # let httpx say what it thinks of the scheme
    if proxy_for(url, proxies or {}) is not None:
        return "httpx"  # httpx would proxy this endpoint; StdlibTransport cannot
    return "stdlib"


def default_sync_http_client(
    endpoint: str, timeout: httpx.Timeout | None, transport: str | None
) -> httpx.Client:
    """The ``httpx.Client`` a sync client builds when it is not given one.

    On ``StdlibTransport`` unless :func:`choose_transport` says otherwise for this process's environment;
    with httpx's default transport it is exactly ``httpx.Client(timeout=timeout)``. ``timeout`` None means
    no timeouts (as in httpx).
    """
    choice = choose_transport(
        endpoint,
        transport=transport,
        environ=os.environ,
        proxies=environment_proxies() if transport is None else None,
    )
    if choice == "httpx":
        return httpx.Client(timeout=timeout)
    from .stdlib_transport import StdlibTransport  # noqa: PLC0415 - one import for the sync client only

    return httpx.Client(timeout=timeout, transport=StdlibTransport())


# httpx's own helpers, so the rules are httpx's by construction. They are private names: an httpx without them
# makes every proxy question answer "maybe", which picks httpx's transport - never a silently skipped proxy.
try:
    from httpx._utils import URLPattern as _URLPattern
    from httpx._utils import get_environment_proxies as _get_environment_proxies
except ImportError:  # pragma: no cover - depends on the installed httpx

    class _URLPattern:  # type: ignore[no-redef]
        def __init__(self, pattern: str) -> None:
            self.pattern = pattern

        def matches(self, other: httpx.URL) -> bool:
            return True

        def __lt__(self, other: _URLPattern) -> bool:
            return False

    def _get_environment_proxies() -> dict[str, str | None]:
        return {"all://": "unknown"}
