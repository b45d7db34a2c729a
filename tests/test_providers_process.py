"""credential_process: real child processes (small Python scripts run with sys.executable)."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sigv4.credentials import Credentials
from sigv4.providers import CredentialProcessError, ProcessProvider, ProfileProvider, default_chain
from sigv4.providers.process import run_credential_process

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "IQoJb3JpZ2luX2VjSESSIONTOKENxyz=="


def script(tmp_path: Path, body: str, name: str = "creds.py") -> str:
    """A command line running ``body`` as a Python script (paths quoted, so spaces are fine)."""
    directory = tmp_path / "bin dir"
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("import json, os, sys, time\n" + body, encoding="utf-8")
    return f'"{sys.executable}" "{path}"'


def printing(tmp_path: Path, document: dict[str, object], *, counter: Path | None = None) -> str:
    count = ""
    if counter is not None:
        count = f"open({str(counter)!r}, 'a').write('x')\n"
    return script(tmp_path, count + f"print(json.dumps({document!r}))\n")


def assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error)):
        assert SECRET not in text
        assert TOKEN not in text


def test_full_answer(tmp_path: Path) -> None:
    command = printing(
        tmp_path,
        {
            "Version": 1,
            "AccessKeyId": "AKIDPROC",
            "SecretAccessKey": SECRET,
            "SessionToken": TOKEN,
            "Expiration": "2099-05-01T12:00:00Z",
        },
    )
    assert run_credential_process(command, description="test") == Credentials(
        "AKIDPROC", SECRET, TOKEN, datetime(2099, 5, 1, 12, tzinfo=timezone.utc)
    )


def test_minimal_answer_never_expires(tmp_path: Path) -> None:
    command = printing(tmp_path, {"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": SECRET})
    credentials = ProcessProvider(command).load()
    assert credentials == Credentials("AKIDPROC", SECRET)


def test_arguments_are_passed_without_a_shell(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        "print(json.dumps({'Version': 1, 'AccessKeyId': sys.argv[1] + '|' + sys.argv[2],"
        f" 'SecretAccessKey': {SECRET!r}}}))\n",
    )
    credentials = run_credential_process(command + " 'two words' \"$HOME;x\"", description="test")
    assert credentials.access_key_id == "two words|$HOME;x"


def test_failure_reports_exit_status_and_stderr_tail_but_not_stdout(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        f"print(json.dumps({{'SecretAccessKey': {SECRET!r}}}))\n"
        "for i in range(50):\n    print(f'noise {i}', file=sys.stderr)\n"
        "print('token expired, run: login', file=sys.stderr)\nsys.exit(3)\n",
    )
    with pytest.raises(CredentialProcessError) as caught:
        run_credential_process(
            command + f" --secret {SECRET}", description="credential_process of profile 'p'"
        )
    error = caught.value
    assert error.exit_status == 3
    assert error.stderr_tail.endswith("token expired, run: login")
    assert "noise 49" in error.stderr_tail
    assert "noise 0\n" not in error.stderr_tail  # only the tail
    assert "credential_process of profile 'p'" in str(error)
    assert "failed with exit status 3" in str(error)
    assert "token expired, run: login" in str(error)
    assert_no_secret(error)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"print('not json {SECRET}')\n", "did not print a JSON object"),
        ("print(json.dumps([1, 2]))\n", "printed JSON list, not an object"),
        (
            f"print(json.dumps({{'Version': 2, 'AccessKeyId': 'A', 'SecretAccessKey': {SECRET!r}}}))\n",
            "Version 2",
        ),
        (f"print(json.dumps({{'AccessKeyId': 'A', 'SecretAccessKey': {SECRET!r}}}))\n", "Version None"),
        (f"print(json.dumps({{'Version': 1, 'SecretAccessKey': {SECRET!r}}}))\n", "no AccessKeyId"),
        (
            "print(json.dumps({'Version': 1, 'AccessKeyId': 'A', 'SecretAccessKey': ''}))\n",
            "no SecretAccessKey",
        ),
        (
            f"print(json.dumps({{'Version': 1, 'AccessKeyId': 'A', 'SecretAccessKey': {SECRET!r},"
            " 'SessionToken': 5}))\n",
            "SessionToken that is not a string",
        ),
        (
            f"print(json.dumps({{'Version': 1, 'AccessKeyId': 'A', 'SecretAccessKey': {SECRET!r},"
            " 'Expiration': 'soon'}))\n",
            "expiration 'soon' is not an ISO 8601 timestamp",
        ),
        ("sys.stdout.buffer.write(b'\\xff\\xfe')\n", "not UTF-8"),
    ],
)
def test_unusable_answers_are_clear_errors(tmp_path: Path, body: str, reason: str) -> None:
    with pytest.raises(CredentialProcessError) as caught:
        run_credential_process(script(tmp_path, body), description="test")
    assert reason in str(caught.value)
    assert caught.value.exit_status == 0
    assert_no_secret(caught.value)


def test_missing_program(tmp_path: Path) -> None:
    with pytest.raises(
        CredentialProcessError, match=r"^test \(program 'no-such-tool'\) could not be started: "
    ):
        run_credential_process(str(tmp_path / "no-such-tool") + " --flag", description="test")


@pytest.mark.parametrize(("command", "reason"), [("tool 'unbalanced", "cannot be split"), ("   ", "empty")])
def test_malformed_command_lines(command: str, reason: str) -> None:
    with pytest.raises(CredentialProcessError, match=reason):
        run_credential_process(command, description="test")


def test_hanging_process_is_killed_after_the_timeout(tmp_path: Path) -> None:
    command = script(tmp_path, "print('working', file=sys.stderr, flush=True)\ntime.sleep(30)\n")
    started = time.monotonic()
    with pytest.raises(CredentialProcessError, match=r"did not finish within 0.5 s") as caught:
        run_credential_process(command, description="test", timeout=0.5)
    assert time.monotonic() - started < 10
    assert caught.value.exit_status is None


def test_expired_answer_runs_the_process_again(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = printing(
        tmp_path,
        {"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": SECRET, "Expiration": past},
        counter=counter,
    )
    provider = ProcessProvider(command)
    provider.load()
    provider.load()
    assert counter.read_text() == "xx"


def test_long_lived_answer_is_cached(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = printing(
        tmp_path,
        {"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": SECRET, "Expiration": later},
        counter=counter,
    )
    provider = ProcessProvider(command)
    assert provider.load() is provider.load()
    assert counter.read_text() == "x"


def test_repr_shows_only_the_program(tmp_path: Path) -> None:
    provider = ProcessProvider(f"/usr/local/bin/vault-helper --password {SECRET}")
    assert repr(provider) == "<ProcessProvider running 'vault-helper'>"


# --- through profiles -----------------------------------------------------------------------------


def write_config(text: str) -> Path:
    path = Path(os.environ["HOME"]) / ".aws" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_profile_credential_process(tmp_path: Path) -> None:
    command = printing(tmp_path, {"Version": 1, "AccessKeyId": "AKIDPROFILE", "SecretAccessKey": SECRET})
    write_config(f"[profile tools]\nregion = us-east-1\ncredential_process = {command}\n")
    assert ProfileProvider("tools").load().access_key_id == "AKIDPROFILE"


def test_process_wins_over_config_keys_but_not_credentials_file_keys(tmp_path: Path) -> None:
    command = printing(tmp_path, {"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": SECRET})
    write_config(
        f"[default]\naws_access_key_id = AKIDCONF\naws_secret_access_key = {SECRET}\n"
        f"credential_process = {command}\n"
    )
    assert ProfileProvider().load().access_key_id == "AKIDPROC"
    credentials_file = Path(os.environ["HOME"]) / ".aws" / "credentials"
    credentials_file.write_text(
        f"[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = {SECRET}\n"
    )
    assert ProfileProvider().load().access_key_id == "AKIDCRED"


def test_failing_profile_process_names_profile_file_and_line_and_stops_the_chain(tmp_path: Path) -> None:
    command = script(tmp_path, "print('MFA required', file=sys.stderr)\nsys.exit(1)\n")
    path = write_config(f"[default]\n# tools\ncredential_process = {command}\n")
    with pytest.raises(CredentialProcessError) as caught:
        default_chain().load()
    message = str(caught.value)
    assert f"credential_process of profile 'default' ({path}, line 3)" in message
    assert "program 'python" in message
    assert "exit status 1" in message
    assert "MFA required" in message
