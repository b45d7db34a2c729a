"""Validating an InvokeModelWithResponseStream request the way the service does, before any model runs.

Pure: a request's target, headers and body in, an :class:`Invocation` (what to answer) out, or a
:class:`ServiceError` with the service's status, name and wording (``1 validation error detected: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from client.families import Family

from .models import InvalidRequest, UnknownModel, resolve_model, validate_request
from .replies import ServiceError

__all__ = ["MAX_BODY_BYTES", "MAX_MODEL_ID_LENGTH", "Invocation", "match_route", "validate"]

MAX_BODY_BYTES = 25_000_000
MAX_MODEL_ID_LENGTH = 2048
_ROUTE = re.compile(r"/model/([^/?]+)/invoke-with-response-stream")
_GUARDRAIL_VERSION = re.compile(r"(?:[1-9][0-9]{0,7}|DRAFT)")
_ENUMS = {
    "x-amzn-bedrock-trace": ("trace", ("ENABLED", "DISABLED", "ENABLED_FULL")),
    "x-amzn-bedrock-performanceconfig-latency": ("performanceConfigLatency", ("standard", "optimized")),
    "x-amzn-bedrock-service-tier": ("serviceTier", ("priority", "default", "flex", "reserved")),
}
_ACCEPTED_ACCEPT = ("application/json", "*/*", "application/*")


@dataclass(frozen=True)
class Invocation:
    """A valid request: the decoded model id, its family, the parsed body and the options to echo."""

    model_id: str
    family: Family
    request: dict[str, Any]
    body: bytes
    performance_config_latency: str
    service_tier: str | None
    trace: str | None


def _validation_error(message: str) -> ServiceError:
    return ServiceError(400, "ValidationException", message)


def match_route(method: str, target: str) -> str | None:
    """The still-encoded model id segment when ``target`` is the streaming operation, else ``None``."""
    path = target.partition("?")[0]
    match = _ROUTE.fullmatch(path)
    if match is None or method != "POST":
        return None
    return match.group(1)


def validate(model_segment: str, headers: Mapping[str, str], body: bytes) -> Invocation:
    """Check one request (``headers``: lower-case names) the way the service does, in the service's order."""
    model_id = unquote(model_segment)
    if not 1 <= len(model_id) <= MAX_MODEL_ID_LENGTH:
        raise _validation_error(
            f"1 validation error detected: Value at 'modelId' failed to satisfy constraint: Member must "
            f"have length less than or equal to {MAX_MODEL_ID_LENGTH}"
        )
    # botocore sends no Content-Type unless contentType is given; the service then assumes JSON.
    content_type = headers.get("content-type", "application/json")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise _validation_error(
            f"The provided Content-Type {content_type!r} is not supported: the body must be application/json."
        )
    accept = headers.get("x-amzn-bedrock-accept", "application/json").split(";")[0].strip().lower()
    if accept not in _ACCEPTED_ACCEPT:
        raise _validation_error(
            f"The provided Accept type '{accept}' is not supported: this model streams application/json."
        )
    for header, (member, allowed) in _ENUMS.items():
        value = headers.get(header)
        if value is not None and value not in allowed:
            raise _validation_error(
                f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
    guardrail_id = headers.get("x-amzn-bedrock-guardrailidentifier")
    guardrail_version = headers.get("x-amzn-bedrock-guardrailversion")
    if guardrail_id is not None and not guardrail_version:
        raise _validation_error(
            "Guardrail version must be provided when a guardrail identifier is specified "
            "(X-Amzn-Bedrock-GuardrailVersion)."
        )
    if guardrail_version is not None and not guardrail_id:
        raise _validation_error(
            "Guardrail identifier must be provided when a guardrail version is specified "
            "(X-Amzn-Bedrock-GuardrailIdentifier)."
        )
    if guardrail_version is not None and _GUARDRAIL_VERSION.fullmatch(guardrail_version) is None:
        raise _validation_error(
            f"1 validation error detected: Value '{guardrail_version}' at 'guardrailVersion' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "(([1-9][0-9]{0,7})|(DRAFT))"
        )
    if len(body) > MAX_BODY_BYTES:
        raise _validation_error(
            f"1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_BODY_BYTES}"
        )
    try:
        family = resolve_model(model_id)
    except UnknownModel as exc:
        raise ServiceError(404, "ResourceNotFoundException", str(exc)) from None
    try:
        request = validate_request(family, body)
    except InvalidRequest as exc:
        raise _validation_error(str(exc)) from None
    return Invocation(
        model_id=model_id,
        family=family,
        request=request,
        body=body,
        performance_config_latency=headers.get("x-amzn-bedrock-performanceconfig-latency", "standard"),
        service_tier=headers.get("x-amzn-bedrock-service-tier"),
        trace=headers.get("x-amzn-bedrock-trace"),
    )
