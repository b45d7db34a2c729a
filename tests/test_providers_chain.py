"""ChainProvider and default_chain: order, stickiness, the one error naming every place, laziness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sigv4 import providers
from sigv4.credentials import CredentialProvider, Credentials
from sigv4.providers import (
    ChainProvider,
    ConfigFileError,
    ContainerProvider,
    CredentialError,
    EnvironmentProvider,
    InstanceMetadataProvider,
    NoCredentialsError,
    ProfileProvider,
    StaticProvider,
    UnsupportedProfileError,
    default_chain,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


class Recorder:
    """A source that counts its loads and either answers or raises."""

    def __init__(self, answer: Credentials | CredentialError) -> None:
        self.answer = answer
        self.loads = 0

    def load(self) -> Credentials:
        self.loads += 1
        if isinstance(self.answer, CredentialError):
            raise self.answer
        return self.answer


def creds(name: str) -> Credentials:
    return Credentials(name, SECRET)


def write(relative: str, text: str) -> Path:
    path = Path(os.environ["HOME"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- ChainProvider --------------------------------------------------------------------------------


def test_first_source_with_credentials_wins_and_sticks() -> None:
    empty = Recorder(NoCredentialsError(["first: empty"]))
    second = Recorder(creds("AKID2"))
    third = Recorder(creds("AKID3"))
    chain = ChainProvider([empty, second, third])
    assert chain.active_source is None
    assert chain.load().access_key_id == "AKID2"
    assert chain.load().access_key_id == "AKID2"
    assert chain.active_source is second
    assert (empty.loads, second.loads, third.loads) == (1, 2, 0)


def test_nothing_found_lists_every_place_in_order() -> None:
    chain = ChainProvider(
        [
            Recorder(NoCredentialsError(["a: not set"])),
            Recorder(NoCredentialsError(["b: missing", "c: absent"])),
        ]
    )
    with pytest.raises(NoCredentialsError) as caught:
        chain.load()
    assert caught.value.places == ("a: not set", "b: missing", "c: absent")
    assert "  1. a: not set\n  2. b: missing\n  3. c: absent\n" in str(caught.value)


def test_other_errors_stop_the_chain() -> None:
    later = Recorder(creds("AKIDLATER"))
    chain = ChainProvider([Recorder(ConfigFileError("/f", 2, "broken")), later])
    with pytest.raises(ConfigFileError):
        chain.load()
    assert later.loads == 0


def test_chain_looks_again_after_finding_nothing() -> None:
    source = Recorder(NoCredentialsError(["x"]))
    chain = ChainProvider([source])
    with pytest.raises(NoCredentialsError):
        chain.load()
    source.answer = creds("AKIDNOW")
    assert chain.load().access_key_id == "AKIDNOW"


def test_empty_chain_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one source"):
        ChainProvider([])


def test_concurrent_first_loads_resolve_once() -> None:
    entered = threading.Event()

    class Slow:
        loads = 0

        def load(self) -> Credentials:
            Slow.loads += 1
            entered.wait(0.05)
            return creds("AKIDSLOW")

    empty = Recorder(NoCredentialsError(["n"]))
    chain = ChainProvider([empty, Slow()])
    barrier = threading.Barrier(8, timeout=10)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(chain.load().access_key_id)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["AKIDSLOW"] * 8
    assert empty.loads == 1  # the chain was resolved once
    assert Slow.loads == 8  # one resolution, then every later load asks the (self-caching) active source
    assert isinstance(chain.active_source, Slow)


def test_providers_satisfy_the_protocol() -> None:
    sources: list[CredentialProvider] = [
        StaticProvider(creds("A")),
        EnvironmentProvider(),
        ProfileProvider(),
        ContainerProvider(),
        InstanceMetadataProvider(),
        default_chain(),
    ]
    assert all(callable(source.load) for source in sources)


# --- default_chain --------------------------------------------------------------------------------


def test_default_chain_imports_and_builds_sources_only_when_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    chain = default_chain()
    assert "not yet built" in repr(chain)
    assert chain.load().access_key_id == "AKIDENV"
    assert isinstance(chain.active_source, EnvironmentProvider)
    assert repr(chain).count("not yet built") == 4  # files, web identity, container, metadata never needed


def test_environment_wins_over_files(monkeypatch: pytest.MonkeyPatch) -> None:
    write(".aws/credentials", f"[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    assert default_chain().load().access_key_id == "AKIDENV"
    assert default_chain("default").load().access_key_id == "AKIDFILE"


def test_files_then_container(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"AccessKeyId": "AKIDCONTAINER", "SecretAccessKey": SECRET}).encode()

    class Handler(BaseHTTPRequestHandler):
        timeout = 10

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        monkeypatch.setenv(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{server.server_address[1]}/c"
        )
        write(".aws/config", "[default]\nregion = us-east-1\n")  # a profile without credentials
        chain = default_chain()
        assert chain.load().access_key_id == "AKIDCONTAINER"
        assert isinstance(chain.active_source, ContainerProvider)
        write(".aws/config", f"[default]\naws_access_key_id = AKIDCONF\naws_secret_access_key = {SECRET}\n")
        assert default_chain().load().access_key_id == "AKIDCONF"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_no_credentials_anywhere_names_every_place() -> None:
    home = Path(os.environ["HOME"])
    with pytest.raises(NoCredentialsError) as caught:
        default_chain().load()
    assert caught.value.places == (
        "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: not set",
        f"shared credentials file {home / '.aws' / 'credentials'}: file not found",
        f"shared config file {home / '.aws' / 'config'}: file not found",
        "web identity: AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN not both set",
        "container credentials: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor"
        " AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
        "EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED=true",
    )
    message = str(caught.value)
    for place in caught.value.places:
        assert place in message


def test_web_identity_is_refused_not_skipped_for_the_instance_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """An EKS pod configured for a role must not silently sign with the node's instance role."""
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(write("token", "eyJ.not-a-secret")))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod-role")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")  # never reached
    with pytest.raises(UnsupportedProfileError, match="AssumeRoleWithWebIdentity") as caught:
        default_chain().load()
    assert "eyJ" not in str(caught.value)
    # Explicit keys in the environment still come first, as in the AWS tools.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    assert default_chain().load().access_key_id == "AKIDENV"


