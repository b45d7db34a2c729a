"""Streaming throughput: our client vs boto3 on the same loopback event stream, as ratios.

The server is a separate process (so it does not share the clients' interpreter or GIL): it asks the
emulator (``client.emulator.Emulator``) once for an Anthropic Claude messages answer of ``--events``
events, records the complete HTTP response (head and chunked body: one event-stream frame per HTTP chunk, as
the service sends them), and then answers every request on 127.0.0.1 with that recording in one write. Both
clients therefore parse the same 2000 HTTP chunks and 2000 frames, and the server costs next to nothing.

Contenders, one full stream each per round, interleaved (the order alternates every round):

* ``boto3``           -- ``invoke_model_with_response_stream`` and iterate ``response["body"]``
* ``ours``            -- ``client.BedrockRuntimeClient`` as built by default (on
  ``client.stdlib_transport.StdlibTransport``, i.e. ``http.client``): iterate the ``ResponseStream``
* ``ours (httpx transport)`` -- the same client with ``transport="httpx"`` (httpcore + h11)
* ``ours async``      -- ``client.AsyncBedrockRuntimeClient`` on one asyncio loop (httpx's transport)
* ``httpx raw``       -- httpx alone: ``iter_raw()`` over the same response, nothing decoded (our floor)
* ``urllib3 raw``     -- urllib3 alone: ``stream()`` over the same response (boto3's transport)

Reported: median microseconds per event (wall clock, and this process's CPU time, which other load on a
busy machine disturbs less) and events per second of each, and each one's ratio to boto3 (the median of the
per-round ratios). A breakdown in CPU time follows: the per-event cost of decoding and typing in memory
(``eventstream.Decoder.feed`` and ``client.stream.StreamCore.feed``, one frame per call, as the network
delivers them), what is left for iteration and dispatch, and the ceiling any client on httpx can reach
(boto3's time over httpx's raw chunk loop). The garbage collector stays on (as in real use). Before
timing, both clients are checked to yield the same chunk bytes.

Reproduce (from the repository root, with the dev venv)::

    .venv/bin/python benchmarks/bench_client.py                 # 2000 events, 31 rounds (~15 s)
    .venv/bin/python benchmarks/bench_client.py --rounds 61 --json

``benchmarks/bench_cold_start.py`` starts the same server (``LoopbackServer``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Tell me a long story about event streams."}],
    }
).encode()
# An Anthropic messages answer: message_start, content_block_start, text deltas, content_block_stop,
# message_delta, message_stop.
AROUND_TEXT = 5
_READY = "ready"
_STARTUP_TIMEOUT = 30.0
_SOCKET_TIMEOUT = 30.0


# --- the loopback server (runs in its own process) ---------------------------------------------------------


def record(events: int) -> bytes:
    """The emulator's complete HTTP response (head + chunked body) to BODY, for ``events`` events."""
    from client.emulator import Emulator

    path = "/model/" + MODEL.replace(":", "%3A") + "/invoke-with-response-stream"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n"
    )
    parts = []
    with (
        Emulator(require_auth=False, chunk_count=events - AROUND_TEXT) as emulator,
        socket.create_connection(("127.0.0.1", emulator.port), timeout=_SOCKET_TIMEOUT) as sock,
    ):
        sock.sendall(head.encode() + BODY)
        while data := sock.recv(1 << 16):
            parts.append(data)
    response = b"".join(parts)
    if not response.startswith(b"HTTP/1.1 200 "):
        raise SystemExit(f"the emulator did not stream: {response[:300]!r}")
    return response


def _answer(conn: socket.socket, recording: bytes) -> None:
    """Serve requests on one kept-alive connection: read each request, send the recording."""
    try:
        with conn, conn.makefile("rb") as reader:
            while True:
                length = 0
                while True:
                    line = reader.readline(65536)
                    if not line:
                        return  # the client closed the connection
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    reader.read(length)
                conn.sendall(recording)
    except OSError:
        pass  # a client that stops reading early (cold start: first event, then exit) resets the connection


