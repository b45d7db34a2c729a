"""Reading a request the way the emulated model does: the user's latest prompt and the max-tokens limit.

Pure functions of a parsed body, dispatched by family through two tables. Never raise for a mapping: missing
or mistyped parts read as "" (prompt) or the default limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from client.families import Family

__all__ = ["DEFAULT_MAX_TOKENS", "content_text", "max_tokens", "normalise", "prompt_text"]

#: The answer's length limit when the request sets none.
DEFAULT_MAX_TOKENS = 512

_LLAMA_HEADER = re.compile(r"<\|start_header_id\|>.*?<\|end_header_id\|>", re.DOTALL)
_LLAMA_TOKEN = re.compile(r"<\|[a-z_]+\|>")
_INST = re.compile(r"\[INST\](.*?)(?:\[/INST\]|$)", re.DOTALL)
_SYS = re.compile(r"<<SYS>>.*?<</SYS>>", re.DOTALL)


def normalise(text: str) -> str:
    """``text`` with every run of whitespace made one space, and trimmed."""
    return " ".join(text.split())


def content_text(content: object) -> str:
    """The text of a message's content: a string, or its blocks' text joined.

    A block's text is its ``text``, or, for a tool's result (Claude's ``{"type": "tool_result", "content":
    ...}``, Nova's ``{"toolResult": {"content": [...]}}``), the result's own text and JSON.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for block in content:
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            parts.append(content_text(block.get("content")))
        elif isinstance(block.get("toolResult"), Mapping):
            parts.append(content_text(block["toolResult"].get("content")))
        elif "json" in block:
            parts.append(json.dumps(block["json"], sort_keys=True, ensure_ascii=False))
    return " ".join(part for part in parts if part)


def _last_user_message(messages: object) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def _strip_instruction_template(prompt: str) -> str:
    # Llama 3 headers and special tokens, then Llama 2 / Mistral [INST] ... [/INST] turns: the last turn wins.
    prompt = _LLAMA_HEADER.sub(" ", prompt)
    last_header_turn = prompt
    if "<|eot_id|>" in prompt:
        turns = [turn for turn in prompt.split("<|eot_id|>") if turn.strip()]
        last_header_turn = turns[-1] if turns else ""
    prompt = _LLAMA_TOKEN.sub(" ", last_header_turn)
    prompt = _SYS.sub(" ", prompt)
    turns = _INST.findall(prompt)
    if turns:
        prompt = turns[-1]
    return prompt.replace("<s>", " ").replace("</s>", " ")


def _anthropic_prompt(request: Mapping[str, Any]) -> str:
    if "messages" in request:
        return _last_user_message(request.get("messages"))
    raw = request.get("prompt")
    return raw.split("Human:")[-1].split("Assistant:")[0] if isinstance(raw, str) else ""


def _titan_prompt(request: Mapping[str, Any]) -> str:
    raw = request.get("inputText")
    if not isinstance(raw, str):
        return ""
    return re.sub(r"\s*Bot:\s*$", "", re.sub(r"^\s*User:\s*", "", raw))


def _llama_prompt(request: Mapping[str, Any]) -> str:
    raw = request.get("prompt")
    return _strip_instruction_template(raw) if isinstance(raw, str) else ""


def _mistral_prompt(request: Mapping[str, Any]) -> str:
    if "messages" in request:
        return _last_user_message(request.get("messages"))
    return _llama_prompt(request)


def _cohere_prompt(request: Mapping[str, Any]) -> str:
    raw = request.get("message")
    return raw if isinstance(raw, str) else ""


_PROMPTS: dict[Family, Callable[[Mapping[str, Any]], str]] = {
    Family.ANTHROPIC: _anthropic_prompt,
    Family.NOVA: lambda request: _last_user_message(request.get("messages")),
    Family.TITAN_TEXT: _titan_prompt,
    Family.LLAMA: _llama_prompt,
    Family.MISTRAL: _mistral_prompt,
    Family.COHERE: _cohere_prompt,
}


def prompt_text(family: Family, request: Mapping[str, Any]) -> str:
    """The user's latest prompt in a request, without chat-template markup, whitespace-normalised.

    Anthropic: the last ``user`` message (or the last ``Human:`` turn of a legacy prompt); Nova: the last
    ``user`` message's text blocks; Titan: ``inputText`` without the ``User:``/``Bot:`` framing; Llama and
    Mistral: ``prompt`` without its instruction template (or Mistral's last ``user`` message); Cohere:
    ``message``. Never raises for a mapping; missing parts give "".
    """
    if not isinstance(request, Mapping):
        return ""
    reader = _PROMPTS.get(family)
    return normalise(reader(request)) if reader is not None else ""


def _nested(request: Mapping[str, Any], outer: str, inner: str) -> object:
    config = request.get(outer)
    return config.get(inner) if isinstance(config, Mapping) else None


# Where each family's request carries its answer-length limit (the field names of the AWS "inference
# parameters" pages, the same ones client.families' request builders write).
_LIMITS: dict[Family, Callable[[Mapping[str, Any]], object]] = {
    Family.ANTHROPIC: lambda request: request.get("max_tokens", request.get("max_tokens_to_sample")),
    # Nova's current guide writes maxTokens; its first request schema wrote max_new_tokens: both work.
    Family.NOVA: lambda request: (
        _nested(request, "inferenceConfig", "maxTokens")
        or _nested(request, "inferenceConfig", "max_new_tokens")
    ),
    Family.TITAN_TEXT: lambda request: _nested(request, "textGenerationConfig", "maxTokenCount"),
    Family.LLAMA: lambda request: request.get("max_gen_len"),
    Family.MISTRAL: lambda request: request.get("max_tokens"),
    Family.COHERE: lambda request: request.get("max_tokens"),
}


def max_tokens(family: Family, request: Mapping[str, Any]) -> int:
    """The request's answer-length limit in tokens (:data:`DEFAULT_MAX_TOKENS` when absent or not a count)."""
    reader = _LIMITS.get(family)
    value = reader(request) if reader is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_MAX_TOKENS
