"""The sync twin (client.duplex.open_bidirectional_stream_sync): duplex from blocking calls and threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from client import Chunk, ThrottlingException
from client.duplex import SyncBidirectionalSession, open_bidirectional_stream_sync
from client.emulator.duplex import DuplexFault, DuplexServer
from sigv4 import Credentials

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def text(content: str) -> dict[str, Any]:
    return {"event": {"textInput": {"promptName": "p", "contentName": "c", "content": content}}}


def open_sync(url: str) -> SyncBidirectionalSession:
    return open_bidirectional_stream_sync(
        endpoint=url, model_id="amazon.nova-sonic-v1:0", region="us-east-1", credentials=CREDS, timeout=5.0
    )


def content(chunk: Chunk) -> str:
    value: str = chunk.json()["event"]["textOutput"]["content"]
    return value


def test_send_one_read_its_answer_send_the_next() -> None:
    with DuplexServer() as server, open_sync(server.url) as session:
        session.send(text("first"))
        assert content(next(session)) == "You said: first"
        assert server.sessions[0].events_verified == 1
        session.send(text("second"))
        assert content(next(session)) == "You said: second"
        session.end_input()
        assert list(session) == []
        assert session.session.events_sent == 2


def test_one_thread_sends_while_another_reads() -> None:
    received: list[str] = []
    with DuplexServer() as server, open_sync(server.url) as session:
        reader = threading.Thread(target=lambda: received.extend(content(chunk) for chunk in session))
        reader.start()
        for index in range(30):
            session.send(text(f"n{index}"))
        session.end_input()
        reader.join(10)
        assert not reader.is_alive()
    assert received == [f"You said: n{index}" for index in range(30)]


def test_errors_are_raised_in_the_calling_thread() -> None:
    with (
        DuplexServer(fault=DuplexFault("throttle")) as server,
        open_sync(server.url) as session,
        pytest.raises(ThrottlingException),
    ):
        next(session)
