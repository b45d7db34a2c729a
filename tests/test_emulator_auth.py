"""The emulator authenticates like the service: SigV4 verified by re-signing, bearer tokens, clock skew.

Each refusal is checked for the service's status, error name (``x-amzn-ErrorType``) and wording; a wrong
signature's message must show the canonical request and string to sign the *correct* key produces.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import httpx
import pytest

from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
from sigv4 import Credentials
from sigv4.signer import presign_request, sign_request

PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
    }
).encode()
EXAMPLE = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def sign(
    url: str,
    *,
    body: bytes = BODY,
    credentials: Credentials = EXAMPLE,
    region: str = "us-east-1",
    service: str = "bedrock",
    timestamp: datetime | None = None,
    extra: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    headers = {"Content-Type": "application/json", **(extra or {})}
    signed = sign_request(
        "POST",
        url,
        headers,
        body,
        credentials=credentials,
        region=region,
        service=service,
        timestamp=timestamp,
    )
    return list(signed.headers)


def send(url: str, headers: list[tuple[str, str]], body: bytes = BODY) -> httpx.Response:
    return httpx.post(url, headers=headers, content=body, timeout=TIMEOUT)


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    assert response.headers["content-type"] == "application/json"
    name, _, namespace = response.headers["x-amzn-errortype"].partition(":")
    assert namespace.startswith("http://internal.amazon.com/coral/")
    return response.status_code, name, response.json()["message"]


def test_example_keys_any_token_any_region_are_accepted(emu: Emulator) -> None:
    url = emu.url + PATH
    assert send(url, sign(url)).status_code == 200
    with_token = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, "any-session-token")
    assert send(url, sign(url, credentials=with_token, region="eu-west-3")).status_code == 200
    assert [r.status for r in emu.requests] == [200, 200]


def test_unsigned_request_is_refused(emu: Emulator) -> None:
    response = send(emu.url + PATH, [("Content-Type", "application/json")])
    assert refusal(response) == (403, "MissingAuthenticationTokenException", "Missing Authentication Token")


def test_unknown_access_key_is_refused(emu: Emulator) -> None:
    url = emu.url + PATH
    response = send(url, sign(url, credentials=Credentials("AKIDOTHER", EXAMPLE_SECRET_ACCESS_KEY)))
    assert refusal(response) == (
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )


def test_wrong_secret_shows_the_expected_canonical_request(emu: Emulator) -> None:
    url = emu.url + PATH
    timestamp = datetime.now(timezone.utc).replace(microsecond=0)
    wrong = Credentials(EXAMPLE_ACCESS_KEY_ID, "not-the-secret")
    status, name, message = refusal(send(url, sign(url, credentials=wrong, timestamp=timestamp)))
    assert (status, name) == (403, "InvalidSignatureException")
    expected = sign_request(
        "POST",
        url,
        {"Content-Type": "application/json"},
        BODY,
        credentials=EXAMPLE,
        region="us-east-1",
        service="bedrock",
        timestamp=timestamp,
    )
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    assert (
        f"The Canonical String for this request should have been\n'{expected.canonical_request}'" in message
    )
    assert f"The String-to-Sign should have been\n'{expected.string_to_sign}'" in message
    # The canonical URI is the wire path encoded once more.
    assert "/model/anthropic.claude-3-haiku-20240307-v1%253A0/invoke-with-response-stream\n" in message
    assert "not-the-secret" not in message and EXAMPLE_SECRET_ACCESS_KEY not in message


def test_session_token_is_redacted_from_the_canonical_request_echo(emu: Emulator) -> None:
    url = emu.url + PATH
    token = "IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE"
    wrong = Credentials(EXAMPLE_ACCESS_KEY_ID, "not-the-secret", token)
    status, name, message = refusal(send(url, sign(url, credentials=wrong)))
    assert (status, name) == (403, "InvalidSignatureException")
    assert token not in message
    assert "x-amz-security-token:<session token redacted>" in message


def test_replay_with_a_different_body_fails_the_signature(emu: Emulator) -> None:
    url = emu.url + PATH
    headers = sign(url)
    assert send(url, headers).status_code == 200
    other = BODY.replace(b'"hi"', b'"ho"')
    headers = [(k, str(len(other)) if k.lower() == "content-length" else v) for k, v in headers]
    status, name, _ = refusal(send(url, headers, other))
    assert (status, name) == (403, "InvalidSignatureException")


def test_a_signed_header_changed_in_transit_fails(emu: Emulator) -> None:
    url = emu.url + PATH
    headers = sign(url, extra={"X-Amzn-Bedrock-Trace": "DISABLED"})
    tampered = [(k, "ENABLED" if k == "X-Amzn-Bedrock-Trace" else v) for k, v in headers]
    assert refusal(send(url, tampered))[:2] == (403, "InvalidSignatureException")


def test_an_unsigned_header_added_after_signing_is_fine(emu: Emulator) -> None:
    url = emu.url + PATH
    headers = [*sign(url), ("X-Added-By-A-Proxy", "1"), ("User-Agent", "something-else")]
    assert send(url, headers).status_code == 200


def test_host_must_be_signed(emu: Emulator) -> None:
    url = emu.url + PATH
    headers = sign(url)
    auth = next(v for k, v in headers if k == "Authorization")
    stripped = auth.replace(
        "SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;x-amz-date"
    )
    assert stripped != auth
    headers = [(k, stripped if k == "Authorization" else v) for k, v in headers]
    status, name, message = refusal(send(url, headers))
    assert (status, name) == (403, "InvalidSignatureException")
    assert "'Host'" in message


def test_signing_service_must_be_bedrock(emu: Emulator) -> None:
    url = emu.url + PATH
    status, name, message = refusal(send(url, sign(url, service="bedrock-runtime")))
    assert (status, name) == (403, "InvalidSignatureException")
    assert message == "Credential should be scoped to correct service: 'bedrock'. "


def test_wrong_region_is_refused_when_a_region_is_configured() -> None:
    with Emulator(region="us-west-2") as emu:
        url = emu.url + PATH
        status, name, message = refusal(send(url, sign(url, region="eu-west-1")))
        assert (status, name) == (403, "InvalidSignatureException")
        assert message == "Credential should be scoped to a valid region, not 'eu-west-1'. "
        assert send(url, sign(url, region="us-west-2")).status_code == 200


def expired_parts(message: str) -> tuple[datetime, datetime, datetime]:
    match = re.fullmatch(
        r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) - 5 min\.\)",
        message,
    )
    assert match, message
    parsed = [datetime.strptime(g, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) for g in match.groups()]
    return parsed[0], parsed[1], parsed[2]


def test_signature_older_than_five_minutes_is_expired(emu: Emulator) -> None:
    url = emu.url + PATH
    old = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=6)
    response = send(url, sign(url, timestamp=old))
    status, name, message = refusal(response)
    assert (status, name) == (403, "InvalidSignatureException")
    signed_at, earliest, now = expired_parts(message)
    assert signed_at == old
    assert earliest == now - timedelta(minutes=5)
    assert abs(parsedate_to_datetime(response.headers["date"]) - now) <= timedelta(seconds=2)
    # Four minutes old is still fine.
    assert send(url, sign(url, timestamp=old + timedelta(minutes=2))).status_code == 200


def test_signature_from_the_future_is_not_yet_current(emu: Emulator) -> None:
    url = emu.url + PATH
    ahead = datetime.now(timezone.utc) + timedelta(minutes=6)
    status, name, message = refusal(send(url, sign(url, timestamp=ahead)))
    assert (status, name) == (403, "InvalidSignatureException")
    assert message.startswith("Signature not yet current: ")
    assert message.endswith(" + 5 min.)")


def test_clock_offset_simulates_a_slow_client_clock_correctable_from_date() -> None:
    with Emulator(clock_offset=900) as emu:
        url = emu.url + PATH
        response = send(url, sign(url))
        status, name, message = refusal(response)
        assert (status, name) == (403, "InvalidSignatureException")
        assert message.startswith("Signature expired: ")
        server_time = parsedate_to_datetime(response.headers["date"])
        skew = server_time - datetime.now(timezone.utc)
        assert timedelta(minutes=14) < skew < timedelta(minutes=16)
        # Correcting the clock from the Date header, as the client does on this error, succeeds.
        assert send(url, sign(url, timestamp=server_time)).status_code == 200


def test_scope_date_must_match_x_amz_date(emu: Emulator) -> None:
    url = emu.url + PATH
    headers = sign(url)
    amz_date = next(v for k, v in headers if k == "X-Amz-Date")
    yesterday = (datetime.strptime(amz_date[:8], "%Y%m%d") - timedelta(days=1)).strftime("%Y%m%d")
    headers = [
        (k, v.replace(f"/{amz_date[:8]}/", f"/{yesterday}/") if k == "Authorization" else v)
        for k, v in headers
    ]
    status, name, message = refusal(send(url, headers))
    assert (status, name) == (403, "InvalidSignatureException")
    assert "Date in Credential scope does not match" in message


@pytest.mark.parametrize(
    ("authorization", "needle"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/bedrock/aws4_request",
            "'SignedHeaders'",
        ),
        ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, SignedHeaders=host, Signature=ab", "5 slash-delimited"),
        ("AWS3 Credential=x", "Unsupported Authorization Type"),
    ],
)
def test_malformed_authorization_is_incomplete(emu: Emulator, authorization: str, needle: str) -> None:
    headers = [
        ("Content-Type", "application/json"),
        ("X-Amz-Date", "20240101T000000Z"),
        ("Authorization", authorization),
    ]
    status, name, message = refusal(send(emu.url + PATH, headers))
    assert (status, name) == (403, "IncompleteSignatureException")
    assert needle in message


def test_missing_x_amz_date_is_incomplete(emu: Emulator) -> None:
    url = emu.url + PATH
    headers = [(k, v) for k, v in sign(url) if k != "X-Amz-Date"]
    status, name, message = refusal(send(url, headers))
    assert (status, name) == (403, "IncompleteSignatureException")
    assert "X-Amz-Date" in message


def test_custom_credentials_replace_the_example_keys() -> None:
    with Emulator(credentials={"AKIDTEAM": "team-secret"}) as emu:
        url = emu.url + PATH
        assert send(url, sign(url, credentials=Credentials("AKIDTEAM", "team-secret"))).status_code == 200
        assert refusal(send(url, sign(url)))[1] == "UnrecognizedClientException"
        assert "team-secret" not in repr(emu)


def test_bearer_tokens() -> None:
    token = "bedrock-api-key-EXAMPLETOKEN"
    with Emulator(bearer_tokens=[token]) as emu:
        url = emu.url + PATH
        plain = [("Content-Type", "application/json")]
        assert send(url, [*plain, ("Authorization", f"Bearer {token}")]).status_code == 200
        status, name, _ = refusal(send(url, [*plain, ("Authorization", "Bearer bedrock-api-key-WRONG")]))
        assert (status, name) == (403, "UnrecognizedClientException")
        both = [*plain, ("Authorization", f"Bearer {token}"), ("X-Amz-Date", "20240101T000000Z")]
        status, name, message = refusal(send(url, both))
        assert (status, name) == (403, "InvalidSignatureException")
        assert "Only one auth mechanism allowed" in message
        assert send(url, sign(url)).status_code == 200  # SigV4 still works alongside
        assert token not in repr(emu) and token not in repr(emu.requests)


def test_bearer_token_without_any_configured_is_refused(emu: Emulator) -> None:
    response = send(emu.url + PATH, [("Content-Type", "application/json"), ("Authorization", "Bearer abc")])
    assert refusal(response)[:2] == (403, "UnrecognizedClientException")


def test_require_auth_false_lets_unsigned_requests_through_but_still_checks_signatures() -> None:
    with Emulator(require_auth=False) as emu:
        url = emu.url + PATH
        assert send(url, [("Content-Type", "application/json")]).status_code == 200
        wrong = Credentials(EXAMPLE_ACCESS_KEY_ID, "nope")
        assert refusal(send(url, sign(url, credentials=wrong)))[1] == "InvalidSignatureException"


def test_arn_model_id_signature_uses_the_double_encoded_path(emu: Emulator) -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    url = emu.url + "/model/" + arn.replace(":", "%3A").replace("/", "%2F") + "/invoke-with-response-stream"
    assert send(url, sign(url)).status_code == 200
    # A client that signs the decoded path (httpx-auth's bug) is refused, as the service refuses it.
    decoded = emu.url + "/model/" + arn + "/invoke-with-response-stream"
    headers = sign(decoded)
    assert refusal(send(url, headers))[:2] == (403, "InvalidSignatureException")


# --- short-term Bedrock API keys: bedrock-api-key- + base64 of a URL presigned for `bedrock` ---


def short_term_key(
    credentials: Credentials = EXAMPLE,
    *,
    region: str = "us-east-1",
    expires_in: int = 43_200,
    timestamp: datetime | None = None,
) -> str:
    signed = presign_request(
        "POST",
        "https://bedrock.amazonaws.com/?Action=CallWithBearerToken",
        {},
        b"",
        expires_in=expires_in,
        credentials=credentials,
        region=region,
        service="bedrock",
        timestamp=timestamp,
    )
    location = signed.url.removeprefix("https://") + "&Version=1"
    return "bedrock-api-key-" + base64.b64encode(location.encode()).decode()


def botocore_short_term_key(secret: str, token: str | None) -> str:
    """A key made the way AWS's token generator makes it, with botocore as the oracle."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    request = AWSRequest(
        method="POST",
        url="https://bedrock.amazonaws.com/",
        headers={"host": "bedrock.amazonaws.com"},
        params={"Action": "CallWithBearerToken"},
    )
    SigV4QueryAuth(
        BotoCredentials(EXAMPLE_ACCESS_KEY_ID, secret, token), "bedrock", "us-east-1", expires=43200
    ).add_auth(request)
    location = request.prepare().url.removeprefix("https://") + "&Version=1"
    return "bedrock-api-key-" + base64.b64encode(location.encode()).decode()


