"""The emulator's models: which model ids exist, what a valid request body is, and what each family answers.

Pure functions, no I/O, no clock, no randomness: an answer is a function of (model id, request) alone, so the
same request always streams byte-identical events, message ids and latencies included (both derive from a
SHA-256 of the model id and the canonical JSON of the request).

The answer text is a deterministic echo of the prompt ("You asked: ..."); one word is one output token and one
text chunk, the request's max-tokens field truncates it (with the family's length stop reason), and
``chunk_count`` asks for an exact number of text chunks instead (load tests). Each family's events follow the
streamed formats documented (with sources) in :mod:`client.families`; the last event carries
``amazon-bedrock-invocationMetrics`` the way Bedrock appends it.

Request validation follows the service's JSON-schema style wording (``Malformed input request: #: required key
[max_tokens] not found, please reformat your input and try again.``). Unknown keys are accepted (the service
rejects some for some families; that is not emulated).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from client.families import METRICS_KEY, Family

__all__ = [
    "KNOWN_MODELS",
    "LEGACY_TEXT_COMPLETION_MODELS",
    "InvalidRequest",
    "UnknownModel",
    "answer_events",
    "base_model_id",
    "prompt_text",
    "resolve_model",
    "validate_request",
]


class InvalidRequest(Exception):  # noqa: N818 -- the name is part of the emulator API
    """The body is not a valid request for the model: the service answers 400 ValidationException."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_UNKNOWN_MODEL_MESSAGE = "Could not resolve the foundation model from the provided model identifier."


class UnknownModel(Exception):  # noqa: N818 -- the name is part of the emulator API
    """No such model: the service answers 404 ResourceNotFoundException with the service's own wording."""

    def __init__(self, model_id: str) -> None:
        super().__init__(_UNKNOWN_MODEL_MESSAGE)
        self.message = _UNKNOWN_MODEL_MESSAGE
        self.model_id = model_id


_A, _N, _T, _L, _M, _C = (
    Family.ANTHROPIC,
    Family.NOVA,
    Family.TITAN_TEXT,
    Family.LLAMA,
    Family.MISTRAL,
    Family.COHERE,
)
KNOWN_MODELS: Mapping[str, Family] = MappingProxyType(
    {
        "anthropic.claude-instant-v1": _A,
        "anthropic.claude-v2": _A,
        "anthropic.claude-v2:1": _A,
        "anthropic.claude-3-haiku-20240307-v1:0": _A,
        "anthropic.claude-3-sonnet-20240229-v1:0": _A,
        "anthropic.claude-3-opus-20240229-v1:0": _A,
        "anthropic.claude-3-5-haiku-20241022-v1:0": _A,
        "anthropic.claude-3-5-sonnet-20240620-v1:0": _A,
        "anthropic.claude-3-5-sonnet-20241022-v2:0": _A,
        "anthropic.claude-3-7-sonnet-20250219-v1:0": _A,
        "amazon.nova-micro-v1:0": _N,
        "amazon.nova-lite-v1:0": _N,
        "amazon.nova-pro-v1:0": _N,
        "amazon.nova-premier-v1:0": _N,
        "amazon.titan-text-express-v1": _T,
        "amazon.titan-text-lite-v1": _T,
        "amazon.titan-text-premier-v1:0": _T,
        "amazon.titan-tg1-large": _T,
        "meta.llama3-8b-instruct-v1:0": _L,
        "meta.llama3-70b-instruct-v1:0": _L,
        "meta.llama3-1-8b-instruct-v1:0": _L,
        "meta.llama3-1-70b-instruct-v1:0": _L,
        "meta.llama3-1-405b-instruct-v1:0": _L,
        "meta.llama3-2-1b-instruct-v1:0": _L,
        "meta.llama3-2-3b-instruct-v1:0": _L,
        "meta.llama3-2-11b-instruct-v1:0": _L,
        "meta.llama3-2-90b-instruct-v1:0": _L,
        "meta.llama3-3-70b-instruct-v1:0": _L,
        "mistral.mistral-7b-instruct-v0:2": _M,
        "mistral.mixtral-8x7b-instruct-v0:1": _M,
        "mistral.mistral-small-2402-v1:0": _M,
        "mistral.mistral-large-2402-v1:0": _M,
        "mistral.mistral-large-2407-v1:0": _M,
        "cohere.command-r-v1:0": _C,
        "cohere.command-r-plus-v1:0": _C,
    }
)
"""Every model id the emulator serves, with its family."""

