"""pytest fixtures for testing an application against the local Bedrock emulator, no AWS account needed.

Registered through the ``pytest11`` entry point of ``bedrock-stream``, so installing the package makes the
fixtures available in every test suite; pytest loads this module, ``import client``
never does, and the emulator is imported only by the tests that use a fixture.

Fixtures:

- ``bedrock_emulator``: a fresh :class:`~client.emulator.Emulator` per test, wrapped in a
  :class:`BedrockEmulator`. Options for it come from a ``@pytest.mark.bedrock_emulator(**kwargs)`` marker
  (any ``Emulator`` keyword: ``chunk_count``, ``pace``, ``strict``, ``replay``...).
- ``make_bedrock_emulator``: a factory, ``make_bedrock_emulator(chunk_count=4, ...)``, for emulators with
  options chosen in the test (several per test if needed); each is stopped at teardown.
- ``bedrock_emulator_session``: one emulator for the whole session (faster); :meth:`BedrockEmulator.reset`
  clears its queued faults and recorded requests (the fixture does not, so tests can share state on purpose).

A worked example::

    import client
    from client.emulator import Fault, FaultKind

    def test_my_app_retries_throttling(bedrock_emulator):
        bedrock_emulator.inject(Fault(FaultKind.THROTTLING))
        text = my_app.summarise("...", bedrock=bedrock_emulator.client)   # your code, our client
        assert text.startswith("You asked:")
        assert [r.status for r in bedrock_emulator.requests] == [429, 200]

    async def test_async(bedrock_emulator):
        async with bedrock_emulator.async_client() as bedrock:
            ...

Point other clients at ``bedrock_emulator.url`` with the example keys (``bedrock_emulator.environment()``
gives them as environment variables, e.g. for boto3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from client import AsyncBedrockRuntimeClient, BedrockRuntimeClient
from sigv4 import Credentials

if TYPE_CHECKING:
    from client.emulator import Emulator, Fault, RecordedRequest

__all__ = ["BedrockEmulator", "bedrock_emulator", "bedrock_emulator_session", "make_bedrock_emulator"]

#: The region the preconfigured clients use (the emulator accepts any unless told otherwise).
REGION = "us-east-1"
_MARKER = "bedrock_emulator"


class BedrockEmulator:
    """A running emulator with what a test needs: its URL, fault injection, the requests it received, and
    clients already pointed at it with the example keys."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._client: BedrockRuntimeClient | None = None

    @property
    def url(self) -> str:
        """The endpoint URL (``http://127.0.0.1:PORT``)."""
        return self.emulator.url

    @property
    def credentials(self) -> Credentials:
        """The AWS documentation's example keys, which the emulator accepts."""
        from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY  # noqa: PLC0415

        return Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, decoded (operation, model id, headers, JSON body, status)."""
        return self.emulator.requests

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` valid requests (see :meth:`Emulator.inject`)."""
        self.emulator.inject(fault, times=times)

    def reset(self) -> None:
        """Forget queued faults and recorded requests."""
        self.emulator.clear_faults()
        self.emulator.clear_requests()

    def environment(self) -> dict[str, str]:
        """Environment variables pointing boto3 and the AWS CLI at the emulator (endpoint, keys, region)."""
        return self.emulator.environment(REGION)

    @property
    def client(self) -> BedrockRuntimeClient:
        """A sync client for the emulator (one per fixture, closed at teardown)."""
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def new_client(self, **kwargs: Any) -> BedrockRuntimeClient:
        """Another sync client; keywords override the defaults (``max_attempts``, ``timeout``...). The caller
        closes it."""
        kwargs.setdefault("credentials", self.credentials)
        kwargs.setdefault("endpoint_url", self.url)
        return BedrockRuntimeClient(REGION, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncBedrockRuntimeClient:
        """An async client for the emulator; use it as ``async with bedrock_emulator.async_client() as c``
        (an async client belongs to the event loop that closes it)."""
        kwargs.setdefault("credentials", self.credentials)
        kwargs.setdefault("endpoint_url", self.url)
        return AsyncBedrockRuntimeClient(REGION, **kwargs)

    def close(self) -> None:
        """Close the managed sync client and stop the emulator."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self.emulator.close()

    def __repr__(self) -> str:
        return f"BedrockEmulator({self.emulator!r})"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that configures ``bedrock_emulator``."""
    config.addinivalue_line(
        "markers", f"{_MARKER}(**kwargs): keyword arguments for the bedrock_emulator fixture's Emulator"
    )


@pytest.fixture
def bedrock_emulator(request: pytest.FixtureRequest) -> Iterator[BedrockEmulator]:
    """A fresh local Bedrock emulator for this test (options: ``@pytest.mark.bedrock_emulator(...)``)."""
    from client.emulator import Emulator  # noqa: PLC0415 -- loaded by the tests that use it, not by pytest

    marker = request.node.get_closest_marker(_MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    fixture = BedrockEmulator(Emulator(**options).start())
    try:
        yield fixture
    finally:
        fixture.close()


@pytest.fixture
def make_bedrock_emulator() -> Iterator[Callable[..., BedrockEmulator]]:
    """A factory of emulators with options (any ``Emulator`` keyword); each is stopped at teardown."""
    from client.emulator import Emulator  # noqa: PLC0415 -- loaded by the tests that use it, not by pytest

    started: list[BedrockEmulator] = []

    def make(**options: Any) -> BedrockEmulator:
        fixture = BedrockEmulator(Emulator(**options).start())
        started.append(fixture)
        return fixture

    try:
        yield make
    finally:
        for fixture in started:
            fixture.close()


@pytest.fixture(scope="session")
def bedrock_emulator_session() -> Iterator[BedrockEmulator]:
    """One local Bedrock emulator shared by the whole session (call ``reset()`` to clear its state)."""
    from client.emulator import Emulator  # noqa: PLC0415 -- loaded by the tests that use it, not by pytest

    fixture = BedrockEmulator(Emulator().start())
    try:
        yield fixture
    finally:
        fixture.close()
