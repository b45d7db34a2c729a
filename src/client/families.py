"""Model-family helpers: what one streamed chunk of each Bedrock model family means.

A chunk's ``bytes`` (what boto3 gives as ``chunk['bytes']``) is the model's own JSON event. Its shape depends
on the model family; these pure functions turn one decoded event into a :class:`ChunkInfo` (text delta, stop
reason, token usage, Bedrock's invocation metrics, an in-band error) and :class:`Transcript` adds them up.

Formats, as verified (sources in brackets; "docs" = the AWS Bedrock user guide "inference parameters" pages):

* **Anthropic Claude, Messages API** (request carries ``anthropic_version: "bedrock-2023-05-31"``):
  ``message_start`` (``message.usage.input_tokens``/``output_tokens``), ``content_block_start``,
  ``content_block_delta`` (``delta.type`` ``text_delta`` with ``text``; ``input_json_delta`` and
  ``thinking_delta`` carry no answer text), ``content_block_stop``, ``message_delta`` (``delta.stop_reason``,
  ``usage.output_tokens`` -- cumulative), ``message_stop``, plus ``ping`` and the in-band error
  ``{"type": "error", "error": {"type": "overloaded_error", "message": ...}}``; unknown event types must be
  ignored. [docs.claude.com/en/api/messages-streaming] Bedrock appends ``amazon-bedrock-invocationMetrics`` to
  ``message_stop``. [public clients reading ``chunk['amazon-bedrock-invocationMetrics']`` on ``message_stop``]
  Legacy Text Completions (``claude-v2``, ``claude-instant-v1``): ``{"completion", "stop_reason", "stop"}``;
  ``stop_reason`` is null until the last chunk. [langchain-aws ``llms/bedrock.py`` reads ``completion``]
* **Amazon Nova** (messages-v1 over the Invoke API): one top-level key per event -- ``messageStart``,
  ``contentBlockStart``, ``contentBlockDelta`` (``delta.text``), ``contentBlockStop``, ``messageStop``
  (``stopReason``), ``metadata`` (``usage.inputTokens``/``outputTokens``). [Nova user guide, "Streaming
  responses" / "Using the Invoke API"] ``metadata`` is the last event and the one that carries the metrics.
* **Amazon Titan Text**: every chunk is ``{"outputText", "index", "totalOutputTextTokenCount",
  "completionReason", "inputTextTokenCount"}``; the first carries ``inputTextTokenCount``, the last
  ``totalOutputTextTokenCount``, ``completionReason`` (``FINISH``, ``LENGTH``, ``STOP_CRITERIA_MET``, ...)
  and the metrics. [docs model-parameters-titan-text; a recorded stream quoted in a public Ruby client]
* **Meta Llama**: ``{"generation", "prompt_token_count", "generation_token_count", "stop_reason"}``;
  ``prompt_token_count`` on the first chunk only, ``generation_token_count`` a running count,
  ``stop_reason`` (``stop``/``length``) null until the last chunk. [docs model-parameters-meta; recorded
  chunks in public tests]
* **Mistral** text completion: ``{"outputs": [{"text", "stop_reason"}]}`` with ``stop_reason`` ``stop`` or
  ``length`` on the last chunk. [docs model-parameters-mistral-text-completion; AWS SDK examples read
  ``chunk["outputs"][0]["text"]``] Chat completion (``messages`` requests, e.g. Mistral Large 2407): the docs
  give ``{"choices": [{"index", "message": {"role", "content"}, "stop_reason"}]}``; the streamed form was not
  verifiable, so the OpenAI-style ``delta`` / ``finish_reason`` spelling is accepted as well.
* **Cohere Command R / R+**: ``{"is_finished", "event_type", ...}`` with ``event_type`` ``stream-start``
  (``generation_id``), ``text-generation`` (``text``), other ``*-generation`` events without answer text, and
  ``stream-end`` (``finish_reason`` ``COMPLETE``/``MAX_TOKENS``/``ERROR``..., ``response`` holding the whole
  text -- not a delta). [recorded Cohere chat streams in public tests; langchain-aws reads ``text`` and
  ``is_finished``] The older Command (``command-text-v14``) form is accepted defensively but is *not*
  verified: top-level ``text``/``is_finished``/``finish_reason``, a ``generations: [{"text", "finish_reason",
  "is_finished"}]`` list (AWS SDK examples read ``chunk["generations"][0]["text"]``) and the ``<EOS_TOKEN>``
  end marker langchain-aws looks for.
* **Every family**: Bedrock appends ``"amazon-bedrock-invocationMetrics": {"inputTokenCount",
  "outputTokenCount", "invocationLatency", "firstByteLatency"}`` (sometimes ``cacheReadInputTokenCount`` /
  ``cacheWriteInputTokenCount``) to the last chunk.

Request bodies (:func:`build_body`), one per family, as the same pages document them; for Amazon Nova the
Invoke API's ``inferenceConfig`` takes ``max_new_tokens`` (Nova user guide, "Complete request schema"; the
Converse API's ``maxTokens`` is a different document). Everything per family is a row of a dict keyed by
:class:`Family` (body builder, chunk parser), so a new family is one row in each, not a branch in each.

Malformed input never raises: a field of the wrong type is treated as absent, a non-mapping event or an
unknown shape gives an empty :class:`ChunkInfo`. Only the first element of Mistral ``outputs``/``choices``
and Cohere ``generations`` is read (Bedrock streams a single generation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias

__all__ = [
    "METRICS_KEY",
    "ChunkError",
    "ChunkInfo",
    "Family",
    "InvocationMetrics",
    "Transcript",
    "Usage",
    "build_body",
    "detect_family",
    "family_of",
    "parse_chunk",
]

METRICS_KEY = "amazon-bedrock-invocationMetrics"
"""The key Bedrock adds to the last chunk's JSON with token counts and latencies."""


