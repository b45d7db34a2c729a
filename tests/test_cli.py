"""The ``bedrock-stream`` command line, run through ``main([...])`` against emulators on 127.0.0.1.

Checks what a user sees: the answer on standard output, the summary and errors on standard error, exit
statuses (0 ok, 1 failed, 2 usage, 130 interrupted), one-line errors without tracebacks, and no secret in
anything printed.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

import client
from client.cli import build_body, main
from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator, Fault, FaultKind
from client.families import Family
from eventstream import Decoder
from sigv4 import Credentials
from sigv4.signer import sign_request

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
SECRET_TOKEN = "IQoJb3JpZ2luX2VjSESSIONTOKENEXAMPLE"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRET_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert EXAMPLE_SECRET_ACCESS_KEY not in text
        assert SECRET_TOKEN not in text
        assert "Traceback" not in text


# --- demo ---


def test_demo_streams_an_answer_through_the_whole_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--pace", "0", "What is an event stream?"]) == 0
    out, err = capsys.readouterr()
    # Both APIs in turn: the same deterministic answer via InvokeModelWithResponseStream and ConverseStream.
    lines = out.splitlines()
    assert out.endswith("\n") and len(lines) == 2 and lines[0] == lines[1]
    assert lines[0].startswith("You asked: What is an event stream?")
    assert "InvokeModelWithResponseStream" in err and "ConverseStream" in err
    assert "bedrock-stream demo" in err and "http://127.0.0.1:" in err
    assert "AKIDEXAMPLE" in err
    summary = err.strip().splitlines()[-1]
    assert "events" in summary and "first event" in summary and "stop end_turn" in summary
    assert "tokens" in summary and "request " in summary
    assert_no_secret(out, err)


def test_demo_all_families(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--pace", "0", "--all-families", "-q", "hi"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 12  # six families, each through both APIs
    assert all(line.startswith("You asked: hi") for line in lines)
    for model in ("amazon.nova-lite-v1:0", "cohere.command-r-v1:0", "meta.llama3-8b-instruct-v1:0"):
        assert model in err
    assert "events" not in err  # --quiet: no summary


def test_demo_raw_prints_the_json_events(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--pace", "0", "--raw", "-q"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"
    assert "amazon-bedrock-invocationMetrics" in events[-1]


def test_demo_record_then_decode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recording = tmp_path / "answer.eventstream"
    assert main(["demo", "--pace", "0", "--raw", "-q", "--record", str(recording)]) == 0
    raw_events = capsys.readouterr().out.splitlines()
    data = recording.read_bytes()
    decoder = Decoder()
    messages = decoder.feed(data)
    decoder.close()
    assert len(messages) == len(raw_events)

    assert main(["decode", str(recording)]) == 0
    dumped = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(dumped) == len(raw_events)
    assert [d["chunk"] for d in dumped] == [json.loads(e) for e in raw_events]
    assert dumped[0]["offset"] == 0


def test_demo_with_an_in_stream_fault_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--pace", "0", "--fault", "exception; name=modelStreamErrorException; after=5"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("You asked:") and out.endswith("\n")  # what arrived stays printed, line ended
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert error_lines == [
        "error: ModelStreamErrorException (in the event stream, request id "
        + error_lines[0].split("request id ")[1].split(")")[0]
        + "): The model's stream failed."
    ]
    assert_no_secret(out, err)


def test_demo_retries_then_reports_throttling(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--pace", "0", "--fault", "throttling", "--max-attempts", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "error: ThrottlingException (HTTP 429" in err
    assert "after 1 retries" in err


def test_bad_fault_spec_is_a_usage_error_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--fault", "bogus"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("bedrock-stream: error: --fault: unknown fault kind 'bogus'")
    assert err.count("\n") == 1


# --- invoke ---


@pytest.mark.usefixtures("example_env")
def test_invoke_against_an_emulator(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    code = main(["invoke", "--endpoint-url", emu.url, "amazon.nova-lite-v1:0", "Tell me a thing"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        out
        == "You asked: Tell me a thing -- answered by the bedrock-stream emulator (amazon.nova-lite-v1:0).\n"
    )
    (request,) = emu.requests
    assert request.header("x-amz-security-token") == SECRET_TOKEN  # the env's session token was used
    assert request.path == "/model/amazon.nova-lite-v1%3A0/invoke-with-response-stream"
    assert_no_secret(out, err)


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("model_id", ["meta.llama3-8b-instruct-v1:0", "mistral.mistral-7b-instruct-v0:2"])
def test_invoke_builds_each_familys_body(
    capsys: pytest.CaptureFixture[str], emu: Emulator, model_id: str
) -> None:
    assert main(["invoke", "--endpoint-url", emu.url, model_id, "Why?", "--max-tokens", "3"]) == 0
    out, _ = capsys.readouterr()
    assert out == "You asked: Why?\n"  # cut at 3 tokens
    body = json.loads(emu.requests[0].body)
    assert body == build_body(client.families.family_of(model_id) or Family.LLAMA, "Why?", 3)


@pytest.mark.usefixtures("example_env")
def test_invoke_options_are_sent(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    argv = ["invoke", "--endpoint-url", emu.url, CLAUDE, "hi", "--trace", "ENABLED"]
    argv += ["--performance-config-latency", "optimized", "--service-tier", "flex", "-q"]
    argv += ["--guardrail-identifier", "gr1", "--guardrail-version", "2"]
    assert main(argv) == 0
    request = emu.requests[0]
    assert request.header("x-amzn-bedrock-trace") == "ENABLED"
    assert request.header("x-amzn-bedrock-performanceconfig-latency") == "optimized"
    assert request.header("x-amzn-bedrock-service-tier") == "flex"
    assert request.header("x-amzn-bedrock-guardrailidentifier") == "gr1"
    assert request.header("x-amzn-bedrock-guardrailversion") == "2"


@pytest.mark.usefixtures("example_env")
def test_invoke_body_from_a_file_and_from_stdin(
    capsys: pytest.CaptureFixture[str], emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps({"inputText": "from a file"}).encode()
    path = tmp_path / "body.json"
    path.write_bytes(body)
    model = "amazon.titan-text-express-v1"
    assert main(["invoke", "--endpoint-url", emu.url, model, "--body", str(path), "-q"]) == 0
    assert "You asked: from a file" in capsys.readouterr().out
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps({"inputText": "piped"}).encode()))
    )
    assert main(["invoke", "--endpoint-url", emu.url, model, "--body", "-", "-q"]) == 0
    assert "You asked: piped" in capsys.readouterr().out
    assert emu.requests[0].body == body


@pytest.mark.usefixtures("example_env")
def test_invoke_with_a_profile(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name)
    aws = Path(os.environ["HOME"]) / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        "[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = team-secret\n"
    )
    (aws / "config").write_text("[profile team]\nregion = eu-west-3\n")
    with Emulator(credentials={"AKIDTEAM": "team-secret"}, region="eu-west-3") as emu:
        assert main(["invoke", "--endpoint-url", emu.url, "--profile", "team", CLAUDE, "hi", "-q"]) == 0
        assert "/eu-west-3/bedrock/" in (emu.requests[0].header("authorization") or "")
    out, err = capsys.readouterr()
    assert out.startswith("You asked: hi")
    assert "team-secret" not in out + err


@pytest.mark.usefixtures("example_env")
def test_invoke_wrong_secret_is_one_line_and_verbose_shows_the_canonical_request(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-wrong-secret-value")
    assert main(["invoke", "--endpoint-url", emu.url, CLAUDE, "hi"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("error: InvalidSignatureException (HTTP 403, request id ")
    assert line.endswith("[more: rerun with -v]")
    assert main(["-v", "invoke", "--endpoint-url", emu.url, CLAUDE, "hi"]) == 1
    err = capsys.readouterr().err
    assert "The Canonical String for this request should have been" in err
    assert "/model/anthropic.claude-3-haiku-20240307-v1%253A0/invoke-with-response-stream" in err
    assert "a-wrong-secret-value" not in err
    assert_no_secret(err)


def test_invoke_without_credentials(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    assert main(["invoke", "--endpoint-url", emu.url, "--region", "us-east-1", CLAUDE, "hi"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert emu.requests == []


def test_invoke_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["invoke", CLAUDE]) == 2
    assert "give a PROMPT or --body" in capsys.readouterr().err
    body = tmp_path / "b.json"
    body.write_text("{}")
    assert main(["invoke", CLAUDE, "hi", "--body", str(body)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["invoke", "some.unknown-model", "hi"]) == 2
    assert "cannot tell the model family" in capsys.readouterr().err
    assert main(["invoke", CLAUDE, "--body", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the body" in capsys.readouterr().err
    assert main(["invoke", CLAUDE, "hi", "--trace", "LOUD"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.usefixtures("example_env")
def test_ctrl_c_exits_130_without_a_traceback(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(client.BedrockRuntimeClient, "invoke_model_with_response_stream", interrupted)
    assert main(["invoke", "--endpoint-url", emu.url, CLAUDE, "hi"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted"


@pytest.mark.usefixtures("example_env")
def test_unexpected_errors_are_one_line_and_verbose_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something odd")

    monkeypatch.setattr(client.BedrockRuntimeClient, "invoke_model_with_response_stream", broken)
    assert main(["invoke", "--endpoint-url", emu.url, CLAUDE, "hi"]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected RuntimeError: something odd (a bug; -v shows where)\n"
    assert main(["-v", "invoke", "--endpoint-url", emu.url, CLAUDE, "hi"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.usefixtures("example_env")
def test_invoke_record_keeps_only_the_stream_that_was_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    recording = tmp_path / "r.bin"
    with Emulator(faults=[Fault(FaultKind.THROTTLING)]) as emu:
        argv = ["invoke", "--endpoint-url", emu.url, CLAUDE, "hi", "--record", str(recording), "-q"]
        assert main(argv) == 0
        assert [r.status for r in emu.requests] == [429, 200]
    decoder = Decoder()
    assert len(decoder.feed(recording.read_bytes())) > 5
    decoder.close()


# --- decode, sign, serve, help ---


def test_decode_reports_a_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["decode", str(tmp_path / "nope.bin")]) == 2
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00\x00\x00\x20" + b"\x00" * 20)
    assert main(["decode", str(bad)]) == 1
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[-1])["error"]


def test_sign_prints_the_canonical_request_never_the_secret(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
    argv = [
        "sign",
        "--url",
        url,
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"a":1}',
        "--region",
        "us-east-1",
    ]
    argv += ["--example-keys", "--session-token", SECRET_TOKEN, "--timestamp", "20240102T030405Z"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = sign_request(
        "POST",
        url,
        [("Content-Type", "application/json")],
        b'{"a":1}',
        credentials=Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, SECRET_TOKEN),
        region="us-east-1",
        service="bedrock",
        timestamp=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    assert expected.canonical_request.replace(SECRET_TOKEN, "<session token redacted>") in out
    assert expected.string_to_sign in out
    assert f"── signed headers\n{expected.signed_headers}\n" in out
    assert expected.signature in out
    assert "%253A0" in out
    assert_no_secret(out)


def test_sign_with_the_credential_chain(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert main(["sign", "--url", "https://example.com/x", "-X", "GET"]) == 0
    out = capsys.readouterr().out
    assert "Credential=AKIDFROMENV/" in out and "/ap-south-1/bedrock/aws4_request" in out
    assert "env-secret" not in out


def test_sign_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["sign", "--url", "https://example.com/", "--example-keys"]
    assert main(base) == 2
    assert "no region" in capsys.readouterr().err
    assert main([*base, "--region", "us-east-1", "-H", "no colon"]) == 2
    assert "expected 'Name: value'" in capsys.readouterr().err
    assert main([*base, "--region", "us-east-1", "--timestamp", "yesterday"]) == 2
    assert "YYYYMMDDTHHMMSSZ" in capsys.readouterr().err
    assert main([*base, "--region", "us-east-1", "--access-key-id", "AKID"]) == 2
    assert "not both" in capsys.readouterr().err
    assert (
        main(["sign", "--url", "https://example.com/", "--region", "us-east-1", "--access-key-id", "AKID"])
        == 2
    )
    assert "go together" in capsys.readouterr().err


def test_serve_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    assert main(["serve", "--port", str(emu.port)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: the emulator could not listen on 127.0.0.1:")


def test_serve_runs_until_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "client", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Bedrock Runtime emulator listening on http://127.0.0.1:")
        url = first.split()[-1]
        body = json.dumps({"inputText": "hi"}).encode()
        target = url + "/model/amazon.titan-text-express-v1/invoke-with-response-stream"
        signed = sign_request(
            "POST",
            target,
            {"Content-Type": "application/json"},
            body,
            credentials=Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY),
            region="us-west-2",
            service="bedrock",
        )
        response = httpx.post(target, headers=list(signed.headers), content=body, timeout=10)
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0
    assert "POST /model/amazon.titan-text-express-v1/invoke-with-response-stream -> 200" in err
    assert err.rstrip().endswith("stopped")
    assert "Traceback" not in err


def test_help_and_missing_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main([]) == 2
    assert "required" in capsys.readouterr().err


def test_importing_client_loads_neither_the_cli_nor_the_emulator() -> None:
    code = (
        "import sys, client; "
        "print(sorted(m for m in sys.modules if m.startswith(('client.cli', 'client.emulator'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.usefixtures("example_env")
def test_a_session_token_echoed_by_the_service_is_never_printed(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    echoed = (
        "The request signature we calculated does not match the signature you provided.\n\n"
        "The Canonical String for this request should have been\n'POST\n/\n\nhost:x\n"
        f"x-amz-security-token:{SECRET_TOKEN}\n\nhost;x-amz-security-token\nabc'\n"
    )

    def refused(*args: object, **kwargs: object) -> None:
        raise client.AccessDeniedException(echoed, status_code=403, error_code="InvalidSignatureException")

    monkeypatch.setattr(client.BedrockRuntimeClient, "invoke_model_with_response_stream", refused)
    assert main(["invoke", "--endpoint-url", emu.url, CLAUDE, "hi", "-v"]) == 1  # -v after the command
    err = capsys.readouterr().err
    assert "x-amz-security-token:<session token redacted>" in err
    assert_no_secret(err)
