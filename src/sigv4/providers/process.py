"""Credentials printed by an external program: the ``credential_process`` setting of a profile.

The program (run without a shell, its command line split like a POSIX shell would) prints on stdout::

    {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
     "SessionToken": "...", "Expiration": "2024-05-01T12:00:00Z"}

``SessionToken`` and ``Expiration`` are optional; without ``Expiration`` the credentials never expire.
stdout carries secrets, so no error ever quotes it; errors quote the exit status and stderr's tail.
"""

from __future__ import annotations

import os

from ..credentials import Credentials
from .errors import CredentialError, CredentialProcessError
from .expiration import parse_expiration
from .refreshing import RefreshingProvider

#: A credential process that has not answered after this long is killed (an MFA prompt takes a while,
#: so this is generous; it only exists so that nothing ever hangs forever).
DEFAULT_TIMEOUT = 60.0
_STDERR_TAIL_CHARS = 2000
_STDERR_TAIL_LINES = 20


def run_credential_process(
    command: str, *, description: str, timeout: float = DEFAULT_TIMEOUT
) -> Credentials:
    """Run ``command`` once and return the credentials it prints.

    ``description`` names the process in errors (e.g. "credential_process of profile 'dev'"); the
    command's arguments are never shown (they may carry secrets), only the program name.
    """
    import shlex  # noqa: PLC0415 - lazy: only needed when a credential_process is configured
    import subprocess  # noqa: PLC0415 - lazy, as above

    try:
        argv = shlex.split(command, posix=os.name != "nt")
    except ValueError as error:
        raise CredentialProcessError(f"{description}: the command line cannot be split ({error})") from None
    if not argv:
        raise CredentialProcessError(f"{description}: the command is empty")
    label = f"{description} (program {os.path.basename(argv[0])!r})"
    try:
        completed = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        raise CredentialProcessError(
            f"{label} did not finish within {timeout:g} s and was killed",
            stderr_tail=_tail(expired.stderr),
        ) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CredentialProcessError(f"{label} could not be started: {reason}") from None
    stderr_tail = _tail(completed.stderr)
    if completed.returncode != 0:
        raise CredentialProcessError(
            f"{label} failed with exit status {completed.returncode}",
            exit_status=completed.returncode,
            stderr_tail=stderr_tail,
        )
    return _parse_output(completed.stdout, label, stderr_tail)


def _parse_output(stdout: bytes, label: str, stderr_tail: str) -> Credentials:
    import json  # noqa: PLC0415 - lazy, as above

    def fail(reason: str) -> CredentialProcessError:
        return CredentialProcessError(f"{label} {reason}", exit_status=0, stderr_tail=stderr_tail)

    try:
        answer = json.loads(stdout.decode("utf-8"))
    except UnicodeDecodeError:
        raise fail("printed bytes that are not UTF-8") from None
    except ValueError as error:
        position = getattr(error, "pos", None)
        where = f" (invalid at character {position})" if position is not None else ""
        raise fail(f"did not print a JSON object on stdout{where}") from None
    if not isinstance(answer, dict):
        raise fail(f"printed JSON {type(answer).__name__}, not an object")
    version = answer.get("Version")
    if version != 1 or isinstance(version, bool):
        plain = isinstance(version, (int, str)) or version is None
        shown = repr(version) if plain else type(version).__name__
        raise fail(f"printed Version {shown[:32]}; only Version 1 is supported")
    fields: dict[str, str] = {}
    for name in ("AccessKeyId", "SecretAccessKey"):
        value = answer.get(name)
        if not isinstance(value, str) or not value:
            raise fail(f"printed no {name} (a non-empty string is required)")
        fields[name] = value
    token = answer.get("SessionToken")
    if token is not None and not isinstance(token, str):
        raise fail("printed a SessionToken that is not a string")
    expiry = answer.get("Expiration")
    if expiry is not None and not isinstance(expiry, str):
        raise fail("printed an Expiration that is not a string")
    try:
        expiration = parse_expiration(expiry, label) if expiry else None
    except CredentialError as error:
        raise CredentialProcessError(str(error), exit_status=0, stderr_tail=stderr_tail) from None
    return Credentials(fields["AccessKeyId"], fields["SecretAccessKey"], token or None, expiration)


def _tail(stderr: bytes | str | None) -> str:
    if not stderr:
        return ""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = text.rstrip().splitlines()[-_STDERR_TAIL_LINES:]
    return "\n".join(lines)[-_STDERR_TAIL_CHARS:]


class ProcessProvider:
    """Credentials from running ``command`` (a ``credential_process`` command line), cached and re-run
    shortly before they expire. Most users get this through a profile (:class:`ProfileProvider`)."""

    def __init__(self, command: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._command = command
        self._timeout = timeout
        self._cache = RefreshingProvider(self._run)

    def _run(self) -> Credentials:
        return run_credential_process(self._command, description="credential_process", timeout=self._timeout)

    def load(self) -> Credentials:
        """Credentials from the process (run on first use and before expiry)."""
        return self._cache.load()

    def __repr__(self) -> str:
        # Only the program: arguments may carry secrets.
        program = self._command.split(None, 1)[0] if self._command.strip() else ""
        return f"<ProcessProvider running {os.path.basename(program)!r}>"
