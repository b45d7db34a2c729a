"""Credentials from a profile of the shared ``credentials`` and ``config`` files."""

from __future__ import annotations

from ..credentials import Credentials
from .errors import (
    ConfigFileError,
    NoCredentialsError,
    ProfileNotFoundError,
    UnsupportedProfileError,
)
from .ini import IniSection
from .process import DEFAULT_TIMEOUT, run_credential_process
from .refreshing import RefreshingProvider
from .shared_files import DEFAULT_PROFILE, load_profile_files, select_profile

_ACCESS_KEY = "aws_access_key_id"
_SECRET_KEY = "aws_secret_access_key"
_SESSION_TOKEN = "aws_session_token"
_LEGACY_SESSION_TOKEN = "aws_security_token"
_PROCESS = "credential_process"

# Settings by which a profile asks for a credential source this package does not implement. The AWS
# tools give these precedence over static keys, so a profile having one is not silently read otherwise.
_UNSUPPORTED = {
    "role_arn": "assume-role (role_arn)",
    "web_identity_token_file": "web identity (web_identity_token_file)",
    "sso_session": "IAM Identity Center / SSO (sso_session)",
    "sso_start_url": "IAM Identity Center / SSO (sso_start_url)",
}


class ProfileProvider:
    """The selected profile's credentials, looked up as the AWS tools do.

    The profile is ``profile`` if given, else ``AWS_PROFILE`` (or the older ``AWS_DEFAULT_PROFILE``),
    else ``default``; the files are ``AWS_SHARED_CREDENTIALS_FILE`` / ``AWS_CONFIG_FILE`` or
    ``~/.aws/credentials`` / ``~/.aws/config``. Everything is read on the first ``load()``, not at
    construction. Within the profile, in this order:

    1. static keys in the credentials file (``aws_access_key_id``, ``aws_secret_access_key``,
       optional ``aws_session_token``);
    2. ``credential_process`` (from either file), run and re-run shortly before expiry;
    3. static keys in the config file.

    Raises :class:`NoCredentialsError` when the default profile is absent or has no credentials,
    :class:`ProfileNotFoundError` when a profile named by the user is in neither file,
    :class:`ConfigFileError` (path and line) for a malformed file or a key without its secret,
    :class:`CredentialProcessError` for a failing process and :class:`UnsupportedProfileError` for a
    profile using assume-role, web identity or SSO.
    """

    def __init__(self, profile: str | None = None, *, process_timeout: float = DEFAULT_TIMEOUT) -> None:
        self._profile = profile
        self._process_timeout = process_timeout
        self._cache = RefreshingProvider(self._fetch)

    def load(self) -> Credentials:
        """The profile's credentials (files read on first use, process re-run before expiry)."""
        return self._cache.load()

    def __repr__(self) -> str:
        return f"ProfileProvider(profile={self._profile!r})"

    def _fetch(self) -> Credentials:
        selection = select_profile(self._profile)
        name = selection.name
        files = load_profile_files()
        credentials_section = files.credentials_section(name)
        config_section = files.config_section(name)
        if credentials_section is None and config_section is None:
            if selection.explicit and name != DEFAULT_PROFILE:
                raise ProfileNotFoundError(name, (files.credentials_path, files.config_path))
            raise NoCredentialsError(
                [
                    _absent(f"shared credentials file {files.credentials_path}", files.credentials, name),
                    _absent(f"shared config file {files.config_path}", files.config, name),
                ]
            )
        settings = files.settings(name)
        for key, what in _UNSUPPORTED.items():
            if settings.get(key):
                path, line = files.origin(name, key) or (files.config_path, None)
                raise UnsupportedProfileError(
                    f"{path}" + (f", line {line}" if line else "") + f": profile {name!r} uses {what},"
                    " which bedrock-stream does not resolve; use credential_process (for example"
                    " `aws configure export-credentials --profile NAME --format process`) or static keys"
                )
        if credentials_section is not None:
            static = _static_keys(credentials_section, files.credentials_path, name)
            if static is not None:
                return static
        command = settings.get(_PROCESS, "").strip()
        if command:
            origin = files.origin(name, _PROCESS)
            where = f" ({origin[0]}, line {origin[1]})" if origin else ""
            return run_credential_process(
                command,
                description=f"credential_process of profile {name!r}{where}",
                timeout=self._process_timeout,
            )
        if config_section is not None:
            static = _static_keys(config_section, files.config_path, name)
            if static is not None:
                return static
        raise NoCredentialsError(
            [
                f"profile {name!r} in {files.credentials_path} and {files.config_path}: present but has no"
                f" {_ACCESS_KEY}/{_SECRET_KEY} and no {_PROCESS}"
            ]
        )


def _absent(label: str, profiles: dict[str, IniSection] | None, name: str) -> str:
    if profiles is None:
        return f"{label}: file not found"
    return f"{label}: no profile {name!r}"


def _static_keys(section: IniSection, path: str, name: str) -> Credentials | None:
    values = section.values
    access_key = values.get(_ACCESS_KEY, "").strip()
    secret_key = values.get(_SECRET_KEY, "").strip()
    if not access_key and not secret_key:
        return None
    if not secret_key:
        raise ConfigFileError(
            path, section.lines.get(_ACCESS_KEY), f"profile {name!r} sets {_ACCESS_KEY} without {_SECRET_KEY}"
        )
    if not access_key:
        raise ConfigFileError(
            path, section.lines.get(_SECRET_KEY), f"profile {name!r} sets {_SECRET_KEY} without {_ACCESS_KEY}"
        )
    token = values.get(_SESSION_TOKEN, "").strip() or values.get(_LEGACY_SESSION_TOKEN, "").strip()
    return Credentials(access_key, secret_key, token or None)
