"""AWS Signature Version 4: sign a request in its headers (``sign_request``) or its URL (``presign_request``).

Pure functions over plain values: no I/O, no clock unless ``timestamp`` is omitted, standard library only.
The algorithm, for reference when reading the code:

    canonical request = METHOD NL canonical URI NL canonical query NL
                        name:value NL ... (sorted, lower-case names) NL signed;header;names NL
                        hex(sha256(body))
    string to sign    = AWS4-HMAC-SHA256 NL YYYYMMDDTHHMMSSZ NL date/region/service/aws4_request NL
                        hex(sha256(canonical request))
    signature         = hex(hmac(signing key, string to sign))

Signing is deterministic in its inputs, which is what lets a server verify a request: re-sign what it
received (minus ``Authorization``) with the received ``X-Amz-Date`` as ``timestamp`` and compare
``.signature``. To that end every SigV4 header already present in the input is replaced, never duplicated,
and the hop-by-hop and tracing headers in ``UNSIGNED_HEADERS`` are never signed (a proxy, an HTTP/2 hop or a
tracing agent may legitimately change them in transit).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, TypeAlias

from .canonical import (
    canonical_query,
    canonical_uri,
    encode_value,
    host_from_authority,
    split_url,
)
from .keys import signing_key

if TYPE_CHECKING:
    from .credentials import Credentials

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_EXPIRES",
    "UNSIGNED_HEADERS",
    "Headers",
    "SignedRequest",
    "presign_request",
    "sign_request",
]

#: Request headers: a mapping or a sequence of ``(name, value)`` pairs (repeated names allowed, in order).
Headers: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]

ALGORITHM = "AWS4-HMAC-SHA256"
#: Longest lifetime AWS accepts for a presigned URL (7 days).
MAX_PRESIGN_EXPIRES = 604_800

#: Never signed: hop-by-hop headers (dropped or rewritten by proxies and HTTP/2), ``expect`` and
#: ``user-agent`` (rewritten by proxies), and tracing headers that agents inject after signing. The same
#: set botocore leaves out, so signatures agree with it.
UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

# SigV4's own headers: removed from the input and written afresh, so re-signing never duplicates them.
_REPLACED = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})
_REPLACED_SIGN_BODY = _REPLACED | {"x-amz-content-sha256"}
# Query signing puts the SigV4 values in the URL; these parameters from an earlier presign are dropped.
_PRESIGN_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)
# Header names are RFC 9110 tokens (lower-cased here); ";" is the joiner of the signed-headers list.
_SIGNED_HEADERS_ALPHABET = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz;"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The result of signing: what to send, and the intermediate strings (for debugging and verification).

    ``headers`` is a tuple of ``(name, value)`` pairs: every header to send, in input order (names keep
    their case), minus replaced SigV4 headers, plus ``Host`` (first, when it came from the URL) and the
    SigV4 headers at the end (``X-Amz-Date``, ``X-Amz-Security-Token``, ``x-amz-content-sha256``,
    ``Authorization`` for header signing). ``url`` is the URL to send: unchanged for header signing, with
    the ``X-Amz-*`` query parameters appended for a presigned request. ``signed_headers`` is the
    ``;``-joined list of signed header names. No field holds the secret key; ``repr`` omits the headers and
    strings, which may carry the session token.
    """

    url: str
    headers: tuple[tuple[str, str], ...]
    canonical_request: str
    string_to_sign: str
    signature: str
    signed_headers: str
    credential_scope: str

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive) to send, or ``None``; repeats joined by ``,``."""
        lname = name.lower()
        values = [value for key, value in self.headers if key.lower() == lname]
        return ",".join(values) if values else None

    def __repr__(self) -> str:
        return (
            f"SignedRequest(signature={self.signature!r}, signed_headers={self.signed_headers!r}, "
            f"credential_scope={self.credential_scope!r})"
        )


@lru_cache(maxsize=8)
def _format_epoch(seconds: int) -> str:
    t = time.gmtime(seconds)
    return f"{t.tm_year:04d}{t.tm_mon:02d}{t.tm_mday:02d}T{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}Z"


def _amz_date(timestamp: datetime | None) -> str:
    """``YYYYMMDDTHHMMSSZ`` (UTC) of ``timestamp`` or now. Memoized per whole second: formatting a datetime
    costs more than the HMAC of the signature, and consecutive requests share their second."""
    if timestamp is None:
        return _format_epoch(int(time.time()))
    if not isinstance(timestamp, datetime):
        raise TypeError(f"timestamp must be a timezone-aware datetime, not {type(timestamp).__name__}")
    tzinfo = timestamp.tzinfo
    if tzinfo is not timezone.utc and (tzinfo is None or timestamp.utcoffset() is None):
        raise ValueError(f"timestamp must be timezone-aware (got naive {timestamp.isoformat()})")
    return _format_epoch(math.floor(timestamp.timestamp()))


@lru_cache(maxsize=256)
def _target(url: str, normalize_path: bool) -> tuple[str, str, str]:
    """``(host from the URL or "", canonical URI, canonical query)`` of a wire URL. Memoized: a client
    repeats a handful of URLs (one per model for Bedrock), and this is the costliest string work."""
    scheme, authority, path, query = split_url(url)
    host = host_from_authority(scheme, authority) if authority else ""
    return host, canonical_uri(path, normalize_path), canonical_query(query)


@lru_cache(maxsize=256)
def _check_signed_headers(signed_headers: str, count: int) -> None:
    """Reject a header name that is not an RFC 9110 token (which would corrupt the canonical request).
    Memoized per header set: requests of one client repeat theirs."""
    names = signed_headers.split(";")
    if len(names) != count or signed_headers.rstrip(_SIGNED_HEADERS_ALPHABET) or "" in names:
        bad = next(
            (name for name in names if not name or name.rstrip(_SIGNED_HEADERS_ALPHABET)),
            signed_headers,
        )
        raise ValueError(f"invalid header name {bad!r}: header names must be HTTP tokens")


def _collect_headers(headers: Headers, drop: frozenset[str]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Split the input into headers to send (SigV4 ones dropped) and canonical values of those to sign."""
    items: Iterable[tuple[str, str]]
    if isinstance(headers, (list, tuple)):
        items = headers
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    kept: list[tuple[str, str]] = []
    canonical: dict[str, str] = {}
    try:
        for name, value in items:
            lname = name.lower()
            if lname in drop:
                continue
            kept.append((name, value))
            if lname in UNSIGNED_HEADERS:
                continue
            folded = " ".join(value.split())
            previous = canonical.get(lname)
            canonical[lname] = folded if previous is None else f"{previous},{folded}"
    except (TypeError, AttributeError, ValueError) as exc:
        raise TypeError(
            f"headers must be a mapping or a sequence of (name, value) pairs of str: {exc}"
        ) from None
    return kept, canonical


