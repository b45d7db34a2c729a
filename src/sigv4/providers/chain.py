"""Trying credential sources in order, and the default chain of the AWS tools."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..credentials import CredentialProvider, Credentials
from .container import ContainerProvider
from .environment import EnvironmentProvider
from .errors import NoCredentialsError
from .instance_metadata import InstanceMetadataProvider
from .profile import ProfileProvider


class ChainProvider:
    """Asks ``sources`` in order and sticks with the first that has credentials.

    A source "has nothing" when it raises :class:`NoCredentialsError`: the chain notes where it looked
    and asks the next one; if none has credentials, the chain raises one :class:`NoCredentialsError`
    listing every place. Any other error (a malformed file, a failing ``credential_process``, an
    unreachable container endpoint that *is* configured) stops the chain: falling through would hand out
    credentials the user did not choose.

    Nothing happens before the first ``load()``. Once a source has answered, later loads go straight to
    it (each source caches and refreshes its own credentials, so this is cheap); a chain that found
    nothing looks again on the next ``load()``. Safe to use from several threads.
    """

    def __init__(self, sources: Sequence[CredentialProvider]) -> None:
        if not sources:
            raise ValueError("ChainProvider needs at least one source")
        self._sources = tuple(sources)
        self._lock = threading.Lock()
        self._active: CredentialProvider | None = None

    @property
    def sources(self) -> tuple[CredentialProvider, ...]:
        """The sources, in the order they are asked."""
        return self._sources

    @property
    def active_source(self) -> CredentialProvider | None:
        """The source that answered (``None`` until one has)."""
        return self._active

    def load(self) -> Credentials:
        """Credentials from the first source that has them (see the class docstring)."""
        active = self._active
        if active is not None:
            return active.load()
        with self._lock:
            if self._active is not None:
                return self._active.load()
            places: list[str] = []
            for source in self._sources:
                try:
                    credentials = source.load()
                except NoCredentialsError as nothing:
                    places.extend(nothing.places)
                    continue
                self._active = source
                return credentials
            raise NoCredentialsError(places)

    def __repr__(self) -> str:
        return f"ChainProvider({list(self._sources)!r})"


def default_sources(profile: str | None = None) -> list[CredentialProvider]:
    """The sources of :func:`default_chain`, in order (constructing them does no I/O)."""
    sources: list[CredentialProvider] = []
    if profile is None:
        sources.append(EnvironmentProvider())
    sources += [ProfileProvider(profile), ContainerProvider(), InstanceMetadataProvider()]
    return sources


def default_chain(profile: str | None = None) -> ChainProvider:
    """The credential chain of the AWS tools, resolved lazily on the first ``load()``:

    1. environment: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``
       (skipped when ``profile`` is given: naming a profile means that profile, as in boto3);
    2. the shared credentials and config files: ``profile``, else ``AWS_PROFILE``, else ``default``;
       static keys or ``credential_process`` (:class:`ProfileProvider`);
    3. the container endpoint: ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` / ``_FULL_URI``
       (:class:`ContainerProvider`);
    4. EC2 instance metadata, IMDSv2 (:class:`InstanceMetadataProvider`; off with
       ``AWS_EC2_METADATA_DISABLED=true``).

    Credentials are cached and temporary ones refreshed before they expire; the provider is
    thread-safe. When no source has credentials, ``load()`` raises :class:`NoCredentialsError` naming
    every place it looked.
    """
    return ChainProvider(default_sources(profile))
