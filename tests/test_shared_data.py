"""The shared-data helper: where it looks, and skip-or-fail when the folder is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

import shared_data
from shared_data import REPOSITORY, require, shared_root


def test_default_location_is_next_to_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(shared_data.ENV_VAR, raising=False)
    assert shared_root() == REPOSITORY.parent / "shared"


def test_the_environment_variable_overrides_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "vectors").mkdir()
    monkeypatch.setenv(shared_data.ENV_VAR, str(tmp_path))
    assert shared_root() == tmp_path
    assert require("vectors") == tmp_path / "vectors"


@pytest.mark.parametrize("ci", ["", "false"])
def test_missing_folder_skips_with_where_the_data_comes_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str
) -> None:
    monkeypatch.setenv(shared_data.ENV_VAR, str(tmp_path / "absent"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as info:
        require("real_data")
    reason = str(info.value)
    assert str(tmp_path / "absent" / "real_data") in reason
    assert "real Amazon Bedrock responses" in reason and shared_data.ENV_VAR in reason


def test_missing_folder_under_ci_is_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(shared_data.ENV_VAR, str(tmp_path / "absent"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and conformance data not found"):
        require("peer_data")
