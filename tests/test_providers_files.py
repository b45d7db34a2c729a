"""Environment, static, shared-file profile sources and region resolution, against files in a temp HOME."""

from __future__ import annotations

import os
import pickle
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sigv4.credentials import Credentials
from sigv4.providers import (
    ConfigFileError,
    CredentialError,
    EnvironmentProvider,
    InvalidRegionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFoundError,
    ProfileProvider,
    StaticProvider,
    UnsupportedProfileError,
    resolve_region,
)
from sigv4.providers.expiration import parse_expiration

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "IQoJb3JpZ2luX2VjSESSIONTOKENxyz=="


@pytest.fixture
def home() -> Path:
    return Path(os.environ["HOME"])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_no_secret(*objects: object) -> None:
    for obj in objects:
        for text in (str(obj), repr(obj)):
            assert SECRET not in text
            assert TOKEN not in text


# --- static ---------------------------------------------------------------------------------------


def test_static_provider_returns_its_credentials_and_hides_the_secret() -> None:
    credentials = Credentials("AKIDSTATIC", SECRET, TOKEN)
    provider = StaticProvider(credentials)
    assert provider.load() is credentials
    assert "AKIDSTATIC" in repr(provider)
    assert_no_secret(provider)


def test_static_provider_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="needs Credentials"):
        StaticProvider(("AKID", SECRET))  # type: ignore[arg-type]


# --- environment ----------------------------------------------------------------------------------


def test_environment_keys_token_and_expiration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", " AKIDENV ")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-02T03:04:05Z")
    credentials = EnvironmentProvider().load()
    assert credentials == Credentials(
        "AKIDENV", SECRET, TOKEN, datetime(2099, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    )


def test_environment_legacy_security_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SECURITY_TOKEN", TOKEN)
    assert EnvironmentProvider().load().session_token == TOKEN


def test_environment_unset_or_empty_is_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")
    with pytest.raises(NoCredentialsError) as caught:
        EnvironmentProvider().load()
    assert caught.value.places == (
        "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: not set",
    )


@pytest.mark.parametrize(
    ("present", "message"),
    [
        ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
    ],
)
def test_environment_half_a_key_pair_is_an_error(
    monkeypatch: pytest.MonkeyPatch, present: str, message: str
) -> None:
    monkeypatch.setenv(present, SECRET)
    with pytest.raises(PartialCredentialsError, match=message) as caught:
        EnvironmentProvider().load()
    assert_no_secret(caught.value)


def test_environment_is_read_once_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFIRST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    provider = EnvironmentProvider()
    first = provider.load()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSECOND")
    assert provider.load() is first


def test_environment_is_reread_when_its_expiration_is_past(monkeypatch: pytest.MonkeyPatch) -> None:
    past = (datetime.now(timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDOLD")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", past)
    provider = EnvironmentProvider()
    assert provider.load().access_key_id == "AKIDOLD"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDNEW")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-01T00:00:00Z")
    assert provider.load().access_key_id == "AKIDNEW"


def test_environment_bad_expiration_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow")
    with pytest.raises(CredentialError, match="AWS_CREDENTIAL_EXPIRATION: expiration 'tomorrow' is not"):
        EnvironmentProvider().load()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2024-05-01T14:30:00+02:30", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
        ("2024-05-01T07:00:00-0500", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
        ("2024-05-01 12:00", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
    ],
)
def test_expiration_formats(text: str, expected: datetime) -> None:
    parsed = parse_expiration(text, "test")
    assert parsed == expected
    assert parsed.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text", ["", "2024-13-01T00:00:00Z", "2024-05-01", "1714564800", "2024-05-01T12:00:00+99:00"]
)
def test_expiration_rejects_garbage(text: str) -> None:
    with pytest.raises(CredentialError, match=r"^somewhere: expiration"):
        parse_expiration(text, "somewhere")


# --- profiles -------------------------------------------------------------------------------------


def test_default_profile_from_the_credentials_file(home: Path) -> None:
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {TOKEN}\n",
    )
    assert ProfileProvider().load() == Credentials("AKIDFILE", SECRET, TOKEN)


