"""Which AWS region to use when the caller names none."""

from __future__ import annotations

import os

from ..region_name import is_valid_region
from .errors import ConfigFileError, InvalidRegionError, ProfileNotFoundError

REGION = "AWS_REGION"
DEFAULT_REGION = "AWS_DEFAULT_REGION"
__all__ = ["DEFAULT_REGION", "REGION", "is_valid_region", "resolve_region"]


def resolve_region(profile: str | None = None) -> str | None:
    """``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the ``region`` setting of the profile
    (``profile``, else ``AWS_PROFILE``, else ``default``; credentials file over config file, as in
    botocore), else ``None``.

    Raises :class:`InvalidRegionError` for an environment value that is not a region name,
    :class:`ConfigFileError` (path and line) for a malformed file or region setting, and
    :class:`ProfileNotFoundError` when a profile named by the user is in neither file.
    """
    for variable in (REGION, DEFAULT_REGION):
        value = os.environ.get(variable, "").strip()
        if value:
            if not is_valid_region(value):
                raise InvalidRegionError(f"{variable} is {value[:64]!r}, which is not a region name")
            return value
    # The file parser is imported only now: a region from the environment costs no file machinery.
    from .shared_files import DEFAULT_PROFILE, load_profile_files, select_profile  # noqa: PLC0415

    selection = select_profile(profile)
    name = selection.name
    files = load_profile_files()
    if files.credentials_section(name) is None and files.config_section(name) is None:
        if selection.explicit and name != DEFAULT_PROFILE:
            raise ProfileNotFoundError(name, (files.credentials_path, files.config_path))
        return None
    value = files.settings(name).get("region", "").strip()
    if not value:
        return None
    if not is_valid_region(value):
        path, line = files.origin(name, "region") or (files.config_path, None)
        raise ConfigFileError(path, line, f"region {value[:64]!r} of profile {name!r} is not a region name")
    return value
