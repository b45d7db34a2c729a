"""The content blocks of an answer beyond plain text, whatever API asks: a tool call, a reasoning block.

Pure and deterministic. Converse (``toolConfig``, ``additionalModelRequestFields.thinking``) and Claude's
own Messages body (``tools``, ``tool_choice``, ``thinking``) ask for the same things in different words; both
read them into :class:`Tool` rows and a choice, and render the :class:`Block` rows built here in their own
format. The emulated model calls a tool when the prompt names one (or the choice forces one), never in
answer to a tool's result; its input fits the tool's JSON schema (strings echo the prompt) and streams as
several small JSON fragments.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .seeds import token

__all__ = ["Block", "Tool", "choose_tool", "reasoning_block", "tool_use_block"]

# Bytes of tool-input JSON per streamed fragment: small, so any input arrives in several fragments.
_FRAGMENT = 12


@dataclass(frozen=True)
class Tool:
    """A tool offered to the model: its name and its input's JSON schema."""

    name: str
    schema: object


@dataclass(frozen=True)
class Block:
    """One content block of the answer: ``text``, ``reasoning`` or ``toolUse``, with its streamed pieces.

    ``pieces`` joined is the block's text (for a tool call: its input's JSON text); ``signature`` signs a
    reasoning block; ``tool_use_id``, ``name`` and ``input`` describe a tool call.
    """

    kind: str
    pieces: tuple[str, ...]
    signature: str = ""
    tool_use_id: str = ""
    name: str = ""
    input: Any = None


def choose_tool(
    tools: Sequence[Tool], prompt: str, *, forced: str | None = None, any_tool: bool = False
) -> Tool | None:
    """The tool the model calls: ``forced`` by name, else the first offered tool the prompt names, else the
    first tool when the choice demands one (``any_tool``), else none."""
    if forced is not None:
        for tool in tools:
            if tool.name == forced:
                return tool
    lowered = prompt.lower()
    for tool in tools:
        if tool.name and tool.name.lower() in lowered:
            return tool
    return tools[0] if any_tool and tools else None


def _sample(schema: object, prompt: str, depth: int = 0) -> Any:
    """A value that fits a JSON schema, deterministically (strings echo the prompt)."""
    if not isinstance(schema, Mapping) or depth > 8:
        return prompt
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        return {name: _sample(sub, prompt, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        items = schema.get("items")
        return [_sample(items, prompt, depth + 1)] if isinstance(items, Mapping) else []
    if kind == "integer":
        minimum = schema.get("minimum", 1)
        return int(minimum) if isinstance(minimum, int | float) else 1
    if kind == "number":
        minimum = schema.get("minimum", 1.5)
        return float(minimum) if isinstance(minimum, int | float) else 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return prompt


def _fragments(text: str) -> tuple[str, ...]:
    """``text`` cut into small pieces: at least two whenever it has two characters."""
    if len(text) < 2:
        return (text,)
    size = min(_FRAGMENT, max(1, len(text) // 2))
    return tuple(text[i : i + size] for i in range(0, len(text), size))


def tool_use_block(tool: Tool, prompt: str, seed: bytes, *, id_prefix: str) -> Block:
    """The call of ``tool``: an input built from its schema, an id ``id_prefix`` + a token of ``seed``."""
    schema = tool.schema if tool.schema is not None else {"type": "object"}
    tool_input = _sample(schema, prompt)
    text = json.dumps(tool_input, separators=(",", ":"), ensure_ascii=False)
    tool_use_id = id_prefix + token(seed, b"tool-use-id", 22)
    return Block("toolUse", _fragments(text), tool_use_id=tool_use_id, name=tool.name, input=tool_input)


def reasoning_block(prompt: str, seed: bytes) -> Block:
    """The model's visible reasoning about ``prompt``, one word per piece, with a signature."""
    thought = ["Let", "me", "think", "about", "this:", *(prompt.split() or ["the", "greeting"])]
    pieces = tuple(word if i == 0 else " " + word for i, word in enumerate(thought))
    signature = base64.b64encode(hashlib.sha256(b"signature" + seed).digest()).decode("ascii")
    return Block("reasoning", pieces, signature=signature)
