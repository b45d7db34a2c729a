"""Validating a model-JSON request body (InvokeModel and its stream) the way the service does.

Pure: the family and the body's bytes in, the parsed body out, or :class:`InvalidRequest` with the service's
JSON-schema style wording (``Malformed input request: #: required key [max_tokens] not found, please reformat
your input and try again.``). Unknown keys are accepted (the service rejects some for some families; that is
not emulated).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from client.families import Family

from .catalogue import LEGACY_TEXT_COMPLETION_MODELS, UnknownModel, base_model_id

__all__ = ["ANTHROPIC_VERSION", "InvalidRequest", "json_type", "parse_json_body", "validate_request"]


class InvalidRequest(Exception):  # noqa: N818 -- the name is part of the emulator API
    """The body is not a valid request for the model: the service answers 400 ValidationException."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _malformed(detail: str) -> InvalidRequest:
    return InvalidRequest(f"Malformed input request: {detail}, please reformat your input and try again.")


def json_type(value: object) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "JSONArray"
    return "JSONObject"


def _is(value: object, kind: str) -> bool:
    actual = json_type(value)
    return actual == kind or (kind == "Number" and actual == "Integer")


def _check_type(value: object, kind: str, path: str) -> None:
    if not _is(value, kind):
        raise _malformed(f"{path}: expected type: {kind}, found: {json_type(value)}")


def _require(data: Mapping[str, Any], keys: Sequence[str], path: str = "#") -> None:
    missing = [key for key in keys if key not in data]
    if missing:
        raise _malformed("; ".join(f"{path}: required key [{key}] not found" for key in missing))


def _optional(
    data: Mapping[str, Any], key: str, kind: str, path: str = "#", minimum: int | None = None
) -> None:
    if key not in data:
        return
    value = data[key]
    _check_type(value, kind, f"{path}/{key}")
    if minimum is not None and isinstance(value, int | float) and value < minimum:
        raise _malformed(f"{path}/{key}: {value} is not greater or equal to {minimum}")


def _check_messages(
    messages: object, path: str, roles: Sequence[str], *, content_kinds: Sequence[str], content_key: str
) -> None:
    _check_type(messages, "JSONArray", path)
    if not isinstance(messages, list):
        return
    if not messages:
        raise _malformed(f"{path}: expected minimum item count: 1, found: 0")
    for index, message in enumerate(messages):
        where = f"{path}/{index}"
        _check_type(message, "JSONObject", where)
        if not isinstance(message, dict):
            return
        _require(message, ("role", content_key), where)
        role = message["role"]
        if role not in roles:
            allowed = ", ".join(roles)
            raise _malformed(f"{where}/role: {json.dumps(role)} is not a valid enum value ({allowed})")
        content = message[content_key]
        if not any(_is(content, kind) for kind in content_kinds):
            expected = " or ".join(content_kinds)
            raise _malformed(f"{where}/{content_key}: expected type: {expected}, found: {json_type(content)}")
        if isinstance(content, list):
            for item_index, item in enumerate(content):
                _check_type(item, "JSONObject", f"{where}/{content_key}/{item_index}")


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which are not JSON: the service rejects them.
    raise ValueError(f"{name} is not a valid JSON value")


