"""Converse and ConverseStream as the emulated service runs them: the request's checks and the answer.

Pure: a parsed Converse request in, an :class:`InvalidRequest` (400 ValidationException) or a
:class:`ConverseAnswer` out, which renders both the Converse JSON document and the ConverseStream events.

The answer's text is the one the model's InvokeModel answer gives for the same prompt (the last ``user``
message's text blocks; see :mod:`.answers`), so a test may compare the two APIs. Beyond text:

- **tool use**: when ``toolConfig`` offers tools and the last user message names one (or ``toolChoice``
  forces one), the answer is a ``toolUse`` block for it, with an input built from the tool's JSON schema,
  streamed as several ``toolUse.input`` JSON fragments, and stop reason ``tool_use``. A user message that
  carries ``toolResult`` blocks is answered with text that echoes the results, never with another tool call;
- **reasoning**: when ``additionalModelRequestFields`` asks for thinking (Claude's ``{"thinking": {"type":
  "enabled", "budget_tokens": N}}`` or Nova's ``{"reasoningConfig": {"type": "enabled"}}``), a
  ``reasoningContent`` block (text deltas, then a signature delta) comes first;
- ``additionalModelResponseFieldPaths`` are looked up (JSON Pointers) in the family's own InvokeModel answer.

The stream always ends with ``messageStop`` then ``metadata`` (usage with ``totalTokens``, ``latencyMs``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from client.families import Family
from client.operations import CONVERSE_STREAM

from .answers import Answer, compose, native_body
from .blocks import Block, Tool, choose_tool, reasoning_block, tool_use_block
from .bodies import InvalidRequest, json_type, parse_json_body
from .prompts import DEFAULT_MAX_TOKENS, normalise
from .seeds import request_seed

__all__ = [
    "ConverseAnswer",
    "converse_answer",
    "converse_prompt",
    "validate_conversation",
    "validate_converse",
]

# The event names, in the order the service sends them, from the table of operations.
_MESSAGE_START, _BLOCK_START, _BLOCK_DELTA, _BLOCK_STOP, _MESSAGE_STOP, _METADATA = (
    CONVERSE_STREAM.stream_events
)
_ROLES = ("user", "assistant", "system")
# The body members of ConverseRequest (its modelId travels in the path) and of ConverseTokensRequest.
_REQUEST_MEMBERS = frozenset(
    {
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "guardrailConfig",
        "projectIdentifier",
        "additionalModelRequestFields",
        "promptVariables",
        "additionalModelResponseFieldPaths",
        "requestMetadata",
        "performanceConfig",
        "serviceTier",
        "outputConfig",
    }
)
_COUNT_TOKENS_MEMBERS = frozenset({"messages", "system", "toolConfig", "additionalModelRequestFields"})
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")
_METADATA_TEXT = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")
_PROMPT_ARN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:prompt/[0-9a-zA-Z]{10}(?::[0-9]{1,5})?"
)
_LATENCIES = ("standard", "optimized")
_SERVICE_TIERS = ("priority", "default", "flex", "reserved")


def _invalid(path: str, constraint: str) -> InvalidRequest:
    # The wording of the service framework's model validation ("1 validation error detected: ...").
    return InvalidRequest(
        f"1 validation error detected: Value at '{path}' failed to satisfy constraint: {constraint}"
    )


def _expect(value: object, kind: type | tuple[type, ...], path: str) -> None:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _invalid(path, f"Member must be a number, found {json_type(value)}")
    if not isinstance(value, kind):
        names = {dict: "structure", list: "list", str: "string", int: "integer", bool: "boolean"}
        wanted = names.get(kind, "number") if isinstance(kind, type) else "number"
        raise _invalid(path, f"Member must be a {wanted}, found {json_type(value)}")


def _one_member(block: object, path: str) -> str:
    """The member set in a union (``{"text": ...}``): exactly one, as the service model's unions require."""
    _expect(block, dict, path)
    assert isinstance(block, dict)
    if len(block) != 1:
        raise _invalid(path, f"Member must have exactly one member set, found {len(block)}")
    return str(next(iter(block)))


