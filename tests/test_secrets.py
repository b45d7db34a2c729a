"""Secrets: the secret key, the session token and the bearer token never show anywhere.

Not in a repr or str, not in a log record (every logger at DEBUG, httpx and httpcore included), not in an
exception (of any fault of the matrix, of a refused signature, of a credential source that fails), not in
the command line's output. Each test signs and streams for real against the emulator with distinctive
secret values, captures everything (pytest's ``caplog`` and a handler of our own on the root logger,
``capsys`` for the command line), and scans it for the secrets in every form a leak could take: plain,
percent-encoded, base64 at any alignment, hex (see ``fault_tools.secret_forms``). Each test also checks
that it captured what it meant to (DEBUG records from httpcore, the error it provoked), so that an empty
capture cannot pass for a clean one.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

import client
import client.compat
from client.cli import main
from client.emulator import STREAM_EXCEPTIONS, Emulator, Fault, FaultKind, RecordedRequest
from eventstream import DEFAULT_MAX_MESSAGE_SIZE
from fault_tools import (
    ACCESS_KEY_ID,
    BEARER_TOKEN,
    CREDENTIALS,
    MODEL,
    MODES,
    PATH,
    REGION,
    SECRET_KEY,
    SECRETS,
    SESSION_TOKEN,
    Auth,
    Mode,
    assert_no_leak,
    emulator,
    error_text,
    leaks,
    run_call,
    secret_forms,
    start_emulator,
    transport_of,
)
from sigv4 import Credentials
from sigv4.httpx_auth import BearerAuth, SigV4Auth
from sigv4.providers import CredentialError
from sigv4.signer import sign_request

pytestmark = pytest.mark.timeout(60)

_LOGGERS = ("httpx", "httpcore", "client", "client.emulator", "sigv4", "asyncio", "anyio")


class _Keeper(logging.Handler):
    """Keeps every record, and its fully formatted text (message, arguments, exception, stack)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.texts.append(f"{self.format(record)}\nargs={record.args!r}\n{vars(record)!r}")


class DebugLogs:
    """Everything logged while a test ran, at DEBUG, by both capture paths."""

    def __init__(self, keeper: _Keeper, caplog: pytest.LogCaptureFixture) -> None:
        self._keeper = keeper
        self._caplog = caplog

    @property
    def records(self) -> list[logging.LogRecord]:
        return self._keeper.records

    def text(self) -> str:
        parts = [*self._keeper.texts, self._caplog.text]
        parts += [repr(vars(record)) for record in self._caplog.records]
        return "\n".join(parts)

    def assert_clean(self, *, httpcore: bool | None = True) -> None:
        """Nothing secret was logged - and DEBUG logging was really on.

        ``httpcore``: True when the calls went through httpx's transport, whose DEBUG trace must then have
        been seen; False when they went through StdlibTransport (which logs nothing of its own, so no
        httpcore record may appear either); None when either may have been used.
        """
        assert all(logging.getLogger(name).isEnabledFor(logging.DEBUG) for name in _LOGGERS)
        traced = any(r.name.startswith("httpcore") and r.levelno == logging.DEBUG for r in self.records)
        if httpcore is not None:
            assert traced == httpcore, f"httpcore DEBUG records seen: {traced}, expected: {httpcore}"
        assert_no_leak(self.text(), "the DEBUG logs")


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[DebugLogs]:
    keeper = _Keeper()
    root = logging.getLogger()
    level = root.level
    root.addHandler(keeper)
    caplog.set_level(logging.DEBUG)
    for name in _LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield DebugLogs(keeper, caplog)
    finally:
        root.removeHandler(keeper)
        root.setLevel(level)


# --- the leak detector itself -------------------------------------------------------------------------------


def test_the_detector_finds_every_encoded_form_inside_larger_text() -> None:
    import base64
    from urllib.parse import quote

    for secret in SECRETS:
        raw = secret.encode()
        for prefix in (b"", b"x", b"xy", b"Authorization: "):
            blob = base64.b64encode(prefix + raw + b"|trailing").decode()
            assert leaks(f"header={blob};") != [], (secret, prefix)
        assert leaks(quote(secret, safe="")) and leaks(repr(raw)) and leaks(raw.hex())
        assert leaks(f"...{secret}...")
        assert len(secret_forms(secret)) >= 6
    assert leaks(ACCESS_KEY_ID) == []  # an access key id is not a secret
    assert leaks("AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") == []