LEGACY_TEXT_COMPLETION_MODELS = frozenset(
    {"anthropic.claude-instant-v1", "anthropic.claude-v2", "anthropic.claude-v2:1"}
)
"""Anthropic models that also take the legacy Text Completions body (``prompt``, ``max_tokens_to_sample``)."""

# Region groups of the cross-region inference profiles.
_PROFILE_PREFIXES = frozenset({"us", "us-gov", "eu", "apac", "global", "jp", "au", "ca"})
_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:bedrock:([a-z]{2}(?:-gov)?-[a-z]+-[0-9]):([0-9]{12})?:"
    r"(foundation-model|inference-profile)/(.+)",
    re.ASCII,
)


def _strip_profile(profile_id: str) -> str | None:
    prefix, dot, rest = profile_id.partition(".")
    return rest if dot and prefix in _PROFILE_PREFIXES and rest in KNOWN_MODELS else None


def base_model_id(model_id: str) -> str:
    """The foundation model id behind a model id, inference profile id or ARN; :class:`UnknownModel` if none.

    Accepted: a known id (``anthropic.claude-3-haiku-20240307-v1:0``), a cross-region inference profile id
    (``us.``, ``us-gov.``, ``eu.``, ``apac.``, ``global.``, ``jp.``, ``au.``, ``ca.`` + a known id), a
    ``foundation-model/`` ARN (account field empty, as AWS writes them, or an account id) and an
    ``inference-profile/`` ARN (account id required, resource a profile id). Everything else -- unknown ids,
    other ARN resource types -- raises :class:`UnknownModel`.
    """
    if isinstance(model_id, str):
        if model_id in KNOWN_MODELS:
            return model_id
        base = _strip_profile(model_id)
        if base is not None:
            return base
        match = _ARN.fullmatch(model_id)
        if match is not None:
            account, kind, resource = match.group(2), match.group(3), match.group(4)
            if kind == "foundation-model" and resource in KNOWN_MODELS:
                return resource
            if kind == "inference-profile" and account is not None:
                base = _strip_profile(resource)
                if base is not None:
                    return base
    raise UnknownModel(model_id if isinstance(model_id, str) else repr(model_id))


def resolve_model(model_id: str) -> Family:
    """The family of a served model (see :func:`base_model_id` for the accepted forms)."""
    return KNOWN_MODELS[base_model_id(model_id)]


# --- request validation ---


def _malformed(detail: str) -> InvalidRequest:
    return InvalidRequest(f"Malformed input request: {detail}, please reformat your input and try again.")


def _json_type(value: object) -> str:
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
    actual = _json_type(value)
    return actual == kind or (kind == "Number" and actual == "Integer")


def _check_type(value: object, kind: str, path: str) -> None:
    if not _is(value, kind):
        raise _malformed(f"{path}: expected type: {kind}, found: {_json_type(value)}")


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
            raise _malformed(
                f"{where}/{content_key}: expected type: {expected}, found: {_json_type(content)}"
            )
        if isinstance(content, list):
            for item_index, item in enumerate(content):
                _check_type(item, "JSONObject", f"{where}/{content_key}/{item_index}")


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which are not JSON: the service rejects them.
    raise ValueError(f"{name} is not a valid JSON value")


def _parse_body(body: bytes) -> dict[str, Any]:
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
        raise _malformed(f"#: expected type: JSONObject, found: {_json_type(data)}")
    return data


ANTHROPIC_VERSION = "bedrock-2023-05-31"


def _validate_anthropic(data: dict[str, Any]) -> None:
    if "prompt" in data and "messages" not in data:
        # Legacy Text Completions.
        _require(data, ("prompt", "max_tokens_to_sample"))
        _optional(data, "prompt", "String")
        _optional(data, "max_tokens_to_sample", "Integer", minimum=1)
        _optional(data, "stop_sequences", "JSONArray")
    else:
        _require(data, ("anthropic_version", "max_tokens", "messages"))
        _optional(data, "anthropic_version", "String")
        if data["anthropic_version"] != ANTHROPIC_VERSION:
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
            found = _json_type(data["system"])
            raise _malformed(f"#/system: expected type: String or JSONArray, found: {found}")
        _optional(data, "stop_sequences", "JSONArray")
    for key in ("temperature", "top_p"):
        _optional(data, key, "Number", minimum=0)
    _optional(data, "top_k", "Integer", minimum=0)


