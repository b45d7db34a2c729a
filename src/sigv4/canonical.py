"""The parts of a SigV4 canonical request: URL splitting, canonical URI, query string and header values.

Pure string functions, standard library only. They run on every signed request, so each has a fast path
for input that is already canonical (checked with ``str.rstrip(allowed)``, which scans in C and returns
``""`` exactly when every character is allowed) and falls back to ``urllib.parse.quote`` otherwise.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

__all__ = [
    "UNRESERVED",
    "canonical_query",
    "canonical_uri",
    "encode_query_component",
    "encode_value",
    "host_from_authority",
    "remove_dot_segments",
    "split_url",
]

#: RFC 3986 unreserved characters: the only ones SigV4 leaves unencoded (``quote``'s always-safe set).
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
_PATH_SAFE = UNRESERVED + "/"
_PATH_SAFE_OR_PERCENT = _PATH_SAFE + "%"
_DEFAULT_PORT_SUFFIX = {"https": ":443", "http": ":80", "wss": ":443", "ws": ":80"}


def split_url(url: str) -> tuple[str, str, str, str]:
    """Split a wire URL into ``(scheme, authority, path, query)``; the fragment is dropped.

    Nothing is decoded or re-encoded: the parts are the exact text that goes on the wire. ``url`` may also
    be an origin-form target (``/path?query``, as a server receives it), giving empty scheme and authority.
    Hand-written rather than ``urlsplit`` because this runs once per signature and ``urlsplit`` also
    validates and caches what the signer never needs.
    """
    if url.startswith("/"):
        scheme = authority = ""
        rest = url
    else:
        scheme, sep, rest = url.partition("://")
        if not sep or not scheme:
            # Only the part before the query: a presigned URL's query carries a session token.
            shown = url.partition("?")[0]
            raise ValueError(f"cannot sign {shown!r}: expected an absolute URL (https://host/path) or a path")
        end = len(rest)
        for delimiter in "/?#":
            index = rest.find(delimiter, 0, end)
            if index != -1:
                end = index
        authority = rest[:end]
        rest = rest[end:]
        scheme = scheme.lower()
    if "#" in rest:
        rest = rest[: rest.index("#")]
    path, _, query = rest.partition("?")
    return scheme, authority, path, query


def host_from_authority(scheme: str, authority: str) -> str:
    """The ``host`` header value for a URL authority: user info removed, lower-cased, default port dropped.

    A non-default port is kept (``localhost:8080``), as AWS expects it in the signed ``host`` header.
    """
    host = authority.rpartition("@")[2].lower()
    if not host:
        raise ValueError("cannot sign a request without a host: give an absolute URL or a Host header")
    suffix = _DEFAULT_PORT_SUFFIX.get(scheme)
    if suffix is not None and host.endswith(suffix):
        host = host[: -len(suffix)]
    return host


def remove_dot_segments(path: str) -> str:
    """Drop ``.`` segments, resolve ``..`` and collapse empty segments (``//``), as AWS normalizes paths.

    A leading ``/`` is kept, and a trailing one when the input ends with ``/`` and anything is left
    (``//example//`` -> ``/example/``, ``/example/..`` -> ``/``). Works on the wire form: an encoded
    ``%2E%2E`` is an ordinary segment, exactly as botocore and the AWS test suite treat it.
    """
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if kept and path.endswith("/") else ""
    return lead + "/".join(kept) + trail


def canonical_uri(path: str, normalize: bool = True) -> str:
    """The canonical URI of a wire path: normalized (unless ``normalize=False``), then encoded once more.

    For every service but S3 the canonical URI is the path as sent, percent-encoded a second time, so a
    Bedrock model ARN sent as ``arn%3Aaws%3A...`` is signed as ``arn%253Aaws%253A...``. Every byte outside
    the unreserved set and ``/`` becomes ``%XX`` (UTF-8), e.g. a raw space gives ``%20``. An empty path is
    ``/``. ``normalize=False`` keeps ``.``/``..`` and ``//`` verbatim (S3 semantics).
    """
    if not path:
        return "/"
    if normalize and ("//" in path or "/." in path or not path.startswith("/")):
        path = remove_dot_segments(path) or "/"
    if not path.rstrip(_PATH_SAFE):
        return path
    if not path.rstrip(_PATH_SAFE_OR_PERCENT):
        # The common Bedrock case (encoded model ids): only the escapes themselves need escaping.
        return path.replace("%", "%25")
    return quote(path, safe="/")


def encode_value(text: str) -> str:
    """Percent-encode raw (not yet encoded) text for a query string: UTF-8, every byte outside the
    unreserved set as ``%XX`` (a ``%`` in the text becomes ``%25``)."""
    return quote(text, safe="")


def encode_query_component(text: str) -> str:
    """Percent-decode a query key or value as sent, then encode every byte outside the unreserved set.

    Already-encoded input (``%E1%88%B4``) and raw UTF-8 input (``ሴ``) both end up encoded exactly once. A
    ``+`` is a literal plus (RFC 3986, not form encoding) and becomes ``%2B``; decoding works on bytes, so
    escapes that are not valid UTF-8 survive unchanged.
    """
    if not text.rstrip(UNRESERVED):
        return text
    return quote(unquote_to_bytes(text), safe="")


def canonical_query(query: str) -> str:
    """The canonical query string: each ``key=value`` pair encoded, sorted by encoded key then value.

    A key without ``=`` gets an empty value (``Param1`` -> ``Param1=``); empty pairs from ``&&`` are
    skipped. Repeated keys are all kept.
    """
    if not query:
        return ""
    pairs = [
        (encode_query_component(key), encode_query_component(value))
        for key, _, value in (part.partition("=") for part in query.split("&") if part)
    ]
    pairs.sort()
    return "&".join([f"{key}={value}" for key, value in pairs])