def _prepare(
    url: str,
    headers: Headers,
    body: bytes | bytearray | memoryview,
    normalize_path: bool,
    sign_body: bool,
    *,
    header_hash: bool = False,
) -> tuple[str, str, list[tuple[str, str]], dict[str, str], str]:
    """The parts common to header and query signing:
    ``(canonical URI, canonical query of the URL, headers to send, canonical headers, payload hash)``.

    With ``header_hash`` a caller-supplied ``x-amz-content-sha256`` (kept, signed) is the payload hash, so
    the header sent and the canonical request never disagree."""
    host, uri, query = _target(url, normalize_path)
    kept, canonical = _collect_headers(headers, _REPLACED_SIGN_BODY if sign_body else _REPLACED)
    if "host" not in canonical:
        if not host:
            shown = url.partition("?")[0]  # a presigned URL's query carries the session token
            raise ValueError(f"cannot sign {shown!r}: no host in the URL and no Host header")
        canonical["host"] = host
        kept.insert(0, ("Host", host))
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes (encode text first), not {type(body).__name__}")
    payload_hash = canonical.get("x-amz-content-sha256") if header_hash else None
    if payload_hash is None:
        payload_hash = _sha256(body).hexdigest() if body else _EMPTY_SHA256
    return uri, query, kept, canonical, payload_hash


def _check_payload_hash(payload_hash: object) -> str:
    """A caller-chosen payload hash goes verbatim into a header and a line of the canonical request."""
    if not isinstance(payload_hash, str):
        raise TypeError(f"payload_hash must be a str, not {type(payload_hash).__name__}")
    if not (payload_hash.isascii() and payload_hash.isprintable()) or " " in payload_hash or not payload_hash:
        raise ValueError(
            f"invalid payload_hash {payload_hash!r}: expected a hex SHA-256 digest or a literal such as "
            "'UNSIGNED-PAYLOAD' (printable ASCII, no spaces)"
        )
    return payload_hash


