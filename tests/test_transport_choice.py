"""client.transport_choice: StdlibTransport by default, httpx's transport wherever httpx would use a proxy.

The proxy rules are checked against httpx itself: for a table of environments and endpoints, the decision
must say "httpx" exactly when ``httpx.Client()`` (built from the same environment) routes the endpoint to a
proxy transport. Nothing here sends a request.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

import client
from client.stdlib_transport import StdlibTransport
from client.transport_choice import (
    TRANSPORT_ENV,
    choose_transport,
    default_sync_http_client,
    environment_proxies,
    proxy_for,
)

PROXY_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "request_method")


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no proxy variables (in either case) and no transport choice."""
    for name in list(os.environ):
        if name.lower() in PROXY_NAMES or name == TRANSPORT_ENV:
            monkeypatch.delenv(name)


ENDPOINTS = (
    "https://bedrock-runtime.us-east-1.amazonaws.com",
    "http://127.0.0.1:8000",
    "http://localhost:8000",
    "https://vpce-0abc.bedrock-runtime.us-east-1.vpce.amazonaws.com",
    "http://[::1]:8000",
    "https://bedrock-runtime.us-east-1.amazonaws.com:8443",
)

# Environments (name -> value) covering each rule: scheme-specific and all-scheme proxies, lowercase
# winning over uppercase, empty lowercase cancelling uppercase, NO_PROXY by domain suffix, leading dot,
# exact host, IPv4, IPv6, localhost, "*", a scheme-qualified NO_PROXY entry, and the CGI rule.
ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"HTTPS_PROXY": "http://proxy.internal:3128"},
    {"https_proxy": "proxy.internal:3128"},
    {"HTTP_PROXY": "http://proxy.internal:3128"},
    {"ALL_PROXY": "http://proxy.internal:3128"},
    {"all_proxy": "http://proxy.internal:3128", "NO_PROXY": "amazonaws.com"},
    {"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": ".amazonaws.com"},
    {"HTTPS_PROXY": "http://proxy.internal:3128", "no_proxy": "bedrock-runtime.us-east-1.amazonaws.com"},
    {"ALL_PROXY": "http://proxy.internal:3128", "NO_PROXY": "127.0.0.1,localhost"},
    {"ALL_PROXY": "http://proxy.internal:3128", "NO_PROXY": "::1"},
    {"ALL_PROXY": "http://proxy.internal:3128", "NO_PROXY": "*"},
    {"ALL_PROXY": "http://proxy.internal:3128", "NO_PROXY": "example.com, *"},
    {"ALL_PROXY": "http://proxy.internal:3128", "NO_PROXY": "http://127.0.0.1:8000"},
    {"ALL_PROXY": "http://proxy.internal:3128", "NO_PROXY": "vpce.amazonaws.com"},
    {"HTTPS_PROXY": "http://upper.internal:3128", "https_proxy": "http://lower.internal:3128"},
    {"HTTPS_PROXY": "http://proxy.internal:3128", "https_proxy": ""},
    {"HTTP_PROXY": "http://proxy.internal:3128", "REQUEST_METHOD": "GET"},
    {"http_proxy": "http://proxy.internal:3128", "REQUEST_METHOD": "GET"},
    {"HTTPS_PROXY": "https://proxy.internal:3128", "HTTP_PROXY": "http://proxy.internal:3128"},
]


def httpx_proxied(*endpoints: str) -> list[bool]:
    """The oracle: whether ``httpx.Client()``, built from the environment, proxies each endpoint."""
    with httpx.Client() as http:
        return [http._transport_for_url(httpx.URL(url)) is not http._transport for url in endpoints]


@pytest.fixture(scope="module")
def oracle() -> list[list[bool]]:
    """httpx's answer for every (environment, endpoint) pair of the table."""
    answers = []
    with pytest.MonkeyPatch.context() as patch:
        for environment in ENVIRONMENTS:
            for name in list(os.environ):
                if name.lower() in PROXY_NAMES:
                    patch.delenv(name)
            for name, value in environment.items():
                patch.setenv(name, value)
            answers.append(httpx_proxied(*ENDPOINTS))
    return answers


