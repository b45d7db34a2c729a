"""Load: many concurrent streams against the emulator; events/s and memory per open stream, ours vs boto3.

The emulator (``client.emulator.Emulator``, pace 0, SigV4 checked) runs in its own process. Every contender
runs in a fresh process of its own, once per round, with the order alternating between rounds:

* ``ours async``     -- ``AsyncBedrockRuntimeClient`` on asyncio, one task per stream
* ``ours threads``   -- ``BedrockRuntimeClient`` shared by one thread per stream, on the sync client's
  default transport (``client.stdlib_transport.StdlibTransport``, i.e. ``http.client``)
* ``ours thr httpx``  -- the same on httpx's own transport (``transport="httpx"``: httpcore + h11)
* ``boto3 threads``  -- one boto3 client shared by one thread per stream (``max_pool_connections`` = streams)
* ``aiobotocore``    -- optional, one task per stream, run by the Python given with ``--aiobotocore-python``
  (aiobotocore pins its own botocore, so it lives in a venv of its own; see benchmarks/README.md)

Each of ours gets a pool as large as the number of streams (the default pool, on either transport, holds
100 connections, and the streams beyond it would queue). Each process:

1. *throughput*: opens every stream at once and reads each to the end; reports the wall time from the first
   request to the last event (events/s = streams x events / wall time) and its own CPU time per event
   (steadier than wall time on a busy machine); every stream must deliver exactly ``--events`` events;
2. *memory*: after one warm-up stream, opens every stream, reads each one's first event, and while all are
   open (each waits for the others) measures, against the figures taken just before opening them: the
   process's resident memory (RSS, from /proc: Python objects, buffers, thread stacks) and the Python heap
   (``tracemalloc``), each divided by the number of streams. Then every stream is read to the end.

Reported: medians over the rounds; each contender's events/s and CPU time per event against boto3 threads,
as medians of the per-round ratios (CPU time is what other load on the machine disturbs least); the
emulator process's CPU use during the throughput runs (near 100% means the server, not the client, set the
pace: the client figures are then lower bounds).

Reproduce (from the repository root, with the dev venv)::

    .venv/bin/python benchmarks/bench_load.py                              # 200 streams x 500 events
    .venv/bin/python benchmarks/bench_load.py --streams 1000 --events 1000 --rounds 1   # bigger, longer
    .venv/bin/python benchmarks/bench_load.py --aiobotocore-python /tmp/aiobotocore-venv/bin/python
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Tell me a story about many streams at once."}],
    }
)
# An Anthropic messages answer: five events around the text chunks the emulator is asked for.
AROUND_TEXT = 5
CONTENDERS = ("ours async", "ours threads", "ours thr httpx", "boto3 threads", "aiobotocore")
_READY = "ready"
_WAIT = 300.0  # bound on any single wait (a stream, the gathering of all streams, a child process)
# Seconds between frames for the memory measurement of streams that hold only their own state.
PACED = 0.25


# --- the emulator process ------------------------------------------------------------------------------


def serve(events: int, pace: float) -> None:
    """Child process: run the emulator until the parent closes our standard input."""
    from client.emulator import Emulator

    with Emulator(chunk_count=events - AROUND_TEXT, pace=pace) as emulator:
        print(_READY, emulator.port, flush=True)
        sys.stdin.read()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- one contender (runs in its own process) -------------------------------------------------------------


class Gate:
    """Memory mode: counts streams that reached their first event; ``go`` once all have been measured."""

    def __init__(self, streams: int) -> None:
        self.streams = streams
        self.arrived = 0
        self._lock = threading.Lock()
        self.all_arrived = threading.Event()
        self.go = threading.Event()

    def arrive(self) -> None:
        with self._lock:
            self.arrived += 1
            if self.arrived == self.streams:
                self.all_arrived.set()


def start_measuring() -> tuple[int, int]:
    tracemalloc.start()
    return resident_bytes(), tracemalloc.get_traced_memory()[0]


def measure(streams: int, baseline: tuple[int, int]) -> dict[str, float]:
    rss = resident_bytes() - baseline[0]
    heap = tracemalloc.get_traced_memory()[0] - baseline[1]
    tracemalloc.stop()
    return {"rss_per_stream": rss / streams, "heap_per_stream": heap / streams}


def event_counts(counts: list[int]) -> dict[str, float]:
    return {"streams": len(counts), "fewest": min(counts), "most": max(counts)}


#: Called by a stream at its first event; True tells it to stop reading and close (memory mode).
FirstEvent = Callable[[], bool]
AsyncFirstEvent = Callable[[], Awaitable[bool]]


def run_threads(
    streams: int, memory: bool, open_stream: Callable[[], Any], read: Callable[[Any, FirstEvent], int]
) -> dict[str, float]:
    """One thread per stream; ``read(stream, first_event)`` reads it and returns how many events it got."""
    # Warm-up (lazy imports, pools, caches): a whole stream, or in memory mode (maybe paced) its first event.
    read(open_stream(), lambda: memory)
    gate = Gate(streams)
    counts: list[int] = []
    errors: list[BaseException] = []

    def first_event() -> bool:
        if not memory:
            return False
        gate.arrive()
        if not gate.go.wait(_WAIT):
            raise TimeoutError("the other streams did not open in time")
        return True

    def worker() -> None:
        try:
            counts.append(read(open_stream(), first_event))
        except BaseException as exc:
            errors.append(exc)
            gate.all_arrived.set()  # do not leave the measuring thread waiting

    baseline = start_measuring() if memory else (0, 0)
    cpu = time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(streams)]
    for thread in threads:
        thread.start()
    result: dict[str, float] = {}
    if memory:
        gate.all_arrived.wait(_WAIT)
        if not errors:
            result = measure(streams, baseline)
        gate.go.set()
    for thread in threads:
        thread.join(_WAIT)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if errors:
        raise errors[0]
    result.update(wall=wall, cpu=cpu, **event_counts(counts))
    return result


async def run_tasks(
    streams: int, memory: bool, read: Callable[[AsyncFirstEvent], Awaitable[int]]
) -> dict[str, float]:
    """One asyncio task per stream; ``read(first_event)`` opens and reads a stream, returns its events."""

    async def warm_up_stop() -> bool:
        return memory

    await read(warm_up_stop)  # warm-up, as in run_threads
    arrived = 0
    all_arrived = asyncio.Event()
    go = asyncio.Event()

    async def first_event() -> bool:
        nonlocal arrived
        if not memory:
            return False
        arrived += 1
        if arrived == streams:
            all_arrived.set()
        await asyncio.wait_for(go.wait(), _WAIT)
        return True

    baseline = start_measuring() if memory else (0, 0)
    cpu = time.process_time()
    started = time.perf_counter()
    tasks = [asyncio.ensure_future(read(first_event)) for _ in range(streams)]
    result: dict[str, float] = {}
    if memory:
        waiting = asyncio.ensure_future(all_arrived.wait())
        # Every task waits at its first event until `go`: one that finishes before then has failed.
        await asyncio.wait([waiting, *tasks], timeout=_WAIT, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            await asyncio.wait_for(asyncio.gather(*tasks), _WAIT)  # raises the failure
            raise RuntimeError("a stream ended before every stream had opened")
        result = measure(streams, baseline)
        go.set()
    counts = await asyncio.wait_for(asyncio.gather(*tasks), _WAIT)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    result.update(wall=wall, cpu=cpu, **event_counts(counts))
    return result


def contender_ours_async(url: str, streams: int, memory: bool) -> dict[str, float]:
    import httpx

    import client
    from sigv4 import Credentials

    async def main() -> dict[str, float]:
        limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
        async with (
            httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(_WAIT)) as http,
            client.AsyncBedrockRuntimeClient(
                REGION, credentials=Credentials(ACCESS_KEY, SECRET_KEY), endpoint_url=url, http_client=http
            ) as bedrock,
        ):

            async def read(first_event: AsyncFirstEvent) -> int:
                count = 0
                stream = await bedrock.invoke_model_with_response_stream(MODEL, BODY)
                async with stream:
                    async for _event in stream:
                        count += 1
                        if count == 1 and await first_event():
                            break
                return count

            return await run_tasks(streams, memory, read)

    return asyncio.run(main())


def contender_ours_threads(url: str, streams: int, memory: bool) -> dict[str, float]:
    """The sync client on its default transport, StdlibTransport, with a pool of ``streams`` connections."""
    return _ours_threads(url, streams, memory, httpx_transport=False)


def contender_ours_threads_httpx(url: str, streams: int, memory: bool) -> dict[str, float]:
    """The sync client on httpx's own transport, with a pool of ``streams`` connections."""
    return _ours_threads(url, streams, memory, httpx_transport=True)