def _finish(
    method: str,
    uri: str,
    query: str,
    canonical: dict[str, str],
    payload_hash: str,
    *,
    amz_date: str,
    credentials: Credentials,
    region: str,
    service: str,
) -> tuple[str, str, str, str, str]:
    """Canonicalize and sign: ``(canonical request, string to sign, signature, signed headers, scope)``."""
    items = sorted(canonical.items())
    signed_headers = ";".join([name for name, _ in items])
    _check_signed_headers(signed_headers, len(items))
    canonical_headers = "".join([f"{name}:{value}\n" for name, value in items])
    canonical_request = (
        f"{method.upper()}\n{uri}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    )
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    try:
        request_hash = _sha256(canonical_request.encode()).hexdigest()
    except UnicodeEncodeError as exc:
        raise ValueError(
            "cannot sign: the request has text that is not valid Unicode (a lone surrogate) at offset "
            f"{exc.start} of the canonical request"
        ) from None
    string_to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{request_hash}"
    signature = signing_key(credentials.secret_access_key, date, region, service).sign(
        string_to_sign.encode()
    )
    return canonical_request, string_to_sign, signature, signed_headers, scope


def sign_request(
    method: str,
    url: str,
    headers: Headers,
    body: bytes | bytearray | memoryview = b"",
    *,
    credentials: Credentials,
    region: str,
    service: str,
    timestamp: datetime | None = None,
    normalize_path: bool = True,
    sign_body: bool = False,
    omit_session_token: bool = False,
    payload_hash: str | None = None,
) -> SignedRequest:
    """Sign a request with SigV4 in its headers (the ``Authorization`` header).

    ``url`` is the URL exactly as it goes on the wire (already percent-encoded; an origin-form ``/path?query``
    works when ``headers`` has ``Host``). ``headers`` is a mapping or a sequence of ``(name, value)`` str
    pairs; repeated names are signed joined by ``,`` in order (pass pairs, not a mapping that merges them).
    All headers are signed except those in :data:`UNSIGNED_HEADERS` (``user-agent``, ``connection``, ...),
    which are sent unsigned.
    Any ``Authorization``, ``X-Amz-Date`` and ``X-Amz-Security-Token`` (and ``x-amz-content-sha256`` with
    ``sign_body``) in ``headers`` are replaced. ``Host`` is added from the URL when absent, keeping a
    non-default port. ``timestamp`` must be timezone-aware (default: now, UTC).

    The payload hash (last line of the canonical request) is the hex SHA-256 of ``body``, unless:
    ``payload_hash="..."`` is given (a literal such as ``STREAMING-AWS4-HMAC-SHA256-EVENTS`` or
    ``UNSIGNED-PAYLOAD``, or a precomputed hex digest), which is then sent and signed as
    ``X-Amz-Content-Sha256`` (replacing any in ``headers``) and used as the payload hash, ``body`` unread;
    or ``headers`` carries an ``X-Amz-Content-Sha256``, whose value is then the payload hash (the header
    and the canonical request always agree; a verifier must itself check such a header against the body
    it received). ``sign_body=True`` (without ``payload_hash``) sends and signs ``x-amz-content-sha256`` as
    the body's hash, replacing any given one. ``normalize_path=False`` signs the path without dot-segment
    removal or ``//`` collapsing (S3). ``omit_session_token=True`` sends ``X-Amz-Security-Token`` without
    signing it (for the few services that want it added after signing). The canonical URI is the wire path
    encoded once more, as every service but S3 expects; query parameters are percent-decoded and re-encoded
    (a ``+`` is a literal plus), then sorted.

    To verify a received request (a server, an emulator), call this with the received method, URL, headers
    and body, ``timestamp`` parsed from the received ``X-Amz-Date`` and credentials carrying the received
    ``X-Amz-Security-Token``, and compare ``.signature`` with ``hmac.compare_digest``: the received SigV4
    headers are replaced, and unsigned headers changed in transit do not matter.

    Raises ``ValueError`` (naive timestamp, URL without host, invalid header name, region or service) or
    ``TypeError`` (headers or body of the wrong type); messages never contain the secret or the token.
    """
    amz_date = _amz_date(timestamp)
    if payload_hash is None:
        uri, query, kept, canonical, payload_hash = _prepare(
            url, headers, body, normalize_path, sign_body, header_hash=not sign_body
        )
    else:
        payload_hash = _check_payload_hash(payload_hash)
        uri, query, kept, canonical, _ = _prepare(url, headers, b"", normalize_path, True)
        sign_body = True
    token = credentials.session_token
    canonical["x-amz-date"] = amz_date
    kept.append(("X-Amz-Date", amz_date))
    if token:
        kept.append(("X-Amz-Security-Token", token))
        if not omit_session_token:
            canonical["x-amz-security-token"] = token
    if sign_body:
        canonical["x-amz-content-sha256"] = payload_hash
        kept.append(("x-amz-content-sha256", payload_hash))
    canonical_request, string_to_sign, signature, signed_headers, scope = _finish(
        method,
        uri,
        query,
        canonical,
        payload_hash,
        amz_date=amz_date,
        credentials=credentials,
        region=region,
        service=service,
    )
    kept.append(
        (
            "Authorization",
            f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}",
        )
    )
    return SignedRequest(
        url, tuple(kept), canonical_request, string_to_sign, signature, signed_headers, scope
    )