# --- reprs and strs ----------------------------------------------------------------------------------------


def test_no_repr_or_str_shows_a_secret() -> None:
    url = "http://127.0.0.1:9" + PATH
    signed = sign_request("POST", url, {}, b"{}", credentials=CREDENTIALS, region=REGION, service="bedrock")
    assert signed.header("x-amz-security-token") == SESSION_TOKEN  # it does hold the token...
    recorded = RecordedRequest("POST", PATH, signed.headers, b"{}", 200, "rid")
    assert recorded.header("authorization") == signed.header("authorization")
    objects: list[object] = [
        CREDENTIALS,
        SigV4Auth(CREDENTIALS, REGION, "bedrock"),
        BearerAuth(BEARER_TOKEN),
        signed,  # ...which its repr does not show
        recorded,
        start_emulator(),
        client.BedrockRuntimeClient(REGION, credentials=CREDENTIALS),
        client.BedrockRuntimeClient(bearer_token=BEARER_TOKEN, endpoint_url="http://127.0.0.1:9"),
        client.AsyncBedrockRuntimeClient(REGION, credentials=CREDENTIALS),
        client.AsyncBedrockRuntimeClient(bearer_token=BEARER_TOKEN, endpoint_url="http://127.0.0.1:9"),
        client.compat.client(
            "bedrock-runtime",
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_KEY,
            aws_session_token=SESSION_TOKEN,
        ),
        client.compat.Session(ACCESS_KEY_ID, SECRET_KEY, SESSION_TOKEN, REGION),
    ]
    for obj in objects:
        assert_no_leak(f"{obj!r}\n{obj!s}\n{obj!a}", f"repr/str of {type(obj).__name__}")


def test_credential_construction_errors_show_no_secret() -> None:
    with pytest.raises(ValueError) as missing:
        Credentials("", SECRET_KEY, SESSION_TOKEN)
    assert_no_leak(error_text(missing.value), "a Credentials error")
    with pytest.raises(ValueError) as info:
        Credentials(ACCESS_KEY_ID, "", SESSION_TOKEN)
    assert ACCESS_KEY_ID in str(info.value)
    assert_no_leak(error_text(info.value), "a Credentials error")
    with pytest.raises(ValueError) as bad:
        BearerAuth(BEARER_TOKEN + "\n")
    assert_no_leak(error_text(bad.value), "a BearerAuth error")


# --- signing and streaming at DEBUG ------------------------------------------------------------------------

READ_TIMEOUT = 0.3
# One of each fault the matrix covers, acting after one event where it is in the stream.
EVERY_FAULT = [
    Fault(FaultKind.THROTTLING),
    Fault(FaultKind.MODEL_NOT_READY),
    Fault(FaultKind.INTERNAL_ERROR),
    Fault(FaultKind.SERVICE_UNAVAILABLE),
    Fault(FaultKind.BAD_GATEWAY),
    Fault(FaultKind.NOT_EVENTSTREAM),
    *(Fault(FaultKind.EXCEPTION, name=name, after=1) for name in STREAM_EXCEPTIONS),
    Fault(FaultKind.ERROR, after=1),
    Fault(FaultKind.DROP, after=1),
    Fault(FaultKind.DROP_MID_FRAME, after=1),
    Fault(FaultKind.TRUNCATE, after=1),
    Fault(FaultKind.BAD_CRC, after=1),
    Fault(FaultKind.OVERSIZED_FRAME, after=1, size=DEFAULT_MAX_MESSAGE_SIZE + 1),
    Fault(FaultKind.STALL, after=1, seconds=30.0),
]


