"""What the first request pays for at import: only the modules it needs (the cold-start budget).

Timing belongs to benchmarks/bench_cold_start.py; this test pins the *set* of modules, which is what keeps
the time down and what a careless top-level import would break.
"""

from __future__ import annotations

import json
import subprocess
import sys

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

PROBE = """
import json, sys
import httpx
floor = set(sys.modules)
import client
with client.BedrockRuntimeClient(endpoint_url=sys.argv[1]) as bedrock:
    body = {"inputText": "hi"}
    with bedrock.invoke_model_with_response_stream("amazon.titan-text-lite-v1", body) as stream:
        events = sum(1 for _ in stream)
print(json.dumps({"events": events, "loaded": sorted(set(sys.modules) - floor)}))
"""


def loaded_by_one_request(url: str) -> tuple[int, list[str]]:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": "/nonexistent",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, url], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["events"], report["loaded"]


def test_streaming_one_answer_loads_only_what_it_needs() -> None:
    with Emulator() as emu:
        events, loaded = loaded_by_one_request(emu.url)
    assert events > 0
    assert "client.stream" in loaded and "sigv4.signer" in loaded  # the probe saw the real work
    assert sorted(m for m in loaded if m.startswith(MUST_NOT_LOAD)) == []