def presign_request(
    method: str,
    url: str,
    headers: Headers,
    body: bytes | bytearray | memoryview = b"",
    *,
    expires_in: int,
    credentials: Credentials,
    region: str,
    service: str,
    timestamp: datetime | None = None,
    normalize_path: bool = True,
    sign_body: bool = False,
    omit_session_token: bool = False,
) -> SignedRequest:
    """Sign a request with SigV4 in its query string (a presigned URL valid for ``expires_in`` seconds).

    The result's ``.url`` is ``url`` with ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
    ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Security-Token`` (with a session token) and
    ``X-Amz-Signature`` appended (any earlier ones removed; other parameters kept as given; the fragment
    dropped). Only the given headers (plus ``Host``) are signed; ``.headers`` carries no SigV4 header. The
    payload hash is the hex SHA-256 of ``body``; ``sign_body`` adds no header here (AWS suite semantics).
    ``omit_session_token=True`` appends the token after signing instead of signing it. Other arguments and
    errors as for :func:`sign_request`; ``expires_in`` must be an int in 1..604800.
    """
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise TypeError(f"expires_in must be an int number of seconds, not {type(expires_in).__name__}")
    if not 1 <= expires_in <= MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires_in must be between 1 and {MAX_PRESIGN_EXPIRES} seconds, got {expires_in}")
    amz_date = _amz_date(timestamp)
    uri, _, kept, canonical, payload_hash = _prepare(url, headers, body, normalize_path, sign_body)
    base, _, query = url.partition("#")[0].partition("?")
    # Parameters of the original query survive as sent, minus any X-Amz-* of an earlier presign.
    original = [part for part in query.split("&") if part and part.partition("=")[0] not in _PRESIGN_PARAMS]
    signed_headers = ";".join(sorted(canonical))
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    params = [
        f"X-Amz-Algorithm={ALGORITHM}",
        f"X-Amz-Credential={encode_value(f'{credentials.access_key_id}/{scope}')}",
        f"X-Amz-Date={amz_date}",
        f"X-Amz-Expires={expires_in}",
        f"X-Amz-SignedHeaders={encode_value(signed_headers)}",
    ]
    token = credentials.session_token
    token_param = f"X-Amz-Security-Token={encode_value(token)}" if token else ""
    if token_param and not omit_session_token:
        params.append(token_param)
    canonical_request, string_to_sign, signature, signed_headers, scope = _finish(
        method,
        uri,
        canonical_query("&".join(original + params)),
        canonical,
        payload_hash,
        amz_date=amz_date,
        credentials=credentials,
        region=region,
        service=service,
    )
    if token_param and omit_session_token:
        params.append(token_param)
    params.append(f"X-Amz-Signature={signature}")
    return SignedRequest(
        f"{base}?{'&'.join(original + params)}",
        tuple(kept),
        canonical_request,
        string_to_sign,
        signature,
        signed_headers,
        scope,
    )
