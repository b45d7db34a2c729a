"""Cold start: from a new process to the first event from a loopback server; ours vs boto3 vs httpx's floor.

The server is ``bench_client.LoopbackServer``: a separate process answering every request with a recorded
emulator stream (one event-stream frame per HTTP chunk). Each contender is a new Python process, started
and timed by this script; credentials and region come from the environment (``AWS_ACCESS_KEY_ID``...,
``AWS_REGION``), as in most deployments, with ``HOME`` an empty directory and no AWS config files:

* ``httpx floor``       -- ``import httpx; httpx.Client()``: the floor any client on httpx pays
* ``httpx first chunk`` -- the floor plus one POST and its first raw body chunk (what the round trip costs)
* ``ours``              -- ``import client``, build ``BedrockRuntimeClient``, stream until the first event
  (its default http client: on ``StdlibTransport``, so httpcore and h11 are never imported)
* ``ours httpx``        -- the same with ``transport="httpx"`` (httpx's own transport)
* ``boto3``             -- ``import boto3``, ``boto3.client("bedrock-runtime")``,
  ``invoke_model_with_response_stream``, first event

Measured per process: wall time from just before the process is spawned to the first event (the child
reports ``time.monotonic()``, a system-wide clock, at that moment), its CPU time (user + system over its
whole life, which other load on a busy machine disturbs less) and peak RSS (``ru_maxrss`` of that child,
from ``os.wait4``). Reported: medians over interleaved rounds (the order alternates every round); ours -
floor as the median of the per-round differences (goal: <= 20 ms and <= 4 MiB); boto3 against ours as the
median of the per-round ratios and differences.

Bytecode cache: this environment sets ``PYTHONDONTWRITEBYTECODE=1``, which makes every process compile every
module it imports (about three times the import time). Users run with ``.pyc`` files, so by default the
children run with that variable removed and ``PYTHONPYCACHEPREFIX`` pointing at a fresh temporary directory
that one warm-up run of each contender fills; ``--no-bytecode-cache`` measures the compile-everything case.

Reproduce (from the repository root, with the dev venv)::

    .venv/bin/python benchmarks/bench_cold_start.py               # 15 rounds (~30 s)
    .venv/bin/python benchmarks/bench_cold_start.py --rounds 31 --json
    .venv/bin/python benchmarks/bench_cold_start.py --no-bytecode-cache
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench_client import ACCESS_KEY, BODY, MODEL, REGION, SECRET_KEY, LoopbackServer

# Each child prints "<time.monotonic() at the first event> <modules imported>" on its last line.
_REPORT = "print(time.monotonic(), len(sys.modules), flush=True)"

FLOOR = f"""
import sys, time
import httpx
httpx.Client()
{_REPORT}
"""

HTTPX_FIRST_CHUNK = f"""
import sys, time
import httpx
with httpx.Client() as http:
    with http.stream("POST", sys.argv[1] + "/model/m/invoke-with-response-stream", content=b"{{}}") as r:
        next(r.iter_raw())
        {_REPORT}
"""

OURS = f"""
import sys, time
import client
with client.BedrockRuntimeClient(endpoint_url=sys.argv[1]) as bedrock:
    with bedrock.invoke_model_with_response_stream(sys.argv[2], sys.argv[3]) as stream:
        for event in stream:
            {_REPORT}
            break
"""

OURS_HTTPX = OURS.replace("endpoint_url=sys.argv[1]", 'endpoint_url=sys.argv[1], transport="httpx"')

BOTO3 = f"""
import sys, time
import boto3
bedrock = boto3.client("bedrock-runtime", endpoint_url=sys.argv[1])
response = bedrock.invoke_model_with_response_stream(modelId=sys.argv[2], body=sys.argv[3])
for event in response["body"]:
    {_REPORT}
    break