def _validate_nova(data: dict[str, Any]) -> None:
    _require(data, ("messages",))
    if "schemaVersion" in data and data["schemaVersion"] != "messages-v1":
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
    _optional(config, "max_new_tokens", "Integer", "#/inferenceConfig", minimum=1)
    for key in ("temperature", "top_p"):
        _optional(config, key, "Number", "#/inferenceConfig", minimum=0)
    _optional(config, "top_k", "Integer", "#/inferenceConfig", minimum=0)


def _validate_titan(data: dict[str, Any]) -> None:
    _require(data, ("inputText",))
    _optional(data, "inputText", "String")
    _optional(data, "textGenerationConfig", "JSONObject")
    config = data.get("textGenerationConfig", {})
    _optional(config, "maxTokenCount", "Integer", "#/textGenerationConfig", minimum=0)
    for key in ("temperature", "topP"):
        _optional(config, key, "Number", "#/textGenerationConfig", minimum=0)
    _optional(config, "stopSequences", "JSONArray", "#/textGenerationConfig")


def _validate_llama(data: dict[str, Any]) -> None:
    _require(data, ("prompt",))
    _optional(data, "prompt", "String")
    _optional(data, "max_gen_len", "Integer", minimum=1)
    for key in ("temperature", "top_p"):
        _optional(data, key, "Number", minimum=0)
    _optional(data, "images", "JSONArray")


def _validate_mistral(data: dict[str, Any]) -> None:
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


def _validate_cohere(data: dict[str, Any]) -> None:
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


def validate_request(family: Family, body: bytes) -> dict[str, Any]:
    """Parse and check a request body for ``family`` as the service would; :class:`InvalidRequest` if wrong.

    Required fields: Anthropic ``anthropic_version`` (``bedrock-2023-05-31``), ``max_tokens``, ``messages``
    (or, legacy, ``prompt`` + ``max_tokens_to_sample``); Nova ``messages``; Titan ``inputText``; Llama
    ``prompt``; Mistral ``prompt`` or ``messages``; Cohere Command R ``message``. Types and minimums of the
    common inference parameters are checked; the message says which field (JSON pointer) is wrong. Malformed
    JSON reports line, column and character offset.
    """
    data = _parse_body(body)
    if family is Family.ANTHROPIC:
        _validate_anthropic(data)
    elif family is Family.NOVA:
        _validate_nova(data)
    elif family is Family.TITAN_TEXT:
        _validate_titan(data)
    elif family is Family.LLAMA:
        _validate_llama(data)
    elif family is Family.MISTRAL:
        _validate_mistral(data)
    elif family is Family.COHERE:
        _validate_cohere(data)
    else:
        raise TypeError(f"not a model family: {family!r}")
    return data


# --- prompts ---

_LLAMA_HEADER = re.compile(r"<\|start_header_id\|>.*?<\|end_header_id\|>", re.DOTALL)
_LLAMA_TOKEN = re.compile(r"<\|[a-z_]+\|>")
_INST = re.compile(r"\[INST\](.*?)(?:\[/INST\]|$)", re.DOTALL)
_SYS = re.compile(r"<<SYS>>.*?<</SYS>>", re.DOTALL)


def _words(text: str) -> str:
    return " ".join(text.split())


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            block["text"]
            for block in content
            if isinstance(block, Mapping) and isinstance(block.get("text"), str)
        )
    return ""


def _last_user_message(messages: object, role_key: str, user: str, content_key: str) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get(role_key) == user:
            return _content_text(message.get(content_key))
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