def test_named_profile_in_config_file_with_profile_prefix(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        home / ".aws" / "config",
        "[default]\nregion = us-east-1\n"
        f"[dev]\naws_access_key_id = AKIDBARE\naws_secret_access_key = {SECRET}\n"
        f"[profile dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = {SECRET}\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert ProfileProvider().load().access_key_id == "AKIDDEV"


def test_bare_section_in_config_is_not_a_profile(home: Path) -> None:
    write(
        home / ".aws" / "config", f"[dev]\naws_access_key_id = AKIDBARE\naws_secret_access_key = {SECRET}\n"
    )
    with pytest.raises(ProfileNotFoundError):
        ProfileProvider("dev").load()


def test_profile_default_section_wins_over_default(home: Path) -> None:
    write(
        home / ".aws" / "config",
        f"[profile default]\naws_access_key_id = AKIDPREFIXED\naws_secret_access_key = {SECRET}\n"
        f"[default]\naws_access_key_id = AKIDPLAIN\naws_secret_access_key = {SECRET}\n",
    )
    assert ProfileProvider().load().access_key_id == "AKIDPREFIXED"


def test_profile_argument_beats_aws_profile_which_beats_aws_default_profile(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        home / ".aws" / "credentials",
        "".join(
            f"[{n}]\naws_access_key_id = AKID{n.upper()}\naws_secret_access_key = {SECRET}\n" for n in "abc"
        ),
    )
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "c")
    assert ProfileProvider().load().access_key_id == "AKIDC"
    monkeypatch.setenv("AWS_PROFILE", "b")
    assert ProfileProvider().load().access_key_id == "AKIDB"
    assert ProfileProvider("a").load().access_key_id == "AKIDA"


def test_file_locations_from_environment_with_tilde(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        home / "elsewhere" / "creds",
        f"[default]\naws_access_key_id = AKIDMOVED\naws_secret_access_key = {SECRET}\n",
    )
    write(home / "elsewhere" / "conf", "[profile x]\nregion = ap-south-1\n")
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = {SECRET}\n",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "elsewhere" / "conf"))
    assert ProfileProvider().load().access_key_id == "AKIDMOVED"
    assert resolve_region("x") == "ap-south-1"


def test_credentials_file_keys_win_over_config_file_keys(home: Path) -> None:
    write(
        home / ".aws" / "config",
        f"[profile p]\naws_access_key_id = AKIDCONF\naws_secret_access_key = {SECRET}\n",
    )
    write(
        home / ".aws" / "credentials",
        f"[p]\naws_access_key_id = AKIDCRED\naws_secret_access_key = {SECRET}\n",
    )
    assert ProfileProvider("p").load().access_key_id == "AKIDCRED"


def test_files_are_read_on_first_load_not_at_construction(home: Path) -> None:
    provider = ProfileProvider()
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = AKIDLATE\naws_secret_access_key = {SECRET}\n",
    )
    assert provider.load().access_key_id == "AKIDLATE"


def test_missing_default_profile_is_no_credentials_naming_both_files(home: Path) -> None:
    write(home / ".aws" / "config", "[profile other]\nregion = x\n")
    with pytest.raises(NoCredentialsError) as caught:
        ProfileProvider().load()
    assert caught.value.places == (
        f"shared credentials file {home / '.aws' / 'credentials'}: file not found",
        f"shared config file {home / '.aws' / 'config'}: no profile 'default'",
    )


def test_missing_named_profile_is_profile_not_found(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "ghost")
    with pytest.raises(ProfileNotFoundError) as caught:
        ProfileProvider().load()
    assert caught.value.profile == "ghost"
    assert str(home / ".aws" / "credentials") in str(caught.value)
    assert str(home / ".aws" / "config") in str(caught.value)


def test_profile_with_only_a_region_has_no_credentials(home: Path) -> None:
    write(home / ".aws" / "config", "[default]\nregion = eu-west-1\n")
    with pytest.raises(NoCredentialsError, match="present but has no aws_access_key_id"):
        ProfileProvider().load()


