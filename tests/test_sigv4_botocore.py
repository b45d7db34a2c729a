"""Differential tests: our signatures equal botocore's for random requests (botocore is a test oracle only).

botocore signs ``AWSRequest.url`` as given: it takes the wire path, removes dot segments, encodes it once
more, and uses the query string as sent (sorted, not re-encoded). So the random wire URLs here keep their
query already in canonical encoding, as every AWS serializer sends it; paths are free-form (raw unicode,
reserved characters, escapes, dot segments, ARNs).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote

import botocore.auth
from botocore.auth import SigV4Auth as BotoSigV4Auth
from botocore.auth import SigV4QueryAuth as BotoSigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import example, given
from hypothesis import strategies as st

from sigv4 import Credentials, presign_request, sign_request
from sigv4.signer import UNSIGNED_HEADERS

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
TOKEN_CHARS = UNRESERVED[:-1] + "!#$%&'*+^`|~"
# Names botocore treats specially (Date replaces X-Amz-Date; X-Amz-Content-SHA256 overrides the payload
# hash) or that our contract replaces: not part of the comparison.
SPECIAL_NAMES = {"authorization", "date", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}

ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"


@contextmanager
def botocore_clock(when: datetime) -> Iterator[None]:
    """botocore reads the time inside add_auth; make it return ``when`` (naive UTC, as botocore expects)."""
    naive = when.astimezone(timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: naive):
        yield


def path_segment() -> st.SearchStrategy[str]:
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=12)
    return st.one_of(
        st.sampled_from(["", ".", "..", "model", "invoke-with-response-stream", "%2E%2E", "a%2Fb", "%"]),
        text.map(lambda s: quote(s, safe="")),  # a label encoded the AWS way
        text.map(lambda s: quote(s, safe="!$&'()*+,;=:@")),  # reserved characters left raw
        text.filter(lambda s: not any(c in s for c in "/?#%")),  # raw unicode as given
        st.just(quote(ARN, safe="")),  # a Bedrock model ARN: arn%3Aaws%3A...%2F...
    )


paths = st.lists(path_segment(), max_size=6).map(lambda segments: "/" + "/".join(segments))
query_text = st.text(st.characters(codec="utf-8"), max_size=10)
queries = st.lists(
    st.tuples(query_text, query_text, st.booleans()).map(
        lambda kv: quote(kv[0], safe="-_.~") + ("=" + quote(kv[1], safe="-_.~") if kv[2] or kv[1] else "")
    ),
    max_size=5,
).map(lambda pairs: "&".join(pair for pair in pairs if pair))
header_names = st.text(TOKEN_CHARS, min_size=1, max_size=16).filter(
    lambda name: name.lower() not in SPECIAL_NAMES and name.lower() not in UNSIGNED_HEADERS
)
header_values = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc"], include_characters="\t"), max_size=24
)
headers_strategy = st.lists(st.tuples(header_names, header_values), max_size=6)
hosts = st.tuples(
    st.sampled_from(["https", "http"]),
    st.sampled_from(["", "user:pass@"]),
    st.sampled_from(["bedrock-runtime.us-east-1.amazonaws.com", "Example.AmazonAWS.com", "127.0.0.1"]),
    st.sampled_from(["", ":443", ":80", ":8080", ":1"]),
)
credentials_strategy = st.builds(
    Credentials,
    st.text(UNRESERVED[:36], min_size=1, max_size=20),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    st.one_of(st.none(), st.text(UNRESERVED + "/+=", min_size=1, max_size=60)),
)
timestamps = st.datetimes(
    min_value=datetime(1999, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(timezone.utc)
)
labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=15)


def boto_credentials(credentials: Credentials) -> BotoCredentials:
    return BotoCredentials(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )


def boto_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept, in order
    return request


def boto_canonical_request(auth: Any, request: AWSRequest, when: datetime) -> str:
    """botocore's canonical request for ``request`` (for a readable failure; add_auth does not return it)."""
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    return str(auth.canonical_request(request))


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "post", "OPTIONS"]),
    origin=hosts,
    path=paths,
    query=queries,
    headers=headers_strategy,
    body=st.binary(max_size=64),
    credentials=credentials_strategy,
    region=labels,
    service=labels,
    when=timestamps,
    explicit_host=st.booleans(),
)
@example(
    method="POST",
    origin=("https", "", "bedrock-runtime.us-east-1.amazonaws.com", ""),
    path=f"/model/{quote(ARN, safe='')}/invoke-with-response-stream",
    query="",
    headers=[("Content-Type", "application/json"), ("X-Amzn-Bedrock-Accept", "application/json")],
    body=b'{"messages": []}',
    credentials=Credentials("AKIDEXAMPLE", "secret", "token"),
    region="us-east-1",
    service="bedrock",
    when=datetime(2024, 5, 1, 23, 59, 59, tzinfo=timezone.utc),
    explicit_host=True,
)
def test_header_signature_matches_botocore(
    *,
    method: str,
    origin: tuple[str, str, str, str],
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    when: datetime,
    explicit_host: bool,
) -> None:
    scheme, userinfo, host, port = origin
    url = f"{scheme}://{userinfo}{host}{port}{path}" + (f"?{query}" if query else "")
    if explicit_host:
        headers = [("Host", f"{host}{port}"), *headers]

    ours = sign_request(
        method, url, headers, body, credentials=credentials, region=region, service=service, timestamp=when
    )
    auth = BotoSigV4Auth(boto_credentials(credentials), service, region)
    request = boto_request(method, url, headers, body)
    with botocore_clock(when):
        auth.add_auth(request)

    expected_canonical = boto_canonical_request(auth, boto_request(method, url, headers, body), when)
    assert ours.canonical_request == expected_canonical
    assert ours.header("Authorization") == request.headers["Authorization"]
    assert ours.header("X-Amz-Date") == request.headers["X-Amz-Date"]
    assert ours.header("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")


