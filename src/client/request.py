"""Building an InvokeModelWithResponseStream request: URL, headers, body and argument checks. Pure, no I/O.

The checks mirror the service model's constraints (bedrock-runtime 2023-09-30) so that a mistake fails here,
with a message naming the argument, instead of as a 400 after a network round trip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import ParamValidationError

__all__ = [
    "EVENTSTREAM_CONTENT_TYPE",
    "MAX_BODY_BYTES",
    "MAX_MODEL_ID_LENGTH",
    "PERFORMANCE_CONFIG_LATENCIES",
    "SERVICE_TIERS",
    "TRACE_VALUES",
    "InvokeRequest",
    "build_invoke_request",
    "default_endpoint",
    "resolve_endpoint",
]

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
MAX_MODEL_ID_LENGTH = 2048
MAX_BODY_BYTES = 25_000_000
MAX_GUARDRAIL_ID_LENGTH = 2048
TRACE_VALUES = ("ENABLED", "DISABLED", "ENABLED_FULL")
PERFORMANCE_CONFIG_LATENCIES = ("standard", "optimized")
SERVICE_TIERS = ("priority", "default", "flex", "reserved")

_GUARDRAIL_VERSION = re.compile(r"(?:[1-9][0-9]{0,7}|DRAFT)\Z")
# Region names are DNS labels (us-east-1, us-gov-west-1, eu-central-2); anything else would build a host name
# the caller did not mean, so it is refused rather than pasted into a URL.
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class InvokeRequest:
    """Everything needed to send one InvokeModelWithResponseStream call (signed later, per attempt)."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    model_id: str


def default_endpoint(region: str) -> str:
    """``https://bedrock-runtime.{region}.amazonaws.com`` after checking that ``region`` looks like one."""
    if not _REGION.match(region):
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


def _encode_body(body: object) -> bytes:
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


def build_invoke_request(
    endpoint: str,
    model_id: str,
    body: Any,
    *,
    content_type: str = "application/json",
    accept: str = "application/json",
    trace: str | None = None,
    guardrail_identifier: str | None = None,
    guardrail_version: str | None = None,
    performance_config_latency: str | None = None,
    service_tier: str | None = None,
) -> InvokeRequest:
    """Validate the arguments and build the request. Raises :class:`ParamValidationError` on any bad argument.

    The model id is percent-encoded as a single path segment (everything but ``A-Za-z0-9-._~``), so ARNs and
    ids with ``:`` or ``/`` reach the service intact.
    """
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
    data = _encode_body(body)
    headers: list[tuple[str, str]] = [
        ("Content-Type", _check_header_value("content_type", content_type)),
        ("X-Amzn-Bedrock-Accept", _check_header_value("accept", accept)),
        # The event stream is read raw, frame by frame; a compressed body would need a decoding layer the
        # service never uses (botocore asks for identity too).
        ("Accept-Encoding", "identity"),
    ]
    if trace is not None:
        headers.append(("X-Amzn-Bedrock-Trace", _check_enum("trace", trace, TRACE_VALUES)))
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
        headers.append(("X-Amzn-Bedrock-GuardrailIdentifier", gid))
        headers.append(("X-Amzn-Bedrock-GuardrailVersion", guardrail_version))
    if performance_config_latency is not None:
        headers.append(
            (
                "X-Amzn-Bedrock-PerformanceConfig-Latency",
                _check_enum(
                    "performance_config_latency", performance_config_latency, PERFORMANCE_CONFIG_LATENCIES
                ),
            )
        )
    if service_tier is not None:
        headers.append(
            ("X-Amzn-Bedrock-Service-Tier", _check_enum("service_tier", service_tier, SERVICE_TIERS))
        )
    url = f"{endpoint}/model/{quote(model_id, safe='')}/invoke-with-response-stream"
    return InvokeRequest(url=url, headers=tuple(headers), body=data, model_id=model_id)
