"""Authenticating a request the way the service does: SigV4 in the Authorization header, or a bearer token.

A server verifies SigV4 by signing again what it received — the method, the wire path and query, the
headers the client listed as signed, the body — with the client's own ``X-Amz-Date`` and scope, using the
secret it knows for the access key, and comparing signatures in constant time. Everything here is pure:
the clock comes in as an argument, failures leave as :class:`ServiceError` (403) with the service's text.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from client.operations import SIGNING_NAME
from sigv4 import Credentials
from sigv4.signer import presign_request, sign_request

from .headers import fold
from .replies import CORAL_NAMESPACE, ServiceError

__all__ = [
    "EXAMPLE_ACCESS_KEY_ID",
    "EXAMPLE_SECRET_ACCESS_KEY",
    "MAX_CLOCK_SKEW",
    "SHORT_TERM_KEY_PREFIX",
    "AuthPolicy",
    "Identity",
    "authenticate",
]

#: The access key and secret of the AWS documentation's examples: public, accepted by default.
EXAMPLE_ACCESS_KEY_ID = "AKIDEXAMPLE"
EXAMPLE_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#: How far X-Amz-Date may be from the server's clock, either way.
MAX_CLOCK_SKEW = timedelta(minutes=5)
SIGNING_SERVICE = SIGNING_NAME
#: A short-term Bedrock API key is this prefix + base64 of a URL presigned (SigV4 query) for `bedrock`.
SHORT_TERM_KEY_PREFIX = "bedrock-api-key-"
# Short-term keys last at most 12 hours.
_MAX_SHORT_TERM_SECONDS = 43_200
_ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_REDACTED_TOKEN = "<session token redacted>"

_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class AuthPolicy:
    """What the emulated service accepts.

    ``keys`` maps access key ids to their secrets; any session token is accepted with them. ``region``
    (``None``: any) is the region credentials must be scoped to. ``bearer_tokens`` are the accepted Bedrock
    API keys; short-term keys (``bedrock-api-key-`` + a presigned URL) presigned with one of ``keys`` are
    accepted too, until they expire. With ``required=False`` unsigned requests pass (signed ones are still
    checked).
    """

    keys: Mapping[str, str]
    bearer_tokens: Set[str] = frozenset()
    region: str | None = None
    required: bool = True
    #: ``False``: no check at all, every request passes as anonymous (signed or not, with any keys).
    enabled: bool = True

    def __repr__(self) -> str:
        # Secrets and tokens never appear in a repr.
        return (
            f"AuthPolicy(access_keys={sorted(self.keys)!r}, bearer_tokens={len(self.bearer_tokens)}, "
            f"region={self.region!r}, required={self.required!r}, enabled={self.enabled!r})"
        )


@dataclass(frozen=True)
class Identity:
    """Who made a request: ``"sigv4"`` with the access key and scope, ``"bearer"``, or ``"anonymous"``."""

    scheme: str
    access_key_id: str | None = None
    region: str | None = None


def _error(name: str, message: str) -> ServiceError:
    return ServiceError(403, name, message, namespace=CORAL_NAMESPACE)


def authenticate(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
    body: bytes,
    *,
    policy: AuthPolicy,
    now: datetime,
) -> Identity:
    """Check one request's credentials; return who sent it or raise a 403 :class:`ServiceError`.

    ``target`` is the request target exactly as received (``/model/...%3A0/invoke-with-response-stream``),
    ``headers`` the received pairs (names in any case), ``now`` the server's clock (timezone-aware).
    """
    if not policy.enabled:
        return Identity("anonymous")
    lowered = fold(headers)
    authorization = lowered.get("authorization", "").strip()
    query = target.partition("?")[2]
    query_sigv4 = "X-Amz-Signature=" in query or "X-Amz-Credential=" in query
    if authorization[:7].lower() == "bearer ":
        if "x-amz-date" in lowered or "x-amz-security-token" in lowered or query_sigv4:
            raise _error(
                "InvalidSignatureException",
                "Only one auth mechanism allowed; the request carries both a bearer token (Authorization: "
                "Bearer) and SigV4 values (X-Amz-Date, X-Amz-Security-Token or X-Amz-Signature).",
            )
        token = authorization[7:].strip()
        if token and any(hmac.compare_digest(token, known) for known in policy.bearer_tokens):
            return Identity("bearer")
        if token.startswith(SHORT_TERM_KEY_PREFIX):
            return _verify_short_term_key(token[len(SHORT_TERM_KEY_PREFIX) :], policy, now)
        raise _error("UnrecognizedClientException", _INVALID_TOKEN)
    if not authorization:
        if query_sigv4:
            raise _error(
                "IncompleteSignatureException",
                "Query-string (presigned) authentication is not supported by this operation.",
            )
        if policy.required:
            raise _error("MissingAuthenticationTokenException", "Missing Authentication Token")
        return Identity("anonymous")
    return _verify_sigv4(
        method, target, headers, body, lowered=lowered, authorization=authorization, policy=policy, now=now
    )


def _parse_authorization(authorization: str) -> tuple[str, list[str], str, str]:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` into its parts."""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != _ALGORITHM:
        raise _error(
            "IncompleteSignatureException",
            f"Unsupported Authorization Type: {algorithm!r} (expected {_ALGORITHM} or Bearer)",
        )
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            params[key.strip()] = value.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not params.get(name)]
    if missing:
        raise _error(
            "IncompleteSignatureException",
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={algorithm} {rest.split('Signature=', maxsplit=1)[0].strip()}",
        )
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise _error(
            "IncompleteSignatureException",
            f"Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/aws4_request, got '{params['Credential']}'",
        )
    signed = params["SignedHeaders"].split(";")
    return params["Credential"], signed, params["Signature"], rest