def test_construction_does_nothing_until_the_first_load() -> None:
    write(".aws/credentials", "this is not an ini file\n")
    chain = default_chain()  # no error yet: nothing is read
    with pytest.raises(ConfigFileError) as caught:
        chain.load()
    assert caught.value.line == 1


def test_chain_caches_what_it_found() -> None:
    path = write(
        ".aws/credentials", f"[default]\naws_access_key_id = AKIDONE\naws_secret_access_key = {SECRET}\n"
    )
    chain = default_chain()
    first = chain.load()
    path.unlink()
    assert chain.load() is first


def test_package_exports() -> None:
    expected = {
        "ChainProvider", "ConfigFileError", "ContainerProvider", "CredentialEndpointError", "CredentialError",
        "CredentialProcessError", "EnvironmentProvider", "InstanceMetadataProvider", "InvalidRegionError",
        "NoCredentialsError", "PartialCredentialsError", "ProcessProvider", "ProfileNotFoundError",
        "ProfileProvider", "RefreshingProvider", "StaticProvider", "UnsupportedProfileError",
        "WebIdentityProvider", "default_chain", "resolve_region",
    }  # fmt: skip
    assert set(providers.__all__) == expected
    assert all(hasattr(providers, name) for name in expected)
    errors: list[Callable[..., Any]] = [
        providers.NoCredentialsError, providers.ConfigFileError, providers.CredentialProcessError,
        providers.CredentialEndpointError, providers.PartialCredentialsError, providers.ProfileNotFoundError,
        providers.UnsupportedProfileError, providers.InvalidRegionError,
    ]  # fmt: skip
    assert issubclass(providers.CredentialError, RuntimeError)
    assert all(issubclass(error, providers.CredentialError) for error in errors)  # type: ignore[arg-type]


def test_import_and_construction_stay_cheap() -> None:
    # Importing the providers and building the default chain must not import the sources' modules, nor
    # the HTTP client, ssl, subprocess or json: those cost milliseconds on a cold start and are only
    # needed when the chain gets that far (here, with keys in the environment, it never does).
    code = (
        "import sys, sigv4\n"
        "before = set(sys.modules)\n"
        "import sigv4.providers\n"
        "chain = sigv4.providers.default_chain()\n"
        "loaded = set(sys.modules) - before\n"
        "chain.load()\n"
        "after_load = set(sys.modules) - before\n"
        "heavy = {'http.client', 'ssl', 'subprocess', 'socket', 'json', 'ipaddress', 'email'}\n"
        "print(sorted(m for m in loaded if m.startswith('sigv4.providers.')))\n"
        "print(sorted(heavy & after_load))\n"
        "print(sorted(m for m in after_load - loaded if m.startswith('sigv4.providers.')))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY=SECRET)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env
    )
    at_import, heavy, at_load = result.stdout.splitlines()
    assert at_import == "['sigv4.providers.chain', 'sigv4.providers.errors', 'sigv4.providers.static']"
    assert heavy == "[]"
    assert at_load == (
        "['sigv4.providers.environment', 'sigv4.providers.expiration', 'sigv4.providers.refreshing']"
    )


def test_lazy_exports_resolve_and_unknown_names_fail() -> None:
    from sigv4.providers.container import ContainerProvider as Direct

    assert providers.ContainerProvider is Direct
    assert "resolve_region" in dir(providers)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        providers.Nope  # noqa: B018