def _ours_threads(url: str, streams: int, memory: bool, *, httpx_transport: bool) -> dict[str, float]:
    import httpx

    import client
    from client.stdlib_transport import StdlibTransport
    from sigv4 import Credentials

    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    timeout = httpx.Timeout(_WAIT)
    http = (
        httpx.Client(limits=limits, timeout=timeout)
        if httpx_transport
        else httpx.Client(transport=StdlibTransport(limits=limits), timeout=timeout)
    )
    with (
        http,
        client.BedrockRuntimeClient(
            REGION, credentials=Credentials(ACCESS_KEY, SECRET_KEY), endpoint_url=url, http_client=http
        ) as bedrock,
    ):

        def read(stream: Any, first_event: FirstEvent) -> int:
            count = 0
            with stream:
                for _event in stream:
                    count += 1
                    if count == 1 and first_event():
                        break
            return count

        return run_threads(
            streams, memory, lambda: bedrock.invoke_model_with_response_stream(MODEL, BODY), read
        )


def contender_boto3_threads(url: str, streams: int, memory: bool) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    bedrock = boto3.client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(
            max_pool_connections=streams,
            retries={"total_max_attempts": 1},
            connect_timeout=_WAIT,
            read_timeout=_WAIT,
        ),
    )

    def read(response: Any, first_event: FirstEvent) -> int:
        count = 0
        try:
            for _event in response["body"]:
                count += 1
                if count == 1 and first_event():
                    break
        finally:
            response["body"].close()
        return count

    return run_threads(
        streams, memory, lambda: bedrock.invoke_model_with_response_stream(modelId=MODEL, body=BODY), read
    )