def prompt_text(family: Family, request: Mapping[str, Any]) -> str:
    """The user's latest prompt in a request, without chat-template markup, whitespace-normalised.

    Anthropic: the last ``user`` message (or the last ``Human:`` turn of a legacy prompt); Nova: the last
    ``user`` message's text blocks; Titan: ``inputText`` without the ``User:``/``Bot:`` framing; Llama and
    Mistral: ``prompt`` without its instruction template (or Mistral's last ``user`` message); Cohere:
    ``message``. Never raises for a mapping; missing parts give "".
    """
    if not isinstance(request, Mapping):
        return ""
    text = ""
    if family is Family.ANTHROPIC:
        if "messages" in request:
            text = _last_user_message(request.get("messages"), "role", "user", "content")
        elif isinstance(request.get("prompt"), str):
            text = request["prompt"].split("Human:")[-1].split("Assistant:")[0]
    elif family is Family.NOVA:
        text = _last_user_message(request.get("messages"), "role", "user", "content")
    elif family is Family.TITAN_TEXT:
        raw = request.get("inputText")
        if isinstance(raw, str):
            text = re.sub(r"\s*Bot:\s*$", "", re.sub(r"^\s*User:\s*", "", raw))
    elif family is Family.LLAMA:
        raw = request.get("prompt")
        text = _strip_instruction_template(raw) if isinstance(raw, str) else ""
    elif family is Family.MISTRAL:
        if "messages" in request:
            text = _last_user_message(request.get("messages"), "role", "user", "content")
        elif isinstance(request.get("prompt"), str):
            text = _strip_instruction_template(request["prompt"])
    elif family is Family.COHERE:
        raw = request.get("message")
        text = raw if isinstance(raw, str) else ""
    return _words(text)


def _max_tokens(family: Family, request: Mapping[str, Any]) -> int:
    value: object = None
    if family is Family.ANTHROPIC:
        value = request.get("max_tokens", request.get("max_tokens_to_sample"))
    elif family is Family.NOVA:
        config = request.get("inferenceConfig")
        value = config.get("max_new_tokens") if isinstance(config, Mapping) else None
    elif family is Family.TITAN_TEXT:
        config = request.get("textGenerationConfig")
        value = config.get("maxTokenCount") if isinstance(config, Mapping) else None
    elif family is Family.LLAMA:
        value = request.get("max_gen_len")
    else:
        value = request.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return _DEFAULT_MAX_TOKENS


_DEFAULT_MAX_TOKENS = 512

# --- answers ---

_CONTINUATION = (
    "and", "the", "stream", "keeps", "flowing", "frame", "after", "frame", "with", "every", "event",
    "carrying", "a", "few", "more", "words", "of", "this", "deterministic", "emulated", "answer",
)  # fmt: skip
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _seed(model_id: str, request: Mapping[str, Any]) -> bytes:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(f"{model_id}\n{canonical}".encode("utf-8", "surrogatepass")).digest()


def _token(seed: bytes, salt: bytes, length: int) -> str:
    digest = hashlib.sha256(salt + seed).digest()
    return "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest[:length])


def _uuid(seed: bytes, salt: bytes) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(salt + seed).digest()[:16], version=4))


def _model_label(model_id: str) -> str:
    try:
        return base_model_id(model_id)
    except UnknownModel:
        return model_id


def _answer_words(model_id: str, prompt: str) -> list[str]:
    label = _model_label(model_id)
    if prompt:
        closing = ["--", "answered", "by", "the", "bedrock-stream", "emulator", f"({label})."]
        return ["You", "asked:", *prompt.split(), *closing]
    return ["Hello", "from", "the", "bedrock-stream", "emulator", f"({label})."]


def _pieces(words: list[str], chunk_count: int, seed: bytes) -> tuple[list[str], list[str]]:
    """Exactly ``chunk_count`` non-empty text pieces; returns (pieces, the words they hold)."""
    if chunk_count == 0:
        return [], []
    if len(words) < chunk_count:
        start = seed[3] % len(_CONTINUATION)
        extra = [_CONTINUATION[(start + i) % len(_CONTINUATION)] for i in range(chunk_count - len(words))]
        words = words + extra
    # Spread len(words) words over chunk_count pieces as evenly as possible, keeping their order.
    base, rest = divmod(len(words), chunk_count)
    pieces: list[str] = []
    position = 0
    for index in range(chunk_count):
        size = base + (1 if index < rest else 0)
        pieces.append(" ".join(words[position : position + size]))
        position += size
    return pieces, words


