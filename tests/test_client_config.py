"""A client's configuration is checked before anything is sent (issue 9): timeouts httpx would refuse only
later, regions that are not region names, and the submodules reachable as attributes of ``client``."""

from __future__ import annotations

import math
import subprocess
import sys

import httpx
import pytest

import client
from sigv4 import Credentials
from test_client_helpers import Loopback, loopback

__all__ = ["loopback"]

CREDS = Credentials("AKIDEXAMPLE", "secret")


@pytest.mark.parametrize(
    ("timeout", "fragment"),
    [
        (httpx.Timeout(10, read=-1), "timeout.read"),
        (httpx.Timeout(10, connect=0), "timeout.connect"),
        (httpx.Timeout(10, write=math.nan), "timeout.write"),
        (httpx.Timeout(10, pool=math.inf), "timeout.pool"),
        (-1, "timeout"),
        (0, "timeout"),
        (True, "timeout"),
        ("10", "timeout"),
    ],
)
def test_a_timeout_httpx_would_refuse_later_is_refused_at_once(
    loopback: Loopback, timeout: object, fragment: str
) -> None:
    for cls in (client.BedrockRuntimeClient, client.AsyncBedrockRuntimeClient):
        with pytest.raises(client.ParamValidationError, match=fragment):
            cls("us-east-1", credentials=CREDS, endpoint_url=loopback.url, timeout=timeout)  # type: ignore[arg-type]
    assert loopback.requests == []


def test_valid_timeouts_are_kept(loopback: Loopback) -> None:
    assert client.BedrockRuntimeClient("us-east-1", credentials=CREDS, timeout=None)._config.timeout is None
    mixed = httpx.Timeout(5, read=None)
    assert client.BedrockRuntimeClient("us-east-1", credentials=CREDS, timeout=mixed)._config.timeout is mixed


@pytest.mark.parametrize("region", ["not a region", "US-EAST-1", "us-east-1.evil.example", "", "a" * 64])
def test_a_region_must_look_like_one(region: str) -> None:
    with pytest.raises(client.ParamValidationError, match="region"):
        client.BedrockRuntimeClient(region, credentials=CREDS)


def test_submodules_are_attributes_loaded_on_first_use() -> None:
    code = (
        "import sys, client\n"
        "lazy = ('client.families', 'client.compat', 'client.emulator', 'client.converse_events')\n"
        "assert not any(name in sys.modules for name in lazy), [n for n in lazy if n in sys.modules]\n"
        "assert client.families.family_of('anthropic.claude-3-haiku-20240307-v1:0') is not None\n"
        "assert callable(client.compat.client) and client.emulator.Emulator\n"
        "assert client.MessageStart.__name__ == 'MessageStart'\n"
        "assert 'client.converse_events' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = client.nonexistent

