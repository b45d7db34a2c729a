"""Trying credential sources in order, and the default chain of the AWS tools."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ..credentials import CredentialProvider, Credentials
from .errors import NoCredentialsError


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
    def active_source(self) -> CredentialProvider | None:
        """The source that answered (``None`` until one has)."""
        active = self._active
        return active.provider if isinstance(active, _Deferred) else active

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


class _Deferred:
    """A source built on its first ``load()``: the chain imports a source's module (and, for the network
    and process sources, nothing heavy until they actually run) only if it gets that far."""

    def __init__(self, build: Callable[[], CredentialProvider]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._provider: CredentialProvider | None = None

    @property
    def provider(self) -> CredentialProvider:
        """The source, built now if it was not yet."""
        provider = self._provider
        if provider is None:
            with self._lock:
                if self._provider is None:
                    self._provider = self._build()
                provider = self._provider
        return provider

    def load(self) -> Credentials:
        return self.provider.load()

    def __repr__(self) -> str:
        return (
            repr(self._provider) if self._provider is not None else f"<not yet built: {self._build.__name__}>"
        )


def _environment() -> CredentialProvider:
    from .environment import EnvironmentProvider  # noqa: PLC0415 - deferred, see _Deferred

    return EnvironmentProvider()


def _web_identity() -> CredentialProvider:
    from .web_identity import WebIdentityProvider  # noqa: PLC0415 - deferred, see _Deferred

    return WebIdentityProvider()


def _container() -> CredentialProvider:
    from .container import ContainerProvider  # noqa: PLC0415 - deferred, see _Deferred

    return ContainerProvider()


def _instance_metadata() -> CredentialProvider:
    from .instance_metadata import InstanceMetadataProvider  # noqa: PLC0415 - deferred, see _Deferred

    return InstanceMetadataProvider()


def default_chain(profile: str | None = None) -> ChainProvider:
    """The credential chain of the AWS tools, resolved lazily on the first ``load()``:

    1. environment: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``
       (skipped when ``profile`` is given: naming a profile means that profile, as in boto3);
    2. the shared credentials and config files: ``profile``, else ``AWS_PROFILE``, else ``default``;
       static keys or ``credential_process`` (:class:`ProfileProvider`);
    3. web identity (``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN``): not implemented, so configuring it
       raises :class:`UnsupportedProfileError` rather than falling through to the instance role;
    4. the container endpoint: ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` / ``_FULL_URI``
       (:class:`ContainerProvider`);
    5. EC2 instance metadata, IMDSv2 (:class:`InstanceMetadataProvider`; off with
       ``AWS_EC2_METADATA_DISABLED=true``).

    Building the chain does no I/O and imports none of the sources: each is imported and built when the
    chain first reaches it. Credentials are cached and temporary ones refreshed before they expire; the
    provider is thread-safe. When no source has credentials, ``load()`` raises
    :class:`NoCredentialsError` naming every place it looked.
    """

    def _profile() -> CredentialProvider:
        from .profile import ProfileProvider  # noqa: PLC0415 - deferred, see _Deferred

        return ProfileProvider(profile)

    builders: list[Callable[[], CredentialProvider]] = [
        _profile,
        _web_identity,
        _container,
        _instance_metadata,
    ]
    if profile is None:
        builders.insert(0, _environment)
    return ChainProvider([_Deferred(build) for build in builders])
