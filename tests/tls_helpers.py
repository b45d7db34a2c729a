"""Throwaway TLS on 127.0.0.1 for tests (not a test module): certificates made on the spot by the ``openssl``
binary (offline), and a one-event HTTPS server that records handshakes and requests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from test_client_helpers import WAIT, json_chunk

__all__ = ["TlsServer", "make_certificate", "tls_server"]


@dataclass
class TlsServer:
    """An HTTPS server on 127.0.0.1 (one thread per connection, every socket with a timeout) that answers
    every request with a one-event stream, and records handshakes and requests."""

    context: ssl.SSLContext
    handshakes_failed: list[str] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    alpn: list[str | None] = field(default_factory=list)  # the protocol each handshake selected

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.handshakes_failed.append(type(exc).__name__ + ": " + str(exc))
            conn.close()
            return
        self.alpn.append(tls.selected_alpn_protocol())
        with tls, contextlib.suppress(OSError):
            data = b""
            while b"\r\n\r\n" not in data:
                piece = tls.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:  # read it all: closing with unread bytes would reset the connection
                piece = tls.recv(65536)
                if not piece:
                    return
                body += piece
            self.requests.append(head)
            frame = json_chunk({"over": "tls"})
            tls.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
                + f"Content-Length: {len(frame)}\r\nConnection: close\r\n\r\n".encode()
                + frame
            )

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(WAIT)
        self._listener.close()


def make_certificate(directory: Path, name: str, san: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl binary is needed to make a throwaway certificate (cryptography is absent)")
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName={san}"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@contextlib.contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[TlsServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2", "http/1.1"])  # so the client's offer shows
    server = TlsServer(context)
    try:
        yield server
    finally:
        server.close()
