"""The request shapes of Converse, ConverseStream and CountTokens, and building their bodies. Pure, no I/O.

The keyword values of ``converse()`` / ``converse_stream()`` are the wire JSON itself (camelCase inside);
the ``TypedDict`` s here give editors and ``mypy`` its shapes. :func:`build_converse_body` checks what the
service would refuse and what is cheap to check (roles, one member per union, required members, enums,
ranges), naming the offending path (``messages[2].content[0]``) in a :class:`~client.ParamValidationError`
raised before anything is sent; it does not re-implement the service model (kinds the service adds later
pass through). ``bytes`` values (image, document, video and audio bytes) are sent base64-encoded, as boto3
does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from .errors import ParamValidationError

__all__ = [
    "CachePointBlock",
    "ContentBlock",
    "DocumentBlock",
    "DocumentSource",
    "GuardrailConfig",
    "ImageBlock",
    "ImageSource",
    "InferenceConfig",
    "JsonSchemaDefinition",
    "Message",
    "OutputConfig",
    "OutputFormat",
    "OutputFormatStructure",
    "PerformanceConfig",
    "ReasoningContentBlock",
    "ReasoningTextBlock",
    "S3Location",
    "ServiceTier",
    "SystemContentBlock",
    "Tool",
    "ToolChoice",
    "ToolConfig",
    "ToolInputSchema",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "build_converse_body",
    "build_count_tokens_body",
]


# --- shapes (the service model's names, camelCase members as on the wire) --------------------------------


class _S3LocationRequired(TypedDict):
    uri: str


class S3Location(_S3LocationRequired, total=False):
    """``{"uri": "s3://...", "bucketOwner": "123456789012"}``."""

    bucketOwner: str


class ImageSource(TypedDict, total=False):
    """Exactly one of ``bytes`` (raw bytes; sent base64) or ``s3Location``."""

    bytes: bytes
    s3Location: S3Location


class ImageBlock(TypedDict):
    """``{"format": "png", "source": {"bytes": b"..."}}``."""

    format: Literal["png", "jpeg", "gif", "webp"]
    source: ImageSource


class DocumentSource(TypedDict, total=False):
    """Exactly one of ``bytes``, ``s3Location``, ``text`` or ``content``."""

    bytes: bytes
    s3Location: S3Location
    text: str
    content: list[dict[str, Any]]


class _DocumentBlockRequired(TypedDict):
    name: str
    source: DocumentSource


class DocumentBlock(_DocumentBlockRequired, total=False):
    """A document to read (``name`` and ``source`` required)."""

    format: Literal["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"]
    context: str
    citations: dict[str, bool]


class _ToolUseBlockRequired(TypedDict):
    toolUseId: str
    name: str
    input: Any


class ToolUseBlock(_ToolUseBlockRequired, total=False):
    """A tool call of the model (send the answer's blocks back as they came)."""

    type: str


class _ToolResultBlockRequired(TypedDict):
    toolUseId: str
    content: list[dict[str, Any]]


class ToolResultBlock(_ToolResultBlockRequired, total=False):
    """The result of a tool call: ``content`` is a list of ``{"text"}``/``{"json"}``/``{"image"}``/..."""

    status: Literal["success", "error"]
    type: str


class _CachePointBlockRequired(TypedDict):
    type: Literal["default"]


class CachePointBlock(_CachePointBlockRequired, total=False):
    """A prompt-cache checkpoint."""

    ttl: Literal["5m", "1h"]


class _ReasoningTextBlockRequired(TypedDict):
    text: str


class ReasoningTextBlock(_ReasoningTextBlockRequired, total=False):
    """The model's reasoning text and the signature that authenticates it."""

    signature: str


class ReasoningContentBlock(TypedDict, total=False):
    """Exactly one of ``reasoningText`` or ``redactedContent`` (bytes)."""

    reasoningText: ReasoningTextBlock
    redactedContent: bytes


class ContentBlock(TypedDict, total=False):
    """A union: exactly one member is set."""

    text: str
    image: ImageBlock
    document: DocumentBlock
    video: dict[str, Any]
    audio: dict[str, Any]
    toolUse: ToolUseBlock
    toolResult: ToolResultBlock
    guardContent: dict[str, Any]
    cachePoint: CachePointBlock
    reasoningContent: ReasoningContentBlock
    citationsContent: dict[str, Any]
    searchResult: dict[str, Any]


class Message(TypedDict):
    """One turn of the conversation."""

    role: Literal["user", "assistant"]
    content: list[ContentBlock]


class SystemContentBlock(TypedDict, total=False):
    """A union: ``text``, ``guardContent`` or ``cachePoint``."""

    text: str
    guardContent: dict[str, Any]
    cachePoint: CachePointBlock


class InferenceConfig(TypedDict, total=False):
    """The common inference parameters."""

    maxTokens: int
    temperature: float
    topP: float
    stopSequences: list[str]


class ToolInputSchema(TypedDict):
    """``{"json": <JSON Schema>}``."""

    json: Any


class _ToolSpecRequired(TypedDict):
    name: str
    inputSchema: ToolInputSchema


class ToolSpec(_ToolSpecRequired, total=False):
    """A tool the model may call."""

    description: str
    strict: bool


class Tool(TypedDict, total=False):
    """A union: ``toolSpec``, ``systemTool`` (``{"name"}``) or ``cachePoint``."""

    toolSpec: ToolSpec
    systemTool: dict[str, str]
    cachePoint: CachePointBlock


class ToolChoice(TypedDict, total=False):
    """A union: ``{"auto": {}}``, ``{"any": {}}`` or ``{"tool": {"name": ...}}``."""

    auto: dict[str, Any]
    any: dict[str, Any]
    tool: dict[str, str]


class _ToolConfigRequired(TypedDict):
    tools: list[Tool]


class ToolConfig(_ToolConfigRequired, total=False):
    """The tools offered, and how the model must choose among them."""

    toolChoice: ToolChoice


class GuardrailConfig(TypedDict, total=False):
    """A guardrail to apply (``streamProcessingMode`` only with ConverseStream)."""

    guardrailIdentifier: str
    guardrailVersion: str
    trace: Literal["enabled", "disabled", "enabled_full"]
    streamProcessingMode: Literal["sync", "async"]


class PerformanceConfig(TypedDict, total=False):
    """``{"latency": "standard" | "optimized"}``."""

    latency: Literal["standard", "optimized"]


class ServiceTier(TypedDict):
    """``{"type": "priority" | "default" | "flex" | "reserved"}``."""

    type: Literal["priority", "default", "flex", "reserved"]


class _JsonSchemaDefinitionRequired(TypedDict):
    schema: str


class JsonSchemaDefinition(_JsonSchemaDefinitionRequired, total=False):
    """A JSON Schema (as a JSON string) the answer must follow."""

    name: str
    description: str


class OutputFormatStructure(TypedDict):
    """``{"jsonSchema": {...}}``."""

    jsonSchema: JsonSchemaDefinition


class OutputFormat(TypedDict):
    """``{"type": "json_schema", "structure": {...}}``."""

    type: Literal["json_schema"]
    structure: OutputFormatStructure


class OutputConfig(TypedDict, total=False):
    """Structured output: ``{"textFormat": {...}}``."""

    textFormat: OutputFormat
    effort: str


# --- validation ---------------------------------------------------------------------------------------------

_ROLES = ("user", "assistant")
_IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
_TRACE = ("enabled", "disabled", "enabled_full")
_STREAM_MODES = ("sync", "async")
_LATENCY = ("standard", "optimized")
_TIERS = ("priority", "default", "flex", "reserved")
_TOOL_RESULT_STATUS = ("success", "error")
_CACHE_TTL = ("5m", "1h")
_MAX_RESPONSE_FIELD_PATHS = 10
_MAX_PATH_LENGTH = 256
_MAX_METADATA_ENTRIES = 16
_MAX_METADATA_LENGTH = 256
_MAX_NAME_LENGTH = 64


def _fail(path: str, problem: str) -> ParamValidationError:
    return ParamValidationError(f"Invalid value for {path}: {problem}")


def _kind(value: Any) -> str:
    return type(value).__name__


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"expected an object (dict), got {_kind(value)}")
    return value