def _with_spaces(pieces: list[str]) -> list[str]:
    return [piece if index == 0 else " " + piece for index, piece in enumerate(pieces)]


@dataclass(frozen=True, slots=True)
class _Answer:
    """What every family's events are built from."""

    seed: bytes
    pieces: list[str]  # the text chunks, spaces included; "".join(pieces) is the answer
    sizes: list[int]  # words (= output tokens) per piece
    input_tokens: int
    output_tokens: int
    truncated: bool  # cut by the max-tokens field

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def metrics(self) -> dict[str, int]:
        first_byte = 80 + int.from_bytes(self.seed[0:2], "big") % 420
        total = first_byte + 12 * self.output_tokens + self.seed[2] % 40
        return {
            "inputTokenCount": self.input_tokens,
            "outputTokenCount": self.output_tokens,
            "invocationLatency": total,
            "firstByteLatency": first_byte,
        }


def _anthropic_model_name(model_id: str) -> str:
    base = _model_label(model_id)
    name = base.split(".", 1)[1] if base.startswith("anthropic.") else base
    return re.sub(r"-v[0-9]+(?::[0-9]+)?$", "", name)


def _anthropic_events(model_id: str, request: Mapping[str, Any], answer: _Answer) -> list[dict[str, Any]]:
    if "prompt" in request and "messages" not in request:
        events: list[dict[str, Any]] = [
            {"completion": piece, "stop_reason": None, "stop": None} for piece in answer.pieces
        ]
        events.append(
            {
                "completion": "",
                "stop_reason": "max_tokens" if answer.truncated else "stop_sequence",
                "stop": None if answer.truncated else "\n\nHuman:",
                METRICS_KEY: answer.metrics,
            }
        )
        return events
    message: dict[str, Any] = {
        "id": "msg_bdrk_01" + _token(answer.seed, b"anthropic-id", 22),
        "type": "message",
        "role": "assistant",
        "model": _anthropic_model_name(model_id),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1},
    }
    events = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events.extend(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        for piece in answer.pieces
    )
    stop = "max_tokens" if answer.truncated else "end_turn"
    events.append({"type": "content_block_stop", "index": 0})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": answer.output_tokens},
        }
    )
    events.append({"type": "message_stop", METRICS_KEY: answer.metrics})
    return events


def _nova_events(answer: _Answer) -> list[dict[str, Any]]:
    usage = {
        "inputTokens": answer.input_tokens,
        "outputTokens": answer.output_tokens,
        "totalTokens": answer.input_tokens + answer.output_tokens,
    }
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    events.extend(
        {"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 0}} for piece in answer.pieces
    )
    events.append({"contentBlockStop": {"contentBlockIndex": 0}})
    events.append({"messageStop": {"stopReason": "max_tokens" if answer.truncated else "end_turn"}})
    events.append({"metadata": {"usage": usage, "metrics": {}, "trace": {}}, METRICS_KEY: answer.metrics})
    return events


def _titan_events(answer: _Answer) -> list[dict[str, Any]]:
    # Titan has no separate end event: the last text chunk carries the totals and the metrics.
    texts = answer.pieces or [""]
    events: list[dict[str, Any]] = []
    for index, piece in enumerate(texts):
        last = index == len(texts) - 1
        event: dict[str, Any] = {
            "outputText": piece,
            "index": 0,
            "totalOutputTextTokenCount": answer.output_tokens if last else None,
            "completionReason": ("LENGTH" if answer.truncated else "FINISH") if last else None,
            "inputTextTokenCount": answer.input_tokens if index == 0 else None,
        }
        if last:
            event[METRICS_KEY] = answer.metrics
        events.append(event)
    return events


def _llama_events(answer: _Answer) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    generated = 0
    for index, (piece, size) in enumerate(zip(answer.pieces, answer.sizes, strict=True)):
        generated += size
        events.append(
            {
                "generation": piece,
                "prompt_token_count": answer.input_tokens if index == 0 else None,
                "generation_token_count": generated,
                "stop_reason": None,
            }
        )
    events.append(
        {
            "generation": "",
            "prompt_token_count": None if answer.pieces else answer.input_tokens,
            "generation_token_count": answer.output_tokens,
            "stop_reason": "length" if answer.truncated else "stop",
            METRICS_KEY: answer.metrics,
        }
    )
    return events


def _mistral_events(request: Mapping[str, Any], answer: _Answer) -> list[dict[str, Any]]:
    stop = "length" if answer.truncated else "stop"
    if "messages" in request:
        events: list[dict[str, Any]] = [
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": piece}, "stop_reason": None}
                ]
            }
            for piece in answer.pieces
        ]
        last_choice = {"index": 0, "message": {"role": "assistant", "content": ""}, "stop_reason": stop}
        events.append({"choices": [last_choice], METRICS_KEY: answer.metrics})
        return events
    events = [{"outputs": [{"text": piece, "stop_reason": None}]} for piece in answer.pieces]
    events.append({"outputs": [{"text": "", "stop_reason": stop}], METRICS_KEY: answer.metrics})
    return events


