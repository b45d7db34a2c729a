"""``bedrock-stream sign --explain``: AWS's signature-mismatch message against our signature, and the cause.

AWS's message (SignatureDoesNotMatch / InvalidSignatureException) quotes the canonical request and the
string to sign it computed. Here it comes from the emulator (which answers like the service) or is built
from a signature of a request changed in one known way; the explanation must name that way.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import httpx
import pytest

from client.cli import main, parse_signature_error
from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
from sigv4 import Credentials
from sigv4.signer import sign_request

HOST = "https://bedrock-runtime.us-east-1.amazonaws.com"
PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
KEYS = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
BASE = ["sign", "--url", HOST + PATH, "-H", "Content-Type: application/json", "-d", "{}", "--example-keys"]


def aws_message(canonical: str, string_to_sign: str) -> str:
    return (
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
        f"The Canonical String for this request should have been\n'{canonical}'\n\n"
        f"The String-to-Sign should have been\n'{string_to_sign}'\n"
    )


def aws_saw(
    *,
    url: str = HOST + PATH,
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),),
    body: bytes = b"{}",
    region: str = "us-east-1",
    service: str = "bedrock",
    when: datetime = WHEN,
) -> str:
    signed = sign_request(
        "POST", url, list(headers), body, credentials=KEYS, region=region, service=service, timestamp=when
    )
    return aws_message(signed.canonical_request, signed.string_to_sign)


def explain(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, message: str, *extra: str
) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(message))
    assert main([*BASE, "--explain", "-", *extra]) == 0
    out = capsys.readouterr().out
    return out.split("likely cause", 1)[1]


def test_an_emulator_mismatch_from_a_wrong_secret(capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator() as emu:
        url = emu.url + PATH
        signed = sign_request(
            "POST",
            url,
            [("Content-Type", "application/json")],
            b"{}",
            credentials=Credentials(EXAMPLE_ACCESS_KEY_ID, "not-the-secret"),
            region="us-east-1",
            service="bedrock",
        )
        response = httpx.post(url, headers=list(signed.headers), content=b"{}", timeout=10)
    assert response.status_code == 403
    argv = ["sign", "--url", url, "-H", "Content-Type: application/json", "-d", "{}", "--example-keys"]
    # Pasted as the JSON error body; the region comes from --region (the emulator's URL names none).
    assert main([*argv, "--region", "us-east-1", "--explain", response.text]) == 0
    out = capsys.readouterr().out
    assert "AWS (-) against ours (+)" in out
    assert "the secret key is wrong" in out.split("likely cause", 1)[1]


def test_region_in_the_scope(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    causes = explain(capsys, monkeypatch, aws_saw(region="us-west-2"), "--region", "us-east-1")
    assert "region in the scope: AWS expected us-west-2, the signature is for us-east-1" in causes


def test_service_in_the_scope(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    causes = explain(capsys, monkeypatch, aws_saw(service="bedrock-runtime"))
    assert "service in the scope" in causes and "bedrock-runtime" in causes


def test_path_encoding(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    message = aws_saw().replace("v1%253A0", "v1%3A0")  # a signer that did not encode the path again
    causes = explain(capsys, monkeypatch, message)
    assert causes.count("\n- ") == 1 and "path encoding" in causes


def test_a_header_a_proxy_changed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    message = aws_saw(headers=(("Content-Type", "application/json; charset=utf-8"),))
    out_causes = explain(capsys, monkeypatch, message)
    assert "header content-type: signed as 'application/json' but AWS received" in out_causes
    assert "charset=utf-8" in out_causes


def test_the_host(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    message = aws_saw(url="https://proxy.internal.example" + PATH)
    causes = explain(capsys, monkeypatch, message, "--region", "us-east-1")
    assert (
        "host: signed for bedrock-runtime.us-east-1.amazonaws.com but AWS saw proxy.internal.example"
        in causes
    )


def test_the_body(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    causes = explain(capsys, monkeypatch, aws_saw(body=b'{"a": 1}'))
    assert "body: AWS hashed another body" in causes


def test_the_clock_is_compared_only_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    later = datetime(2024, 1, 2, 3, 9, 5, tzinfo=timezone.utc)
    # By default we sign with AWS's own date, so the rest of the request is compared...
    assert "secret key is wrong" in explain(capsys, monkeypatch, aws_saw(when=later))
    # ... and with an explicit --timestamp the date difference is named.
    causes = explain(capsys, monkeypatch, aws_saw(when=later), "--timestamp", "20240102T030405Z")
    assert "clock: AWS dated the request 20240102T030905Z" in causes


def test_the_diff_marks_the_lines_that_differ(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(aws_saw(region="us-west-2")))
    assert main([*BASE, "--explain", "-"]) == 0
    out = capsys.readouterr().out
    assert "- 20240102/us-west-2/bedrock/aws4_request" in out
    assert "+ 20240102/us-east-1/bedrock/aws4_request" in out
    assert "  AWS4-HMAC-SHA256" in out


def test_pasted_forms() -> None:
    message = aws_saw()
    expected = parse_signature_error(message)
    assert expected.canonical_request.startswith("POST\n/model/")
    assert expected.string_to_sign.startswith("AWS4-HMAC-SHA256\n20240102T030405Z\n")
    as_json = json.dumps({"message": message})
    assert parse_signature_error(as_json) == expected
    assert parse_signature_error(message.replace("\n", "\\n")) == expected


def test_a_message_without_the_canonical_request_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*BASE, "--explain", "The security token included in the request is invalid."]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "no canonical request" in line
    squashed = aws_saw().replace("\n", " ")
    assert main([*BASE, "--explain", squashed]) == 2
    assert "lost its line breaks" in capsys.readouterr().err