class Family(str, Enum):
    """A model family: one streamed chunk format."""

    ANTHROPIC = "anthropic"
    NOVA = "nova"
    TITAN_TEXT = "titan-text"
    LLAMA = "llama"
    MISTRAL = "mistral"
    COHERE = "cohere"


# --- model ids ---

# arn:{partition}:bedrock:{region}:{account, empty for foundation models}:{resource-type}/{resource-id}
_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:(?:[0-9]{12})?:([a-z-]+)/(.+)", re.ASCII)
# Region-group prefixes of cross-region inference profiles: us., eu., apac., global., us-gov., jp., au., ...
_PROFILE_PREFIX = re.compile(r"[a-z]{2,6}(?:-[a-z]{2,4})?", re.ASCII)
# Amazon Nova ids that are not text models (image, video, speech-to-speech, embeddings).
_NOVA_NOT_TEXT = re.compile(r"canvas|reel|sonic|embed", re.ASCII)


def family_of(model_id: str) -> Family | None:
    """The family of a model id, inference profile id or ARN, or None when it cannot be told from the id.

    Plain ids (``anthropic.claude-3-haiku-20240307-v1:0``), cross-region inference profile ids
    (``us.anthropic...``, ``eu.``, ``apac.``, ``global.``, ``us-gov.``...), and ``foundation-model/`` or
    ``inference-profile/`` ARNs are recognised. Opaque ARNs (application inference profiles, provisioned,
    custom or imported models, prompts...) and non-text models (embeddings, image generators) give None:
    callers then detect the family from the chunk shape (:func:`detect_family`).
    """
    if not isinstance(model_id, str):
        return None
    ident = model_id
    if ident.startswith("arn:"):
        match = _ARN.fullmatch(ident)
        if match is None or match.group(1) not in ("foundation-model", "inference-profile"):
            return None
        ident = match.group(2)
    parts = ident.lower().split(".")
    if len(parts) >= 2 and parts[0] in _BY_PROVIDER:
        provider, model = parts[0], ".".join(parts[1:])
    elif len(parts) >= 3 and _PROFILE_PREFIX.fullmatch(parts[0]) and parts[1] in _BY_PROVIDER:
        provider, model = parts[1], ".".join(parts[2:])
    else:
        return None
    if not model:
        return None
    return _BY_PROVIDER[provider](model)


