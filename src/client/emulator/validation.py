"""Validating a request the way the service does, before any model runs, for each operation.

Pure: the operation (from :mod:`client.operations`), the decoded model id, the headers and the body in, an
:class:`Invocation` (what to answer) out, or a :class:`ServiceError` with the service's status, name and
wording (``1 validation error detected: ...``). The checks are dispatched by the operation's body kind:
model JSON (InvokeModel and its stream), Converse JSON, CountTokens JSON.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from client.families import Family
from client.operations import MAX_MODEL_ID_LENGTH, Body, Operation

from .bodies import InvalidRequest, parse_json_body, validate_request
from .catalogue import UnknownModel, resolve_model
from .converse import validate_conversation, validate_converse
from .replies import ServiceError

__all__ = ["MAX_BODY_BYTES", "MAX_MODEL_ID_LENGTH", "Invocation", "validate"]

MAX_BODY_BYTES = 25_000_000
_GUARDRAIL_VERSION = re.compile(r"(?:[1-9][0-9]{0,7}|DRAFT)")
_ACCEPTED_ACCEPT = ("application/json", "*/*", "application/*")


@dataclass(frozen=True)
class Invocation:
    """A valid request: the operation, the decoded model id, its family, the parsed body and the options.

    ``request`` is what the model answers: the model's JSON (model-JSON operations and CountTokens'
    ``invokeModel`` form) or the Converse document (Converse operations and CountTokens' ``converse``
    form); ``content`` says which.
    """

    operation: Operation
    model_id: str
    family: Family
    request: dict[str, Any]
    body: bytes
    content: Body
    performance_config_latency: str = "standard"
    service_tier: str | None = None
    trace: str | None = None


def _validation_error(message: str) -> ServiceError:
    return ServiceError(400, "ValidationException", message)


def _resolve(model_id: str) -> Family:
    try:
        return resolve_model(model_id)
    except UnknownModel as exc:
        raise ServiceError(404, "ResourceNotFoundException", str(exc)) from None


def _check_headers(op: Operation, headers: Mapping[str, str], strict: bool) -> None:
    # InvokeModel API reference, contentType: "You must specify application/json" (botocore sends none
    # unless contentType is given; the service then assumes JSON).
    content_type = headers.get("content-type", "application/json")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise _validation_error(
            f"The provided Content-Type {content_type!r} is not supported: the body must be application/json."
        )
    accept_header = (op.accept_header or "accept").lower()
    accept = headers.get(accept_header, "application/json").split(";")[0].strip().lower()
    # The API reference gives Accept a default (application/json) but no refusal; only strict refuses
    # another type.
    if strict and accept not in _ACCEPTED_ACCEPT:
        raise _validation_error(
            f"The provided Accept type '{accept}' is not supported: this model answers application/json."
        )
    # Enum values from the service model (trace, performanceConfigLatency, serviceTier). Headers that are
    # not modelled (anthropic-beta, user agents, amz-sdk-*, other X-Amzn-Bedrock-*) are never looked at.
    for param in op.headers:
        value = headers.get(param.header.lower())
        if value is not None and param.allowed is not None and value not in param.allowed:
            member = "".join(word.title() if i else word for i, word in enumerate(param.param.split("_")))
            raise _validation_error(
                f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(param.allowed)}]"
            )
    # InvokeModel API reference, guardrailIdentifier: "An error is thrown ... if you provide a guardrail
    # identifier, but guardrailVersion isn't specified"; the version's pattern is the service model's.
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


def _model_json(
    op: Operation, model_id: str, headers: Mapping[str, str], body: bytes, strict: bool
) -> Invocation:
    _check_headers(op, headers, strict)
    family = _resolve(model_id)
    try:
        request = validate_request(family, body, strict=strict, model_id=model_id)
    except InvalidRequest as exc:
        raise _validation_error(str(exc)) from None
    return Invocation(
        operation=op,
        model_id=model_id,
        family=family,
        request=request,
        body=body,
        content=Body.MODEL_JSON,
        performance_config_latency=headers.get("x-amzn-bedrock-performanceconfig-latency", "standard"),
        service_tier=headers.get("x-amzn-bedrock-service-tier"),
        trace=headers.get("x-amzn-bedrock-trace"),
    )


def _converse_json(
    op: Operation, model_id: str, headers: Mapping[str, str], body: bytes, strict: bool
) -> Invocation:
    try:
        request = validate_converse(body, strict=strict)
        family = _resolve(model_id)
        validate_conversation(request, model_id)
    except InvalidRequest as exc:
        raise _validation_error(str(exc)) from None
    return Invocation(op, model_id, family, request, body, Body.CONVERSE_JSON)


def _count_tokens_json(
    op: Operation, model_id: str, headers: Mapping[str, str], body: bytes, strict: bool
) -> Invocation:
    try:
        document = parse_json_body(body)
        source = document.get("input")
        if not isinstance(source, dict):
            raise InvalidRequest(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                "Member must not be null"
            )
        if len(source) != 1 or next(iter(source)) not in ("invokeModel", "converse"):
            raise InvalidRequest(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                "Member must have exactly one member set: invokeModel or converse"
            )
        family = _resolve(model_id)
        if "invokeModel" in source:
            inner = source["invokeModel"]
            encoded = inner.get("body") if isinstance(inner, dict) else None
            if not isinstance(encoded, str):
                raise InvalidRequest(
                    "1 validation error detected: Value at 'input.invokeModel.body' failed to satisfy "
                    "constraint: Member must not be null"
                )
            try:
                model_body = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidRequest("input.invokeModel.body must be base64-encoded bytes") from None
            request = validate_request(family, model_body, strict=strict, model_id=model_id)
            return Invocation(op, model_id, family, request, body, Body.MODEL_JSON)
        if not isinstance(source["converse"], dict):
            raise InvalidRequest(
                "1 validation error detected: Value at 'input.converse' failed to satisfy constraint: "
                "Member must be a structure"
            )
        request = validate_converse(source["converse"], count_tokens=True, strict=strict)
        validate_conversation(request, model_id)
    except InvalidRequest as exc:
        raise _validation_error(str(exc)) from None
    return Invocation(op, model_id, family, request, body, Body.CONVERSE_JSON)


_BY_BODY: dict[Body, Callable[[Operation, str, Mapping[str, str], bytes, bool], Invocation]] = {
    Body.MODEL_JSON: _model_json,
    Body.CONVERSE_JSON: _converse_json,
    Body.COUNT_TOKENS_JSON: _count_tokens_json,
}


def validate(
    op: Operation, model_id: str, headers: Mapping[str, str], body: bytes, *, strict: bool = False
) -> Invocation:
    """Check one request (``headers``: lower-case names) the way the service does, in the service's order.

    Refuses what the service is documented to refuse (each rule says where); ``strict`` adds the checks whose
    service rule is unknown (see :func:`.bodies.validate_request` and :func:`.converse.validate_converse`).
    """
    if not 1 <= len(model_id) <= MAX_MODEL_ID_LENGTH:
        raise _validation_error(
            f"1 validation error detected: Value at 'modelId' failed to satisfy constraint: Member must "
            f"have length less than or equal to {MAX_MODEL_ID_LENGTH}"
        )
    if len(body) > MAX_BODY_BYTES:
        raise _validation_error(
            f"1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_BODY_BYTES}"
        )
    check = _BY_BODY.get(op.request_body)
    if check is None:
        raise ServiceError(
            404,
            "UnknownOperationException",
            f"{op.name} is not served by this HTTP/1.1 emulator (its request body is an event stream).",
        )
    return check(op, model_id, headers, body, strict)
