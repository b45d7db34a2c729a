"""Test-wide isolation: no test sees the developer's AWS setup or reaches a metadata endpoint."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# "ci" is what .ci/run uses: deterministic and quick. "deep" is the on-demand fuzzing campaign
# (`pytest --hypothesis-profile=deep`); the hypothesis plugin applies that option after this file loads.
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=200_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts with no AWS_* variables, a fresh HOME and the metadata service disabled.

    Tests that exercise the instance-metadata source re-enable it themselves and point
    AWS_EC2_METADATA_SERVICE_ENDPOINT at their own 127.0.0.1 server, so nothing ever leaves loopback.
    """
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (anyio's pytest plugin ships with httpx's anyio dependency)."""
    return "asyncio"