def _amazon(model: str) -> Family | None:
    if model.startswith("nova-") and _NOVA_NOT_TEXT.search(model) is None:
        return Family.NOVA
    if model.startswith(("titan-text-", "titan-tg1")):
        return Family.TITAN_TEXT
    return None


# Provider prefix of a model id -> the family of the model named after it (None: not a text model we know).
_BY_PROVIDER: dict[str, Callable[[str], Family | None]] = {
    "anthropic": lambda model: Family.ANTHROPIC,
    "amazon": _amazon,
    "meta": lambda model: Family.LLAMA if model.startswith("llama") else None,
    "mistral": lambda model: Family.MISTRAL,
    "cohere": lambda model: Family.COHERE if model.startswith("command") else None,
}


# --- request bodies ---

DEFAULT_MAX_TOKENS = 512
_LLAMA3_TEMPLATE = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)


def _anthropic_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
    }


def _nova_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "schemaVersion": "messages-v1",
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"max_new_tokens": max_tokens},
    }


def _titan_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"inputText": prompt, "textGenerationConfig": {"maxTokenCount": max_tokens}}


def _llama_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"prompt": _LLAMA3_TEMPLATE.format(prompt), "max_gen_len": max_tokens}


def _mistral_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"prompt": f"<s>[INST] {prompt} [/INST]", "max_tokens": max_tokens}


def _cohere_body(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {"message": prompt, "max_tokens": max_tokens}


_BODIES: dict[Family, Callable[[str, int], dict[str, Any]]] = {
    Family.ANTHROPIC: _anthropic_body,
    Family.NOVA: _nova_body,
    Family.TITAN_TEXT: _titan_body,
    Family.LLAMA: _llama_body,
    Family.MISTRAL: _mistral_body,
    Family.COHERE: _cohere_body,
}


def build_body(family: Family, prompt: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """The InvokeModel request body asking a model of ``family`` to answer ``prompt`` (the family's format).

    ``max_tokens`` goes into the family's own length field (``max_tokens``, Nova's
    ``inferenceConfig.max_new_tokens``, Titan's ``maxTokenCount``, Llama's ``max_gen_len``).
    """
    return _BODIES[Family(family)](prompt, max_tokens)


# --- parsed chunk ---


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts the model itself reported (None where it did not say)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class InvocationMetrics:
    """Bedrock's ``amazon-bedrock-invocationMetrics``, appended to the last chunk of a stream."""

    input_token_count: int | None = None
    output_token_count: int | None = None
    invocation_latency_ms: int | None = None
    first_byte_latency_ms: int | None = None
    cache_read_input_token_count: int | None = None
    cache_write_input_token_count: int | None = None


@dataclass(frozen=True, slots=True)
class ChunkError:
    """A chunk whose payload is itself an error envelope (e.g. Anthropic ``{"type": "error", ...}``)."""

    error_type: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}" if self.error_type else self.message


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    """What one chunk says.

    ``text`` is the answer-text delta ("" if none); ``stop_reason`` the family's own stop/finish reason
    (``end_turn``, ``FINISH``, ``stop``, ``COMPLETE``...); ``usage`` the token counts the model reported in
    this chunk; ``metrics`` Bedrock's invocation metrics; ``error`` an in-band error envelope. ``is_final`` is
    true on the chunk that ends the answer: the family's end marker, the chunk carrying the invocation
    metrics, or an error envelope.
    """

    text: str = ""
    stop_reason: str | None = None
    usage: Usage | None = None
    metrics: InvocationMetrics | None = None
    error: ChunkError | None = None
    is_final: bool = False


_EMPTY = ChunkInfo()


# --- field access that never raises ---


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: object) -> int | None:
    # bool is an int subclass; a count is a non-negative JSON integer, nothing else.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _map(value: object) -> Mapping[Any, Any] | None:
    return value if isinstance(value, Mapping) else None