def _check_blocks(blocks: object, path: str) -> None:
    _expect(blocks, list, path)
    assert isinstance(blocks, list)
    for index, block in enumerate(blocks):
        where = f"{path}.{index + 1}.member"
        kind = _one_member(block, where)
        value = block[kind]
        if kind == "text":
            _expect(value, str, f"{where}.text")
        elif kind == "toolUse":
            _expect(value, dict, f"{where}.toolUse")
            for key in ("toolUseId", "name", "input"):
                if key not in value:
                    raise _invalid(f"{where}.toolUse.{key}", "Member must not be null")
            if not isinstance(value["toolUseId"], str) or not _TOOL_USE_ID.fullmatch(value["toolUseId"]):
                raise _invalid(
                    f"{where}.toolUse.toolUseId",
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.:-]+",
                )
        elif kind == "toolResult":
            _expect(value, dict, f"{where}.toolResult")
            for key in ("toolUseId", "content"):
                if key not in value:
                    raise _invalid(f"{where}.toolResult.{key}", "Member must not be null")
            _expect(value["content"], list, f"{where}.toolResult.content")
            status = value.get("status")
            if status is not None and status not in ("success", "error"):
                raise _invalid(
                    f"{where}.toolResult.status", "Member must satisfy enum value set: [success, error]"
                )
        # Other block kinds (image, document, reasoningContent, cachePoint... and kinds added later) are
        # passed through unchecked: the emulated model reads only text, toolUse and toolResult.


def validate_converse(
    body: bytes | dict[str, Any], *, count_tokens: bool = False, strict: bool = False
) -> dict[str, Any]:
    """Parse and check a Converse/ConverseStream body's shapes, as the service model constrains them.

    Constraints from botocore's ``bedrock-runtime`` service model (``ConverseRequest``): ``messages`` items
    need ``role`` (user|assistant|system) and a ``content`` list of one-member unions; ``inferenceConfig``
    ``maxTokens`` >= 1, ``temperature`` and ``topP`` in [0, 1], ``stopSequences`` <= 2500; ``toolConfig``
    needs ``tools`` (>= 1), each ``toolSpec`` a ``name`` ([a-zA-Z0-9_-]{1,64}) and an ``inputSchema``;
    ``additionalModelResponseFieldPaths`` <= 10 strings of 1-256 characters; ``requestMetadata`` 1-16
    pairs; ``performanceConfig.latency`` and ``serviceTier.type`` from their enums. Unknown keys are
    accepted (restJson services ignore members they do not model), except when ``strict``. ``count_tokens``:
    the body is CountTokens' ``input.converse`` (messages, system, toolConfig, additionalModelRequestFields).
    """
    data = body if isinstance(body, dict) else parse_json_body(body)
    known = _COUNT_TOKENS_MEMBERS if count_tokens else _REQUEST_MEMBERS
    unknown = sorted(set(data) - known)
    if strict and unknown:
        raise InvalidRequest(f"Unknown member(s) {', '.join(unknown)} (strict emulator)")
    messages = data.get("messages")
    if messages is not None:
        _expect(messages, list, "messages")
        for index, message in enumerate(messages):
            where = f"messages.{index + 1}.member"
            _expect(message, dict, where)
            for key in ("role", "content"):
                if message.get(key) is None:
                    raise _invalid(f"{where}.{key}", "Member must not be null")
            if message["role"] not in _ROLES:
                raise _invalid(f"{where}.role", f"Member must satisfy enum value set: [{', '.join(_ROLES)}]")
            _check_blocks(message["content"], f"{where}.content")
    if data.get("system") is not None:
        _check_blocks(data["system"], "system")
    _check_tool_config(data.get("toolConfig"))
    if count_tokens:
        return data
    _check_inference_config(data.get("inferenceConfig"))
    paths = data.get("additionalModelResponseFieldPaths")
    if paths is not None:
        _expect(paths, list, "additionalModelResponseFieldPaths")
        if len(paths) > 10:
            raise _invalid(
                "additionalModelResponseFieldPaths", "Member must have length less than or equal to 10"
            )
        for index, path in enumerate(paths):
            if not isinstance(path, str) or not 1 <= len(path) <= 256:
                where = f"additionalModelResponseFieldPaths.{index + 1}.member"
                raise _invalid(where, "Member must have length between 1 and 256")
    _check_request_metadata(data.get("requestMetadata"))
    performance = data.get("performanceConfig")
    if performance is not None:
        _expect(performance, dict, "performanceConfig")
        latency = performance.get("latency")
        if latency is not None and latency not in _LATENCIES:
            raise _invalid(
                "performanceConfig.latency", "Member must satisfy enum value set: [standard, optimized]"
            )
    tier = data.get("serviceTier")
    if tier is not None:
        _expect(tier, dict, "serviceTier")
        if tier.get("type") not in _SERVICE_TIERS:
            raise _invalid(
                "serviceTier.type", f"Member must satisfy enum value set: [{', '.join(_SERVICE_TIERS)}]"
            )
    if data.get("promptVariables") is not None:
        _expect(data["promptVariables"], dict, "promptVariables")
    return data


