"""What the emulated models answer: deterministic text, then each family's streamed events and its JSON body.

Pure functions, no I/O, no clock, no randomness: an answer is a function of (model id, request) alone, so the
same request always gives byte-identical events, message ids and latencies included (both derive from a
SHA-256 of the model id and the canonical JSON of the request).

The answer text is a deterministic echo of the prompt ("You asked: ..."), a function of the model and the
prompt alone, so InvokeModel, its stream and Converse answer the same prompt with the same text. One word is
one output token and one text chunk; the request's max-tokens field truncates it (with the family's length
stop reason), and ``chunk_count`` asks for an exact number of text chunks instead (load tests). Each family's
events follow the streamed formats documented (with sources) in :mod:`client.families`; the last event
carries ``amazon-bedrock-invocationMetrics`` the way Bedrock appends it. Family knowledge is dispatched by
the tables at the end, one row per family.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from client.families import METRICS_KEY, Family

from .blocks import Block, Tool, choose_tool, reasoning_block, tool_use_block
from .catalogue import model_label
from .prompts import max_tokens, prompt_text
from .seeds import request_seed, token, uuid_from

__all__ = [
    "Answer",
    "answer_body",
    "answer_events",
    "compose",
    "family_answer",
    "native_body",
]

_CONTINUATION = (
    "and", "the", "stream", "keeps", "flowing", "frame", "after", "frame", "with", "every", "event",
    "carrying", "a", "few", "more", "words", "of", "this", "deterministic", "emulated", "answer",
)  # fmt: skip


def _answer_words(model_id: str, prompt: str) -> list[str]:
    label = model_label(model_id)
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
class Answer:
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
    base = model_label(model_id)
    name = base.split(".", 1)[1] if base.startswith("anthropic.") else base
    return re.sub(r"-v[0-9]+(?::[0-9]+)?$", "", name)


def _anthropic_message_id(answer: Answer) -> str:
    return "msg_bdrk_01" + token(answer.seed, b"anthropic-id", 22)


def _anthropic_events(model_id: str, request: Mapping[str, Any], answer: Answer) -> list[dict[str, Any]]:
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
    blocks, stop, answer = _anthropic_blocks(request, answer)
    message: dict[str, Any] = {
        "id": _anthropic_message_id(answer),
        "type": "message",
        "role": "assistant",
        "model": _anthropic_model_name(model_id),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": 1},
    }
    events = [{"type": "message_start", "message": message}]
    for index, block in enumerate(blocks):
        start, delta_of = _ANTHROPIC_STREAMED[block.kind]
        events.append({"type": "content_block_start", "index": index, "content_block": start(block)})
        events.extend(
            {"type": "content_block_delta", "index": index, "delta": delta_of(piece)}
            for piece in block.pieces
        )
        if block.kind == "reasoning":
            signature = {"type": "signature_delta", "signature": block.signature}
            events.append({"type": "content_block_delta", "index": index, "delta": signature})
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": answer.output_tokens},
        }
    )
    events.append({"type": "message_stop", METRICS_KEY: answer.metrics})
    return events


# Claude's Messages API, per block kind: its content_block_start block, and a piece's delta.
_ANTHROPIC_STREAMED: dict[str, tuple[Callable[[Block], dict[str, Any]], Callable[[str], dict[str, Any]]]] = {
    "text": (lambda block: {"type": "text", "text": ""}, lambda piece: {"type": "text_delta", "text": piece}),
    "reasoning": (
        lambda block: {"type": "thinking", "thinking": ""},
        lambda piece: {"type": "thinking_delta", "thinking": piece},
    ),
    "toolUse": (
        lambda block: {"type": "tool_use", "id": block.tool_use_id, "name": block.name, "input": {}},
        lambda piece: {"type": "input_json_delta", "partial_json": piece},
    ),
}


def _anthropic_content(block: Block) -> dict[str, Any]:
    if block.kind == "text":
        return {"type": "text", "text": "".join(block.pieces)}
    if block.kind == "reasoning":
        return {"type": "thinking", "thinking": "".join(block.pieces), "signature": block.signature}
    return {"type": "tool_use", "id": block.tool_use_id, "name": block.name, "input": block.input}


def _anthropic_blocks(request: Mapping[str, Any], answer: Answer) -> tuple[list[Block], str, Answer]:
    """Claude's answer blocks for a Messages body: thinking when ``thinking`` is enabled, then a tool call
    when ``tools`` offers one the prompt names (or ``tool_choice`` forces one), else the text; with the stop
    reason, and the answer with its output tokens counting every block."""
    prompt = prompt_text(Family.ANTHROPIC, request)
    blocks: list[Block] = []
    thinking = request.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        blocks.append(reasoning_block(prompt, answer.seed))
    tool = _anthropic_tool(request, prompt)
    if tool is not None:
        blocks.append(tool_use_block(tool, prompt, answer.seed, id_prefix="toolu_bdrk_01"))
        stop = "tool_use"
    else:
        blocks.append(Block("text", tuple(answer.pieces)))
        stop = "max_tokens" if answer.truncated else "end_turn"
    if len(blocks) > 1 or tool is not None:
        output = sum(len(block.pieces) for block in blocks if block.kind != "text")
        output += answer.output_tokens if tool is None else 0
        answer = dataclasses.replace(answer, output_tokens=output)
    return blocks, stop, answer


def _anthropic_tool(request: Mapping[str, Any], prompt: str) -> Tool | None:
    offered = request.get("tools")
    if not isinstance(offered, list) or not offered:
        return None
    messages = request.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    content = last.get("content") if isinstance(last, Mapping) else None
    if isinstance(content, list) and any(
        isinstance(block, Mapping) and block.get("type") == "tool_result" for block in content
    ):
        return None  # a tool's result is answered with text
    tools = [
        Tool(str(tool.get("name", "")), tool.get("input_schema"))
        for tool in offered
        if isinstance(tool, Mapping) and tool.get("name")
    ]
    raw_choice = request.get("tool_choice")
    choice: Mapping[str, Any] = raw_choice if isinstance(raw_choice, Mapping) else {}
    if choice.get("type") == "none":
        return None
    forced = choice.get("name") if choice.get("type") == "tool" else None
    return choose_tool(tools, prompt, forced=forced, any_tool=choice.get("type") == "any")


def _nova_events(answer: Answer) -> list[dict[str, Any]]:
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


def _titan_events(answer: Answer) -> list[dict[str, Any]]:
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


def _llama_events(answer: Answer) -> list[dict[str, Any]]:
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


def _mistral_events(request: Mapping[str, Any], answer: Answer) -> list[dict[str, Any]]:
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


def _cohere_response(request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    previous = request.get("chat_history")
    history: list[dict[str, Any]] = [
        {"role": item.get("role"), "message": item.get("message")}
        for item in (previous if isinstance(previous, list) else [])
        if isinstance(item, Mapping)
    ]
    message = request.get("message")
    history.append({"role": "USER", "message": message if isinstance(message, str) else ""})
    history.append({"role": "CHATBOT", "message": answer.text})
    return {
        "response_id": uuid_from(answer.seed, b"cohere-response"),
        "text": answer.text,
        "generation_id": uuid_from(answer.seed, b"cohere-generation"),
        "chat_history": history,
        "finish_reason": "MAX_TOKENS" if answer.truncated else "COMPLETE",
    }


def _cohere_events(request: Mapping[str, Any], answer: Answer) -> list[dict[str, Any]]:
    response = _cohere_response(request, answer)
    generation_id = response["generation_id"]
    finish = response["finish_reason"]
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


def compose(model_id: str, prompt: str, limit: int, *, seed: bytes, chunk_count: int | None = None) -> Answer:
    """The answer to ``prompt`` (already normalised): its text pieces, token counts and whether it was cut.

    Without ``chunk_count`` the answer is one word per piece, cut at ``limit`` words. ``chunk_count`` (>= 0)
    asks for exactly that many pieces and takes precedence over ``limit``: a short answer is continued (with
    words chosen from the model and the prompt alone), a long one spreads several words per piece. ``seed``
    (see :func:`request_seed`) feeds ids and latencies only, never the text.
    """
    bad_count = isinstance(chunk_count, bool) or not isinstance(chunk_count, int) or chunk_count < 0
    if chunk_count is not None and bad_count:
        raise ValueError(f"chunk_count must be a non-negative integer, not {chunk_count!r}")
    words = _answer_words(model_id, prompt)
    truncated = False
    if chunk_count is None:
        if len(words) > limit:
            words, truncated = words[:limit], True
        pieces = list(words)
        sizes = [1] * len(pieces)
    else:
        text_seed = hashlib.sha256(f"{model_label(model_id)}\n{prompt}".encode("utf-8", "surrogatepass"))
        pieces, words = _pieces(words, chunk_count, text_seed.digest())
        sizes = [len(piece.split()) for piece in pieces]
    return Answer(
        seed=seed,
        pieces=_with_spaces(pieces),
        sizes=sizes,
        input_tokens=max(1, len(prompt.split())),
        output_tokens=len(words),
        truncated=truncated,
    )


def family_answer(
    family: Family, model_id: str, request: Mapping[str, Any], chunk_count: int | None = None
) -> Answer:
    """The :class:`Answer` a model of ``family`` gives to its own JSON ``request`` (prompt and limit read
    the family's way)."""
    if family not in _EVENTS:
        raise TypeError(f"not a model family: {family!r}")
    return compose(
        model_id,
        prompt_text(family, request),
        max_tokens(family, request),
        seed=request_seed(model_id, request),
        chunk_count=chunk_count,
    )


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
    answer = family_answer(family, model_id, request, chunk_count)
    return _EVENTS[family](model_id, request, answer)


def answer_body(family: Family, model_id: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The model's InvokeModel answer to ``request``: ``family``'s non-streaming JSON document.

    Same text, token counts and ids as :func:`answer_events` gives for the same request (the AWS "inference
    parameters" pages document each family's response body).
    """
    answer = family_answer(family, model_id, request, None)
    return _BODIES[family](model_id, request, answer)


def native_body(
    family: Family, model_id: str, answer: Answer, request: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``family``'s InvokeModel document for an already composed ``answer`` (``request``: the model JSON it
    answers, which picks the legacy or chat shape where a family has both)."""
    return _BODIES[family](model_id, request or {}, answer)


def _anthropic_body(model_id: str, request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    if "prompt" in request and "messages" not in request:
        return {
            "completion": answer.text,
            "stop_reason": "max_tokens" if answer.truncated else "stop_sequence",
            "stop": None if answer.truncated else "\n\nHuman:",
        }
    blocks, stop, answer = _anthropic_blocks(request, answer)
    return {
        "id": _anthropic_message_id(answer),
        "type": "message",
        "role": "assistant",
        "model": _anthropic_model_name(model_id),
        "content": [_anthropic_content(block) for block in blocks],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
    }


def _nova_body(model_id: str, request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": answer.text}]}},
        "stopReason": "max_tokens" if answer.truncated else "end_turn",
        "usage": {
            "inputTokens": answer.input_tokens,
            "outputTokens": answer.output_tokens,
            "totalTokens": answer.input_tokens + answer.output_tokens,
        },
    }


def _titan_body(model_id: str, request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    return {
        "inputTextTokenCount": answer.input_tokens,
        "results": [
            {
                "tokenCount": answer.output_tokens,
                "outputText": answer.text,
                "completionReason": "LENGTH" if answer.truncated else "FINISH",
            }
        ],
    }


def _llama_body(model_id: str, request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    return {
        "generation": answer.text,
        "prompt_token_count": answer.input_tokens,
        "generation_token_count": answer.output_tokens,
        "stop_reason": "length" if answer.truncated else "stop",
    }


def _mistral_body(model_id: str, request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    stop = "length" if answer.truncated else "stop"
    if "messages" in request:
        message = {"role": "assistant", "content": answer.text}
        return {"choices": [{"index": 0, "message": message, "stop_reason": stop}]}
    return {"outputs": [{"text": answer.text, "stop_reason": stop}]}


def _cohere_body(model_id: str, request: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    return _cohere_response(request, answer)


_EventsBuilder = Callable[[str, Mapping[str, Any], Answer], list[dict[str, Any]]]
_BodyBuilder = Callable[[str, Mapping[str, Any], Answer], dict[str, Any]]

# One row per family: its streamed events and its InvokeModel body.
_EVENTS: dict[Family, _EventsBuilder] = {
    Family.ANTHROPIC: _anthropic_events,
    Family.NOVA: lambda model_id, request, answer: _nova_events(answer),
    Family.TITAN_TEXT: lambda model_id, request, answer: _titan_events(answer),
    Family.LLAMA: lambda model_id, request, answer: _llama_events(answer),
    Family.MISTRAL: lambda model_id, request, answer: _mistral_events(request, answer),
    Family.COHERE: lambda model_id, request, answer: _cohere_events(request, answer),
}
_BODIES: dict[Family, _BodyBuilder] = {
    Family.ANTHROPIC: _anthropic_body,
    Family.NOVA: _nova_body,
    Family.TITAN_TEXT: _titan_body,
    Family.LLAMA: _llama_body,
    Family.MISTRAL: _mistral_body,
    Family.COHERE: _cohere_body,
}