@pytest.mark.parametrize(
    "index",
    range(len(ENVIRONMENTS)),
    ids=[",".join(f"{k}={v}" for k, v in env.items()) for env in ENVIRONMENTS],
)
def test_the_decision_follows_httpx_proxy_rules(
    index: int, oracle: list[list[bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRONMENTS[index].items():
        monkeypatch.setenv(name, value)
    proxies = environment_proxies()
    for endpoint, proxied in zip(ENDPOINTS, oracle[index], strict=True):
        expected = "httpx" if proxied else "stdlib"
        assert choose_transport(endpoint, environ=os.environ, proxies=proxies) == expected, endpoint


def test_the_table_exercises_both_answers(oracle: list[list[bool]]) -> None:
    assert {answer for row in oracle for answer in row} == {True, False}
    assert oracle[0] == [False] * len(ENDPOINTS)  # no variables: never a proxy
    assert oracle[1][0] and not oracle[1][1]  # HTTPS_PROXY: the https endpoint only


def test_trust_env_false_ignores_proxies_as_httpx_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert environment_proxies(trust_env=False) == {}
    assert choose_transport(ENDPOINTS[0], proxies=environment_proxies(trust_env=False)) == "stdlib"
    with httpx.Client(trust_env=False) as http:
        assert http._transport_for_url(httpx.URL(ENDPOINTS[0])) is http._transport
    assert choose_transport(ENDPOINTS[0], proxies=environment_proxies()) == "httpx"


def test_proxy_for_uses_the_most_specific_mount() -> None:
    mounts = {"all://": "http://everything:1", "https://": "http://secure:1", "all://*.internal": None}
    assert proxy_for("https://bedrock-runtime.us-east-1.amazonaws.com", mounts) == "http://secure:1"
    assert proxy_for("http://127.0.0.1:8000", mounts) == "http://everything:1"
    assert proxy_for("https://api.internal", mounts) is None
    assert proxy_for("https://example.com", {}) is None


def test_an_explicit_choice_wins_then_the_environment_variable() -> None:
    proxied = {"all://": "http://proxy.internal:3128"}
    url = ENDPOINTS[0]
    assert choose_transport(url) == "stdlib"
    assert choose_transport(url, proxies=proxied) == "httpx"
    assert choose_transport(url, transport="stdlib", proxies=proxied) == "stdlib"  # forced: proxy ignored
    assert choose_transport(url, transport="httpx") == "httpx"
    assert choose_transport(url, environ={TRANSPORT_ENV: "httpx"}) == "httpx"
    assert choose_transport(url, environ={TRANSPORT_ENV: " STDLIB "}, proxies=proxied) == "stdlib"
    assert choose_transport(url, environ={TRANSPORT_ENV: ""}, proxies=proxied) == "httpx"  # empty: unset
    assert choose_transport(url, transport="stdlib", environ={TRANSPORT_ENV: "httpx"}) == "stdlib"
    assert choose_transport("ws://127.0.0.1:8000") == "httpx"  # only httpx can say what it thinks of it


@pytest.mark.parametrize("value", ["urllib3", "HTTPX", "", 1, True])
def test_an_unknown_transport_is_refused(value: Any) -> None:
    with pytest.raises(client.ParamValidationError, match="transport must be"):
        choose_transport(ENDPOINTS[0], transport=value)
    with pytest.raises(client.ParamValidationError, match="transport must be"):
        client.BedrockRuntimeClient("us-east-1", transport=value)


def test_an_unknown_environment_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "curl")
    with pytest.raises(client.ParamValidationError, match=TRANSPORT_ENV):
        client.BedrockRuntimeClient("us-east-1")


def test_http_client_and_transport_together_are_refused() -> None:
    with httpx.Client() as http, pytest.raises(client.ParamValidationError, match="not both"):
        client.BedrockRuntimeClient("us-east-1", http_client=http, transport="stdlib")


def test_the_default_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    timeout = httpx.Timeout(3.0, read=7.0)
    with default_sync_http_client(ENDPOINTS[0], timeout, None) as http:
        assert isinstance(http._transport, StdlibTransport) and http.timeout == timeout
    with default_sync_http_client(ENDPOINTS[0], None, "httpx") as http:
        assert type(http._transport) is httpx.HTTPTransport and http.timeout == httpx.Timeout(None)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    with default_sync_http_client(ENDPOINTS[0], timeout, None) as http:
        # Exactly httpx's own default: it mounted the proxy itself.
        assert type(http._transport) is httpx.HTTPTransport
        assert http._transport_for_url(httpx.URL(ENDPOINTS[0])) is not http._transport
    with default_sync_http_client("http://127.0.0.1:8000", timeout, None) as http:
        assert isinstance(http._transport, StdlibTransport)  # HTTPS_PROXY does not cover http://
    with default_sync_http_client(ENDPOINTS[0], timeout, "stdlib") as http:
        assert isinstance(http._transport, StdlibTransport)


def test_the_client_builds_its_default_through_the_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    with client.BedrockRuntimeClient("us-east-1") as bedrock:
        assert isinstance(bedrock._http._transport, StdlibTransport)
    with client.BedrockRuntimeClient("us-east-1", transport="httpx") as bedrock:
        assert type(bedrock._http._transport) is httpx.HTTPTransport
    monkeypatch.setenv(TRANSPORT_ENV, "httpx")
    with client.BedrockRuntimeClient("us-east-1") as bedrock:
        assert type(bedrock._http._transport) is httpx.HTTPTransport
    monkeypatch.delenv(TRANSPORT_ENV)
    monkeypatch.setenv("ALL_PROXY", "http://proxy.internal:3128")
    with client.BedrockRuntimeClient("us-east-1") as bedrock:
        assert type(bedrock._http._transport) is httpx.HTTPTransport
    monkeypatch.setenv("NO_PROXY", "amazonaws.com")
    with client.BedrockRuntimeClient("us-east-1") as bedrock:
        assert isinstance(bedrock._http._transport, StdlibTransport)
    with httpx.Client() as http, client.BedrockRuntimeClient("us-east-1", http_client=http) as bedrock:
        assert bedrock._http is http  # what the caller built, untouched