def _check_inference_config(config: object) -> None:
    if config is None:
        return
    _expect(config, dict, "inferenceConfig")
    assert isinstance(config, dict)
    limit = config.get("maxTokens")
    if limit is not None:
        _expect(limit, int, "inferenceConfig.maxTokens")
        if limit < 1:
            raise _invalid("inferenceConfig.maxTokens", "Member must have value greater than or equal to 1")
    for key in ("temperature", "topP"):
        value = config.get(key)
        if value is not None:
            _expect(value, (int, float), f"inferenceConfig.{key}")
            if not 0 <= value <= 1:
                raise _invalid(f"inferenceConfig.{key}", "Member must have value between 0 and 1")
    stops = config.get("stopSequences")
    if stops is not None:
        _expect(stops, list, "inferenceConfig.stopSequences")
        if len(stops) > 2500:
            raise _invalid(
                "inferenceConfig.stopSequences", "Member must have length less than or equal to 2500"
            )


def _check_tool_config(config: object) -> None:
    if config is None:
        return
    _expect(config, dict, "toolConfig")
    assert isinstance(config, dict)
    tools = config.get("tools")
    if tools is None:
        raise _invalid("toolConfig.tools", "Member must not be null")
    _expect(tools, list, "toolConfig.tools")
    if not tools:
        raise _invalid("toolConfig.tools", "Member must have length greater than or equal to 1")
    for index, tool in enumerate(tools):
        where = f"toolConfig.tools.{index + 1}.member"
        kind = _one_member(tool, where)
        if kind != "toolSpec":
            continue
        spec = tool["toolSpec"]
        _expect(spec, dict, f"{where}.toolSpec")
        name = spec.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise _invalid(
                f"{where}.toolSpec.name", "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"
            )
        if spec.get("inputSchema") is None:
            raise _invalid(f"{where}.toolSpec.inputSchema", "Member must not be null")
        _one_member(spec["inputSchema"], f"{where}.toolSpec.inputSchema")
    choice = config.get("toolChoice")
    if choice is not None:
        kind = _one_member(choice, "toolConfig.toolChoice")
        if (kind == "tool" and not isinstance(choice["tool"], dict)) or (
            kind == "tool" and "name" not in choice["tool"]
        ):
            raise _invalid("toolConfig.toolChoice.tool.name", "Member must not be null")


def _check_request_metadata(metadata: object) -> None:
    if metadata is None:
        return
    _expect(metadata, dict, "requestMetadata")
    assert isinstance(metadata, dict)
    if not 1 <= len(metadata) <= 16:
        raise _invalid("requestMetadata", "Member must have between 1 and 16 entries")
    for key, value in metadata.items():
        if not 1 <= len(key) <= 256 or not _METADATA_TEXT.fullmatch(key):
            raise _invalid(
                "requestMetadata",
                f"Map keys must satisfy constraint: [a-zA-Z0-9\\s:_@$#=/+,-.]{{1,256}}, got {key!r}",
            )
        if not isinstance(value, str) or not _METADATA_TEXT.fullmatch(value):
            raise _invalid(
                f"requestMetadata.{key}",
                "Map values must satisfy constraint: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}",
            )


# --- the conversation's rules (checked after the model is known) ---

_STARTS_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
_ALTERNATES = (
    "A conversation must alternate between user and assistant roles. Make sure the conversation alternates "
    "between user and assistant roles and try again."
)