def _first(value: object) -> Mapping[Any, Any] | None:
    if isinstance(value, list) and value:
        return _map(value[0])
    return None


def _get(mapping: Mapping[Any, Any] | None, key: str) -> object:
    return mapping.get(key) if mapping is not None else None


def _usage(container: object, input_key: str, output_key: str) -> Usage | None:
    mapping = _map(container)
    if mapping is None:
        return None
    usage = Usage(_count(mapping.get(input_key)), _count(mapping.get(output_key)))
    return usage if usage != Usage() else None


def _metrics(value: object) -> InvocationMetrics | None:
    mapping = _map(value)
    if mapping is None:
        return None
    return InvocationMetrics(
        input_token_count=_count(mapping.get("inputTokenCount")),
        output_token_count=_count(mapping.get("outputTokenCount")),
        invocation_latency_ms=_count(mapping.get("invocationLatency")),
        first_byte_latency_ms=_count(mapping.get("firstByteLatency")),
        cache_read_input_token_count=_count(mapping.get("cacheReadInputTokenCount")),
        cache_write_input_token_count=_count(mapping.get("cacheWriteInputTokenCount")),
    )


def _error(event: Mapping[Any, Any]) -> ChunkError | None:
    # Anthropic's envelope is {"type": "error", "error": {"type", "message"}}; a bare {"error": {...}} or
    # {"error": "text"} in any family's chunk is reported the same way rather than silently dropped.
    raw = event.get("error")
    if event.get("type") != "error" and raw is None:
        return None
    body = _map(raw)
    if body is not None:
        message = _str(body.get("message")) or ""
        return ChunkError(_str(body.get("type")), message)
    if isinstance(raw, str):
        return ChunkError(None, raw)
    return ChunkError(None, _str(event.get("message")) or "")


# --- family detection ---

_NOVA_KEYS = ("contentBlockDelta", "messageStart", "messageStop", "contentBlockStart", "contentBlockStop")
_TITAN_KEYS = ("outputText", "completionReason", "inputTextTokenCount", "totalOutputTextTokenCount")
_LLAMA_KEYS = ("generation", "generation_token_count", "prompt_token_count")
_MISTRAL_KEYS = ("outputs", "choices")
_COHERE_KEYS = ("event_type", "is_finished", "generations")


def detect_family(event: Mapping[str, Any]) -> Family | None:
    """Guess the family from one event's shape (for ids that do not tell it, such as opaque ARNs)."""
    if not isinstance(event, Mapping):
        return None
    if any(key in event for key in _NOVA_KEYS) or _map(event.get("metadata")) is not None:
        return Family.NOVA
    if isinstance(event.get("type"), str) or "completion" in event:
        return Family.ANTHROPIC
    if any(key in event for key in _TITAN_KEYS):
        return Family.TITAN_TEXT
    if any(key in event for key in _LLAMA_KEYS):
        return Family.LLAMA
    if any(key in event for key in _MISTRAL_KEYS):
        return Family.MISTRAL
    if any(key in event for key in _COHERE_KEYS) or isinstance(event.get("text"), str):
        return Family.COHERE
    return None


# --- per-family parsers: each returns (text, stop_reason, usage, is_final) ---

_Parsed: TypeAlias = tuple[str, str | None, Usage | None, bool]


