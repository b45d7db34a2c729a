"""https:// endpoints: TLS with ALPN h2, certificates verified, SSL_CERT_FILE honoured (loopback only)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from client.duplex import open_bidirectional_stream
from client.emulator.duplex import DuplexServer
from client.errors import EndpointConnectionError
from sigv4 import Credentials

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line tool."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "these tests need the openssl command (present on every CI image)"
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[DuplexServer]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with DuplexServer(ssl_context=context) as server:
        yield server


async def one_exchange(url: str) -> str:
    session = await open_bidirectional_stream(
        endpoint=url, model_id="amazon.nova-sonic-v1:0", region="us-east-1", credentials=CREDS, timeout=5.0
    )
    async with session:
        await session.send(
            {"event": {"textInput": {"promptName": "p", "contentName": "c", "content": "tls"}}}
        )
        content: str = (await anext(session)).json()["event"]["textOutput"]["content"]
        return content


def test_ssl_cert_file_is_honoured(
    tls_server: DuplexServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    assert tls_server.url.startswith("https://127.0.0.1:")
    assert anyio.run(one_exchange, tls_server.url) == "You said: tls"


def test_an_unknown_certificate_is_refused(tls_server: DuplexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(EndpointConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        anyio.run(one_exchange, tls_server.url)


def test_a_server_without_h2_in_alpn_is_refused(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with DuplexServer(ssl_context=context) as server:
        context.set_alpn_protocols(["http/1.1"])  # the server now offers only HTTP/1.1
        with pytest.raises(EndpointConnectionError, match="does not speak HTTP/2"):
            anyio.run(one_exchange, server.url)