def validate_conversation(request: Mapping[str, Any], model_id: str) -> None:
    """The Converse rules the service applies beyond shapes; :class:`InvalidRequest` with its wording.

    From the Converse API reference and the service's answers: without a prompt ARN, ``messages`` is needed
    and starts with a ``user`` message; ``user`` and ``assistant`` alternate; each ``toolResult`` answers a
    ``toolUse`` id of the assistant message just before it, and an assistant's ``toolUse`` blocks are each
    answered by the next user message; ``promptVariables`` is for prompt-management resources (a prompt ARN
    as model id) only.
    """
    if request.get("promptVariables") is not None and not _PROMPT_ARN.fullmatch(model_id):
        raise InvalidRequest(
            "promptVariables can only be used with a prompt resource: the modelId must be a prompt ARN "
            "(arn:aws:bedrock:REGION:ACCOUNT:prompt/ID)."
        )
    messages = [m for m in request.get("messages") or () if m.get("role") != "system"]
    if not messages:
        raise _invalid("messages", "Member must not be null")
    if messages[0]["role"] != "user":
        raise InvalidRequest(_STARTS_WITH_USER)
    pending: list[str] = []  # toolUse ids of the previous assistant message
    for index, message in enumerate(messages):
        if index and message["role"] == messages[index - 1]["role"]:
            raise InvalidRequest(_ALTERNATES)
        where = f"messages.{index}.content"
        blocks = [block for block in message["content"] if isinstance(block, Mapping)]
        if message["role"] == "user":
            answered = [block["toolResult"]["toolUseId"] for block in blocks if "toolResult" in block]
            if len(answered) > len(pending):
                raise InvalidRequest(
                    f"The number of toolResult blocks at {where} exceeds the number of toolUse blocks of "
                    "previous turn."
                )
            missing = [tool_id for tool_id in pending if tool_id not in answered]
            if missing:
                raise InvalidRequest(
                    f"Expected toolResult blocks at {where} for the following Ids: {', '.join(missing)}"
                )
            pending = []
        else:
            pending = [block["toolUse"]["toolUseId"] for block in blocks if "toolUse" in block]


# --- the answer ---