def test_key_without_secret_is_a_config_error_at_its_line(home: Path) -> None:
    path = write(home / ".aws" / "credentials", "[default]\nregion = x\naws_access_key_id = AKIDHALF\n")
    with pytest.raises(ConfigFileError) as caught:
        ProfileProvider().load()
    assert (caught.value.path, caught.value.line) == (str(path), 3)
    assert "without aws_secret_access_key" in str(caught.value)


def test_secret_without_key_is_a_config_error_without_the_secret(home: Path) -> None:
    path = write(home / ".aws" / "config", f"[default]\naws_secret_access_key = {SECRET}\n")
    with pytest.raises(ConfigFileError) as caught:
        ProfileProvider().load()
    assert (caught.value.path, caught.value.line) == (str(path), 2)
    assert_no_secret(caught.value)


def test_malformed_file_surfaces_as_config_error_with_line(home: Path) -> None:
    path = write(home / ".aws" / "credentials", f"[default]\naws_access_key_id = AKID\n{SECRET}\n")
    with pytest.raises(ConfigFileError) as caught:
        ProfileProvider().load()
    assert (caught.value.path, caught.value.line) == (str(path), 3)
    assert_no_secret(caught.value)


@pytest.mark.parametrize("setting", ["role_arn = arn:aws:iam::123456789012:role/r", "sso_session = corp"])
def test_profiles_needing_unsupported_sources_are_refused(home: Path, setting: str) -> None:
    path = write(
        home / ".aws" / "config",
        f"[profile p]\naws_access_key_id = AKID\naws_secret_access_key = {SECRET}\n{setting}\n",
    )
    with pytest.raises(UnsupportedProfileError) as caught:
        ProfileProvider("p").load()
    assert f"{path}, line 4: profile 'p' uses" in str(caught.value)
    assert_no_secret(caught.value)


def test_profile_provider_caches_static_keys(home: Path) -> None:
    path = write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = AKID1\naws_secret_access_key = {SECRET}\n",
    )
    provider = ProfileProvider()
    first = provider.load()
    path.write_text("garbage without section\n", encoding="utf-8")
    assert provider.load() is first


# --- region ---------------------------------------------------------------------------------------


def test_region_precedence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        home / ".aws" / "config", "[default]\nregion = eu-central-1\n[profile dev]\nregion = ap-northeast-1\n"
    )
    assert resolve_region() == "eu-central-1"
    assert resolve_region("dev") == "ap-northeast-1"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert resolve_region() == "ap-northeast-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert resolve_region() == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert resolve_region("dev") == "us-east-2"


def test_region_from_credentials_file_wins_over_config(home: Path) -> None:
    write(home / ".aws" / "config", "[default]\nregion = eu-central-1\n")
    write(home / ".aws" / "credentials", "[default]\nregion = sa-east-1\n")
    assert resolve_region() == "sa-east-1"


def test_no_region_anywhere_is_none(home: Path) -> None:
    assert resolve_region() is None
    write(home / ".aws" / "config", "[default]\noutput = json\n")
    assert resolve_region() is None


def test_region_for_a_missing_named_profile_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProfileNotFoundError):
        resolve_region("ghost")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert resolve_region("ghost") == "us-east-1"


def test_invalid_region_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "evil.example.com#")
    with pytest.raises(
        InvalidRegionError, match=r"AWS_REGION is 'evil\.example\.com#', which is not a region"
    ):
        resolve_region()


def test_invalid_region_in_file_names_path_and_line(home: Path) -> None:
    path = write(home / ".aws" / "config", "[default]\noutput = json\nregion = us-east-1/x\n")
    with pytest.raises(ConfigFileError) as caught:
        resolve_region()
    assert (caught.value.path, caught.value.line) == (str(path), 3)


# --- errors ---------------------------------------------------------------------------------------


def test_errors_survive_pickling() -> None:
    for error in (
        NoCredentialsError(["a", "b"]),
        ConfigFileError("/p", 3, "bad"),
        ProfileNotFoundError("x", ["/a", "/b"]),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.args == error.args