def parse_json_body(body: bytes) -> dict[str, Any]:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise _malformed(f"the body must be bytes, not {type(body).__name__}")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"the body is not valid UTF-8 (byte offset {exc.start})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno} (char {exc.pos})"
        raise _malformed(f"invalid JSON: {exc.msg} at {where}") from None
    except RecursionError:
        # Deeply nested arrays exhaust the recursive decoder; that is bad input, not a server fault.
        raise _malformed("invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise _malformed(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _malformed(f"#: expected type: JSONObject, found: {json_type(data)}")
    return data


ANTHROPIC_VERSION = "bedrock-2023-05-31"


def _validate_anthropic(data: dict[str, Any], strict: bool, model_id: str | None) -> None:
    if "prompt" in data and "messages" not in data:
        # Legacy Text Completions: AWS documents them for Claude Instant and 2.x only ("Anthropic Claude Text
        # Completions API"); Claude 3 and later answer a `prompt` body with a ValidationException.
        base = _base_model(model_id)
        if base is not None and base not in LEGACY_TEXT_COMPLETION_MODELS:
            raise InvalidRequest(
                f'"{base}" is not supported on this API (Text Completions). '
                "Please use the Messages API instead."
            )
        _require(data, ("prompt", "max_tokens_to_sample"))
        _optional(data, "prompt", "String")
        _optional(data, "max_tokens_to_sample", "Integer", minimum=1)
        _optional(data, "stop_sequences", "JSONArray")
    else:
        # Required keys: AWS "Anthropic Claude Messages API" request parameters (anthropic_version,
        # max_tokens, messages are "(Required)").
        _require(data, ("anthropic_version", "max_tokens", "messages"))
        _optional(data, "anthropic_version", "String")
        # The page says the value "must be bedrock-2023-05-31", yet Anthropic's own SDK (maintained against
        # the live service) sends its dated API version and is answered: the value is checked only when
        # strict.
        if strict and data["anthropic_version"] != ANTHROPIC_VERSION:
            raise _malformed(
                f"#/anthropic_version: {json.dumps(data['anthropic_version'])} is not supported "
                f"(expected {json.dumps(ANTHROPIC_VERSION)})"
            )
        _optional(data, "max_tokens", "Integer", minimum=1)
        _check_messages(
            data["messages"],
            "#/messages",
            ("user", "assistant"),
            content_kinds=("String", "JSONArray"),
            content_key="content",
        )
        if "system" in data and not (_is(data["system"], "String") or _is(data["system"], "JSONArray")):
            found = json_type(data["system"])
            raise _malformed(f"#/system: expected type: String or JSONArray, found: {found}")
        _optional(data, "stop_sequences", "JSONArray")
    for key in ("temperature", "top_p"):
        _optional(data, key, "Number", minimum=0)
    _optional(data, "top_k", "Integer", minimum=0)


def _validate_nova(data: dict[str, Any], strict: bool, model_id: str | None) -> None:
    _require(data, ("messages",))
    # The Nova request schema shows "schemaVersion": "messages-v1"; whether the service refuses other values
    # is not documented, so only strict mode does.
    if strict and "schemaVersion" in data and data["schemaVersion"] != "messages-v1":
        version = json.dumps(data["schemaVersion"])
        raise _malformed(f'#/schemaVersion: {version} is not supported (expected "messages-v1")')
    _check_messages(
        data["messages"],
        "#/messages",
        ("user", "assistant"),
        content_kinds=("JSONArray",),
        content_key="content",
    )
    _optional(data, "system", "JSONArray")
    _optional(data, "inferenceConfig", "JSONObject")
    config = data.get("inferenceConfig", {})
    # The Nova user guide's schema spells these camelCase (maxTokens, topP, topK); its first edition wrote
    # max_new_tokens, top_p, top_k, which clients still send: check whichever is present.
    for key in ("maxTokens", "max_new_tokens"):
        _optional(config, key, "Integer", "#/inferenceConfig", minimum=1)
    for key in ("temperature", "topP", "top_p"):
        _optional(config, key, "Number", "#/inferenceConfig", minimum=0)
    for key in ("topK", "top_k"):
        _optional(config, key, "Integer", "#/inferenceConfig", minimum=0)


def _validate_titan(data: dict[str, Any], strict: bool, model_id: str | None) -> None:
    _require(data, ("inputText",))
    _optional(data, "inputText", "String")
    _optional(data, "textGenerationConfig", "JSONObject")
    config = data.get("textGenerationConfig", {})
    _optional(config, "maxTokenCount", "Integer", "#/textGenerationConfig", minimum=0)
    for key in ("temperature", "topP"):
        _optional(config, key, "Number", "#/textGenerationConfig", minimum=0)
    _optional(config, "stopSequences", "JSONArray", "#/textGenerationConfig")


def _validate_llama(data: dict[str, Any], strict: bool, model_id: str | None) -> None:
    _require(data, ("prompt",))
    _optional(data, "prompt", "String")
    _optional(data, "max_gen_len", "Integer", minimum=1)
    for key in ("temperature", "top_p"):
        _optional(data, key, "Number", minimum=0)
    _optional(data, "images", "JSONArray")


def _validate_mistral(data: dict[str, Any], strict: bool, model_id: str | None) -> None:
    if "messages" in data:
        _check_messages(
            data["messages"],
            "#/messages",
            ("system", "user", "assistant", "tool"),
            content_kinds=("String", "JSONArray", "Null"),
            content_key="content",
        )
        _optional(data, "tools", "JSONArray")
    else:
        _require(data, ("prompt",))
        _optional(data, "prompt", "String")
        _optional(data, "stop", "JSONArray")
    _optional(data, "max_tokens", "Integer", minimum=1)
    for key in ("temperature", "top_p"):
        _optional(data, key, "Number", minimum=0)
    _optional(data, "top_k", "Integer", minimum=0)


def _validate_cohere(data: dict[str, Any], strict: bool, model_id: str | None) -> None:
    _require(data, ("message",))
    _optional(data, "message", "String")
    if "chat_history" in data:
        _check_messages(
            data["chat_history"],
            "#/chat_history",
            ("USER", "CHATBOT"),
            content_kinds=("String",),
            content_key="message",
        )
    _optional(data, "preamble", "String")
    _optional(data, "documents", "JSONArray")
    _optional(data, "max_tokens", "Integer", minimum=1)
    for key in ("temperature", "p", "k"):
        _optional(data, key, "Number", minimum=0)
    _optional(data, "stop_sequences", "JSONArray")


_VALIDATORS: dict[Family, Callable[[dict[str, Any], bool, str | None], None]] = {
    Family.ANTHROPIC: _validate_anthropic,
    Family.NOVA: _validate_nova,
    Family.TITAN_TEXT: _validate_titan,
    Family.LLAMA: _validate_llama,
    Family.MISTRAL: _validate_mistral,
    Family.COHERE: _validate_cohere,
}


def validate_request(
    family: Family, body: bytes, *, strict: bool = False, model_id: str | None = None
) -> dict[str, Any]:
    """Parse and check a request body for ``family`` as the service would; :class:`InvalidRequest` if wrong.

    Required fields: Anthropic ``anthropic_version`` (``bedrock-2023-05-31``), ``max_tokens``, ``messages``
    (or, legacy, ``prompt`` + ``max_tokens_to_sample``); Nova ``messages``; Titan ``inputText``; Llama
    ``prompt``; Mistral ``prompt`` or ``messages``; Cohere Command R ``message``. Types and minimums of the
    common inference parameters are checked; the message says which field (JSON pointer) is wrong. Malformed
    JSON reports line, column and character offset.

    Only what the service is documented to refuse is refused; ``strict`` adds the checks whose service rule is
    not known (``anthropic_version`` other than ``bedrock-2023-05-31``, Nova's ``schemaVersion``). With
    ``model_id``, a legacy Text Completions body is refused for Claude models that do not take it.
    """
    validator = _VALIDATORS.get(family)
    if validator is None:
        raise TypeError(f"not a model family: {family!r}")
    data = parse_json_body(body)
    validator(data, strict, model_id)
    return data


def _base_model(model_id: str | None) -> str | None:
    if model_id is None:
        return None
    try:
        return base_model_id(model_id)
    except UnknownModel:
        return None