def _verify_sigv4(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
    body: bytes,
    *,
    lowered: Mapping[str, str],
    authorization: str,
    policy: AuthPolicy,
    now: datetime,
) -> Identity:
    credential, signed_names, signature, _ = _parse_authorization(authorization)
    access_key_id, scope_date, region, service, _ = credential.split("/")

    secret = policy.keys.get(access_key_id)
    if secret is None:
        raise _error("UnrecognizedClientException", _INVALID_TOKEN)
    if service != SIGNING_SERVICE:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SIGNING_SERVICE}'. ",
        )
    if policy.region is not None and region != policy.region:
        raise _error(
            "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'. "
        )

    amz_date = lowered.get("x-amz-date")
    if amz_date is None:
        raise _error(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            f"Authorization={authorization.split('Signature=', maxsplit=1)[0].strip()}",
        )
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise _error(
            "IncompleteSignatureException",
            f"X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '{amz_date}'",
        ) from None
    if scope_date != amz_date[:8]:
        raise _error(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from 'X-Amz-Date'.",
        )
    _check_clock(amz_date, signed_at, now)

    if "host" not in signed_names:
        raise _error(
            "InvalidSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    missing = [name for name in signed_names if name not in lowered]
    if missing:
        raise _error(
            "InvalidSignatureException",
            f"The request signs header(s) it does not carry: {', '.join(missing)}.",
        )
    token = lowered.get("x-amz-security-token")
    to_sign = [
        (name, value)
        for name, value in headers
        if name.lower() in signed_names and name.lower() not in ("x-amz-date", "x-amz-security-token")
    ]
    expected = sign_request(
        method,
        target,
        to_sign,
        body,
        credentials=Credentials(access_key_id, secret, token or None),
        region=region,
        service=service,
        timestamp=signed_at,
        omit_session_token=token is not None and "x-amz-security-token" not in signed_names,
    )
    if not hmac.compare_digest(expected.signature, signature):
        canonical = expected.canonical_request
        if token:
            # The service echoes the token inside the canonical request; we never put a secret in a reply.
            canonical = canonical.replace(token, _REDACTED_TOKEN)
        raise _error(
            "InvalidSignatureException",
            f"{_BAD_SIGNATURE}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
            f"The String-to-Sign should have been\n'{expected.string_to_sign}'\n",
        )
    return Identity("sigv4", access_key_id, region)


def _check_clock(amz_date: str, signed_at: datetime, now: datetime) -> None:
    current = now.strftime(_AMZ_DATE_FORMAT)
    if signed_at < now - MAX_CLOCK_SKEW:
        earliest = (now - MAX_CLOCK_SKEW).strftime(_AMZ_DATE_FORMAT)
        raise _error(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {earliest} ({current} - 5 min.)",
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        latest = (now + MAX_CLOCK_SKEW).strftime(_AMZ_DATE_FORMAT)
        raise _error(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than {latest} ({current} + 5 min.)",
        )


def _verify_short_term_key(encoded: str, policy: AuthPolicy, now: datetime) -> Identity:
    """Check a short-term API key: a URL presigned (SigV4 query, service ``bedrock``) by a known key.

    The presigned request is ``POST https://bedrock.amazonaws.com/?Action=CallWithBearerToken`` with
    ``&Version=1`` appended after signing; it is verified by presigning it again, like a header signature.
    """
    try:
        url = base64.b64decode(encoded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _error("UnrecognizedClientException", _INVALID_TOKEN) from None
    url = url.removesuffix("&Version=1")
    location, _, query = url.partition("?")
    params: dict[str, str] = {}
    kept: list[str] = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name.startswith("X-Amz-"):
            params[name] = unquote(value)
        elif part:
            kept.append(part)
    credential = params.get("X-Amz-Credential", "").split("/")
    try:
        signed_at = datetime.strptime(params.get("X-Amz-Date", ""), _AMZ_DATE_FORMAT).replace(
            tzinfo=timezone.utc
        )
        expires = int(params.get("X-Amz-Expires", ""))
    except ValueError:
        raise _error("UnrecognizedClientException", _INVALID_TOKEN) from None
    if len(credential) != 5 or "X-Amz-Signature" not in params or not 1 <= expires <= _MAX_SHORT_TERM_SECONDS:
        raise _error("UnrecognizedClientException", _INVALID_TOKEN)
    access_key_id, _, region, service, _ = credential
    secret = policy.keys.get(access_key_id)
    if secret is None or service != SIGNING_SERVICE:
        raise _error("UnrecognizedClientException", _INVALID_TOKEN)
    if policy.region is not None and region != policy.region:
        raise _error(
            "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'. "
        )
    if now > signed_at + timedelta(seconds=expires):
        raise _error("UnrecognizedClientException", "The bearer token has expired.")
    if signed_at > now + MAX_CLOCK_SKEW:
        raise _error("UnrecognizedClientException", "The bearer token is not valid yet.")
    credentials = Credentials(access_key_id, secret, params.get("X-Amz-Security-Token"))
    target = f"https://{location}?{'&'.join(kept)}" if kept else f"https://{location}"
    for method in ("POST", "GET"):
        try:
            expected = presign_request(
                method,
                target,
                {},
                b"",
                expires_in=expires,
                credentials=credentials,
                region=region,
                service=service,
                timestamp=signed_at,
            )
        except (ValueError, TypeError):
            break
        if hmac.compare_digest(expected.signature, params["X-Amz-Signature"]):
            return Identity("bearer", access_key_id, region)
    raise _error("UnrecognizedClientException", _INVALID_TOKEN)