def contender_aiobotocore(url: str, streams: int, memory: bool) -> dict[str, float]:
    # Imported by name: aiobotocore lives in another venv, so the type checker never sees it.
    aio_config: Any = importlib.import_module("aiobotocore.config")
    aio_session: Any = importlib.import_module("aiobotocore.session")

    async def main() -> dict[str, float]:
        config = aio_config.AioConfig(
            max_pool_connections=streams,
            retries={"total_max_attempts": 1},
            connect_timeout=_WAIT,
            read_timeout=_WAIT,
        )
        async with aio_session.get_session().create_client(
            "bedrock-runtime",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=config,
        ) as bedrock:

            async def read(first_event: AsyncFirstEvent) -> int:
                count = 0
                response = await bedrock.invoke_model_with_response_stream(modelId=MODEL, body=BODY)
                try:
                    async for _event in response["body"]:
                        count += 1
                        if count == 1 and await first_event():
                            break
                finally:
                    response["body"].close()
                return count

            return await run_tasks(streams, memory, read)

    return asyncio.run(main())


CHILDREN: dict[str, Callable[[str, int, bool], dict[str, float]]] = {
    "ours async": contender_ours_async,
    "ours threads": contender_ours_threads,
    "ours thr httpx": contender_ours_threads_httpx,
    "boto3 threads": contender_boto3_threads,
    "aiobotocore": contender_aiobotocore,
}


# --- the parent ------------------------------------------------------------------------------------------


