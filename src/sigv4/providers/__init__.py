"""Where credentials and the region come from: the sources the AWS tools use, and their chain.

Most code needs two calls::

    provider = default_chain()          # env, shared files/profiles, container, EC2 metadata
    credentials = provider.load()       # resolved on first use, cached, refreshed before expiry
    region = resolve_region()           # AWS_REGION, AWS_DEFAULT_REGION, then the profile

Each source is also usable alone (all implement ``sigv4.credentials.CredentialProvider``). Importing
this package is cheap: the HTTP client, ``subprocess`` and ``json`` are imported only when a source
actually needs them. No secret ever appears in a repr, a message or an error.
"""

from __future__ import annotations

from .chain import ChainProvider, default_chain, default_sources
from .container import ContainerProvider
from .environment import EnvironmentProvider
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
from .instance_metadata import InstanceMetadataProvider
from .process import ProcessProvider
from .profile import ProfileProvider
from .refreshing import RefreshingProvider
from .region import resolve_region
from .static import StaticProvider

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
    "default_chain",
    "default_sources",
    "resolve_region",
]