def bearer(emu: Emulator, token: str) -> httpx.Response:
    return send(emu.url + PATH, [("Content-Type", "application/json"), ("Authorization", f"Bearer {token}")])


def test_short_term_keys_presigned_with_known_credentials_are_accepted(emu: Emulator) -> None:
    assert (
        bearer(emu, botocore_short_term_key(EXAMPLE_SECRET_ACCESS_KEY, "a-session-token")).status_code == 200
    )
    assert bearer(emu, short_term_key()).status_code == 200
    status, name, message = refusal(bearer(emu, botocore_short_term_key("not-the-secret", None)))
    assert (status, name) == (403, "UnrecognizedClientException")
    assert message == "The security token included in the request is invalid."


def test_expired_short_term_key_is_refused(emu: Emulator) -> None:
    old = datetime.now(timezone.utc) - timedelta(hours=1)
    assert bearer(emu, short_term_key(timestamp=old, expires_in=7200)).status_code == 200
    status, name, message = refusal(bearer(emu, short_term_key(timestamp=old, expires_in=1800)))
    assert (status, name, message) == (403, "UnrecognizedClientException", "The bearer token has expired.")


@pytest.mark.parametrize(
    "token",
    [
        "bedrock-api-key-",
        "bedrock-api-key-!!!not base64!!!",
        "bedrock-api-key-" + base64.b64encode(b"bedrock.amazonaws.com/?Action=CallWithBearerToken").decode(),
        "bedrock-api-key-" + base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_short_term_keys_are_refused(emu: Emulator, token: str) -> None:
    assert refusal(bearer(emu, token))[:2] == (403, "UnrecognizedClientException")


def test_short_term_keys_follow_the_configured_region_and_keys() -> None:
    with Emulator(region="us-west-2", credentials={"AKIDTEAM": "team-secret"}) as emu:
        team = Credentials("AKIDTEAM", "team-secret")
        assert bearer(emu, short_term_key(team, region="us-west-2")).status_code == 200
        status, name, message = refusal(bearer(emu, short_term_key(team, region="eu-west-1")))
        assert (status, name) == (403, "InvalidSignatureException")
        assert "'eu-west-1'" in message
        assert refusal(bearer(emu, short_term_key(region="us-west-2")))[1] == "UnrecognizedClientException"