def _refused_by_the_service(mode: Mode, auth: Auth, emu: Emulator) -> client.BedrockRuntimeError:
    """A call the emulator refuses: a wrong secret (its reply echoes the canonical request, which holds
    the session token) or an unknown bearer token."""
    import anyio

    wrong = Credentials(ACCESS_KEY_ID, SECRET_KEY + "-rotated", SESSION_TOKEN)
    revoked = BEARER_TOKEN + "-revoked"
    if mode != "async":
        transport = transport_of(mode)
        if auth == "bearer":
            bedrock = client.BedrockRuntimeClient(
                bearer_token=revoked, endpoint_url=emu.url, transport=transport
            )
        else:
            bedrock = client.BedrockRuntimeClient(
                REGION, credentials=wrong, endpoint_url=emu.url, transport=transport
            )
        with bedrock, pytest.raises(client.BedrockRuntimeError) as info:
            bedrock.invoke_model_with_response_stream(MODEL, {"prompt": "x"})
        return info.value

    async def call() -> client.BedrockRuntimeError:
        if auth == "bearer":
            bedrock = client.AsyncBedrockRuntimeClient(bearer_token=revoked, endpoint_url=emu.url)
        else:
            bedrock = client.AsyncBedrockRuntimeClient(REGION, credentials=wrong, endpoint_url=emu.url)
        async with bedrock:
            with pytest.raises(client.BedrockRuntimeError) as info:
                await bedrock.invoke_model_with_response_stream(MODEL, {"prompt": "x"})
            return info.value

    return anyio.run(call)


@pytest.mark.parametrize("auth", ["sigv4", "bearer"])
@pytest.mark.parametrize("mode", MODES)
def test_streaming_every_fault_at_debug_leaks_no_secret(
    debug_logs: DebugLogs, mode: Mode, auth: Auth
) -> None:
    texts: list[str] = []
    with emulator() as emu:
        outcome = run_call(mode, emu, auth=auth)
        assert outcome.error is None and outcome.events
        for fault in EVERY_FAULT:
            emu.inject(fault)
            outcome = run_call(mode, emu, auth=auth, max_attempts=1, read_timeout=READ_TIMEOUT)
            assert isinstance(outcome.error, client.BedrockRuntimeError), (fault, outcome.error)
            texts.append(error_text(outcome.error))
        refusal = _refused_by_the_service(mode, auth, emu)
        assert refusal.status_code == 403
        if auth == "sigv4":
            # The service's echo of the canonical request is in the error, with the token redacted.
            assert "x-amz-security-token:<session token redacted>" in refusal.message
        texts.append(error_text(refusal))
        texts.append(repr(emu.requests))
        # The emulator did see the secrets (so they were there to leak): the token and the bearer token.
        seen = [r.header("x-amz-security-token") or r.header("authorization") for r in emu.requests]
        assert (SESSION_TOKEN if auth == "sigv4" else f"Bearer {BEARER_TOKEN}") in seen
    for text in texts:
        assert_no_leak(text, "an error raised while streaming")
    debug_logs.assert_clean(httpcore=mode != "sync")
    assert any(r.name == "httpx" for r in debug_logs.records)


# --- the command line --------------------------------------------------------------------------------------


def _env(monkeypatch: pytest.MonkeyPatch, *, secret: str = SECRET_KEY) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", REGION)


# (arguments after the endpoint, expected exit status, environment: keys | wrong-secret | bearer |
# wrong-bearer). "{record}" is replaced by a file path.
CLI_INVOKES = {
    "stream": (["invoke", MODEL, "hi"], 0, "keys"),
    "raw-and-record": (["-v", "invoke", MODEL, "hi", "--raw", "--record", "{record}"], 0, "keys"),
    "in-stream-exception": (
        ["-v", "invoke", MODEL, "hi", "--fault", "exception; name=throttlingException; after=2"],
        1,
        "keys",
    ),
    "throttled-after-retries": (
        ["-v", "invoke", MODEL, "hi", "--fault", "throttling", "--max-attempts", "2"],
        1,
        "keys",
    ),
    "dropped": (["-v", "invoke", MODEL, "hi", "--fault", "drop-mid-frame; after=1"], 1, "keys"),
    "corrupt": (["-v", "invoke", MODEL, "hi", "--fault", "bad-crc; after=1"], 1, "keys"),
    "wrong-secret": (["-v", "invoke", MODEL, "hi"], 1, "wrong-secret"),
    "bearer": (["-v", "invoke", MODEL, "hi"], 0, "bearer"),
    "wrong-bearer": (["-v", "invoke", MODEL, "hi"], 1, "wrong-bearer"),
}


