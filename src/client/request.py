"""Building a request for any operation of :mod:`client.operations`: URL, headers, body, argument checks.

Pure, no I/O. The checks mirror the service model's constraints (bedrock-runtime 2023-09-30) so that a mistake
fails here, with a message naming the argument, instead of as a 400 after a network round trip. Paths and
header names come from the operations table; nothing here spells them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sigv4.region_name import is_valid_region

from .errors import ParamValidationError
from .operations import (
    EVENTSTREAM_CONTENT_TYPE,
    GUARDRAIL_IDENTIFIER,
    GUARDRAIL_VERSION,
    INVOKE_MODEL_WITH_RESPONSE_STREAM,
    MAX_MODEL_ID_LENGTH,
    PERFORMANCE_CONFIG_LATENCY,
    SERVICE_TIER,
    TRACE,
    Body,
    Operation,
)

__all__ = [
    "EVENTSTREAM_CONTENT_TYPE",
    "MAX_BODY_BYTES",
    "MAX_MODEL_ID_LENGTH",
    "PERFORMANCE_CONFIG_LATENCIES",
    "SERVICE_TIERS",
    "TRACE_VALUES",
    "PreparedRequest",
    "build_invoke_request",
    "build_json_request",
    "check_model_id",
    "default_endpoint",
    "encode_body",
    "resolve_endpoint",
]

MAX_BODY_BYTES = 25_000_000
MAX_GUARDRAIL_ID_LENGTH = 2048
TRACE_VALUES: tuple[str, ...] = TRACE.allowed or ()
PERFORMANCE_CONFIG_LATENCIES: tuple[str, ...] = PERFORMANCE_CONFIG_LATENCY.allowed or ()
SERVICE_TIERS: tuple[str, ...] = SERVICE_TIER.allowed or ()

_GUARDRAIL_VERSION = re.compile(r"(?:[1-9][0-9]{0,7}|DRAFT)\Z")
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PreparedRequest:
    """Everything needed to send one call of ``operation`` (signed later, per attempt)."""

    operation: Operation
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    model_id: str


def default_endpoint(region: str) -> str:
    """``https://bedrock-runtime.{region}.amazonaws.com`` after checking that ``region`` looks like one."""
    if not is_valid_region(region):
        raise ParamValidationError(f"region {region!r} is not a valid AWS region name (e.g. 'us-east-1')")
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def resolve_endpoint(endpoint_url: str | None, region: str | None) -> str:
    """The base URL requests go to: ``endpoint_url`` (checked, trailing ``/`` dropped) or the region's."""
    if endpoint_url is None:
        if region is None:
            raise ParamValidationError("an endpoint needs either a region or endpoint_url")
        return default_endpoint(region)
    if not isinstance(endpoint_url, str):
        raise ParamValidationError(f"endpoint_url must be a string, not {type(endpoint_url).__name__}")
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParamValidationError(
            f"endpoint_url {endpoint_url!r} must be an absolute http:// or https:// URL"
        )
    if parts.query or parts.fragment:
        raise ParamValidationError(f"endpoint_url {endpoint_url!r} must not have a query or fragment")
    return endpoint_url.rstrip("/")


def _check_header_value(name: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ParamValidationError(f"{name} must be a string, not {type(value).__name__}")
    if not value and not allow_empty:
        raise ParamValidationError(f"{name} must not be empty")
    if _HEADER_UNSAFE.search(value):
        raise ParamValidationError(f"{name} contains a control character, which cannot go in an HTTP header")
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        raise ParamValidationError(f"{name} {value!r} must be ASCII (it is sent as an HTTP header)") from None
    return value


def _check_enum(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ParamValidationError(f"{name} must be one of {choices}, not {value!r}")
    return str(value)


def encode_body(body: object) -> bytes:
    """A model body (bytes, str, or a dict serialised as compact JSON) as bytes, within the size limit."""
    if isinstance(body, bytes):
        data = body
    elif isinstance(body, (bytearray, memoryview)):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, dict):
        try:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
                "utf-8"
            )
        except (TypeError, ValueError) as exc:
            raise ParamValidationError(f"body dict is not JSON-serialisable: {exc}") from exc
    else:
        raise ParamValidationError(
            f"body must be bytes, str or a JSON-serialisable dict, not {type(body).__name__}"
        )
    if len(data) > MAX_BODY_BYTES:
        raise ParamValidationError(
            f"body is {len(data)} bytes; the service accepts at most {MAX_BODY_BYTES} bytes"
        )
    return data


