"""The canonical-request parts on their own: URL splitting, paths, query strings, hosts, header values."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigv4.canonical import (
    UNRESERVED,
    canonical_query,
    canonical_uri,
    encode_query_component,
    encode_value,
    host_from_authority,
    remove_dot_segments,
    split_url,
)

CANONICAL_PATH = re.compile(r"(?:[A-Za-z0-9\-._~/]|%[0-9A-F]{2})*")
CANONICAL_COMPONENT = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*")


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://h/p?q=1#frag", ("https", "h", "/p", "q=1")),
        ("HTTPS://h:8443", ("https", "h:8443", "", "")),
        ("https://h?x=/y", ("https", "h", "", "x=/y")),
        ("https://h#f/g?z", ("https", "h", "", "")),
        ("http://u:p@h/a b?c d", ("http", "u:p@h", "/a b", "c d")),
        ("/model/x?y", ("", "", "/model/x", "y")),
        ("https://h/p#frag?not-query", ("https", "h", "/p", "")),
    ],
)
def test_split_url(url: str, parts: tuple[str, str, str, str]) -> None:
    assert split_url(url) == parts


@pytest.mark.parametrize("url", ["example.com/x", "://h/", "mailto:x@y", ""])
def test_split_url_rejects_relative_references(url: str) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        split_url(url)


@pytest.mark.parametrize(
    ("path", "normalized"),
    [
        ("/", "/"),
        ("//", "/"),
        ("/./", "/"),
        ("/example/..", "/"),
        ("/example1/example2/../..", "/"),
        ("/../../a", "/a"),
        ("//example//", "/example/"),
        ("/./example", "/example"),
        ("/a/b/../c/", "/a/c/"),
        ("/a/b/..", "/a"),  # no trailing slash unless the input ends with one (as botocore)
        ("/.well-known/x", "/.well-known/x"),
        ("/a/%2E%2E/b", "/a/%2E%2E/b"),  # encoded dots are data, not segments
        ("/a/.../b", "/a/.../b"),
    ],
)
def test_remove_dot_segments(path: str, normalized: str) -> None:
    assert remove_dot_segments(path) == normalized


@pytest.mark.parametrize(
    ("path", "normalize", "canonical"),
    [
        ("", True, "/"),
        ("", False, "/"),
        ("/example space/", True, "/example%20space/"),
        ("/\u1234", True, "/%E1%88%B4"),
        ("/example/$delete", True, "/example/%24delete"),
        ("/a%3Ab/c%2Fd", True, "/a%253Ab/c%252Fd"),
        ("/100%", True, "/100%25"),
        ("/-._~AZaz09", True, "/-._~AZaz09"),
        ("/!*'();:@&=+$,", True, "/%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C"),
        ("//a/./b/../c", False, "//a/./b/../c"),
        ("//a/./b/../c", True, "/a/c"),
        ("/./", True, "/"),
    ],
)
def test_canonical_uri(path: str, normalize: bool, canonical: str) -> None:
    assert canonical_uri(path, normalize) == canonical


@given(st.text(st.characters(codec="utf-8"), max_size=40), st.booleans())
def test_canonical_uri_is_the_path_encoded_once_more(path: str, normalize: bool) -> None:
    path = "/" + path.replace("?", "").replace("#", "")
    canonical = canonical_uri(path, normalize)
    assert CANONICAL_PATH.fullmatch(canonical)
    assert canonical.startswith("/")
    # Decoding the canonical form once gives back the (normalized) wire path.
    expected = remove_dot_segments(path) or "/" if normalize else path
    assert unquote_to_bytes(canonical) == expected.encode()


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("Param1", "Param1="),
        ("Param1=", "Param1="),
        ("b=2&a=1", "a=1&b=2"),
        ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
        ("p=b&p=a&P=c", "P=c&p=a&p=b"),  # by key (code point), then value
        ("a-b=1&a=2", "a=2&a-b=1"),  # pairs, not "key=value" strings: "a" sorts before "a-b"
        ("a=1&&b=2&", "a=1&b=2"),
        ("%E1%88%B4=bar", "%E1%88%B4=bar"),
        ("\u1234=bar", "%E1%88%B4=bar"),
        ("k=a+b", "k=a%2Bb"),  # RFC 3986: a plus is a plus
        ("k=a%20b&k2=a b", "k=a%20b&k2=a%20b"),
        ("k=%7e%2d", "k=~-"),  # escaped unreserved characters are decoded
        ("k=%FF%fe", "k=%FF%FE"),  # not UTF-8: bytes survive
        ("k=100%", "k=100%25"),
        ("x=a=b", "x=a%3Db"),
        ("-._~09AZaz=-._~09AZaz", "-._~09AZaz=-._~09AZaz"),
    ],
)
def test_canonical_query(query: str, canonical: str) -> None:
    assert canonical_query(query) == canonical


query_pairs = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6)


@given(query_pairs)
def test_canonical_query_of_any_encoding_of_the_same_params_is_the_same(
    pairs: list[tuple[str, str]],
) -> None:
    strict = "&".join(f"{encode_value(k)}={encode_value(v)}" for k, v in pairs)
    loose = "&".join(f"{quote(k, safe='*!')}={quote(v, safe='*!')}" for k, v in pairs)
    canonical = canonical_query(strict)
    assert canonical == canonical_query(loose)
    assert canonical_query(canonical) == canonical
    for part in canonical.split("&") if canonical else []:
        key, sep, value = part.partition("=")
        assert sep and CANONICAL_COMPONENT.fullmatch(key) and CANONICAL_COMPONENT.fullmatch(value)
    decoded = sorted((encode_value(k), encode_value(v)) for k, v in pairs)
    assert canonical == "&".join(f"{k}={v}" for k, v in decoded)


@given(st.text())
def test_encode_value_round_trips(text: str) -> None:
    encoded = encode_value(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    assert CANONICAL_COMPONENT.fullmatch(encoded)
    assert encode_query_component(encoded) == encoded


def test_unreserved_set() -> None:
    assert sorted(UNRESERVED) == sorted(c for c in map(chr, range(128)) if quote(c, safe="") == c)


@pytest.mark.parametrize(
    ("scheme", "authority", "host"),
    [
        ("https", "Example.com", "example.com"),
        ("https", "example.com:443", "example.com"),
        ("https", "example.com:80", "example.com:80"),
        ("http", "example.com:80", "example.com"),
        ("wss", "example.com:443", "example.com"),
        ("https", "localhost:8080", "localhost:8080"),
        ("https", "a@b@example.com", "example.com"),
        ("", "example.com:443", "example.com:443"),
    ],
)
def test_host_from_authority(scheme: str, authority: str, host: str) -> None:
    assert host_from_authority(scheme, authority) == host


@pytest.mark.parametrize("authority", ["", "user@"])
def test_host_from_authority_needs_a_host(authority: str) -> None:
    with pytest.raises(ValueError, match="without a host"):
        host_from_authority("https", authority)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("  a  ", "a"),
        ("a   b\t\tc", "a b c"),
        ('"a   b   c"', '"a b c"'),
        ("value1\n  value2\n     value3", "value1 value2 value3"),
        ("", ""),
        ("MixedCase", "MixedCase"),
    ],
)
def test_header_values_are_signed_trimmed_and_folded(value: str, canonical: str) -> None:
    # The signer folds values inline (its hot path); the rule is SigV4's "trimall", as the AWS vectors
    # get-header-value-trim and get-header-value-multiline pin it.
    from datetime import datetime, timezone

    from sigv4 import Credentials, sign_request

    signed = sign_request(
        "GET",
        "https://example.amazonaws.com/",
        {"X-Test": value},
        b"",
        credentials=Credentials("AKID", "secret"),
        region="us-east-1",
        service="service",
        timestamp=datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc),
    )
    assert f"\nx-test:{canonical}\n" in signed.canonical_request