def _list(value: Any, path: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Sequence):
        raise _fail(path, f"expected a list, got {_kind(value)}")
    return value


def _str(value: Any, path: str, *, non_empty: bool = False, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"expected a string, got {_kind(value)}")
    if non_empty and not value:
        raise _fail(path, "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise _fail(path, f"longer than {max_length} characters")
    return value


def _enum(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(path, f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _required(obj: Mapping[str, Any], name: str, path: str) -> Any:
    value = obj.get(name)
    if value is None:
        raise ParamValidationError(f"Missing required parameter: {path}.{name}")
    return value


def _union(value: Any, path: str) -> tuple[str, Any]:
    """The one member of a union object (the service refuses none or several)."""
    obj = _object(value, path)
    members = [name for name, member in obj.items() if member is not None]
    if len(members) != 1:
        found = ", ".join(members) if members else "none"
        raise _fail(path, f"exactly one member must be set (found: {found})")
    return members[0], obj[members[0]]


def _number(value: Any, path: str, low: float, high: float | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, f"expected a number, got {_kind(value)}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _fail(path, f"{value!r} is not {bound}")


def _check_source(value: Any, path: str, kinds: tuple[str, ...]) -> None:
    kind, member = _union(value, path)
    if kind == "bytes" and not isinstance(member, (bytes, bytearray, memoryview, str)):
        raise _fail(f"{path}.bytes", f"expected bytes, got {_kind(member)}")
    if kind == "s3Location":
        _str(_required(_object(member, f"{path}.s3Location"), "uri", f"{path}.s3Location"), f"{path}.uri")
    elif kind not in kinds and kind != "bytes":
        raise _fail(path, f"unknown source kind {kind!r}")


def _check_media(value: Any, path: str) -> None:
    obj = _object(value, path)
    _required(obj, "format", path)
    _required(obj, "source", path)


def _check_cache_point(value: Any, path: str) -> None:
    obj = _object(value, path)
    _enum(obj.get("type"), f"{path}.type", ("default",))
    if obj.get("ttl") is not None:
        _enum(obj["ttl"], f"{path}.ttl", _CACHE_TTL)


def _check_tool_result_content(value: Any, path: str) -> None:
    for position, item in enumerate(_list(value, path)):
        kind, member = _union(item, f"{path}[{position}]")
        if kind == "text":
            _str(member, f"{path}[{position}].text")
        elif kind in ("image", "document", "video"):
            _check_block(item, f"{path}[{position}]")


def _check_block(block: Any, path: str) -> None:
    kind, value = _union(block, path)
    where = f"{path}.{kind}"
    if kind == "text":
        _str(value, where)
    elif kind == "image":
        image = _object(value, where)
        _enum(_required(image, "format", where), f"{where}.format", _IMAGE_FORMATS)
        _check_source(_required(image, "source", where), f"{where}.source", ())
    elif kind == "document":
        document = _object(value, where)
        _str(_required(document, "name", where), f"{where}.name", non_empty=True)
        _check_source(_required(document, "source", where), f"{where}.source", ("text", "content"))
    elif kind in ("video", "audio"):
        _check_media(value, where)
        _check_source(_object(value, where)["source"], f"{where}.source", ())
    elif kind == "toolUse":
        use = _object(value, where)
        _str(
            _required(use, "toolUseId", where),
            f"{where}.toolUseId",
            non_empty=True,
            max_length=_MAX_NAME_LENGTH,
        )
        _str(_required(use, "name", where), f"{where}.name", non_empty=True, max_length=_MAX_NAME_LENGTH)
        if "input" not in use:
            raise ParamValidationError(f"Missing required parameter: {where}.input")
    elif kind == "toolResult":
        result = _object(value, where)
        _str(_required(result, "toolUseId", where), f"{where}.toolUseId", non_empty=True)
        _check_tool_result_content(_required(result, "content", where), f"{where}.content")
        if result.get("status") is not None:
            _enum(result["status"], f"{where}.status", _TOOL_RESULT_STATUS)
    elif kind == "cachePoint":
        _check_cache_point(value, where)
    elif kind == "reasoningContent":
        inner, member = _union(value, where)
        if inner == "reasoningText":
            _str(
                _required(_object(member, f"{where}.reasoningText"), "text", f"{where}.reasoningText"), where
            )
        elif inner == "redactedContent" and not isinstance(member, (bytes, bytearray, memoryview, str)):
            raise _fail(f"{where}.redactedContent", f"expected bytes, got {_kind(member)}")
    elif kind == "guardContent":
        _union(value, where)
    # Other kinds (citationsContent, searchResult, and kinds added after this version) pass as they are.


def _check_messages(messages: Any) -> None:
    for position, message in enumerate(_list(messages, "messages")):
        path = f"messages[{position}]"
        obj = _object(message, path)
        _enum(_required(obj, "role", path), f"{path}.role", _ROLES)
        content = _list(_required(obj, "content", path), f"{path}.content")
        for index, block in enumerate(content):
            _check_block(block, f"{path}.content[{index}]")


def _check_system(system: Any) -> None:
    for position, block in enumerate(_list(system, "system")):
        path = f"system[{position}]"
        kind, value = _union(block, path)
        if kind == "text":
            _str(value, f"{path}.text", non_empty=True)
        elif kind == "cachePoint":
            _check_cache_point(value, f"{path}.cachePoint")


def _check_inference_config(config: Any) -> None:
    obj = _object(config, "inferenceConfig")
    if obj.get("maxTokens") is not None:
        max_tokens = obj["maxTokens"]
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise _fail("inferenceConfig.maxTokens", f"expected an integer, got {_kind(max_tokens)}")
        _number(max_tokens, "inferenceConfig.maxTokens", 1, None)
    for name in ("temperature", "topP"):
        if obj.get(name) is not None:
            _number(obj[name], f"inferenceConfig.{name}", 0, 1)
    if obj.get("stopSequences") is not None:
        for position, item in enumerate(_list(obj["stopSequences"], "inferenceConfig.stopSequences")):
            _str(item, f"inferenceConfig.stopSequences[{position}]", non_empty=True)


def _check_tool_config(config: Any) -> None:
    obj = _object(config, "toolConfig")
    tools = _list(_required(obj, "tools", "toolConfig"), "toolConfig.tools")
    if not tools:
        raise _fail("toolConfig.tools", "must have at least one tool")
    for position, tool in enumerate(tools):
        path = f"toolConfig.tools[{position}]"
        kind, value = _union(tool, path)
        if kind == "toolSpec":
            spec = _object(value, f"{path}.toolSpec")
            _str(_required(spec, "name", f"{path}.toolSpec"), f"{path}.toolSpec.name", non_empty=True)
            _union(_required(spec, "inputSchema", f"{path}.toolSpec"), f"{path}.toolSpec.inputSchema")
        elif kind == "cachePoint":
            _check_cache_point(value, f"{path}.cachePoint")
    if obj.get("toolChoice") is not None:
        kind, value = _union(obj["toolChoice"], "toolConfig.toolChoice")
        if kind == "tool":
            choice = _object(value, "toolConfig.toolChoice.tool")
            _str(_required(choice, "name", "toolConfig.toolChoice.tool"), "toolConfig.toolChoice.tool.name")


def _check_guardrail_config(config: Any, *, stream: bool) -> None:
    obj = _object(config, "guardrailConfig")
    if obj.get("trace") is not None:
        _enum(obj["trace"], "guardrailConfig.trace", _TRACE)
    if obj.get("streamProcessingMode") is not None:
        if not stream:
            raise _fail("guardrailConfig.streamProcessingMode", "only ConverseStream takes it")
        _enum(obj["streamProcessingMode"], "guardrailConfig.streamProcessingMode", _STREAM_MODES)


def _check_response_field_paths(paths: Any) -> None:
    items = _list(paths, "additionalModelResponseFieldPaths")
    if len(items) > _MAX_RESPONSE_FIELD_PATHS:
        raise _fail("additionalModelResponseFieldPaths", f"at most {_MAX_RESPONSE_FIELD_PATHS} paths")
    for position, item in enumerate(items):
        path = f"additionalModelResponseFieldPaths[{position}]"
        _str(item, path, non_empty=True, max_length=_MAX_PATH_LENGTH)


def _check_request_metadata(metadata: Any) -> None:
    obj = _object(metadata, "requestMetadata")
    if not 1 <= len(obj) <= _MAX_METADATA_ENTRIES:
        raise _fail("requestMetadata", f"must have 1 to {_MAX_METADATA_ENTRIES} entries, has {len(obj)}")
    for key, value in obj.items():
        _str(key, "requestMetadata (a key)", non_empty=True, max_length=_MAX_METADATA_LENGTH)
        _str(value, f"requestMetadata[{key!r}]", max_length=_MAX_METADATA_LENGTH)


def _check_prompt_variables(variables: Any) -> None:
    for name, value in _object(variables, "promptVariables").items():
        _str(name, "promptVariables (a key)")
        _union(value, f"promptVariables[{name!r}]")


def _check_output_config(config: Any) -> None:
    obj = _object(config, "outputConfig")
    if obj.get("textFormat") is not None:
        text_format = _object(obj["textFormat"], "outputConfig.textFormat")
        _enum(text_format.get("type"), "outputConfig.textFormat.type", ("json_schema",))
        structure = _required(text_format, "structure", "outputConfig.textFormat")
        kind, value = _union(structure, "outputConfig.textFormat.structure")
        if kind == "jsonSchema":
            schema_path = "outputConfig.textFormat.structure.jsonSchema"
            _str(_required(_object(value, schema_path), "schema", schema_path), f"{schema_path}.schema")


# --- serialisation ---------------------------------------------------------------------------------------


def _blob_default(value: Any) -> str:
    # json.dumps calls this for what JSON has no type for: bytes-like values are blobs, sent base64.
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"a {_kind(value)} cannot be sent as JSON")


def _dumps(document: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(
            document, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_blob_default
        )
    except (TypeError, ValueError) as exc:
        raise ParamValidationError(f"the request cannot be serialised as JSON: {exc}") from exc
    return text.encode("utf-8")


def build_converse_body(
    messages: Sequence[Message] | None,
    *,
    system: Sequence[SystemContentBlock] | None = None,
    inference_config: InferenceConfig | None = None,
    tool_config: ToolConfig | None = None,
    guardrail_config: GuardrailConfig | None = None,
    additional_model_request_fields: Mapping[str, Any] | None = None,
    additional_model_response_field_paths: Sequence[str] | None = None,
    prompt_variables: Mapping[str, Mapping[str, str]] | None = None,
    request_metadata: Mapping[str, str] | None = None,
    performance_config: PerformanceConfig | None = None,
    service_tier: ServiceTier | None = None,
    output_config: OutputConfig | None = None,
    stream: bool,
) -> bytes:
    """The compact JSON body of a Converse (``stream=False``) or ConverseStream (``stream=True``) request.

    Members left ``None`` are not sent. ``messages`` may be ``None`` only for a prompt-management ARN (the
    prompt brings them). Raises :class:`~client.ParamValidationError` naming the offending path.
    """
    body: dict[str, Any] = {}
    if messages is not None:
        _check_messages(messages)
        body["messages"] = messages
    if system is not None:
        _check_system(system)
        body["system"] = system
    if inference_config is not None:
        _check_inference_config(inference_config)
        body["inferenceConfig"] = inference_config
    if tool_config is not None:
        _check_tool_config(tool_config)
        body["toolConfig"] = tool_config
    if guardrail_config is not None:
        _check_guardrail_config(guardrail_config, stream=stream)
        body["guardrailConfig"] = guardrail_config
    if additional_model_request_fields is not None:
        _object(additional_model_request_fields, "additionalModelRequestFields")
        body["additionalModelRequestFields"] = additional_model_request_fields
    if additional_model_response_field_paths is not None:
        _check_response_field_paths(additional_model_response_field_paths)
        body["additionalModelResponseFieldPaths"] = additional_model_response_field_paths
    if prompt_variables is not None:
        _check_prompt_variables(prompt_variables)
        body["promptVariables"] = prompt_variables
    if request_metadata is not None:
        _check_request_metadata(request_metadata)
        body["requestMetadata"] = request_metadata
    if performance_config is not None:
        obj = _object(performance_config, "performanceConfig")
        if obj.get("latency") is not None:
            _enum(obj["latency"], "performanceConfig.latency", _LATENCY)
        body["performanceConfig"] = performance_config
    if service_tier is not None:
        _enum(_object(service_tier, "serviceTier").get("type"), "serviceTier.type", _TIERS)
        body["serviceTier"] = service_tier
    if output_config is not None:
        _check_output_config(output_config)
        body["outputConfig"] = output_config
    return _dumps(body)


def build_count_tokens_body(
    *,
    body: bytes | bytearray | memoryview | str | None = None,
    messages: Sequence[Message] | None = None,
    system: Sequence[SystemContentBlock] | None = None,
    tool_config: ToolConfig | None = None,
    additional_model_request_fields: Mapping[str, Any] | None = None,
) -> bytes:
    """The JSON body of a CountTokens request, for an InvokeModel ``body`` or a Converse ``messages`` list.

    Exactly one of ``body`` (the model's own request, sent base64) or ``messages`` (with, optionally,
    ``system``, ``tool_config`` and ``additional_model_request_fields``) must be given.
    """
    if (body is None) == (messages is None):
        raise ParamValidationError("count_tokens takes exactly one of body= or messages=")
    if body is not None:
        extras = {
            "system": system,
            "tool_config": tool_config,
            "additional_model_request_fields": additional_model_request_fields,
        }
        given = [name for name, value in extras.items() if value is not None]
        if given:
            raise ParamValidationError(f"count_tokens: {', '.join(given)} only go with messages=, not body=")
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        if not isinstance(data, bytes):  # pragma: no cover - bytes() always gives bytes
            raise ParamValidationError("body must be bytes")
        return _dumps({"input": {"invokeModel": {"body": data}}})
    converse: dict[str, Any] = {}
    _check_messages(messages)
    converse["messages"] = messages
    if system is not None:
        _check_system(system)
        converse["system"] = system
    if tool_config is not None:
        _check_tool_config(tool_config)
        converse["toolConfig"] = tool_config
    if additional_model_request_fields is not None:
        _object(additional_model_request_fields, "additionalModelRequestFields")
        converse["additionalModelRequestFields"] = additional_model_request_fields
    return _dumps({"input": {"converse": converse}})