def check_model_id(model_id: object) -> str:
    """``model_id`` after the service's checks (a non-empty string of at most 2048 characters)."""
    if not isinstance(model_id, str):
        raise ParamValidationError(f"model_id must be a string, not {type(model_id).__name__}")
    if not model_id:
        raise ParamValidationError("model_id must not be empty")
    if len(model_id) > MAX_MODEL_ID_LENGTH:
        raise ParamValidationError(
            f"model_id is {len(model_id)} characters; the service accepts at most {MAX_MODEL_ID_LENGTH}"
        )
    if _HEADER_UNSAFE.search(model_id):
        raise ParamValidationError("model_id contains a control character")
    return model_id


def build_json_request(endpoint: str, operation: Operation, model_id: str, body: bytes) -> PreparedRequest:
    """A request of an operation whose body is our own JSON (Converse, ConverseStream, CountTokens)."""
    check_model_id(model_id)
    if len(body) > MAX_BODY_BYTES:
        raise ParamValidationError(
            f"request is {len(body)} bytes; the service accepts at most {MAX_BODY_BYTES} bytes"
        )
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if operation.streaming:
        # The event stream is read raw, frame by frame (see build_invoke_request).
        headers.append(("Accept-Encoding", "identity"))
    url = f"{endpoint}{operation.path(model_id)}"
    return PreparedRequest(operation=operation, url=url, headers=tuple(headers), body=body, model_id=model_id)


def build_invoke_request(
    endpoint: str,
    model_id: str,
    body: Any,
    *,
    operation: Operation = INVOKE_MODEL_WITH_RESPONSE_STREAM,
    content_type: str = "application/json",
    accept: str = "application/json",
    trace: str | None = None,
    guardrail_identifier: str | None = None,
    guardrail_version: str | None = None,
    performance_config_latency: str | None = None,
    service_tier: str | None = None,
) -> PreparedRequest:
    """Validate the arguments and build an InvokeModel or InvokeModelWithResponseStream request (the model's
    own body). Raises :class:`ParamValidationError` on any bad argument.

    The model id is percent-encoded as a single path segment (everything but ``A-Za-z0-9-._~``), so ARNs and
    ids with ``:`` or ``/`` reach the service intact.
    """
    if operation.request_body is not Body.MODEL_JSON or operation.accept_header is None:
        raise ValueError(f"{operation.name} does not take a model body")
    check_model_id(model_id)
    data = encode_body(body)
    headers: list[tuple[str, str]] = [
        ("Content-Type", _check_header_value("content_type", content_type)),
        (operation.accept_header, _check_header_value("accept", accept)),
    ]
    if operation.streaming:
        # The event stream is read raw, frame by frame; a compressed body would need a decoding layer the
        # service never uses (botocore asks for identity too).
        headers.append(("Accept-Encoding", "identity"))
    if trace is not None:
        headers.append((TRACE.header, _check_enum("trace", trace, TRACE_VALUES)))
    if (guardrail_identifier is None) != (guardrail_version is None):
        given, missing = (
            ("guardrail_identifier", "guardrail_version")
            if guardrail_version is None
            else ("guardrail_version", "guardrail_identifier")
        )
        raise ParamValidationError(f"{given} was given without {missing}: pass both or neither")
    if guardrail_identifier is not None and guardrail_version is not None:
        gid = _check_header_value("guardrail_identifier", guardrail_identifier)
        if len(gid) > MAX_GUARDRAIL_ID_LENGTH:
            raise ParamValidationError(
                f"guardrail_identifier is {len(gid)} characters; at most {MAX_GUARDRAIL_ID_LENGTH} allowed"
            )
        if not isinstance(guardrail_version, str) or not _GUARDRAIL_VERSION.match(guardrail_version):
            raise ParamValidationError(
                f"guardrail_version must be a version number 1-99999999 or 'DRAFT', not {guardrail_version!r}"
            )
        headers.append((GUARDRAIL_IDENTIFIER.header, gid))
        headers.append((GUARDRAIL_VERSION.header, guardrail_version))
    if performance_config_latency is not None:
        headers.append(
            (
                PERFORMANCE_CONFIG_LATENCY.header,
                _check_enum(
                    "performance_config_latency", performance_config_latency, PERFORMANCE_CONFIG_LATENCIES
                ),
            )
        )
    if service_tier is not None:
        headers.append(
            (SERVICE_TIER.header, _check_enum("service_tier", service_tier, SERVICE_TIERS))
        )
    url = f"{endpoint}{operation.path(model_id)}"
    return PreparedRequest(operation=operation, url=url, headers=tuple(headers), body=data, model_id=model_id)
