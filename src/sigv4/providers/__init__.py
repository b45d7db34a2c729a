"""Where credentials and the region come from: the sources the AWS tools use, and their chain.

Most code needs two calls::

    provider = default_chain()          # env, shared files/profiles, container, EC2 metadata
    credentials = provider.load()       # resolved on first use, cached, refreshed before expiry
    region = resolve_region()           # AWS_REGION, AWS_DEFAULT_REGION, then the profile

Each source is also usable alone (all implement ``sigv4.credentials.CredentialProvider``). Importing
this package is cheap: it loads the chain and the errors; each source's module is imported when first
used, and the HTTP client, ``subprocess`` and ``json`` only when a source actually needs them. No secret
ever appears in a repr, a message or an error.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .chain import ChainProvider, default_chain
from .errors import (
    ConfigFileError,
    CredentialEndpointError,
    CredentialError,
    CredentialProcessError,
    InvalidRegionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFoundError,
    UnsupportedProfileError,
)
from .static import StaticProvider

if TYPE_CHECKING:
    from .container import ContainerProvider
    from .environment import EnvironmentProvider
    from .instance_metadata import InstanceMetadataProvider
    from .process import ProcessProvider
    from .profile import ProfileProvider
    from .refreshing import RefreshingProvider
    from .region import resolve_region
    from .web_identity import WebIdentityProvider

# Re-exported on first access (PEP 562): each lives in a module that only the code using it should pay
# for importing (``import sigv4.providers`` loads the chain, the errors and StaticProvider only).
_LAZY = {
    "ContainerProvider": "container",
    "EnvironmentProvider": "environment",
    "InstanceMetadataProvider": "instance_metadata",
    "ProcessProvider": "process",
    "ProfileProvider": "profile",
    "RefreshingProvider": "refreshing",
    "WebIdentityProvider": "web_identity",
    "resolve_region": "region",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ChainProvider",
    "ConfigFileError",
    "ContainerProvider",
    "CredentialEndpointError",
    "CredentialError",
    "CredentialProcessError",
    "EnvironmentProvider",
    "InstanceMetadataProvider",
    "InvalidRegionError",
    "NoCredentialsError",
    "PartialCredentialsError",
    "ProcessProvider",
    "ProfileNotFoundError",
    "ProfileProvider",
    "RefreshingProvider",
    "StaticProvider",
    "UnsupportedProfileError",
    "WebIdentityProvider",
    "default_chain",
    "resolve_region",
]