def _anthropic(event: Mapping[Any, Any]) -> _Parsed:
    kind = event.get("type")
    if kind == "content_block_delta":
        delta = _map(event.get("delta"))
        # Only text deltas are answer text: tool-input JSON and extended thinking are not.
        if delta is not None and delta.get("type", "text_delta") == "text_delta":
            return _str(delta.get("text")) or "", None, None, False
        return "", None, None, False
    if kind == "message_start":
        message = _map(event.get("message"))
        return "", None, _usage(_get(message, "usage"), "input_tokens", "output_tokens"), False
    if kind == "message_delta":
        stop = _str(_get(_map(event.get("delta")), "stop_reason"))
        return "", stop, _usage(event.get("usage"), "input_tokens", "output_tokens"), False
    if kind == "message_stop":
        return "", None, None, True
    if kind is None and "completion" in event:
        stop = _str(event.get("stop_reason"))
        return _str(event.get("completion")) or "", stop, None, stop is not None
    return "", None, None, False


def _nova(event: Mapping[Any, Any]) -> _Parsed:
    block = _map(event.get("contentBlockDelta"))
    text = _str(_get(_map(_get(block, "delta")), "text")) or ""
    stop = _str(_get(_map(event.get("messageStop")), "stopReason"))
    metadata = _map(event.get("metadata"))
    usage = _usage(_get(metadata, "usage"), "inputTokens", "outputTokens")
    return text, stop, usage, metadata is not None


def _titan(event: Mapping[Any, Any]) -> _Parsed:
    stop = _str(event.get("completionReason"))
    usage = _usage(event, "inputTextTokenCount", "totalOutputTextTokenCount")
    return _str(event.get("outputText")) or "", stop, usage, stop is not None


def _llama(event: Mapping[Any, Any]) -> _Parsed:
    stop = _str(event.get("stop_reason"))
    usage = _usage(event, "prompt_token_count", "generation_token_count")
    return _str(event.get("generation")) or "", stop, usage, stop is not None


def _mistral(event: Mapping[Any, Any]) -> _Parsed:
    text = ""
    stop: str | None = None
    output = _first(event.get("outputs"))
    if output is not None:
        text = _str(output.get("text")) or ""
        stop = _str(output.get("stop_reason"))
    choice = _first(event.get("choices"))
    if choice is not None:
        message = _map(choice.get("message")) or _map(choice.get("delta"))
        text = text or _str(_get(message, "content")) or ""
        stop = stop or _str(choice.get("stop_reason")) or _str(choice.get("finish_reason"))
    stop = stop or _str(event.get("stop_reason"))
    usage = _usage(event.get("usage"), "prompt_tokens", "completion_tokens")
    return text, stop, usage, stop is not None


_COHERE_EOS = "<EOS_TOKEN>"


def _cohere(event: Mapping[Any, Any]) -> _Parsed:
    kind = event.get("event_type")
    final = kind == "stream-end" or event.get("is_finished") is True
    stop = _str(event.get("finish_reason"))
    response = _map(event.get("response"))
    stop = stop or _str(_get(response, "finish_reason"))
    meta = _map(_get(response, "meta")) or _map(event.get("meta"))
    usage = _usage(_get(meta, "billed_units"), "input_tokens", "output_tokens") or _usage(
        _get(meta, "tokens"), "input_tokens", "output_tokens"
    )
    text = ""
    if kind == "text-generation" or (kind is None and not final):
        # stream-end's response.text is the whole answer again, never a delta.
        text = _str(event.get("text")) or ""
    generation = _first(event.get("generations"))
    if generation is not None:
        text = text or _str(generation.get("text")) or ""
        stop = stop or _str(generation.get("finish_reason"))
        final = final or generation.get("is_finished") is True
    if text == _COHERE_EOS:
        return "", stop, usage, True
    return text, stop, usage, final or (kind is None and stop is not None)


_PARSERS: dict[Family, Callable[[Mapping[Any, Any]], _Parsed]] = {
    Family.ANTHROPIC: _anthropic,
    Family.NOVA: _nova,
    Family.TITAN_TEXT: _titan,
    Family.LLAMA: _llama,
    Family.MISTRAL: _mistral,
    Family.COHERE: _cohere,
}


