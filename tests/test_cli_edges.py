"""The edges of the ``bedrock-stream`` command line a new user trips on (issue 9, "Bugs found").

Each test pins one promise: a bad argument is one line and a non-zero exit before anything is sent or bound,
a recording survives SIGTERM, ``decode`` never exits 0 on something that is not an event stream, one-line
errors keep their actionable part, one region rule for ``sign`` and ``invoke``, and the help says what
every option does.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client import cli
from client.cli import main
from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
from client.families import Family
from eventstream import Decoder

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
URL = "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/invoke-with-response-stream"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "a bug" not in err
    return lines[0]


# --- timeouts and other numbers: refused before anything is sent ---


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_bad_read_timeout_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], emu: Emulator, example_env: None, value: str
) -> None:
    code = main(["invoke", "--endpoint-url", emu.url, CLAUDE, "hi", f"--read-timeout={value}"])
    assert code == 2
    line = one_line_error(capsys.readouterr().err)
    assert "--read-timeout" in line and "Parameter validation failed" in line
    assert emu.requests == []


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["invoke", CLAUDE, "hi", "--connect-timeout", "-2"], "--connect-timeout"),
        (["invoke", CLAUDE, "hi", "--max-tokens", "0"], "--max-tokens"),
        (["invoke", CLAUDE, "hi", "--max-attempts", "0"], "--max-attempts"),
        (["demo", "--pace", "-1"], "--pace"),
        (["serve", "--pace", "-1"], "--pace"),
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--port", "-5"], "--port"),
        (["serve", "--chunk-count", "0"], "--chunk-count"),
    ],
)
def test_bad_numbers_are_one_line_at_once(
    capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 4  # the bug waited ~5 s for a thread first
    assert flag in one_line_error(capsys.readouterr().err)


def test_serve_on_a_busy_port_is_one_line_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        assert main(["serve", "--port", str(port)]) == 1
        assert time.monotonic() - started < 4
    line = one_line_error(capsys.readouterr().err)
    assert str(port) in line or "in use" in line


# --- one region rule, and a region must look like one ---


def test_sign_takes_the_region_from_the_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign", "--url", URL, "--example-keys", "-d", "{}"]) == 0
    out = capsys.readouterr().out
    assert "/us-west-2/bedrock/aws4_request" in out


def test_region_from_the_endpoint_host() -> None:
    assert cli.region_of_endpoint("https://bedrock-runtime.eu-central-1.amazonaws.com") == "eu-central-1"
    assert cli.region_of_endpoint("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com/x") == (
        "us-gov-west-1"
    )
    assert cli.region_of_endpoint("https://bedrock-runtime.cn-north-1.amazonaws.com.cn") == "cn-north-1"
    assert (
        cli.region_of_endpoint("https://vpce-0a1b-x.bedrock-runtime.ap-south-1.vpce.amazonaws.com")
        == "ap-south-1"
    )
    assert cli.region_of_endpoint("http://127.0.0.1:8000") is None
    assert cli.region_of_endpoint("https://proxy.example.com/us-east-1/") is None


def test_invoke_takes_the_region_from_the_endpoint(
    capsys: pytest.CaptureFixture[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator answers at 127.0.0.1; the region is read from an AWS-shaped URL only, so check the rule
    # through the helper invoke uses, with the environment's region set to something else.
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert cli.pick_region(None, URL, None) == "us-west-2"
    assert cli.pick_region("ap-south-1", None, None) == "ap-south-1"
    assert cli.pick_region(None, "http://127.0.0.1:9", None) == "eu-west-1"


@pytest.mark.parametrize("command", ["sign", "invoke"])
def test_a_region_must_look_like_one(capsys: pytest.CaptureFixture[str], command: str) -> None:
    argv = ["sign", "--url", URL, "--example-keys"] if command == "sign" else ["invoke", CLAUDE, "hi"]
    assert main([*argv, "--region", "not a region"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "not a region" in line and "us-east-1" in line


# --- one-line errors keep the actionable part ---


def test_no_credentials_line_names_every_place_looked_at(
    capsys: pytest.CaptureFixture[str], emu: Emulator
) -> None:
    assert main(["invoke", "--endpoint-url", emu.url, "--region", "us-east-1", CLAUDE, "hi"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "No AWS credentials found" in line
    assert "AWS_ACCESS_KEY_ID" in line and ".aws/credentials" in line and "metadata" in line
    assert "[more" not in line


def test_a_proxys_html_502_is_summarised_as_text(
    capsys: pytest.CaptureFixture[str], emu: Emulator, example_env: None
) -> None:
    argv = ["invoke", "--endpoint-url", emu.url, CLAUDE, "hi", "--fault", "bad-gateway"]
    argv += ["--max-attempts", "1"]
    assert main(argv) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "502" in line and "Bad Gateway" in line
    assert "<" not in line


# --- recording: durable as frames arrive, SIGTERM like Ctrl-C ---


def test_record_survives_sigterm(tmp_path: Path) -> None:
    recording = tmp_path / "rec.bin"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": EXAMPLE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": EXAMPLE_SECRET_ACCESS_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with Emulator(pace=0.2, chunk_count=40) as emulator:
        command = [sys.executable, "-m", "client", "invoke", "--endpoint-url", emulator.url, CLAUDE]
        proc = subprocess.Popen(
            [*command, "hi", "--record", str(recording)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.read1(100)  # type: ignore[attr-defined]
            assert first  # text reached stdout: frames were received
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    data = recording.read_bytes()
    assert data
    assert main(["decode", str(recording)]) in (0, 1)  # the last frame may be cut; the others are there
    body = data.split(b"\r\n\r\n", 1)[1] if data.startswith(b"HTTP/") else data
    decoder = Decoder()
    assert len(decoder.feed(body)) >= 2


# --- decode never exits 0 on something that is not an event stream ---


def test_decode_of_an_empty_file_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert main(["decode", str(empty)]) == 1
    assert "empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (b'{"message": "The security token included in the request is invalid."}', "JSON"),
        (b"<html><body>502 Bad Gateway</body></html>", "text"),
        (b"hello world, this is text\n", "text"),
    ],
)
def test_decode_of_text_says_what_it_looks_like(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, hint: str
) -> None:
    path = tmp_path / "thing"
    path.write_bytes(content)
    assert main(["decode", str(path)]) == 1
    err = capsys.readouterr().err
    assert "not an event stream" in err and hint in err


# --- demo, version, help ---


def test_demo_quiet_prints_nothing_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--pace", "0", "-q", "hi"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("You asked: hi")
    assert err == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bedrock-stream ") and out.strip().split()[-1][0].isdigit()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_subcommand_has_a_description_and_every_option_a_help_text() -> None:
    commands = _subparsers(cli._parser())
    assert {"demo", "invoke", "decode", "sign", "serve"} <= set(commands)
    for name, sub in commands.items():
        assert sub.description, name
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}"


# --- a user's own client.py shadowing ours ---


def test_a_foreign_client_module_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = types.ModuleType("client")
    impostor.__file__ = str(tmp_path / "client.py")
    monkeypatch.setitem(sys.modules, "client", impostor)
    assert main(["decode", str(tmp_path / "x")]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert str(tmp_path / "client.py") in line and "shadows" in line


# --- example keys and bearer tokens ---


def test_invoke_with_example_keys(capsys: pytest.CaptureFixture[str], emu: Emulator) -> None:
    argv = ["invoke", "--endpoint-url", emu.url, "--example-keys", CLAUDE, "hi", "-q"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("You asked: hi")


def test_invoke_with_a_bearer_token(capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator(bearer_tokens=["my-api-key"]) as emulator:
        argv = ["invoke", "--endpoint-url", emulator.url, "--bearer-token", "my-api-key", CLAUDE, "hi", "-q"]
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert out.startswith("You asked: hi")
        headers = {name.lower(): value for name, value in emulator.requests[0].headers}
        assert headers["authorization"].startswith("Bearer ")
    assert "my-api-key" not in err


def test_example_keys_and_bearer_token_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invoke", "--example-keys", "--bearer-token", "k", CLAUDE, "hi"]) == 2
    one_line_error(capsys.readouterr().err)


def test_serve_prints_a_ready_to_paste_environment(tmp_path: Path) -> None:
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "client", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("export AWS_REGION"):
                break
        text = "".join(lines)
        assert f"export AWS_ACCESS_KEY_ID={EXAMPLE_ACCESS_KEY_ID}" in text
        assert f"export AWS_SECRET_ACCESS_KEY={EXAMPLE_SECRET_ACCESS_KEY}" in text
        assert "export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:" in text
        assert "export AWS_REGION=us-east-1" in text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0


def test_serve_no_auth_lets_a_client_without_credentials_through() -> None:
    # What `serve --no-auth` builds, driven in-process: an emulator that needs no signature.
    emulator = cli.make_emulator(cli._parser().parse_args(["serve", "--port", "0", "--no-auth"]))
    with emulator:
        response = httpx.post(
            f"{emulator.url}/model/{CLAUDE}/invoke-with-response-stream",
            json=cli.build_body(Family.ANTHROPIC, "hi"),
        )
        assert response.status_code == 200
        assert response.content


class _FakeEmulator:
    """Stands in for client.emulator.Emulator: keeps the keywords ``serve`` passes."""

    def __init__(self, **options: object) -> None:
        self.options = options


def test_serve_flags_reach_the_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import client.emulator

    monkeypatch.setattr(client.emulator, "Emulator", _FakeEmulator)
    recording = tmp_path / "r.bin"
    recording.write_bytes(b"x")
    argv = ["serve", "--port", "0", "--strict", "--no-auth", "--replay", str(recording), "--as-recorded"]
    emulator = cli.make_emulator(cli._parser().parse_args(argv))
    assert isinstance(emulator, _FakeEmulator)
    assert emulator.options["strict"] is True
    assert emulator.options["auth"] is False
    assert emulator.options["replay"] == str(recording)
    assert emulator.options["replay_as_recorded"] is True
    assert emulator.options["duplex"] is False
    plain = cli.make_emulator(cli._parser().parse_args(["serve", "--port", "0"]))
    assert isinstance(plain, _FakeEmulator)
    assert plain.options["strict"] is False and plain.options["replay"] is None
    assert plain.options["auth"] is True


def test_serve_replay_mistakes_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--port", "0", "--replay", str(tmp_path / "missing.bin")]) == 2
    assert "no such file" in one_line_error(capsys.readouterr().err)
    assert main(["serve", "--port", "0", "--as-recorded"]) == 2
    assert "--replay" in one_line_error(capsys.readouterr().err)
    bare = tmp_path / "bare.bin"
    bare.write_bytes(b"\x00" * 40)
    assert main(["serve", "--port", "0", "--replay", str(bare), "--as-recorded"]) == 2
    assert "sidecar" in one_line_error(capsys.readouterr().err)


def test_the_cli_streams_on_the_transport_the_library_would_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from client import cli
    from client.stdlib_transport import StdlibTransport

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(cli._wire("https://bedrock-runtime.us-east-1.amazonaws.com"), StdlibTransport)
    # A proxy that applies to the endpoint: httpx's transport, carrying that proxy (a client given
    # transport= would otherwise ignore the environment's proxies).
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    wire = cli._wire("https://bedrock-runtime.us-east-1.amazonaws.com")
    assert isinstance(wire, httpx.HTTPTransport)
    assert type(wire._pool).__name__ == "HTTPProxy"  # httpcore's proxy pool
    monkeypatch.setenv("NO_PROXY", "bedrock-runtime.us-east-1.amazonaws.com")
    assert isinstance(cli._wire("https://bedrock-runtime.us-east-1.amazonaws.com"), StdlibTransport)
    monkeypatch.setenv("BEDROCK_STREAM_TRANSPORT", "httpx")
    assert isinstance(cli._wire("https://bedrock-runtime.us-east-1.amazonaws.com"), httpx.HTTPTransport)
