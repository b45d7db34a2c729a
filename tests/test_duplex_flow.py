"""HTTP/2 flow control both ways: a slow reader and a slow server cost bounded memory, never a hang."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import httpx
import pytest

from client import StreamError
from client.duplex import open_bidirectional_stream
from client.emulator.duplex import DuplexFault, DuplexServer
from sigv4 import Credentials

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def audio(index: int, size: int) -> dict[str, Any]:
    pcm = bytes([index % 256]) * size
    content = base64.b64encode(pcm).decode()
    return {"event": {"audioInput": {"promptName": "p", "contentName": "a", "content": content}}}


def test_a_slow_reader_bounds_what_the_client_buffers() -> None:
    window = 16 * 1024
    events, size = 100, 4096

    async def main(url: str) -> None:
        session = await open_bidirectional_stream(
            endpoint=url,
            model_id="amazon.nova-sonic-v1:0",
            region="us-east-1",
            credentials=CREDS,
            timeout=5.0,
            receive_window=window,
        )
        async with session:
            # ~400 KiB of answers are produced while nothing is read: the client holds one window of them.
            for index in range(events):
                await session.send(audio(index, size))
            with anyio.fail_after(5):
                while server.sessions[0].events_verified < events:
                    await session.send({"event": {"contentEnd": {"promptName": "p", "contentName": "a"}}})
                    await anyio.sleep(0.01)
            decoder = session._core._decoder
            assert decoder is not None
            frame = decoder.bytes_received // max(1, session.buffered_events)
            assert 5000 < frame < 8000  # one audioOutput frame (4 KiB of PCM, base64 twice)
            assert decoder.bytes_received <= window + frame
            assert session.buffered_events <= window // frame + 1
            # Reading opens the window again, and everything arrives, in order.
            for index in range(events):
                chunk = await anext(session)
                body = chunk.json()["event"]["audioOutput"]
                assert base64.b64decode(body["content"]) == bytes([index % 256 ^ 0xFF]) * size
                assert session.buffered_events <= window // frame + 1

    with DuplexServer() as server:
        anyio.run(main, server.url)


def test_a_slow_server_makes_send_wait() -> None:
    events = 40

    async def main(url: str) -> None:
        session = await open_bidirectional_stream(
            endpoint=url,
            model_id="amazon.nova-sonic-v1:0",
            region="us-east-1",
            credentials=CREDS,
            timeout=5.0,
        )
        async with session:
            lag = []
            for index in range(events):
                await session.send(audio(index, 2048))
                # send returns only once the event is within the server's window: the client never runs
                # more than a window (two of these events) ahead of what the server has processed.
                verified = server.sessions[0].events_verified if server.sessions else 0
                lag.append(session.events_sent - verified)
            # Before the client reads the server's SETTINGS it may use HTTP/2's default 64 KiB window (about
            # 16 of these events); from then on, the server's 8 KiB.
            assert max(lag) <= 65_535 // 3900 + 2
            assert max(lag[-10:]) <= 3
            assert session._core.window_waits >= events // 2  # the window was really the limit
            await session.end_input()
            answers = [chunk async for chunk in session]
            assert len(answers) == events

    with DuplexServer(receive_window=8192, consume_delay=0.01) as server:
        anyio.run(main, server.url)


def test_a_window_that_stays_shut_ends_in_a_typed_error() -> None:
    async def main(url: str) -> None:
        session = await open_bidirectional_stream(
            endpoint=url,
            model_id="amazon.nova-sonic-v1:0",
            region="us-east-1",
            credentials=CREDS,
            timeout=httpx.Timeout(5.0, write=0.5),
        )
        async with session:
            await session.send(audio(0, 100))
            with pytest.raises(StreamError, match="flow-control window shut"):
                for index in range(100):
                    await session.send(audio(index, 4096))
            with pytest.raises(StreamError):  # sticky
                await session.send(audio(0, 1))

    with DuplexServer(receive_window=16 * 1024, fault=DuplexFault("stall", after=1)) as server:
        anyio.run(main, server.url)


def test_a_cancelled_send_still_goes_out_first_and_in_order() -> None:
    async def main(url: str) -> None:
        session = await open_bidirectional_stream(
            endpoint=url,
            model_id="amazon.nova-sonic-v1:0",
            region="us-east-1",
            credentials=CREDS,
            timeout=5.0,
        )
        async with session:
            completed = []
            for index in range(40):
                with anyio.move_on_after(0.002) as scope:
                    await session.send(audio(index, 4096))
                if not scope.cancelled_caught:
                    completed.append(index)
            assert len(completed) < 40  # some sends were cut while they waited for the window
            await session.end_input()
            answers = [
                base64.b64decode(chunk.json()["event"]["audioOutput"]["content"])[0] ^ 0xFF
                async for chunk in session
            ]
        # A cancelled send was either never signed or went out later: every event reached the server at
        # most once, in order, with a valid chain, and every completed send is among them.
        assert answers == sorted(set(answers))
        assert set(completed) <= set(answers)
        assert len(answers) > len(completed)  # cut sends were finished by the next one
        assert server.sessions[0].refused_at is None

    with DuplexServer(receive_window=8192, consume_delay=0.005) as server:
        anyio.run(main, server.url)
