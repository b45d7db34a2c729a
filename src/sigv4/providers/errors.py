"""The errors raised while looking for credentials or a region.

Every message is written for the person fixing their setup: it says which source, file, line, variable or
endpoint was involved. No message ever contains a secret key, a session token or an authorization token —
only names, paths, line numbers, access key ids (not secret), statuses and the tail of a credential
process's stderr.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..credentials import CredentialError

__all__ = [
    "ConfigFileError",
    "CredentialEndpointError",
    "CredentialError",
    "CredentialProcessError",
    "InvalidRegionError",
    "NoCredentialsError",
    "PartialCredentialsError",
    "ProfileNotFoundError",
    "UnsupportedProfileError",
]


class NoCredentialsError(CredentialError):
    """No source had credentials. ``places`` lists, in order, every place that was looked at and why it
    had nothing, and the message shows them all."""

    def __init__(self, places: Iterable[str]) -> None:
        self.places: tuple[str, ...] = tuple(places)
        listing = "\n".join(f"  {number}. {place}" for number, place in enumerate(self.places, 1))
        super().__init__(
            "No AWS credentials found. Looked in, in order:\n"
            + (listing or "  (no sources configured)")
            + "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile in ~/.aws/credentials"
            " or ~/.aws/config, or pass credentials explicitly."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.places,))


class ConfigFileError(CredentialError):
    """A shared config or credentials file is malformed or unreadable.

    ``path`` is the file, ``line`` the 1-based line number (``None`` when the problem concerns the whole
    file, e.g. it cannot be read), ``reason`` what is wrong. The offending text is never quoted: it could
    be a secret key.
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.line, self.reason))


class PartialCredentialsError(CredentialError):
    """A source sets an access key id without its secret key, or the reverse (never silently skipped:
    falling through to the next source would sign with credentials the user did not choose)."""


class ProfileNotFoundError(CredentialError):
    """A profile was asked for by name (argument, ``AWS_PROFILE``) but neither shared file defines it."""

    def __init__(self, profile: str, searched: Iterable[str]) -> None:
        self.profile = profile
        self.searched: tuple[str, ...] = tuple(searched)
        super().__init__(f"The profile {profile!r} was not found in {' or '.join(self.searched)}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.profile, self.searched))


class UnsupportedProfileError(CredentialError):
    """The selected profile gets its credentials in a way this package does not implement (assume-role,
    web identity, IAM Identity Center/SSO). Raised rather than skipped so that the chain never silently
    falls through to other credentials (for instance the instance role) than those the profile names."""


class CredentialProcessError(CredentialError):
    """A profile's ``credential_process`` could not be run, failed, or printed an unusable answer.

    ``exit_status`` is the process's exit status when it ran to completion, ``stderr_tail`` the last
    part of what it wrote to stderr (its stdout carries secrets and is never shown).
    """

    def __init__(self, message: str, *, exit_status: int | None = None, stderr_tail: str = "") -> None:
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail
        full = f"{message}\nstderr (last lines):\n{stderr_tail}" if stderr_tail else message
        super().__init__(full)
        self._message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_process_error, (self._message, self.exit_status, self.stderr_tail))


def _rebuild_process_error(message: str, exit_status: int | None, stderr_tail: str) -> CredentialProcessError:
    return CredentialProcessError(message, exit_status=exit_status, stderr_tail=stderr_tail)


class CredentialEndpointError(CredentialError):
    """The container credentials endpoint (or another credentials endpoint) is misconfigured, unreachable
    or gave an unusable answer. ``url`` is the endpoint without query string or user info, ``status`` the
    HTTP status when there was one."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(message)
        self._message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_endpoint_error, (self._message, self.url, self.status))


def _rebuild_endpoint_error(message: str, url: str, status: int | None) -> CredentialEndpointError:
    return CredentialEndpointError(message, url=url, status=status)


class InvalidRegionError(CredentialError):
    """A region from the environment is not a valid region name (it would end up in the endpoint host)."""
