"""ConverseStream throughput: our typed events vs boto3's ``converse_stream`` on the same loopback stream.

The server is a separate process: it answers every request on 127.0.0.1 with one recorded HTTP response, a
ConverseStream answer of ``--events`` text deltas (``messageStart``, the deltas, ``contentBlockStop``,
``messageStop``, ``metadata``; each event padded with ``p`` as the service does; one event-stream frame per
HTTP chunk). Both clients parse the same chunks and frames, and the server costs next to nothing.

Contenders, one full stream per round each, interleaved (the order alternates every round):

* ``boto3``               -- ``converse_stream(...)`` and iterate ``response["stream"]`` (dicts, via the
  shape model)
* ``ours``                -- ``client.BedrockRuntimeClient().converse_stream``: typed events (the default
  transport of the sync client)
* ``ours (httpx transport)`` -- the same on an explicit ``httpx.Client()`` (httpx's own transport)
* ``ours async``          -- ``client.AsyncBedrockRuntimeClient`` on one asyncio loop

Reported: median CPU microseconds per event (this process's CPU time; wall clock too) and each one's ratio
to boto3 (median of the per-round ratios). Then the cost of accumulating ``stream.response``: a 1 MB answer
in 100k deltas against one in 10k deltas, in memory (linear = 10x).

With ``--cold-start``: new processes instead, from spawn to the first ConverseStream event, each against
httpx's floor (``import httpx; httpx.Client()``), with ``bench_cold_start.py``'s method (bytecode cache, CPU
and peak RSS of each child, medians of interleaved rounds): ``import client`` + ``converse_stream`` against
``import boto3`` + ``converse_stream``.

Reproduce (from the repository root, after the test install)::

    .venv/bin/python benchmarks/bench_converse.py                # 2000 events, 21 rounds
    .venv/bin/python benchmarks/bench_converse.py --rounds 41 --json
    .venv/bin/python benchmarks/bench_converse.py --cold-start   # 15 rounds of new processes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MESSAGES: list[Any] = [{"role": "user", "content": [{"text": "Tell me a long story about event streams."}]}]
_READY = "ready"


def converse_events(deltas: int, piece: str = "word ") -> list[tuple[str, dict[str, Any]]]:
    """The events of a ConverseStream answer of ``deltas`` text deltas."""
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    events += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})] * deltas
    events += [
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        (
            "metadata",
            {
                "usage": {"inputTokens": 10, "outputTokens": deltas, "totalTokens": deltas + 10},
                "metrics": {"latencyMs": 1234},
            },
        ),
    ]
    return events


def frames(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    from eventstream import Message, encode

    out = []
    for number, (name, payload) in enumerate(events):
        body = json.dumps({**payload, "p": "abcdefghijklmnopqrstuvwxyz"[: number % 26]}).encode()
        headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
        out.append(encode(Message(headers, body)))
    return out


def recording(deltas: int) -> bytes:
    """The whole HTTP response: head, then one chunk per frame."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
        b"x-amzn-RequestId: bench-1\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = b"".join(b"%x\r\n%s\r\n" % (len(frame), frame) for frame in frames(converse_events(deltas)))
    return head + body + b"0\r\n\r\n"


def serve(deltas: int) -> None:
    # bench_client's connection handler: read each request, answer it with the recording.
    from bench_client import _answer

    answer = recording(deltas)
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    print(_READY, listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        conn.settimeout(30)
        threading.Thread(target=_answer, args=(conn, answer), daemon=True).start()


Contender = Callable[[], int]


def ours(url: str, *, httpx_transport: bool) -> Contender:
    import httpx

    import client
    from sigv4 import Credentials

    bedrock = client.BedrockRuntimeClient(
        REGION,
        credentials=Credentials(ACCESS_KEY, SECRET_KEY),
        endpoint_url=url,
        max_attempts=1,
        http_client=httpx.Client(timeout=30) if httpx_transport else None,
    )

    def run() -> int:
        count = 0
        with bedrock.converse_stream(MODEL, MESSAGES) as stream:
            for _event in stream:
                count += 1
            assert stream.response.stop_reason == "end_turn"
        return count

    return run


def ours_async(url: str) -> Contender:
    import client
    from sigv4 import Credentials

    loop = asyncio.new_event_loop()
    bedrock = client.AsyncBedrockRuntimeClient(
        REGION, credentials=Credentials(ACCESS_KEY, SECRET_KEY), endpoint_url=url, max_attempts=1
    )

    async def stream_all() -> int:
        count = 0
        stream = await bedrock.converse_stream(MODEL, MESSAGES)
        async with stream:
            async for _event in stream:
                count += 1
        return count

    return lambda: loop.run_until_complete(stream_all())


def boto3_contender(url: str) -> Contender:
    import boto3
    from botocore.config import Config

    bedrock = boto3.client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}),
    )

    def run() -> int:
        count = 0
        for _event in bedrock.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
            count += 1
        return count

    return run


def accumulation(deltas: int, rounds: int) -> float:
    """Median CPU seconds to accumulate an answer of ``deltas`` deltas of ``1 MB / 100k`` bytes each."""
    from client.converse_events import type_converse_message
    from client.converse_response import ConverseAccumulator
    from eventstream import Decoder

    messages = Decoder().feed(b"".join(frames(converse_events(deltas, piece="0123456789"))))
    typed = [
        type_converse_message(m.headers, m.payload, index=i, request_id=None) for i, m in enumerate(messages)
    ]
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        accumulator = ConverseAccumulator()
        for event in typed:
            accumulator.add(event)
        assert len(accumulator.finish().text) == 10 * deltas
        samples.append(time.process_time() - start)
    return statistics.median(samples)