def parse_chunk(family: Family | None, event: Mapping[str, Any]) -> ChunkInfo:
    """Parse one chunk's decoded JSON (``json.loads(chunk.bytes)``) of a model of ``family``.

    With ``family`` None the family is detected from the event's shape. Never raises: a non-mapping event, an
    unknown event type or fields of the wrong type give an empty (or partial) :class:`ChunkInfo`. An error
    envelope gives ``ChunkInfo(error=..., is_final=True)``.
    """
    if not isinstance(event, Mapping):
        return _EMPTY
    raw_metrics = event.get(METRICS_KEY)
    metrics = _metrics(raw_metrics)
    error = _error(event)
    if error is not None:
        return ChunkInfo(metrics=metrics, error=error, is_final=True)
    if family is None:
        family = detect_family(event)
    parser = _PARSERS.get(family) if family is not None else None
    text, stop, usage, final = parser(event) if parser is not None else ("", None, None, False)
    final = final or metrics is not None
    if not (text or stop is not None or usage is not None or metrics is not None or final):
        return _EMPTY
    return ChunkInfo(text=text, stop_reason=stop, usage=usage, metrics=metrics, is_final=final)


# --- accumulation ---


class Transcript:
    """Adds up the :class:`ChunkInfo` of one stream: the text so far, the stop reason, usage and metrics.

    Later values win field by field: Anthropic's ``message_delta`` and Llama's ``generation_token_count``
    are cumulative counts, Titan's ``totalOutputTextTokenCount`` a total, so the last reported number is the
    answer's.
    """

    __slots__ = ("_model_usage", "_parts", "chunks", "errors", "finished", "metrics", "stop_reason")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._model_usage = Usage()
        self.stop_reason: str | None = None
        self.metrics: InvocationMetrics | None = None
        self.errors: list[ChunkError] = []
        self.finished = False
        self.chunks = 0

    def add(self, info: ChunkInfo) -> None:
        """Fold one chunk's information in."""
        self.chunks += 1
        if info.text:
            self._parts.append(info.text)
        if info.stop_reason is not None:
            self.stop_reason = info.stop_reason
        if info.usage is not None:
            old = self._model_usage
            self._model_usage = Usage(
                info.usage.input_tokens if info.usage.input_tokens is not None else old.input_tokens,
                info.usage.output_tokens if info.usage.output_tokens is not None else old.output_tokens,
            )
        if info.metrics is not None:
            self.metrics = info.metrics
        if info.error is not None:
            self.errors.append(info.error)
        self.finished = self.finished or info.is_final

    def feed(self, family: Family | None, event: Mapping[str, Any]) -> ChunkInfo:
        """Parse one event with :func:`parse_chunk`, add it, and return its :class:`ChunkInfo`."""
        info = parse_chunk(family, event)
        self.add(info)
        return info

    @property
    def text(self) -> str:
        """The answer text so far."""
        if len(self._parts) > 1:
            # Collapse so that reading after every chunk joins only what is new since the last read.
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def model_usage(self) -> Usage | None:
        """Token counts as the model reported them, or None if it reported none."""
        return self._model_usage if self._model_usage != Usage() else None

    @property
    def usage(self) -> Usage | None:
        """Token counts: the model's own where it reported them, else Bedrock's invocation metrics."""
        own = self._model_usage
        metrics = self.metrics or InvocationMetrics()
        usage = Usage(
            own.input_tokens if own.input_tokens is not None else metrics.input_token_count,
            own.output_tokens if own.output_tokens is not None else metrics.output_token_count,
        )
        return usage if usage != Usage() else None

    @property
    def error(self) -> ChunkError | None:
        """The last in-band error envelope seen, if any."""
        return self.errors[-1] if self.errors else None
