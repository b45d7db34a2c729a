"""sign_request / presign_request behaviour beyond the AWS suites: the rules that bite real users, the
verify-by-re-signing contract, the signing-key cache, and clear errors that never leak a secret."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sigv4
from sigv4 import Credentials, SignedRequest, presign_request, sign_request
from sigv4.keys import SIGNING_KEY_CACHE_SIZE, SigningKey, derive_signing_key, signing_key

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/+=="
CREDS = Credentials("AKIDEXAMPLE", SECRET, TOKEN)
WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
ENDPOINT = "https://bedrock-runtime.us-east-1.amazonaws.com"
BEDROCK_URL = f"{ENDPOINT}/model/{quote(ARN, safe='')}/invoke-with-response-stream"
BODY = b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": []}'
HEADERS = [("Content-Type", "application/json"), ("X-Amzn-Bedrock-Accept", "application/json")]


def sign(
    url: str = BEDROCK_URL,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | bytearray | memoryview = BODY,
    **overrides: object,
) -> SignedRequest:
    options: dict[str, object] = {
        "credentials": CREDS,
        "region": "us-east-1",
        "service": "bedrock",
        "timestamp": WHEN,
    }
    options.update(overrides)
    return sign_request("POST", url, HEADERS if headers is None else headers, body, **options)  # type: ignore[arg-type]


def names(signed: SignedRequest) -> list[str]:
    return [name.lower() for name, _ in signed.headers]


# --- the Bedrock request ----------------------------------------------------------------------------------


def test_bedrock_arn_path_is_signed_encoded_twice() -> None:
    signed = sign()
    lines = signed.canonical_request.split("\n")
    assert BEDROCK_URL.count("%3A") == 6 and BEDROCK_URL.count("%2F") == 1
    assert lines[0] == "POST"
    assert lines[1] == (
        "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252F"
        "us.anthropic.claude-3-5-sonnet-20240620-v1%253A0/invoke-with-response-stream"
    )
    assert lines[2] == ""
    assert signed.signed_headers == "content-type;host;x-amz-date;x-amz-security-token;x-amzn-bedrock-accept"
    assert lines[-1] == hashlib.sha256(BODY).hexdigest()
    assert signed.credential_scope == "20240501/us-east-1/bedrock/aws4_request"
    assert signed.url == BEDROCK_URL


def test_signed_headers_are_everything_to_send() -> None:
    signed = sign()
    assert signed.headers[0] == ("Host", "bedrock-runtime.us-east-1.amazonaws.com")
    assert names(signed) == [
        "host",
        "content-type",
        "x-amzn-bedrock-accept",
        "x-amz-date",
        "x-amz-security-token",
        "authorization",
    ]
    assert signed.header("x-amz-date") == "20240501T120000Z"
    assert signed.header("X-AMZ-SECURITY-TOKEN") == TOKEN
    assert signed.header("Authorization") == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/aws4_request, "
        f"SignedHeaders={signed.signed_headers}, Signature={signed.signature}"
    )
    assert signed.header("x-amz-content-sha256") is None  # botocore sends none for bedrock


def test_signature_is_the_hmac_of_the_string_to_sign() -> None:
    signed = sign()
    key = derive_signing_key(SECRET, "20240501", "us-east-1", "bedrock")
    assert signed.signature == hmac.new(key, signed.string_to_sign.encode(), hashlib.sha256).hexdigest()
    assert signed.string_to_sign.split("\n") == [
        "AWS4-HMAC-SHA256",
        "20240501T120000Z",
        "20240501/us-east-1/bedrock/aws4_request",
        hashlib.sha256(signed.canonical_request.encode()).hexdigest(),
    ]


# --- re-signing: replace, never duplicate; verification by a server ---------------------------------------


def test_existing_sigv4_headers_are_replaced_not_duplicated() -> None:
    fresh = sign()
    stale = [
        *HEADERS,
        ("authorization", "AWS4-HMAC-SHA256 Credential=OLD"),
        ("X-Amz-Date", "19990101T000000Z"),
        ("x-amz-security-token", "old-token"),
    ]
    again = sign(headers=stale)
    assert again.signature == fresh.signature
    assert again.headers == fresh.headers
    for name in ("authorization", "x-amz-date", "x-amz-security-token"):
        assert names(again).count(name) == 1


def test_token_header_is_removed_when_credentials_have_none() -> None:
    signed = sign(
        headers=[*HEADERS, ("X-Amz-Security-Token", "left over")], credentials=Credentials("AK", "s")
    )
    assert signed.header("x-amz-security-token") is None
    assert "x-amz-security-token" not in signed.signed_headers


def verify_as_server(method: str, url: str, received: list[tuple[str, str]], body: bytes) -> bool:
    """What the emulator does: re-sign the received request with its own date and token, compare."""
    lookup = {name.lower(): value for name, value in received}
    authorization = lookup["authorization"]
    when = datetime.strptime(lookup["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    token = lookup.get("x-amz-security-token")
    resigned = sign_request(
        method,
        url,
        received,
        body,
        credentials=Credentials("AKIDEXAMPLE", SECRET, token),
        region="us-east-1",
        service="bedrock",
        timestamp=when,
    )
    return hmac.compare_digest(f"Signature={resigned.signature}", authorization.rpartition(", ")[2])


def test_server_verifies_by_re_signing_the_received_request() -> None:
    signed = sign(headers=[*HEADERS, ("User-Agent", "bedrock-stream/0.1")])
    received = list(signed.headers)
    assert verify_as_server("POST", BEDROCK_URL, received, BODY)
    # Unsigned (hop-by-hop, tracing) headers may change in transit...
    assert "user-agent" not in signed.signed_headers
    in_transit = [(n, "proxy/2.0" if n == "User-Agent" else v) for n, v in received]
    in_transit += [("X-Amzn-Trace-Id", "Root=1-abc"), ("Connection", "close")]
    assert verify_as_server("POST", BEDROCK_URL, in_transit, BODY)
    # ...but a signed header, the body, the path or the date may not.
    tampered = [(n, "text/plain" if n == "Content-Type" else v) for n, v in received]
    assert not verify_as_server("POST", BEDROCK_URL, tampered, BODY)
    assert not verify_as_server("POST", BEDROCK_URL, received, BODY + b" ")
    assert not verify_as_server("POST", BEDROCK_URL.replace("v1%3A0", "v2%3A0"), received, BODY)
    later = [(n, "20240501T120001Z" if n == "X-Amz-Date" else v) for n, v in received]
    assert not verify_as_server("POST", BEDROCK_URL, later, BODY)


def test_origin_form_target_with_host_header_signs_like_the_full_url() -> None:
    signed = sign()
    target = BEDROCK_URL[len(ENDPOINT) :]
    again = sign(url=target, headers=list(signed.headers))
    assert again.signature == signed.signature
    with pytest.raises(ValueError, match="no host"):
        sign(url=target)


# --- options ----------------------------------------------------------------------------------------------


def test_payload_hash_is_the_body_hash_and_sign_body_adds_the_header() -> None:
    plain = sign()
    assert plain.canonical_request.endswith("\n" + hashlib.sha256(BODY).hexdigest())
    signed = sign(headers=[*HEADERS, ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")], sign_body=True)
    assert signed.header("x-amz-content-sha256") == hashlib.sha256(BODY).hexdigest()
    assert names(signed).count("x-amz-content-sha256") == 1
    assert "x-amz-content-sha256" in signed.signed_headers.split(";")
    empty = sign(body=b"")
    assert empty.canonical_request.endswith(
        "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_body_may_be_any_bytes_like() -> None:
    assert sign(body=bytearray(BODY)).signature == sign().signature
    assert sign(body=memoryview(BODY)).signature == sign().signature


def test_omit_session_token_sends_it_unsigned() -> None:
    signed = sign(omit_session_token=True)
    assert signed.header("x-amz-security-token") == TOKEN
    assert "x-amz-security-token" not in signed.signed_headers
    assert TOKEN not in signed.canonical_request


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.COM/", "example.com"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:80/", "example.com"),
        ("http://example.com:443/", "example.com:443"),
        ("https://example.com:8443/x", "example.com:8443"),
        ("http://127.0.0.1:50123/model/x/invoke", "127.0.0.1:50123"),
        ("https://user:pw@example.com/", "example.com"),
        ("https://example.com?x=1", "example.com"),
        ("https://[::1]:8080/", "[::1]:8080"),
    ],
)
def test_host_is_added_from_the_url(url: str, host: str) -> None:
    signed = sign(url=url, headers=[])
    assert signed.headers[0] == ("Host", host)
    assert f"\nhost:{host}\n" in signed.canonical_request


def test_given_host_header_wins() -> None:
    signed = sign(url="https://10.0.0.1/", headers=[("host", "bedrock.example")])
    assert signed.header("host") == "bedrock.example"
    assert names(signed).count("host") == 1


def test_header_canonicalization_rules() -> None:
    signed = sign(
        headers=[
            ("X-Multi", " a  b\t c "),
            ("x-multi", "second"),
            ("X-Quoted", '"x   y"'),
            ("X-Empty", ""),
        ]
    )
    canonical_headers = signed.canonical_request.split("\n")[3:-3]
    assert "x-multi:a b c,second" in canonical_headers
    assert 'x-quoted:"x y"' in canonical_headers
    assert "x-empty:" in canonical_headers
    assert canonical_headers == sorted(canonical_headers)
    # Values are sent as given; only the signed form is folded.
    assert (("X-Multi", " a  b\t c ")) in signed.headers


def test_mapping_and_pairs_sign_alike() -> None:
    assert sign(headers=dict(HEADERS)).signature == sign().signature  # type: ignore[arg-type]
    assert sign(headers=tuple(HEADERS)).signature == sign().signature  # type: ignore[arg-type]
    assert sign(headers=iter(HEADERS)).signature == sign().signature  # type: ignore[arg-type]


def test_unnormalized_paths_for_s3() -> None:
    url = "https://bucket.s3.amazonaws.com//photos/./2024/../a b.jpg"
    assert sign(url=url).canonical_request.split("\n")[1] == "/photos/a%20b.jpg"
    unnormalized = sign(url=url, normalize_path=False).canonical_request.split("\n")[1]
    assert unnormalized == "//photos/./2024/../a%20b.jpg"


def test_timestamp_default_is_now_utc() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    signed = sign(timestamp=None)
    after = datetime.now(timezone.utc)
    stamped = datetime.strptime(signed.header("x-amz-date") or "", "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc
    )
    assert before <= stamped <= after


def test_timestamp_in_other_zone_and_subseconds() -> None:
    local = datetime(2024, 5, 1, 14, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert sign(timestamp=local).signature == sign().signature


def test_method_is_upper_cased() -> None:
    lower = sign_request(
        "post",
        BEDROCK_URL,
        HEADERS,
        BODY,
        credentials=CREDS,
        region="us-east-1",
        service="bedrock",
        timestamp=WHEN,
    )
    assert lower.signature == sign().signature


# --- presigning -------------------------------------------------------------------------------------------


def presign(
    url: str = "https://example.amazonaws.com/?Action=Get&x=%E1%88%B4", **overrides: object
) -> SignedRequest:
    options: dict[str, object] = {
        "expires_in": 900,
        "credentials": CREDS,
        "region": "us-east-1",
        "service": "bedrock",
        "timestamp": WHEN,
    }
    options.update(overrides)
    return presign_request("GET", url, [], **options)  # type: ignore[arg-type]


def query_of(signed: SignedRequest) -> list[tuple[str, str]]:
    query = signed.url.partition("?")[2]
    return [(pair.partition("=")[0], pair.partition("=")[2]) for pair in query.split("&")]


def test_presign_appends_the_sigv4_parameters() -> None:
    signed = presign()
    params = query_of(signed)
    assert params[:2] == [("Action", "Get"), ("x", "%E1%88%B4")]
    assert [key for key, _ in params[2:]] == [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ]
    values = dict(params)
    assert values["X-Amz-Credential"] == "AKIDEXAMPLE%2F20240501%2Fus-east-1%2Fbedrock%2Faws4_request"
    assert values["X-Amz-Security-Token"] == quote(TOKEN, safe="")
    assert values["X-Amz-Expires"] == "900"
    assert values["X-Amz-Signature"] == signed.signature
    assert "X-Amz-Security-Token=" in signed.canonical_request
    assert signed.header("authorization") is None


def test_presigning_a_presigned_url_replaces_its_parameters() -> None:
    first = presign()
    second = presign(url=first.url)
    assert second.url == first.url
    assert [key for key, _ in query_of(second)].count("X-Amz-Signature") == 1


def test_presign_omit_session_token_puts_it_in_the_url_after_signing() -> None:
    signed = presign(omit_session_token=True)
    assert "X-Amz-Security-Token" not in signed.canonical_request
    assert dict(query_of(signed))["X-Amz-Security-Token"] == quote(TOKEN, safe="")


@pytest.mark.parametrize("expires_in", [0, -1, 604_801])
def test_presign_rejects_out_of_range_expiry(expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        presign(expires_in=expires_in)


@pytest.mark.parametrize("expires_in", [1.5, True, "60"])
def test_presign_rejects_non_integer_expiry(expires_in: object) -> None:
    with pytest.raises(TypeError, match="expires_in"):
        presign(expires_in=expires_in)


# --- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "Bad Name", "a:b", "x;y", "caf\u00e9", "tab\t"])
def test_invalid_header_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="invalid header name"):
        sign(headers=[(name, "v")])


def test_wrong_types_are_rejected_clearly() -> None:
    with pytest.raises(TypeError, match="headers must be"):
        sign(headers=[("X-Ok", 1)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="headers must be"):
        sign(headers=[("X-Ok", "v", "extra")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="body must be bytes"):
        sign(body="text")  # type: ignore[arg-type]


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(timestamp=datetime(2024, 5, 1, 12, 0))


@pytest.mark.parametrize("url", ["example.com/path", "://example.com/", "", "https://"])
def test_urls_without_host_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        sign(url=url, headers=[])


@pytest.mark.parametrize(
    ("region", "service"), [("us/east", "bedrock"), ("", "bedrock"), ("us-east-1", " x")]
)
def test_invalid_scope_is_rejected(region: str, service: str) -> None:
    with pytest.raises(ValueError, match="invalid SigV4"):
        sign(region=region, service=service)


def test_secrets_never_appear_in_reprs_or_errors() -> None:
    signed = sign()
    assert SECRET not in repr(signed) and TOKEN not in repr(signed)
    assert signed.signature in repr(signed)
    assert SECRET not in repr(signing_key(SECRET, "20240501", "us-east-1", "bedrock"))
    errors: list[BaseException] = []
    for bad in ({"headers": [("bad name", "v")]}, {"timestamp": datetime(2024, 1, 1)}, {"region": "a/b"}):
        try:
            sign(**bad)
        except (TypeError, ValueError) as exc:
            errors.append(exc)
    assert len(errors) == 3
    for error in errors:
        assert SECRET not in str(error) and TOKEN not in str(error)


# --- the signing key --------------------------------------------------------------------------------------


def test_signing_key_matches_the_aws_documentation_example() -> None:
    # From the AWS General Reference "Examples of how to derive a signing key for Signature Version 4".
    key = derive_signing_key(SECRET, "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_precomputed_hmac_equals_hmac() -> None:
    key = derive_signing_key(SECRET, "20240501", "us-east-1", "bedrock")
    for message in (b"", b"x", b"a" * 63, b"b" * 64, b"c" * 65, bytes(range(256)) * 9):
        assert SigningKey(key).sign(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_signing_key_is_derived_once_per_day_region_service_and_bounded() -> None:
    signing_key.cache_clear()
    sign()
    sign(headers=[])
    info = signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    sign(timestamp=WHEN + timedelta(days=1))
    sign(region="eu-west-1")
    sign(credentials=Credentials("AK2", "another-secret"))
    assert signing_key.cache_info().misses == 4
    for day in range(SIGNING_KEY_CACHE_SIZE + 36):
        sign(timestamp=WHEN + timedelta(days=day))
    assert signing_key.cache_info().currsize == SIGNING_KEY_CACHE_SIZE


# --- packaging --------------------------------------------------------------------------------------------


def test_import_sigv4_does_not_import_httpx_or_providers() -> None:
    code = (
        "import sys, datetime, sigv4\n"
        "c = sigv4.Credentials('AK', 'SK')\n"
        "t = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)\n"
        "sigv4.sign_request('GET', 'https://h/', [], credentials=c, region='r', service='s', timestamp=t)\n"
        "sigv4.presign_request('GET', 'https://h/', [], expires_in=60, credentials=c, region='r',"
        " service='s', timestamp=t)\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
        "assert 'sigv4.providers' not in sys.modules, 'providers imported'\n"
        "from sigv4 import SigV4Auth, BearerAuth\n"
        "assert 'httpx' in sys.modules\n"
        "print(SigV4Auth.__module__, BearerAuth.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sigv4.httpx_auth", "sigv4.httpx_auth"]


def test_public_names() -> None:
    assert set(sigv4.__all__) == {
        "BearerAuth",
        "CredentialProvider",
        "Credentials",
        "EventSigner",
        "EventSignerClosedError",
        "SignedEvent",
        "sign_event",
        "SigV4Auth",
        "SignedRequest",
        "presign_request",
        "sign_request",
    }
    assert "SigV4Auth" in dir(sigv4)
    with pytest.raises(AttributeError):
        _ = sigv4.NoSuchThing


# --- robustness -------------------------------------------------------------------------------------------


@given(
    method=st.text(max_size=8),
    url=st.one_of(st.text(max_size=40), st.text(max_size=30).map(lambda s: f"https://h/{s}")),
    headers=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=4),
    body=st.binary(max_size=16),
    token=st.one_of(st.none(), st.text(max_size=10)),
    region=st.text(max_size=6),
    presign=st.booleans(),
)
def test_any_input_signs_or_fails_with_a_typed_error(
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    token: str | None,
    region: str,
    presign: bool,
) -> None:
    credentials = Credentials("AKID", SECRET, token or None)
    try:
        if presign:
            signed = presign_request(
                method, url, headers, body, expires_in=60, credentials=credentials, region=region, service="s"
            )
        else:
            signed = sign_request(
                method, url, headers, body, credentials=credentials, region=region, service="s"
            )
    except (ValueError, TypeError) as exc:
        assert SECRET not in str(exc)
        assert str(exc)
        return
    assert len(signed.signature) == 64
    assert signed.signed_headers.split(";") == sorted(signed.signed_headers.split(";"))


def test_url_errors_do_not_show_the_query() -> None:
    with pytest.raises(ValueError, match="cannot sign") as excinfo:
        sign(url=f"/model/x?X-Amz-Security-Token={TOKEN}", headers=[])
    assert TOKEN not in str(excinfo.value)
    with pytest.raises(ValueError, match="cannot sign") as excinfo:
        sign(url=f"example.com/?X-Amz-Security-Token={TOKEN}")
    assert TOKEN not in str(excinfo.value)


def test_lone_surrogates_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not valid Unicode"):
        sign(headers=[("X-Bad", "\ud800")])
    with pytest.raises(ValueError, match="not valid Unicode"):
        sign(credentials=Credentials("AK", "secret\udcff"))
    with pytest.raises(TypeError, match="timestamp must be"):
        sign(timestamp="20240501T120000Z")


def test_timestamps_far_from_now_format_with_four_digit_years() -> None:
    assert (
        sign(timestamp=datetime(1970, 1, 1, tzinfo=timezone.utc)).header("x-amz-date") == "19700101T000000Z"
    )
    far = sign(timestamp=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    assert far.header("x-amz-date") == "99991231T235959Z"