def _last_user(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for message in reversed(request.get("messages") or ()):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return [block for block in message.get("content") or () if isinstance(block, Mapping)]
    return []


def _result_text(result: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for item in result.get("content") or ():
        if isinstance(item, Mapping):
            if isinstance(item.get("text"), str):
                parts.append(item["text"])
            elif "json" in item:
                parts.append(json.dumps(item["json"], sort_keys=True, ensure_ascii=False))
    return " ".join(parts)


def converse_prompt(request: Mapping[str, Any]) -> str:
    """The prompt the model answers: the last user message's text blocks (and its tool results' content)."""
    parts: list[str] = []
    for block in _last_user(request):
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif isinstance(block.get("toolResult"), Mapping):
            parts.append(_result_text(block["toolResult"]))
    return normalise(" ".join(parts))


def _thinking_requested(request: Mapping[str, Any]) -> bool:
    fields = request.get("additionalModelRequestFields")
    if not isinstance(fields, Mapping):
        return False
    for key in ("thinking", "reasoningConfig", "reasoning_config"):
        config = fields.get(key)
        if isinstance(config, Mapping) and config.get("type") == "enabled":
            return True
    return False


def _tools(request: Mapping[str, Any]) -> list[Tool]:
    config = request.get("toolConfig")
    if not isinstance(config, Mapping):
        return []
    tools: list[Tool] = []
    for tool in config.get("tools") or ():
        spec = tool.get("toolSpec") if isinstance(tool, Mapping) else None
        if isinstance(spec, Mapping):
            schema = spec.get("inputSchema")
            tools.append(
                Tool(str(spec.get("name", "")), schema.get("json") if isinstance(schema, Mapping) else None)
            )
    return tools


def _chosen_tool(request: Mapping[str, Any], prompt: str) -> Tool | None:
    """The tool the model calls (see :func:`.blocks.choose_tool`); none in answer to tool results."""
    tools = _tools(request)
    if not tools or any("toolResult" in block for block in _last_user(request)):
        return None
    choice = request["toolConfig"].get("toolChoice")
    choice = choice if isinstance(choice, Mapping) else {}
    forced = choice["tool"].get("name") if isinstance(choice.get("tool"), Mapping) else None
    return choose_tool(tools, prompt, forced=forced, any_tool="any" in choice)


def _content(block: Block) -> dict[str, Any]:
    if block.kind == "text":
        return {"text": "".join(block.pieces)}
    if block.kind == "reasoning":
        text = {"text": "".join(block.pieces), "signature": block.signature}
        return {"reasoningContent": {"reasoningText": text}}
    return {"toolUse": {"toolUseId": block.tool_use_id, "name": block.name, "input": block.input}}


@dataclass(frozen=True)
class ConverseAnswer:
    """A Converse answer, renderable as the Converse document or the ConverseStream events."""

    blocks: tuple[Block, ...]
    stop_reason: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    additional_fields: Mapping[str, Any] | None
    performance_config: Mapping[str, Any] | None
    service_tier: Mapping[str, Any] | None

    @property
    def text(self) -> str:
        """The text blocks joined."""
        return "".join("".join(block.pieces) for block in self.blocks if block.kind == "text")

    def _usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
        }

    def _extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if self.performance_config is not None:
            extras["performanceConfig"] = dict(self.performance_config)
        if self.service_tier is not None:
            extras["serviceTier"] = dict(self.service_tier)
        return extras

    def document(self) -> dict[str, Any]:
        """The Converse answer JSON (``ConverseResponse`` of the service model)."""
        result: dict[str, Any] = {
            "output": {
                "message": {"role": "assistant", "content": [_content(block) for block in self.blocks]}
            },
            "stopReason": self.stop_reason,
            "usage": self._usage(),
            "metrics": {"latencyMs": self.latency_ms},
        }
        if self.additional_fields is not None:
            result["additionalModelResponseFields"] = dict(self.additional_fields)
        result.update(self._extras())
        return result

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The ConverseStream events as (``:event-type``, payload); ``messageStop``, ``metadata`` last."""
        events: list[tuple[str, dict[str, Any]]] = [(_MESSAGE_START, {"role": "assistant"})]
        for index, block in enumerate(self.blocks):
            if block.kind == "toolUse":
                start = {"toolUse": {"toolUseId": block.tool_use_id, "name": block.name}}
                events.append((_BLOCK_START, {"start": start, "contentBlockIndex": index}))
            for piece in block.pieces:
                if block.kind == "text":
                    delta: dict[str, Any] = {"text": piece}
                elif block.kind == "reasoning":
                    delta = {"reasoningContent": {"text": piece}}
                else:
                    delta = {"toolUse": {"input": piece}}
                events.append((_BLOCK_DELTA, {"contentBlockIndex": index, "delta": delta}))
            if block.kind == "reasoning":
                signature = {"reasoningContent": {"signature": block.signature}}
                events.append((_BLOCK_DELTA, {"contentBlockIndex": index, "delta": signature}))
            events.append((_BLOCK_STOP, {"contentBlockIndex": index}))
        stop: dict[str, Any] = {"stopReason": self.stop_reason}
        if self.additional_fields is not None:
            stop["additionalModelResponseFields"] = dict(self.additional_fields)
        events.append((_MESSAGE_STOP, stop))
        metadata: dict[str, Any] = {"usage": self._usage(), "metrics": {"latencyMs": self.latency_ms}}
        metadata.update(self._extras())
        events.append((_METADATA, metadata))
        return events


def _pointer(document: Any, pointer: str) -> tuple[bool, Any]:
    if not pointer.startswith("/"):
        return False, None
    node = document
    for raw in pointer[1:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False, None
    return True, node


def _additional_fields(paths: Sequence[str], native: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pointer in paths:
        found, value = _pointer(native, pointer)
        if not found:
            continue
        keys = [raw.replace("~1", "/").replace("~0", "~") for raw in pointer[1:].split("/")]
        node = fields
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return fields


def converse_answer(
    family: Family, model_id: str, request: Mapping[str, Any], *, chunk_count: int | None = None
) -> ConverseAnswer:
    """The deterministic answer to a (validated) Converse request for a model of ``family``."""
    seed = request_seed(model_id, request)
    prompt = converse_prompt(request)
    config = request.get("inferenceConfig")
    limit = config.get("maxTokens", DEFAULT_MAX_TOKENS) if isinstance(config, Mapping) else DEFAULT_MAX_TOKENS
    answer: Answer = compose(model_id, prompt, limit, seed=seed, chunk_count=chunk_count)
    blocks: list[Block] = []
    output_tokens = 0
    if _thinking_requested(request):
        blocks.append(reasoning_block(prompt, seed))
        output_tokens += len(blocks[-1].pieces)
    tool = _chosen_tool(request, prompt)
    if tool is not None:
        blocks.append(tool_use_block(tool, prompt, seed, id_prefix="tooluse_"))
        output_tokens += len(blocks[-1].pieces)
        stop_reason = "tool_use"
    else:
        blocks.append(Block("text", tuple(answer.pieces)))
        output_tokens += answer.output_tokens
        stop_reason = "max_tokens" if answer.truncated else "end_turn"
    paths = request.get("additionalModelResponseFieldPaths")
    additional = _additional_fields(paths, native_body(family, model_id, answer)) if paths else None
    performance = request.get("performanceConfig")
    tier = request.get("serviceTier")
    return ConverseAnswer(
        blocks=tuple(blocks),
        stop_reason=stop_reason,
        input_tokens=answer.input_tokens,
        output_tokens=output_tokens,
        latency_ms=answer.metrics["invocationLatency"],
        additional_fields=additional,
        performance_config=performance if isinstance(performance, Mapping) else None,
        service_tier=tier if isinstance(tier, Mapping) else None,
    )
