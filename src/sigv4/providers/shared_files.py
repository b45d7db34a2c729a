"""Where the shared ``credentials`` and ``config`` files are, which profile is selected, and the profiles
each file defines.

The two files name sections differently: the credentials file uses the bare profile name (``[dev]``),
the config file ``[default]`` or ``[profile dev]`` (``[profile default]`` wins over ``[default]``);
other config sections (``[sso-session x]``, ``[services x]``, a bare ``[dev]``) are not profiles and
are ignored, as the AWS tools do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .ini import IniSection, read_ini

CREDENTIALS_FILE_VARIABLE = "AWS_SHARED_CREDENTIALS_FILE"
CONFIG_FILE_VARIABLE = "AWS_CONFIG_FILE"
PROFILE_VARIABLE = "AWS_PROFILE"
#: Older name of AWS_PROFILE, still honoured by the AWS tools (AWS_PROFILE wins when both are set).
LEGACY_PROFILE_VARIABLE = "AWS_DEFAULT_PROFILE"
DEFAULT_PROFILE = "default"


def credentials_file_path() -> str:
    """``AWS_SHARED_CREDENTIALS_FILE`` or ``~/.aws/credentials``, with ``~`` expanded."""
    configured = os.environ.get(CREDENTIALS_FILE_VARIABLE, "").strip()
    return os.path.expanduser(configured or os.path.join("~", ".aws", "credentials"))


def config_file_path() -> str:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``, with ``~`` expanded."""
    configured = os.environ.get(CONFIG_FILE_VARIABLE, "").strip()
    return os.path.expanduser(configured or os.path.join("~", ".aws", "config"))


@dataclass(frozen=True)
class ProfileSelection:
    """The profile in use and how it was chosen (``chosen_by`` is ``None`` for the implicit default)."""

    name: str
    chosen_by: str | None

    @property
    def explicit(self) -> bool:
        """True when the user named this profile (argument or environment variable)."""
        return self.chosen_by is not None


def select_profile(profile: str | None = None) -> ProfileSelection:
    """The profile ``profile`` names, else ``AWS_PROFILE``, else ``AWS_DEFAULT_PROFILE``, else default."""
    if profile:
        return ProfileSelection(profile, "the profile argument")
    for variable in (PROFILE_VARIABLE, LEGACY_PROFILE_VARIABLE):
        value = os.environ.get(variable, "").strip()
        if value:
            return ProfileSelection(value, variable)
    return ProfileSelection(DEFAULT_PROFILE, None)


@dataclass(frozen=True)
class ProfileFiles:
    """The profiles of both shared files (``None`` for a file that does not exist)."""

    credentials_path: str
    config_path: str
    credentials: dict[str, IniSection] | None
    config: dict[str, IniSection] | None

    def credentials_section(self, name: str) -> IniSection | None:
        """The credentials file's section for profile ``name``."""
        return None if self.credentials is None else self.credentials.get(name)

    def config_section(self, name: str) -> IniSection | None:
        """The config file's section for profile ``name``."""
        return None if self.config is None else self.config.get(name)

    def settings(self, name: str) -> dict[str, str]:
        """Profile ``name``'s settings from both files, the credentials file winning (as in botocore)."""
        merged: dict[str, str] = {}
        for section in (self.config_section(name), self.credentials_section(name)):
            if section is not None:
                merged.update(section.values)
        return merged

    def origin(self, name: str, key: str) -> tuple[str, int] | None:
        """The file and line that gave profile ``name`` the ``key`` that :meth:`settings` returns."""
        for path, section in (
            (self.credentials_path, self.credentials_section(name)),
            (self.config_path, self.config_section(name)),
        ):
            if section is not None and key in section.lines:
                return path, section.lines[key]
        return None


def load_profile_files() -> ProfileFiles:
    """Read both shared files now (a missing file is no error; a malformed one is a ConfigFileError)."""
    credentials_path = credentials_file_path()
    config_path = config_file_path()
    credentials = read_ini(credentials_path)
    config_sections = read_ini(config_path)
    config = None if config_sections is None else _config_profiles(config_sections)
    return ProfileFiles(credentials_path, config_path, credentials, config)


def _config_profiles(sections: dict[str, IniSection]) -> dict[str, IniSection]:
    profiles: dict[str, IniSection] = {}
    prefixed: set[str] = set()
    for title, section in sections.items():
        if title == DEFAULT_PROFILE:
            if DEFAULT_PROFILE not in prefixed:
                profiles[DEFAULT_PROFILE] = section
            continue
        parts = title.split(None, 1)
        if len(parts) != 2 or parts[0] != "profile":
            continue
        name = _unquote(parts[1].strip())
        if not name:
            continue
        # Two titles can name one profile ("[profile a]" and "[profile  a]"): the later one wins.
        profiles[name] = section
        prefixed.add(name)
    return profiles


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name
