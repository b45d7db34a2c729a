"""Bidirectional streaming: events per second and CPU per event in each direction, memory per open session.

The server is the duplex emulator (``client.emulator.duplex.DuplexServer``, h2c on 127.0.0.1) in a separate
process, so the figures are this client's own: it verifies every event's chained signature and answers a
``textOutput`` per ``textInput``. Measured, per round (median of ``--rounds``):

* ``send only``   -- ``--events`` signed input events that get no answer (``contentEnd``): the upstream cost
  (JSON, base64, inner frame, SigV4 event signature, outer frame, HTTP/2 DATA, flow control);
* ``duplex``      -- ``--events`` ``textInput`` sent by one task while another reads the ``--events``
  ``textOutput`` answers: events per second each way, CPU per event (both directions together);
* in memory, no I/O: signing one event (``EventSigner.sign`` of an encoded inner message) and decoding and
  typing one answer frame (``SessionCore`` fed an h2 DATA frame), the floors of the two directions;
* ``--sessions`` sessions open at once (one HTTP/2 connection each): Python heap per session (tracemalloc).

There is no boto3 baseline: botocore has no implementation of this operation ("requires h2"). CPU time is this
process's (the server's is not counted); wall-clock figures include the server and the loopback.

Reproduce (from the repository root, with the dev venv)::

    .venv/bin/python benchmarks/bench_duplex.py              # 2000 events each way, 5 rounds, 200 sessions
    .venv/bin/python benchmarks/bench_duplex.py --rounds 9 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

MODEL = "amazon.nova-sonic-v1:0"
REGION = "us-east-1"


def _serve() -> None:
    """The server child: start the emulator, print its URL, run until standard input closes."""
    from client.emulator.duplex import DuplexServer

    with DuplexServer(receive_window=1024 * 1024) as server:
        print(server.url, flush=True)
        sys.stdin.read()


def _credentials() -> Any:
    from client.emulator.auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY
    from sigv4 import Credentials

    return Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)


async def _open(url: str) -> Any:
    from client.duplex import open_bidirectional_stream

    return await open_bidirectional_stream(
        endpoint=url, model_id=MODEL, region=REGION, credentials=_credentials(), timeout=30.0
    )


def _text(index: int) -> dict[str, Any]:
    return {
        "event": {"textInput": {"promptName": "p", "contentName": "c", "content": f"event number {index}"}}
    }


async def _send_only(url: str, events: int) -> tuple[float, float]:
    session = await _open(url)
    quiet = {"event": {"contentEnd": {"promptName": "p", "contentName": "c"}}}
    async with session:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(events):
            await session.send(quiet)
        await session.end_input()
        async for _chunk in session:
            pass
        return time.perf_counter() - wall, time.process_time() - cpu


async def _duplex(url: str, events: int) -> tuple[float, float, int]:
    import anyio

    session = await _open(url)
    received = 0
    async with session:
        wall, cpu = time.perf_counter(), time.process_time()

        async def reader() -> None:
            nonlocal received
            async for _chunk in session:
                received += 1

        async with anyio.create_task_group() as group:
            group.start_soon(reader)
            for index in range(events):
                await session.send(_text(index))
            await session.end_input()
        return time.perf_counter() - wall, time.process_time() - cpu, received


async def _memory(url: str, sessions: int) -> float:
    opened = []
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    try:
        for _ in range(sessions):
            session = await _open(url)
            await session.send({"event": {"sessionStart": {}}})
            opened.append(session)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        for session in opened:
            await session.aclose()
    return (after - before) / sessions


def _in_memory(events: int) -> tuple[float, float]:
    """CPU microseconds to sign one input event, and to decode and type one answer frame."""
    import base64
    from datetime import datetime, timezone

    import h2.config
    import h2.connection

    from client.duplex.session_core import SessionCore, encode_input_event
    from eventstream import Message, encode
    from sigv4 import EventSigner

    creds = _credentials()
    inner = encode_input_event(json.dumps(_text(1)).encode())
    signer = EventSigner(creds, REGION, "bedrock", "ab" * 32)
    when = datetime.now(timezone.utc)
    cpu = time.process_time()
    for _ in range(events):
        signer.sign(inner, when)
    sign_us = (time.process_time() - cpu) / events * 1e6

    core = SessionCore(
        scheme="http",
        authority="x",
        path="/model/m/invoke-with-bidirectional-stream",
        headers=[],
        signer=EventSigner(creds, REGION, "bedrock", "ab" * 32),
        receive_window=2**31 - 1,
    )
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    server.initiate_connection()
    core.start()
    server.receive_data(core.data_to_send())
    core.receive(server.data_to_send())
    server.send_headers(1, [(":status", "200")])
    answer = json.dumps(
        {"event": {"textOutput": {"content": "You said: event number 1", "role": "ASSISTANT"}}}
    )
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    frame = encode(Message(headers, b'{"bytes":"' + base64.b64encode(answer.encode()) + b'"}'))
    core.receive(server.data_to_send())
    pieces = []
    for _ in range(events):
        server.send_data(1, frame)
        pieces.append(server.data_to_send())
        server.increment_flow_control_window(len(frame))
        server.increment_flow_control_window(len(frame), 1)
    cpu = time.process_time()
    for piece in pieces:
        core.receive(piece)
        core.next_event()
    decode_us = (time.process_time() - cpu) / events * 1e6
    return sign_us, decode_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000, help="events each way per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, median reported (default 5)")
    parser.add_argument("--sessions", type=int, default=200, help="sessions open at once (default 200)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve()
        return

    import anyio

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the server child did not start (got {url!r})")
        send_rounds, duplex_rounds = [], []
        for _ in range(args.rounds):
            send_rounds.append(anyio.run(_send_only, url, args.events))
            wall, cpu, received = anyio.run(_duplex, url, args.events)
            if received != args.events:
                raise SystemExit(f"duplex round got {received} answers, expected {args.events}")
            duplex_rounds.append((wall, cpu))
        per_session = anyio.run(_memory, url, args.sessions)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)
    sign_us, decode_us = _in_memory(args.events)
    events = args.events
    send_wall = statistics.median(w for w, _ in send_rounds)
    send_cpu = statistics.median(c for _, c in send_rounds)
    duplex_wall = statistics.median(w for w, _ in duplex_rounds)
    duplex_cpu = statistics.median(c for _, c in duplex_rounds)
    figures = {
        "python": platform.python_version(),
        "events_each_way": events,
        "rounds": args.rounds,
        "send_only_events_per_s": round(events / send_wall),
        "send_only_cpu_us_per_event": round(send_cpu / events * 1e6, 1),
        "duplex_events_per_s_each_way": round(events / duplex_wall),
        "duplex_cpu_us_per_event_pair": round(duplex_cpu / events * 1e6, 1),
        "in_memory_sign_us_per_event": round(sign_us, 1),
        "in_memory_decode_us_per_event": round(decode_us, 1),
        "sessions_open": args.sessions,
        "heap_kib_per_open_session": round(per_session / 1024, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"bidirectional streaming, {events} events each way, median of {args.rounds} rounds")
    print(
        f"  send only : {figures['send_only_events_per_s']:>7} events/s, "
        f"{figures['send_only_cpu_us_per_event']:>6} us CPU per event"
    )
    print(
        f"  duplex    : {figures['duplex_events_per_s_each_way']:>7} events/s each way, "
        f"{figures['duplex_cpu_us_per_event_pair']:>6} us CPU per event in + event out"
    )
    print(f"  in memory : sign {sign_us:.1f} us per input event, decode+type {decode_us:.1f} us per answer")
    print(f"  {args.sessions} open sessions: {figures['heap_kib_per_open_session']} KiB of Python heap each")


if __name__ == "__main__":
    main()