@pytest.mark.parametrize("case", list(CLI_INVOKES))
def test_cli_invoke_prints_no_secret(
    case: str,
    debug_logs: DebugLogs,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    argv, status, environment = CLI_INVOKES[case]
    record = tmp_path / "answer.eventstream"
    argv = [str(record) if arg == "{record}" else arg for arg in argv]
    if environment in ("keys", "wrong-secret"):
        _env(monkeypatch, secret=SECRET_KEY if environment == "keys" else SECRET_KEY + "-rotated")
    else:
        monkeypatch.setenv(
            "AWS_BEARER_TOKEN_BEDROCK", BEARER_TOKEN + ("" if environment == "bearer" else "x")
        )
        monkeypatch.setenv("AWS_REGION", REGION)
    with emulator() as emu:
        command = argv.index("invoke") + 1
        code = main([*argv[:command], "--endpoint-url", emu.url, *argv[command:]])
        out, err = capsys.readouterr()
        assert code == status, err
        assert emu.requests, "the command never reached the emulator"
    if status == 0:
        assert out.strip()
    else:
        assert err.startswith("error: ") or "\nerror: " in err
    printed = out + err + (record.read_bytes().decode("latin-1") if record.exists() else "")
    assert_no_leak(printed, f"the output of `bedrock-stream {' '.join(argv)}`")
    assert "Traceback" not in err
    debug_logs.assert_clean(httpcore=None)  # the command line picks its own transport


def test_cli_sign_and_demo_print_no_secret(
    debug_logs: DebugLogs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://bedrock-runtime.us-east-1.amazonaws.com" + PATH
    explicit = ["--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_KEY]
    explicit += ["--session-token", SESSION_TOKEN]
    assert main(["-v", "sign", "--url", url, "--region", REGION, "-d", '{"a": 1}', *explicit]) == 0
    out, err = capsys.readouterr()
    assert "x-amz-security-token:<session token redacted>" in out and "Signature=" in out
    assert_no_leak(out + err, "`bedrock-stream sign` with explicit keys")

    _env(monkeypatch)
    assert main(["sign", "--url", url, "-d", "{}"]) == 0
    out, err = capsys.readouterr()
    assert f"Credential={ACCESS_KEY_ID}/" in out
    assert_no_leak(out + err, "`bedrock-stream sign` with the environment's keys")

    # The demo signs with the example keys, never with the environment's; a failing demo says why only.
    assert main(["-v", "demo", "--pace", "0", "hi"]) == 0
    assert main(["-v", "demo", "--pace", "0", "--fault", "exception; name=validationException; after=1"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("You asked: hi") and "ValidationException" in err
    assert_no_leak(out + err, "`bedrock-stream demo`")
    debug_logs.assert_clean(httpcore=None)


# --- credential errors -------------------------------------------------------------------------------------


def _process_command(tmp_path: Path, document: dict[str, object], *, exit_status: int = 0) -> str:
    script = tmp_path / "credential process.py"
    script.write_text(
        f"import json, sys\nprint(json.dumps({document!r}))\n"
        f"sys.stderr.write('the vault said no\\n')\nsys.exit({exit_status})\n",
        encoding="utf-8",
    )
    return f'"{sys.executable}" "{script}"'


def _set_up(scenario: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[CredentialError]:
    """Break the credential setup as ``scenario`` says; return the error class it must raise."""
    from sigv4.providers import ConfigFileError, CredentialProcessError, PartialCredentialsError

    aws = Path.home() / ".aws"
    aws.mkdir(exist_ok=True)
    monkeypatch.setenv("AWS_REGION", REGION)
    keys = {"Version": 1, "AccessKeyId": ACCESS_KEY_ID, "SecretAccessKey": SECRET_KEY}
    if scenario == "env-secret-without-key-id":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
        return PartialCredentialsError
    if scenario == "file-secret-without-key-id":
        (aws / "credentials").write_text(
            f"[default]\naws_secret_access_key = {SECRET_KEY}\naws_session_token = {SESSION_TOKEN}\n"
        )
        return ConfigFileError  # names the file and line, not what is on it
    if scenario == "file-line-that-is-only-the-secret":
        (aws / "credentials").write_text(f"[default]\naws_access_key_id = {ACCESS_KEY_ID}\n{SECRET_KEY}\n")
        return ConfigFileError
    if scenario == "file-secret-as-a-section":
        (aws / "credentials").write_text(f"[default]\nregion = {REGION}\n[{SESSION_TOKEN}\n")
        return ConfigFileError
    if scenario == "process-unsupported-version":
        command = _process_command(tmp_path, {**keys, "Version": 2, "SessionToken": SESSION_TOKEN})
    else:  # the process printed its answer, then failed
        command = _process_command(tmp_path, {**keys, "SessionToken": SESSION_TOKEN}, exit_status=3)
    (aws / "config").write_text(f"[default]\ncredential_process = {command}\n")
    return CredentialProcessError


CREDENTIAL_SCENARIOS = [
    "env-secret-without-key-id",
    "file-secret-without-key-id",
    "file-line-that-is-only-the-secret",
    "file-secret-as-a-section",
    "process-unsupported-version",
    "process-failed-after-printing-keys",
]


@pytest.mark.parametrize("scenario", CREDENTIAL_SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_credential_errors_show_no_secret(
    debug_logs: DebugLogs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: Mode, scenario: str
) -> None:
    import anyio

    expected = _set_up(scenario, monkeypatch, tmp_path)
    with emulator() as emu:
        if mode != "async":
            with (
                client.BedrockRuntimeClient(endpoint_url=emu.url, transport=transport_of(mode)) as bedrock,
                pytest.raises(CredentialError) as info,
            ):
                bedrock.invoke_model_with_response_stream(MODEL, {"prompt": "x"})
            error: BaseException = info.value
        else:

            async def call() -> BaseException:
                async with client.AsyncBedrockRuntimeClient(endpoint_url=emu.url) as bedrock:
                    with pytest.raises(CredentialError) as info:
                        await bedrock.invoke_model_with_response_stream(MODEL, {"prompt": "x"})
                    return info.value

            error = anyio.run(call)
        assert emu.requests == []  # nothing was sent without credentials
    # Seen through the client, the provider's error is the cause of the client's typed error (issue 9).
    assert isinstance(error, client.CredentialsError), error
    assert type(error.__cause__) is expected, error
    assert_no_leak(error_text(error), f"the {type(error).__name__} of {scenario}")
    assert_no_leak(error_text(error.__cause__), f"the {expected.__name__} of {scenario}")
    assert_no_leak("".join(traceback.format_exception(error)), "a credential error's traceback")
    assert_no_leak(debug_logs.text(), "the DEBUG logs of a credential error")


@pytest.mark.parametrize("scenario", CREDENTIAL_SCENARIOS)
def test_cli_credential_errors_show_no_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario: str
) -> None:
    expected = _set_up(scenario, monkeypatch, tmp_path)
    with emulator() as emu:
        assert main(["-v", "invoke", "--endpoint-url", emu.url, MODEL, "hi"]) == 1
        assert emu.requests == []
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ")
    if expected.__name__ == "CredentialProcessError":
        assert "the vault said no" in err or "Version" in err
    assert_no_leak(err, f"the command line's report of {scenario}")


def test_a_failed_serve_leaves_the_logging_setup_as_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    # `main` runs in-process (tests, embedding): a handler it left on the emulator's logger would keep
    # writing every later emulator record - requests included - to a stream that is not ours any more.
    log = logging.getLogger("client.emulator")
    handlers, level = list(log.handlers), log.level
    with emulator() as emu:
        assert main(["serve", "--port", str(emu.port)]) == 1
    assert "could not listen" in capsys.readouterr().err
    assert (log.handlers, log.level) == (handlers, level)
