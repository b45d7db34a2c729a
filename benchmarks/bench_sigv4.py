"""SigV4 signing speed: sigv4 vs botocore on a typical Bedrock Runtime request, as ratios.

The request: ``POST /model/<inference-profile ARN, %-encoded>/invoke-with-response-stream`` with a ~1 KB
Anthropic messages JSON body, temporary credentials (session token), Content-Type and
X-Amzn-Bedrock-Accept headers. Contenders, each timed in batches, interleaved round by round:

* ``botocore``        -- ``botocore.auth.SigV4Auth.add_auth`` on an ``AWSRequest`` (re-signed in place)
* ``sign_request``    -- ``sigv4.sign_request`` on the same URL, headers and body
* ``httpx SigV4Auth`` -- ``sigv4.SigV4Auth.sign`` on an ``httpx.Request`` (what the client does per send),
  compared with ``botocore, httpx headers``: add_auth on an AWSRequest carrying the same eight headers
  httpx sends (host, accept, accept-encoding, connection, user-agent, content-type, content-length,
  x-amzn-bedrock-accept), so both sign the same header set
* ``*, cold URL``     -- the same with a different model path on every call (512 paths, more than the
  signer's 256-entry URL memo), so the URL canonicalization is paid each time

Both sides read the clock per signature (as in real use) and reuse their derived signing key. Reported:
median seconds per signature of each contender and the ratio baseline / contender (medians of the
interleaved rounds). Before timing, the two implementations are checked to produce the same signature.

Reproduce (from the repository root, with the dev venv)::

    .venv/bin/python benchmarks/bench_sigv4.py            # 25 rounds x 2000 signatures per contender
    .venv/bin/python benchmarks/bench_sigv4.py --rounds 51 --number 5000
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
import httpx
from botocore.auth import SigV4Auth as BotoSigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

import sigv4
from sigv4 import Credentials, SigV4Auth, sign_request

REGION = "us-east-1"
SERVICE = "bedrock"
ENDPOINT = f"https://bedrock-runtime.{REGION}.amazonaws.com"
ACCESS_KEY = "ASIAEXAMPLEEXAMPLE12"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# Session tokens from STS are several hundred characters of base64.
TOKEN = ("IQoJb3JpZ2luX2VjEXAMPLE/" * 30)[:700] + "=="
MODEL = (
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
)


def model_url(model: str) -> str:
    return f"{ENDPOINT}/model/{quote(model, safe='')}/invoke-with-response-stream"


def bedrock_body() -> bytes:
    prompt = "Summarize the following support ticket in three bullet points. " * 13
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1024,
            "temperature": 0.2,
            "system": "You are a concise assistant.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        }
    ).encode()
    return body


BODY = bedrock_body()
URL = model_url(MODEL)
COLD_URLS = [model_url(f"{MODEL[:-1]}{n}") for n in range(512)]
HEADERS = [("Content-Type", "application/json"), ("X-Amzn-Bedrock-Accept", "application/json")]

Contender = Callable[[int], None]


def httpx_headers(url: str) -> list[tuple[str, str]]:
    """The headers an httpx.Client sends with the benchmark request."""
    request = httpx.Client().build_request("POST", url, content=BODY, headers=dict(HEADERS))
    return request.headers.multi_items()


def botocore_contender(urls: list[str], headers: list[tuple[str, str]] | None = None) -> Contender:
    auth = BotoSigV4Auth(BotoCredentials(ACCESS_KEY, SECRET, TOKEN), SERVICE, REGION)
    requests = [
        AWSRequest(method="POST", url=url, data=BODY, headers=dict(headers or HEADERS)) for url in urls
    ]
    count = len(requests)

    def run(number: int) -> None:
        for i in range(number):
            auth.add_auth(requests[i % count])

    return run


def sign_request_contender(urls: list[str]) -> Contender:
    credentials = Credentials(ACCESS_KEY, SECRET, TOKEN)
    count = len(urls)

    def run(number: int) -> None:
        for i in range(number):
            sign_request(
                "POST",
                urls[i % count],
                HEADERS,
                BODY,
                credentials=credentials,
                region=REGION,
                service=SERVICE,
            )

    return run


def httpx_contender(urls: list[str]) -> Contender:
    auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET, TOKEN), REGION, SERVICE)
    client = httpx.Client()
    requests = [client.build_request("POST", url, content=BODY, headers=dict(HEADERS)) for url in urls]
    credentials = Credentials(ACCESS_KEY, SECRET, TOKEN)
    count = len(requests)

    def run(number: int) -> None:
        for i in range(number):
            auth.sign(requests[i % count], credentials)

    return run


def check_same_signature() -> None:
    """Both implementations sign the benchmark request identically (else the comparison means nothing)."""
    when = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    ours = sign_request(
        "POST",
        URL,
        HEADERS,
        BODY,
        credentials=Credentials(ACCESS_KEY, SECRET, TOKEN),
        region=REGION,
        service=SERVICE,
        timestamp=when,
    )
    request = AWSRequest(method="POST", url=URL, data=BODY, headers=dict(HEADERS))
    naive = when.replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: naive):
        BotoSigV4Auth(BotoCredentials(ACCESS_KEY, SECRET, TOKEN), SERVICE, REGION).add_auth(request)
    if ours.header("Authorization") != request.headers["Authorization"]:
        raise SystemExit("sigv4 and botocore disagree on the benchmark request: not timing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds (default 25)")
    parser.add_argument("--number", type=int, default=2000, help="signatures per batch (default 2000)")
    args = parser.parse_args()

    check_same_signature()
    # name -> (contender, name of its botocore baseline)
    contenders: dict[str, tuple[Contender, str]] = {
        "botocore": (botocore_contender([URL]), "botocore"),
        "sign_request": (sign_request_contender([URL]), "botocore"),
        "botocore, httpx headers": (botocore_contender([URL], httpx_headers(URL)), "botocore, httpx headers"),
        "httpx SigV4Auth": (httpx_contender([URL]), "botocore, httpx headers"),
        "botocore, cold URL": (botocore_contender(COLD_URLS), "botocore, cold URL"),
        "sign_request, cold URL": (sign_request_contender(COLD_URLS), "botocore, cold URL"),
    }
    for run, _ in contenders.values():  # warm up: caches, signing keys, bytecode specialization
        run(args.number // 4 + 1)

    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, (run, _) in contenders.items():
            start = time.perf_counter()
            run(args.number)
            samples[name].append((time.perf_counter() - start) / args.number)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"SigV4, Bedrock InvokeModelWithResponseStream request ({len(BODY)} B body, session token, ARN path)"
    )
    print(
        f"python {platform.python_version()}, botocore {botocore.__version__}, httpx {httpx.__version__}, "
        f"sigv4 from {sigv4.__file__}"
    )
    print(f"{args.rounds} interleaved rounds x {args.number} signatures; medians per signature\n")
    print(f"{'contender':<28}{'median':>12}{'speed-up':>11}  baseline")
    for name, median in medians.items():
        baseline = contenders[name][1]
        print(f"{name:<28}{median * 1e6:>10.2f}us{medians[baseline] / median:>10.1f}x  {baseline}")


if __name__ == "__main__":
    main()