_COLD_OURS = """
import sys, time
import client
with client.BedrockRuntimeClient(endpoint_url=sys.argv[1]) as bedrock:
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with bedrock.converse_stream(sys.argv[2], messages) as stream:
        for event in stream:
            print(time.monotonic(), len(sys.modules), flush=True)
            break
"""

_COLD_BOTO3 = """
import sys, time
import boto3
bedrock = boto3.client("bedrock-runtime", endpoint_url=sys.argv[1])
messages = [{"role": "user", "content": [{"text": "hi"}]}]
response = bedrock.converse_stream(modelId=sys.argv[2], messages=messages)
for event in response["stream"]:
    print(time.monotonic(), len(sys.modules), flush=True)
    break
"""


def cold_start(url: str, rounds: int) -> dict[str, float]:
    """Medians over interleaved rounds of new processes (see the module docstring)."""
    import tempfile

    from bench_cold_start import FLOOR, child_environment, run_child

    contenders = {"httpx floor": FLOOR, "ours": _COLD_OURS, "boto3": _COLD_BOTO3}
    with tempfile.TemporaryDirectory(prefix="bench-converse-pycache-") as pycache:
        env = child_environment(pycache)
        for code in contenders.values():
            run_child(code, url, env)
        samples: dict[str, list[Any]] = {name: [] for name in contenders}
        names = list(contenders)
        for number in range(rounds):
            for name in names if number % 2 == 0 else names[::-1]:
                samples[name].append(run_child(contenders[name], url, env))

    def paired(a: str, b: str, attribute: str) -> float:
        pairs = zip(samples[a], samples[b], strict=True)
        values = [float(getattr(x, attribute) - getattr(y, attribute)) for x, y in pairs]
        return float(statistics.median(values))

    def ratio(a: str, b: str, attribute: str) -> float:
        pairs = zip(samples[a], samples[b], strict=True)
        values = [float(getattr(x, attribute) / getattr(y, attribute)) for x, y in pairs]
        return float(statistics.median(values))

    return {
        "ours_minus_floor_ms": paired("ours", "httpx floor", "first_event") * 1e3,
        "ours_minus_floor_cpu_ms": paired("ours", "httpx floor", "cpu") * 1e3,
        "ours_minus_floor_mib": paired("ours", "httpx floor", "peak_rss") / 2**20,
        "boto3_over_ours_time": ratio("boto3", "ours", "first_event"),
        "boto3_minus_ours_mib": paired("boto3", "ours", "peak_rss") / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cold-start", action="store_true", help="time new processes to the first event")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", str(args.events)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        word, _, port = process.stdout.readline().strip().partition(" ")
        if word != _READY:
            raise SystemExit("the loopback server did not start")
        url = f"http://127.0.0.1:{int(port)}"
        if args.cold_start:
            figures = cold_start(url, args.rounds if args.rounds != 21 else 15)
            print(
                json.dumps(figures, indent=2)
                if args.json
                else "\n".join(f"{name:28} {value:8.2f}" for name, value in figures.items())
            )
            return
        contenders: dict[str, Contender] = {
            "boto3": boto3_contender(url),
            "ours": ours(url, httpx_transport=False),
            "ours (httpx transport)": ours(url, httpx_transport=True),
            "ours async": ours_async(url),
        }
        expected = args.events + 4
        for name, run in contenders.items():  # warm up, and check every contender sees every event
            assert run() == expected, name
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        wall: dict[str, list[float]] = {name: [] for name in contenders}
        ratios: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for number in range(args.rounds):
            order = names if number % 2 == 0 else names[::-1]
            this_round: dict[str, float] = {}
            for name in order:
                start_cpu, start_wall = time.process_time(), time.perf_counter()
                contenders[name]()
                this_round[name] = (time.process_time() - start_cpu) / expected
                cpu[name].append(this_round[name])
                wall[name].append((time.perf_counter() - start_wall) / expected)
            for name in names:
                ratios[name].append(this_round["boto3"] / this_round[name])
        small, large = accumulation(10_000, 5), accumulation(100_000, 5)
    finally:
        process.terminate()
        process.wait(5)
    result = {
        name: {
            "cpu_us_per_event": statistics.median(cpu[name]) * 1e6,
            "wall_us_per_event": statistics.median(wall[name]) * 1e6,
            "ratio_to_boto3_cpu": statistics.median(ratios[name]),
        }
        for name in names
    }
    accumulation_figures = {
        "10k_deltas_ms": small * 1e3,
        "100k_deltas_ms": large * 1e3,
        "ratio": large / small,
    }
    if args.json:
        print(json.dumps({"stream": result, "accumulation": accumulation_figures}, indent=2))
        return
    print(f"ConverseStream, {args.events} text deltas (+4 events), {args.rounds} interleaved rounds")
    print(f"{'contender':26} {'CPU us/event':>13} {'wall us/event':>14} {'boto3/ours (CPU)':>17}")
    for name in names:
        row = result[name]
        print(
            f"{name:26} {row['cpu_us_per_event']:13.2f} {row['wall_us_per_event']:14.2f} "
            f"{row['ratio_to_boto3_cpu']:16.2f}x"
        )
    print(
        f"accumulating stream.response: 10k deltas {small * 1e3:.1f} ms, "
        f"100k deltas (1 MB) {large * 1e3:.1f} ms "
        f"-> {large / small:.1f}x the time for 10x the deltas (linear = 10x)"
    )


if __name__ == "__main__":
    main()