class EmulatorProcess:
    """The emulator in a child process (``pace`` seconds between frames); ``pid`` and ``url``."""

    def __init__(self, events: int, pace: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", str(events), "--pace", str(pace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != _READY:
            self.close()
            raise SystemExit(f"the emulator process did not start: {line!r}")
        self.pid = self._process.pid
        self.url = f"http://127.0.0.1:{int(line[1])}"

    def close(self) -> None:
        process = self._process
        if process.stdin is not None:
            process.stdin.close()  # the child's stdin.read() returns: it closes the emulator and exits
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def run_child(
    python: str, name: str, url: str, *, streams: int, events: int, memory: bool
) -> dict[str, float]:
    argv = [python, os.path.abspath(__file__), "--child", name, "--url", url, "--streams", str(streams)]
    argv += ["--events", str(events)] + (["--memory"] if memory else [])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=_WAIT * 2, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    # Memory runs stop every stream after its first event; throughput runs read every event.
    expected = 1 if memory else events
    if result["streams"] != streams or result["fewest"] != expected or result["most"] != expected:
        raise SystemExit(
            f"{name}: {result['streams']:.0f} streams completed, with {result['fewest']:.0f} to "
            f"{result['most']:.0f} events each; expected {streams} x {expected}"
        )
    return result


def run_benchmark(streams: int, events: int, rounds: int, aiobotocore_python: str | None) -> dict[str, Any]:
    pythons = {name: sys.executable for name in CONTENDERS if name != "aiobotocore"}
    if aiobotocore_python:
        pythons["aiobotocore"] = aiobotocore_python
    names = list(pythons)
    throughput: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    server_busy: list[float] = []
    emulator = EmulatorProcess(events, pace=0.0)
    try:
        for round_index in range(rounds):
            for name in names if round_index % 2 == 0 else names[::-1]:
                cpu = process_cpu_seconds(emulator.pid)
                result = run_child(
                    pythons[name], name, emulator.url, streams=streams, events=events, memory=False
                )
                throughput[name].append(result)
                # The child's start-up and warm-up stream fall inside this window but outside its wall
                # time: the figure overstates a little how busy the server was during the timed part.
                server_busy.append((process_cpu_seconds(emulator.pid) - cpu) / result["wall"])
        backlog = {
            name: run_child(pythons[name], name, emulator.url, streams=streams, events=events, memory=True)
            for name in names
        }
    finally:
        emulator.close()
    paced_emulator = EmulatorProcess(events, pace=PACED)
    try:
        idle = {
            name: run_child(
                pythons[name], name, paced_emulator.url, streams=streams, events=events, memory=True
            )
            for name in names
        }
    finally:
        paced_emulator.close()
    total = streams * events

    def median(name: str, key: str) -> float:
        return statistics.median(result[key] for result in throughput[name])

    def kib(runs: dict[str, dict[str, float]], key: str) -> dict[str, float]:
        return {name: runs[name][key] / 1024 for name in names}

    baseline = throughput["boto3 threads"]
    return {
        "python": platform.python_version(),
        "streams": streams,
        "events_per_stream": events,
        "rounds": rounds,
        "paced_seconds_per_event": PACED,
        "events_per_s": {name: total / median(name, "wall") for name in names},
        "wall_s": {name: median(name, "wall") for name in names},
        "ratio_vs_boto3_threads": {
            name: statistics.median(
                b["wall"] / r["wall"] for b, r in zip(baseline, throughput[name], strict=True)
            )
            for name in names
        },
        "cpu_us_per_event": {name: median(name, "cpu") / total * 1e6 for name in names},
        "cpu_ratio_vs_boto3_threads": {
            name: statistics.median(
                b["cpu"] / r["cpu"] for b, r in zip(baseline, throughput[name], strict=True)
            )
            for name in names
        },
        "rss_kib_per_open_stream_paced": kib(idle, "rss_per_stream"),
        "heap_kib_per_open_stream_paced": kib(idle, "heap_per_stream"),
        "rss_kib_per_open_stream_backlog": kib(backlog, "rss_per_stream"),
        "heap_kib_per_open_stream_backlog": kib(backlog, "heap_per_stream"),
        "emulator_cpu_busy_median": statistics.median(server_busy),
    }


def report(results: dict[str, Any]) -> None:
    print(
        f"Load: {results['streams']} concurrent streams x {results['events_per_stream']} events against the "
        f"emulator (its own process, pace 0)\npython {results['python']}; medians of {results['rounds']} "
        "interleaved rounds\n"
    )
    print(f"{'contender':<15}{'events/s':>11}{'vs boto3 thr':>14}{'CPU/event':>12}{'vs boto3 thr':>14}")
    for name, rate in results["events_per_s"].items():
        print(
            f"{name:<15}{rate:>11,.0f}{results['ratio_vs_boto3_threads'][name]:>13.2f}x"
            f"{results['cpu_us_per_event'][name]:>10.1f}us{results['cpu_ratio_vs_boto3_threads'][name]:>13.2f}x"
        )
    print(
        "(events/s: wall clock, all streams; CPU/event: the client process's CPU time, which other load on\n"
        " the machine disturbs less; both ratios are medians of per-round ratios)"
    )
    busy = results["emulator_cpu_busy_median"]
    note = " (server-bound: client figures are lower bounds)" if busy > 0.9 else ""
    print(f"emulator process CPU during the throughput runs: {busy:.0%} of one core{note}")
    paced = results["paced_seconds_per_event"]
    print(
        f"\nMemory per open stream, all {results['streams']} open at once (KiB: RSS / Python heap):\n"
        f"  paced   -- the emulator sends a frame every {paced:g} s: each stream holds only its own state\n"
        "  backlog -- pace 0: the whole answer was already sent; an asyncio client has read up to 256 KiB\n"
        "             of it into memory, a blocking one leaves it in the kernel's socket buffer (no RSS)\n"
    )
    print(f"{'contender':<15}{'paced RSS':>11}{'heap':>9}{'backlog RSS':>14}{'heap':>9}")
    for name in results["events_per_s"]:
        print(
            f"{name:<15}{results['rss_kib_per_open_stream_paced'][name]:>11.1f}"
            f"{results['heap_kib_per_open_stream_paced'][name]:>9.1f}"
            f"{results['rss_kib_per_open_stream_backlog'][name]:>14.1f}"
            f"{results['heap_kib_per_open_stream_backlog'][name]:>9.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams (default 200)")
    parser.add_argument("--events", type=int, default=500, help="events per stream (default 500)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--aiobotocore-python", help="a Python with aiobotocore installed (optional)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")
    # Internal: the emulator child and the contender children.
    parser.add_argument("--serve", type=int, metavar="EVENTS", help=argparse.SUPPRESS)
    parser.add_argument("--pace", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.pace)
        return
    if args.child is not None:
        print(json.dumps(CHILDREN[args.child](args.url, args.streams, args.memory)))
        return
    if args.events <= AROUND_TEXT or args.streams < 1:
        parser.error(f"--events must be more than {AROUND_TEXT} and --streams at least 1")
    results = run_benchmark(args.streams, args.events, args.rounds, args.aiobotocore_python)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