"""

CONTENDERS = {
    "httpx floor": FLOOR,
    "httpx first chunk": HTTPX_FIRST_CHUNK,
    "ours": OURS,
    "ours httpx": OURS_HTTPX,
    "boto3": BOTO3,
}
_CHILD_TIMEOUT = 60.0


@dataclass(frozen=True)
class Sample:
    """One child process: seconds from spawn to the first event, its CPU seconds (user + system, whole
    life), peak RSS in bytes, modules imported."""

    first_event: float
    cpu: float
    peak_rss: int
    modules: int


def child_environment(pycache: str | None) -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="bench-cold-home-")
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        {
            "HOME": home,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def run_child(code: str, url: str, env: dict[str, str]) -> Sample:
    argv = [sys.executable, "-c", code, url, MODEL, BODY.decode()]
    started = time.monotonic()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    watchdog = threading.Timer(_CHILD_TIMEOUT, process.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    lines = out.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise SystemExit(f"a contender failed (exit {process.returncode}):\n{err[-2000:]}")
    at, modules = lines[-1].split()
    # ru_maxrss is in KiB on Linux.
    return Sample(float(at) - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, int(modules))


def import_times(code: str, url: str, env: dict[str, str]) -> dict[str, int]:
    """Self import time in microseconds of every module ``code`` imports (``python -X importtime``)."""
    argv = [sys.executable, "-X", "importtime", "-c", code, url, MODEL, BODY.decode()]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=_CHILD_TIMEOUT, check=True)
    times: dict[str, int] = {}
    for line in done.stderr.splitlines():
        # "import time: <self us> | <cumulative us> | <indented module name>"
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[0][12:].strip().isdigit():
            times[parts[2].strip()] = int(parts[0][12:])
    return times


def added_imports(url: str, env: dict[str, str], runs: int) -> dict[str, float]:
    """Milliseconds of self import time the ``ours`` child spends on modules the floor does not import,
    grouped by top-level package (best of ``runs`` for each module: the least disturbed figure)."""
    floor = set(import_times(FLOOR, url, env))
    best: dict[str, int] = {}
    for _ in range(runs):
        for module, micros in import_times(OURS, url, env).items():
            if module not in floor:
                best[module] = min(micros, best.get(module, micros))
    groups: dict[str, float] = {}
    for module, micros in best.items():
        top = module.split(".")[0]
        group = "sigv4.providers" if module.startswith("sigv4.providers") else top
        groups[group] = groups.get(group, 0.0) + micros / 1e3
    return dict(sorted(groups.items(), key=lambda item: -item[1]))


def run_benchmark(url: str, rounds: int, bytecode_cache: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cold-pycache-") as pycache:
        env = child_environment(pycache if bytecode_cache else None)
        for code in CONTENDERS.values():  # warm-up: fills the bytecode cache, the OS page cache
            run_child(code, url, env)
        samples: dict[str, list[Sample]] = {name: [] for name in CONTENDERS}
        names = list(CONTENDERS)
        for round_index in range(rounds):
            for name in names if round_index % 2 == 0 else names[::-1]:
                samples[name].append(run_child(CONTENDERS[name], url, env))
        imports = added_imports(url, env, runs=5)

    def values(name: str, attribute: str) -> list[float]:
        return [float(getattr(sample, attribute)) for sample in samples[name]]

    def median_of(name: str, attribute: str) -> float:
        return statistics.median(values(name, attribute))

    def paired(a: str, b: str, attribute: str, how: str) -> float:
        pairs = zip(values(a, attribute), values(b, attribute), strict=True)
        if how == "difference":
            return statistics.median(x - y for x, y in pairs)
        return statistics.median(x / y for x, y in pairs)

    return {
        "python": platform.python_version(),
        "rounds": rounds,
        "bytecode_cache": bytecode_cache,
        "first_event_ms": {name: median_of(name, "first_event") * 1e3 for name in CONTENDERS},
        "cpu_ms": {name: median_of(name, "cpu") * 1e3 for name in CONTENDERS},
        "peak_rss_mib": {name: median_of(name, "peak_rss") / 2**20 for name in CONTENDERS},
        "modules": {name: round(median_of(name, "modules")) for name in CONTENDERS},
        "ours_minus_floor_ms": paired("ours", "httpx floor", "first_event", "difference") * 1e3,
        "ours_minus_floor_cpu_ms": paired("ours", "httpx floor", "cpu", "difference") * 1e3,
        "ours_minus_floor_mib": paired("ours", "httpx floor", "peak_rss", "difference") / 2**20,
        "ours_httpx_minus_floor_ms": paired("ours httpx", "httpx floor", "first_event", "difference") * 1e3,
        "ours_httpx_minus_floor_mib": paired("ours httpx", "httpx floor", "peak_rss", "difference") / 2**20,
        "ours_minus_first_chunk_ms": paired("ours", "httpx first chunk", "first_event", "difference") * 1e3,
        "boto3_over_ours_time": paired("boto3", "ours", "first_event", "ratio"),
        "boto3_over_ours_cpu": paired("boto3", "ours", "cpu", "ratio"),
        "boto3_minus_ours_ms": paired("boto3", "ours", "first_event", "difference") * 1e3,
        "boto3_over_ours_rss": paired("boto3", "ours", "peak_rss", "ratio"),
        "boto3_minus_ours_mib": paired("boto3", "ours", "peak_rss", "difference") / 2**20,
        "ours_added_import_ms": imports,
    }


def report(results: dict[str, Any]) -> None:
    cache = (
        "warm .pyc cache (PYTHONPYCACHEPREFIX; PYTHONDONTWRITEBYTECODE removed), as users run"
        if results["bytecode_cache"]
        else "NO bytecode cache (PYTHONDONTWRITEBYTECODE=1: every import compiled, ~3x slower imports)"
    )
    print(
        "Cold start: new process -> first event from a loopback server process\n"
        f"python {results['python']}; {cache}; medians of {results['rounds']} interleaved rounds\n"
    )
    print(f"{'contender':<20}{'first event':>13}{'CPU':>11}{'peak RSS':>12}{'modules':>9}")
    for name in CONTENDERS:
        print(
            f"{name:<20}{results['first_event_ms'][name]:>10.1f} ms{results['cpu_ms'][name]:>8.1f} ms"
            f"{results['peak_rss_mib'][name]:>8.1f} MiB{results['modules'][name]:>9}"
        )
    print("(CPU: the child's user + system time over its whole life, less disturbed by other load)")
    time_ok = results["ours_minus_floor_ms"] <= 20
    rss_ok = results["ours_minus_floor_mib"] <= 4
    print(
        f"\nours - httpx floor: {results['ours_minus_floor_ms']:+.1f} ms (goal <= 20: "
        f"{'met' if time_ok else 'not met'}), {results['ours_minus_floor_mib']:+.2f} MiB (goal <= 4: "
        f"{'met' if rss_ok else 'not met'})"
    )
    print(
        f"ours httpx (transport='httpx') - httpx floor: {results['ours_httpx_minus_floor_ms']:+.1f} ms, "
        f"{results['ours_httpx_minus_floor_mib']:+.2f} MiB"
    )
    print(
        f"ours - httpx first chunk (our modules, signing, decoding, without the HTTP round trip): "
        f"{results['ours_minus_first_chunk_ms']:+.1f} ms"
    )
    print(f"ours - httpx floor in CPU time: {results['ours_minus_floor_cpu_ms']:+.1f} ms")
    print(
        f"boto3 vs ours: {results['boto3_over_ours_time']:.2f}x the time "
        f"({results['boto3_over_ours_cpu']:.2f}x the CPU) "
        f"({results['boto3_minus_ours_ms']:+.0f} ms), {results['boto3_over_ours_rss']:.2f}x the peak RSS "
        f"({results['boto3_minus_ours_mib']:+.1f} MiB)"
    )
    imports = results["ours_added_import_ms"]
    print(
        f"\nImport time of the modules ours loads beyond the floor (self time, best of 5 runs with "
        f"-X importtime): {sum(imports.values()):.1f} ms"
    )
    for group, millis in imports.items():
        print(f"  {millis:6.2f} ms  {group}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the children with PYTHONDONTWRITEBYTECODE=1 (compile every import, every time)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")
    args = parser.parse_args()
    with LoopbackServer(events=2000) as server:
        results = run_benchmark(server.url, args.rounds, not args.no_bytecode_cache)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
