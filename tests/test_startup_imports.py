"""What the first request pays for at import: only the modules it needs (the cold-start budget).

Timing belongs to benchmarks/bench_cold_start.py; this test pins the *set* of modules, which is what keeps
the time down and what a careless top-level import would break.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from client.emulator import Emulator

# A client streaming one answer with credentials and region from the environment loads none of these: the
# emulator, the boto3 drop-in, the CLI, the model-family helpers, the shared-file parser, the network and
# process credential sources, `uuid` (it pulls in `platform`) and anyio's thread pool (async use only).
MUST_NOT_LOAD = (
    "client.emulator",
    "client.compat",
    "client.cli",
    "client.families",
    "sigv4.providers.shared_files",
    "sigv4.providers.ini",
    "sigv4.providers.container",
    "sigv4.providers.instance_metadata",
    "sigv4.providers.process",
    "uuid",
    "platform",
    "anyio.to_thread",
)

# What StdlibTransport and the transport decision stand on; `import httpx` loads all of them itself, so the
# default transport adds only its own two small modules (checked below, not assumed).
LOADED_BY_HTTPX = ("http.client", "ssl", "select", "threading", "urllib.request")

PROBE = """
import json, sys
import httpx
floor = set(sys.modules)
import client
with client.BedrockRuntimeClient(endpoint_url=sys.argv[1]) as bedrock:
    body = {"inputText": "hi"}
    with bedrock.invoke_model_with_response_stream("amazon.titan-text-lite-v1", body) as stream:
        events = sum(1 for _ in stream)
    transport = type(bedrock._http._transport).__name__
print(json.dumps({"events": events, "loaded": sorted(set(sys.modules) - floor), "floor": sorted(floor),
                  "transport": transport}))
"""


def probe(url: str, transport: str | None) -> tuple[int, list[str], list[str], str]:
    """One streamed answer in a fresh interpreter: events, modules it loaded, the floor, the transport."""
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": "/nonexistent",
    }
    if transport is not None:
        env["BEDROCK_STREAM_TRANSPORT"] = transport
    done = subprocess.run(
        [sys.executable, "-c", PROBE, url], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["events"], report["loaded"], report["floor"], report["transport"]


@pytest.mark.parametrize("transport", [None, "httpx"], ids=["default-stdlib", "httpx"])
def test_streaming_one_answer_loads_only_what_it_needs(transport: str | None) -> None:
    with Emulator() as emu:
        events, loaded, floor, used = probe(emu.url, transport)
    assert events > 0
    assert "client.stream" in loaded and "sigv4.signer" in loaded  # the probe saw the real work
    assert sorted(m for m in loaded if m.startswith(MUST_NOT_LOAD)) == []
    assert [m for m in LOADED_BY_HTTPX if m not in floor] == []  # `import httpx` pays for these anyway
    if transport is None:
        # The default: http.client underneath; httpcore and h11 (httpx's own wire layer) are never loaded.
        assert used == "StdlibTransport"
        assert "client.stdlib_transport" in loaded and "client.transport_choice" in loaded
        assert sorted(m for m in loaded if m.startswith(("httpcore", "h11"))) == []
    else:
        assert used == "HTTPTransport"
        assert "client.stdlib_transport" not in loaded