def _cohere_events(request: Mapping[str, Any], answer: _Answer) -> list[dict[str, Any]]:
    generation_id = _uuid(answer.seed, b"cohere-generation")
    finish = "MAX_TOKENS" if answer.truncated else "COMPLETE"
    previous = request.get("chat_history")
    history: list[dict[str, Any]] = [
        {"role": item.get("role"), "message": item.get("message")}
        for item in (previous if isinstance(previous, list) else [])
        if isinstance(item, Mapping)
    ]
    message = request.get("message")
    history.append({"role": "USER", "message": message if isinstance(message, str) else ""})
    history.append({"role": "CHATBOT", "message": answer.text})
    response = {
        "response_id": _uuid(answer.seed, b"cohere-response"),
        "text": answer.text,
        "generation_id": generation_id,
        "chat_history": history,
        "finish_reason": finish,
    }
    events: list[dict[str, Any]] = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": generation_id}
    ]
    events.extend(
        {"is_finished": False, "event_type": "text-generation", "text": piece} for piece in answer.pieces
    )
    events.append(
        {
            "is_finished": True,
            "event_type": "stream-end",
            "response": response,
            "finish_reason": finish,
            METRICS_KEY: answer.metrics,
        }
    )
    return events


def answer_events(
    family: Family, model_id: str, request: Mapping[str, Any], *, chunk_count: int | None = None
) -> list[dict[str, Any]]:
    """The model's JSON events answering ``request``, in ``family``'s streamed format, metrics on the last.

    Deterministic in (``model_id``, ``request``): the same pair gives equal events, ids and latencies
    included. Without ``chunk_count`` the answer is one word per text chunk, cut at the request's max-tokens
    field (family default 512) with the family's length stop reason. ``chunk_count`` (>= 0) asks for exactly
    that many text chunks and takes precedence over the max-tokens field: a short answer is continued, a long
    one spreads several words per chunk. Input tokens are the prompt's word count (at least 1), output tokens
    the answer's word count.
    """
    bad_count = isinstance(chunk_count, bool) or not isinstance(chunk_count, int) or chunk_count < 0
    if chunk_count is not None and bad_count:
        raise ValueError(f"chunk_count must be a non-negative integer, not {chunk_count!r}")
    seed = _seed(model_id, request)
    prompt = prompt_text(family, request)
    words = _answer_words(model_id, prompt)
    truncated = False
    if chunk_count is None:
        limit = _max_tokens(family, request)
        if len(words) > limit:
            words, truncated = words[:limit], True
        pieces = list(words)
        sizes = [1] * len(pieces)
    else:
        pieces, words = _pieces(words, chunk_count, seed)
        sizes = [len(piece.split()) for piece in pieces]
    answer = _Answer(
        seed=seed,
        pieces=_with_spaces(pieces),
        sizes=sizes,
        input_tokens=max(1, len(prompt.split())),
        output_tokens=len(words),
        truncated=truncated,
    )
    if family is Family.ANTHROPIC:
        return _anthropic_events(model_id, request, answer)
    if family is Family.NOVA:
        return _nova_events(answer)
    if family is Family.TITAN_TEXT:
        return _titan_events(answer)
    if family is Family.LLAMA:
        return _llama_events(answer)
    if family is Family.MISTRAL:
        return _mistral_events(request, answer)
    if family is Family.COHERE:
        return _cohere_events(request, answer)
    raise TypeError(f"not a model family: {family!r}")