def serve(events: int) -> None:
    """Child process: record the stream, listen on 127.0.0.1, print the port, serve until killed."""
    recording = record(events)
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    print(_READY, listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        conn.settimeout(_SOCKET_TIMEOUT)
        threading.Thread(target=_answer, args=(conn, recording), daemon=True).start()


class LoopbackServer:
    """The recorded-stream server in a child process (``with LoopbackServer(2000) as server: server.url``)."""

    def __init__(self, events: int) -> None:
        self.events = events
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> LoopbackServer:
        process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", str(self.events)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line = _readline_within(process, _STARTUP_TIMEOUT)
        word, _, port = line.partition(" ")
        if word != _READY:
            self.close()
            raise SystemExit(f"the loopback server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(port)}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _readline_within(process: subprocess.Popen[str], seconds: float) -> str:
    result: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(seconds)
    return result[0].strip() if result else ""


# --- contenders --------------------------------------------------------------------------------------------

Contender = Callable[[], int]


def ours_contender(url: str, *, transport: str | None = None) -> tuple[Contender, Callable[[], list[bytes]]]:
    """The sync client with its default http client (``transport=None``) or the one ``transport`` names."""
    import httpx

    import client
    from client.stdlib_transport import StdlibTransport
    from sigv4 import Credentials

    bedrock = client.BedrockRuntimeClient(
        REGION,
        credentials=Credentials(ACCESS_KEY, SECRET_KEY),
        endpoint_url=url,
        max_attempts=1,
        transport=transport,
    )
    expected = httpx.HTTPTransport if transport == "httpx" else StdlibTransport
    if type(bedrock._http._transport) is not expected:
        raise SystemExit(f"the client is on {bedrock._http._transport!r}, not {expected.__name__}")

    def run() -> int:
        count = 0
        with bedrock.invoke_model_with_response_stream(MODEL, BODY) as stream:
            for _event in stream:
                count += 1
        return count

    def collect() -> list[bytes]:
        with bedrock.invoke_model_with_response_stream(MODEL, BODY) as stream:
            return [event.bytes for event in stream]

    return run, collect


def ours_async_contender(url: str) -> Contender:
    import client
    from sigv4 import Credentials

    loop = asyncio.new_event_loop()
    bedrock = client.AsyncBedrockRuntimeClient(
        REGION, credentials=Credentials(ACCESS_KEY, SECRET_KEY), endpoint_url=url, max_attempts=1
    )

    async def stream_all() -> int:
        count = 0
        stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
        async with stream:
            async for _event in stream:
                count += 1
        return count

    def run() -> int:
        return loop.run_until_complete(stream_all())

    return run


def boto3_contender(url: str) -> tuple[Contender, Callable[[], list[bytes]]]:
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
        for _event in bedrock.invoke_model_with_response_stream(modelId=MODEL, body=BODY)["body"]:
            count += 1
        return count

    def collect() -> list[bytes]:
        response = bedrock.invoke_model_with_response_stream(modelId=MODEL, body=BODY)
        return [event["chunk"]["bytes"] for event in response["body"]]

    return run, collect


def httpx_raw_contender(url: str) -> tuple[Contender, Callable[[], bytes]]:
    import httpx

    http = httpx.Client()
    target = f"{url}/model/{MODEL.replace(':', '%3A')}/invoke-with-response-stream"

    def run() -> int:
        count = 0
        with http.stream("POST", target, content=BODY) as response:
            for _raw in response.iter_raw():
                count += 1
        return count

    def body() -> bytes:
        with http.stream("POST", target, content=BODY) as response:
            return b"".join(response.iter_raw())

    return run, body


def urllib3_raw_contender(url: str) -> Contender:
    import urllib3

    pool = urllib3.PoolManager()
    target = f"{url}/model/{MODEL.replace(':', '%3A')}/invoke-with-response-stream"

    def run() -> int:
        response = pool.request("POST", target, body=BODY, preload_content=False)
        count = 0
        for _raw in response.stream():
            count += 1
        response.release_conn()
        return count

    return run


# --- in memory: where our per-event time goes ------------------------------------------------------------


def frames_of(body: bytes) -> list[bytes]:
    """Split an event-stream body into its frames (what one HTTP chunk each carries)."""
    from eventstream import Decoder

    decoder = Decoder()
    offsets = [offset for offset, _ in decoder.feed_with_offsets(body)]
    decoder.close()
    return [body[start:end] for start, end in zip(offsets, [*offsets[1:], len(body)], strict=True)]


def in_memory_costs(frames: list[bytes], rounds: int) -> dict[str, float]:
    """Median CPU seconds per frame of the decoder alone and of decoding + typing, one frame per call."""
    from client.stream import StreamCore
    from eventstream import Decoder

    def decoder_only() -> None:
        feed = Decoder().feed
        for frame in frames:
            feed(frame)

    def core() -> None:
        feed = StreamCore(None).feed
        for frame in frames:
            feed(frame)

    samples: dict[str, list[float]] = {"decoder": [], "core": []}
    for _ in range(rounds):
        for name, run in (("decoder", decoder_only), ("core", core)):
            start = time.process_time()
            run()
            samples[name].append((time.process_time() - start) / len(frames))
    return {name: statistics.median(values) for name, values in samples.items()}


# --- the benchmark -----------------------------------------------------------------------------------------


def interleaved(
    contenders: dict[str, Contender], rounds: int, events: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds per event of each contender, one stream each per round, order alternating."""
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            contenders[name]()
            wall[name].append((time.perf_counter() - start) / events)
            cpu[name].append((time.process_time() - start_cpu) / events)
    return wall, cpu


def run_benchmark(url: str, events: int, rounds: int) -> dict[str, Any]:
    ours, ours_collect = ours_contender(url)
    ours_httpx, ours_httpx_collect = ours_contender(url, transport="httpx")
    boto, boto_collect = boto3_contender(url)
    httpx_raw, httpx_body = httpx_raw_contender(url)
    mine, theirs = ours_collect(), boto_collect()
    if mine != theirs or len(mine) != events:
        raise SystemExit(f"the clients disagree: ours {len(mine)} events, boto3 {len(theirs)}; not timing")
    if ours_httpx_collect() != mine:
        raise SystemExit("ours on httpx's transport disagrees with ours on the default; not timing")
    contenders: dict[str, Contender] = {
        "boto3": boto,
        "ours": ours,
        "ours (httpx transport)": ours_httpx,
        "ours async": ours_async_contender(url),
        "httpx raw": httpx_raw,
        "urllib3 raw": urllib3_raw_contender(url),
    }
    chunks = {name: run() for name, run in contenders.items()}  # warm up; raw readers count HTTP pieces
    for name in ("boto3", "ours", "ours (httpx transport)", "ours async"):
        if chunks[name] != events:
            raise SystemExit(f"{name} streamed {chunks[name]} events, expected {events}")
    for run in contenders.values():
        run()
    samples, cpu_samples = interleaved(contenders, rounds, events)
    medians = {name: statistics.median(values) for name, values in samples.items()}

    def ratios(per_round: dict[str, list[float]]) -> dict[str, float]:
        baseline = per_round["boto3"]
        return {
            name: statistics.median(b / s for b, s in zip(baseline, values, strict=True))
            for name, values in per_round.items()
        }

    memory = in_memory_costs(frames_of(httpx_body()), rounds)
    return {
        "python": platform.python_version(),
        "events": events,
        "rounds": rounds,
        "raw_pieces": {name: chunks[name] for name in ("httpx raw", "urllib3 raw")},
        "us_per_event": {name: value * 1e6 for name, value in medians.items()},
        "best_us_per_event": {name: min(values) * 1e6 for name, values in samples.items()},
        "events_per_s": {name: 1 / value for name, value in medians.items()},
        "ratio_vs_boto3": ratios(samples),
        "cpu_us_per_event": {name: statistics.median(values) * 1e6 for name, values in cpu_samples.items()},
        "cpu_ratio_vs_boto3": ratios(cpu_samples),
        "in_memory_us_per_frame": {name: value * 1e6 for name, value in memory.items()},
    }


def report(results: dict[str, Any]) -> None:
    import boto3
    import httpx

    us = results["us_per_event"]
    best = results["best_us_per_event"]
    eps = results["events_per_s"]
    ratio = results["ratio_vs_boto3"]
    print(
        f"Streaming {results['events']} events from a loopback server process (one frame per HTTP chunk)\n"
        f"python {results['python']}, httpx {httpx.__version__}, boto3 {boto3.__version__}; "
        f"medians of {results['rounds']} interleaved rounds (best round in brackets)\n"
    )
    cpu = results["cpu_us_per_event"]
    cpu_ratio = results["cpu_ratio_vs_boto3"]
    columns = f"{'per event':>12}{'(best)':>10}{'events/s':>12}{'vs boto3':>10}{'CPU':>10}{'vs boto3':>10}"
    print(f"{'contender':<26}{columns}")
    for name in us:
        print(
            f"{name:<26}{us[name]:>10.2f}us{best[name]:>8.2f}us{eps[name]:>12,.0f}{ratio[name]:>9.2f}x"
            f"{cpu[name]:>8.2f}us{cpu_ratio[name]:>9.2f}x"
        )
    print("(CPU: this process's CPU time per event, which other load on the machine disturbs less)")
    pieces = results["raw_pieces"]
    print(f"(raw readers: pieces per stream {pieces}; a frame split across two TCP reads counts twice)")
    memory = results["in_memory_us_per_frame"]
    floor = cpu["httpx raw"]
    on_httpx = "ours (httpx transport)"
    rest = cpu[on_httpx] - floor - memory["core"]
    print("\nWhere the time per event goes on httpx's transport (medians of CPU time):")
    print(f"  httpx + httpcore + h11 yielding one raw chunk  {floor:6.2f}us")
    print(f"  decode + type, in memory (StreamCore.feed)     {memory['core']:6.2f}us")
    print(f"     of which the decoder (Decoder.feed)         {memory['decoder']:6.2f}us")
    print(f"  iteration, dispatch, request setup (the rest)  {rest:6.2f}us")
    print(f"  = ours (httpx transport)                       {cpu[on_httpx]:6.2f}us")
    urllib3_raw = cpu["urllib3 raw"]
    print(f"boto3: {cpu['boto3']:.2f}us per event, of which urllib3 yielding a raw chunk {urllib3_raw:.2f}us")
    print(f"ceiling for any client on httpx's transport (boto3 / httpx raw): {cpu['boto3'] / floor:.2f}x")
    print(
        f"ours, the default client (StdlibTransport): {ratio['ours']:.2f}x wall, "
        f"{cpu_ratio['ours']:.2f}x CPU; "
        f"goal >= 2x: {'met' if cpu_ratio['ours'] >= 2 else 'not met'}; on httpx's transport "
        f"{ratio[on_httpx]:.2f}x wall, {cpu_ratio[on_httpx]:.2f}x CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000, help="events per stream (default 2000)")
    parser.add_argument("--rounds", type=int, default=31, help="interleaved rounds (default 31)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")
    parser.add_argument("--serve", type=int, metavar="EVENTS", help=argparse.SUPPRESS)  # the server child
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    if args.events <= AROUND_TEXT:
        parser.error(f"--events must be more than {AROUND_TEXT}")
    with LoopbackServer(args.events) as server:
        results = run_benchmark(server.url, args.events, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