@given(
    origin=hosts,
    path=paths,
    query=queries,
    headers=headers_strategy,
    credentials=credentials_strategy,
    region=labels,
    service=labels,
    when=timestamps,
    expires=st.integers(1, 604_800),
)
def test_presigned_url_matches_botocore(
    *,
    origin: tuple[str, str, str, str],
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    credentials: Credentials,
    region: str,
    service: str,
    when: datetime,
    expires: int,
) -> None:
    """Query signing against botocore's SigV4QueryAuth (which folds repeated query keys: keep them unique)."""
    seen: set[str] = set()
    unique = []
    for pair in query.split("&") if query else []:
        key = pair.partition("=")[0]
        if key not in seen and not key.startswith("X-Amz-"):
            seen.add(key)
            unique.append(pair)
    scheme, userinfo, host, port = origin
    url = f"{scheme}://{userinfo}{host}{port}{path}" + ("?" + "&".join(unique) if unique else "")

    ours = presign_request(
        "GET",
        url,
        headers,
        expires_in=expires,
        credentials=credentials,
        region=region,
        service=service,
        timestamp=when,
    )
    auth = BotoSigV4QueryAuth(boto_credentials(credentials), service, region, expires=expires)
    request = boto_request("GET", url, headers, b"")
    with botocore_clock(when):
        auth.add_auth(request)

    theirs = dict(parse_qsl(request.url.partition("?")[2], keep_blank_values=True))
    mine = dict(parse_qsl(ours.url.partition("?")[2], keep_blank_values=True))
    assert mine == theirs
    assert ours.url.partition("?")[0] == request.url.partition("?")[0]


def test_signing_time_and_scope_follow_utc_day() -> None:
    """A timestamp in another zone is converted to UTC first: the scope date is the UTC day."""
    when = datetime(2024, 5, 2, 1, 30, tzinfo=timezone(timedelta(hours=5)))  # 2024-05-01T20:30Z
    credentials = Credentials("AKID", "secret")
    ours = sign_request(
        "GET", "https://example.com/", [], credentials=credentials, region="r", service="s", timestamp=when
    )
    request = boto_request("GET", "https://example.com/", [], b"")
    with botocore_clock(when):
        BotoSigV4Auth(boto_credentials(credentials), "s", "r").add_auth(request)
    assert ours.header("X-Amz-Date") == "20240501T203000Z"
    assert ours.header("Authorization") == request.headers["Authorization"]
