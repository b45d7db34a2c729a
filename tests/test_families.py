"""client.families: model ids to families, one chunk's meaning per family, and the running transcript.

The sample chunks are shaped like the recorded/documented ones cited in client/families.py's docstring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.families import (
    METRICS_KEY,
    ChunkError,
    ChunkInfo,
    Family,
    InvocationMetrics,
    Transcript,
    Usage,
    build_body,
    detect_family,
    family_of,
    parse_chunk,
)

METRICS = {"inputTokenCount": 9, "outputTokenCount": 104, "invocationLatency": 3407, "firstByteLatency": 2440}
PARSED_METRICS = InvocationMetrics(9, 104, 3407, 2440)


# --- family_of ---


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", Family.ANTHROPIC),
        ("anthropic.claude-v2", Family.ANTHROPIC),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", Family.ANTHROPIC),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", Family.ANTHROPIC),
        ("apac.anthropic.claude-3-haiku-20240307-v1:0", Family.ANTHROPIC),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", Family.ANTHROPIC),
        ("us-gov.anthropic.claude-3-haiku-20240307-v1:0", Family.ANTHROPIC),
        ("amazon.nova-lite-v1:0", Family.NOVA),
        ("us.amazon.nova-pro-v1:0", Family.NOVA),
        ("amazon.nova-2-lite-v1:0", Family.NOVA),
        ("amazon.titan-text-express-v1", Family.TITAN_TEXT),
        ("amazon.titan-text-premier-v1:0", Family.TITAN_TEXT),
        ("amazon.titan-tg1-large", Family.TITAN_TEXT),
        ("meta.llama3-8b-instruct-v1:0", Family.LLAMA),
        ("us.meta.llama3-2-90b-instruct-v1:0", Family.LLAMA),
        ("mistral.mistral-7b-instruct-v0:2", Family.MISTRAL),
        ("mistral.mixtral-8x7b-instruct-v0:1", Family.MISTRAL),
        ("mistral.mistral-large-2407-v1:0", Family.MISTRAL),
        ("cohere.command-r-v1:0", Family.COHERE),
        ("cohere.command-r-plus-v1:0", Family.COHERE),
        ("cohere.command-text-v14", Family.COHERE),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            Family.ANTHROPIC,
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/meta.llama3-8b-instruct-v1:0",
            Family.LLAMA,
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            Family.ANTHROPIC,
        ),
        ("arn:aws-cn:bedrock:cn-north-1::foundation-model/amazon.titan-text-lite-v1", Family.TITAN_TEXT),
        ("arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/amazon.nova-micro-v1:0", Family.NOVA),
    ],
)
def test_family_of_known_ids_profiles_and_arns(model_id: str, family: Family) -> None:
    assert family_of(model_id) is family


@pytest.mark.parametrize(
    "model_id",
    [
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/anthropic.claude-v2/abcdefghijkl",
        "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdefghijkl",
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint",
        "arn:aws:bedrock:us-east-1::foundation-model/",
        "arn:aws:bedrock",
        "amazon.titan-embed-text-v2:0",
        "amazon.nova-canvas-v1:0",
        "amazon.nova-reel-v1:0",
        "amazon.nova-sonic-v1:0",
        "cohere.embed-english-v3",
        "meta.something-else",
        "stability.stable-diffusion-xl-v1",
        "ai21.jamba-instruct-v1:0",
        "anthropic.",
        "us.",
        "us.unknown.model",
        "verylongprefix.anthropic.claude-v2",
        "claude-3-haiku",
        "",
    ],
)
def test_family_of_opaque_or_unknown_is_none(model_id: str) -> None:
    assert family_of(model_id) is None


def test_family_of_non_string_is_none() -> None:
    assert family_of(None) is None  # type: ignore[arg-type]
    assert family_of(b"anthropic.claude-v2") is None  # type: ignore[arg-type]


# --- parse_chunk, family by family ---


def test_anthropic_messages_stream() -> None:
    a = Family.ANTHROPIC
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_bdrk_01",
            "type": "message",
            "role": "assistant",
            "content": [],
            "usage": {"input_tokens": 12, "output_tokens": 1},
        },
    }
    assert parse_chunk(a, start) == ChunkInfo(usage=Usage(12, 1))
    block_start = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert parse_chunk(a, block_start) == ChunkInfo()
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}
    assert parse_chunk(a, delta) == ChunkInfo(text="Hello")
    assert parse_chunk(a, {"type": "ping"}) == ChunkInfo()
    assert parse_chunk(a, {"type": "content_block_stop", "index": 0}) == ChunkInfo()
    message_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 527},
    }
    assert parse_chunk(a, message_delta) == ChunkInfo(stop_reason="end_turn", usage=Usage(None, 527))
    stop = {"type": "message_stop", METRICS_KEY: METRICS}
    assert parse_chunk(a, stop) == ChunkInfo(metrics=PARSED_METRICS, is_final=True)
    assert parse_chunk(a, {"type": "message_stop"}).is_final


def test_anthropic_non_text_deltas_are_not_answer_text() -> None:
    tool = {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"a'},
    }
    thinking = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hmm"},
    }
    assert parse_chunk(Family.ANTHROPIC, tool) == ChunkInfo()
    assert parse_chunk(Family.ANTHROPIC, thinking) == ChunkInfo()
    other_kind = {"type": "content_block_delta", "delta": {"type": "citations_delta", "text": "not answer"}}
    assert parse_chunk(Family.ANTHROPIC, other_kind) == ChunkInfo()
    untyped = {"type": "content_block_delta", "delta": {"text": "x"}}
    assert parse_chunk(Family.ANTHROPIC, untyped).text == "x"


def test_anthropic_error_envelope_is_reported() -> None:
    event = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    info = parse_chunk(Family.ANTHROPIC, event)
    assert info.error == ChunkError("overloaded_error", "Overloaded")
    assert info.is_final
    assert str(info.error) == "overloaded_error: Overloaded"
    # Detected without a family too, and a bare error in another family's chunk is not dropped.
    assert parse_chunk(None, event).error == ChunkError("overloaded_error", "Overloaded")
    assert parse_chunk(Family.LLAMA, {"error": "model crashed"}).error == ChunkError(None, "model crashed")
    assert parse_chunk(Family.ANTHROPIC, {"type": "error"}).error == ChunkError(None, "")


def test_anthropic_legacy_completions() -> None:
    assert parse_chunk(
        Family.ANTHROPIC, {"completion": " Hi", "stop_reason": None, "stop": None}
    ) == ChunkInfo(text=" Hi")
    last = {"completion": "", "stop_reason": "stop_sequence", "stop": "\n\nHuman:", METRICS_KEY: METRICS}
    assert parse_chunk(Family.ANTHROPIC, last) == ChunkInfo(
        stop_reason="stop_sequence", metrics=PARSED_METRICS, is_final=True
    )


def test_nova_stream() -> None:
    n = Family.NOVA
    assert parse_chunk(n, {"messageStart": {"role": "assistant"}}) == ChunkInfo()
    delta = {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}}
    assert parse_chunk(n, delta) == ChunkInfo(text="Hi")
    assert parse_chunk(n, {"contentBlockStop": {"contentBlockIndex": 0}}) == ChunkInfo()
    assert parse_chunk(n, {"messageStop": {"stopReason": "end_turn"}}) == ChunkInfo(stop_reason="end_turn")
    metadata = {
        "metadata": {"usage": {"inputTokens": 9, "outputTokens": 4}, "metrics": {}},
        METRICS_KEY: METRICS,
    }
    assert parse_chunk(n, metadata) == ChunkInfo(usage=Usage(9, 4), metrics=PARSED_METRICS, is_final=True)
    # metadata is Nova's last event even when Bedrock's metrics are absent.
    assert parse_chunk(n, {"metadata": {"usage": {"inputTokens": 1}}}) == ChunkInfo(
        usage=Usage(1), is_final=True
    )


def test_titan_stream_as_recorded() -> None:
    first = {
        "outputText": "Hello",
        "index": 0,
        "totalOutputTextTokenCount": None,
        "completionReason": None,
        "inputTextTokenCount": 9,
    }
    assert parse_chunk(Family.TITAN_TEXT, first) == ChunkInfo(text="Hello", usage=Usage(9, None))
    last = {
        "outputText": " world",
        "index": 0,
        "totalOutputTextTokenCount": 104,
        "completionReason": "FINISH",
        "inputTextTokenCount": None,
        METRICS_KEY: METRICS,
    }
    assert parse_chunk(Family.TITAN_TEXT, last) == ChunkInfo(
        text=" world", stop_reason="FINISH", usage=Usage(None, 104), metrics=PARSED_METRICS, is_final=True
    )


def test_llama_stream_as_recorded() -> None:
    first = {"generation": "\n\n", "prompt_token_count": 10, "generation_token_count": 1, "stop_reason": None}
    assert parse_chunk(Family.LLAMA, first) == ChunkInfo(text="\n\n", usage=Usage(10, 1))
    last = {
        "generation": "",
        "prompt_token_count": None,
        "generation_token_count": 9,
        "stop_reason": "stop",
        METRICS_KEY: {"inputTokenCount": 7, "outputTokenCount": 9},
    }
    info = parse_chunk(Family.LLAMA, last)
    assert info == ChunkInfo(
        stop_reason="stop", usage=Usage(None, 9), metrics=InvocationMetrics(7, 9), is_final=True
    )


def test_mistral_text_and_chat_forms() -> None:
    m = Family.MISTRAL
    assert parse_chunk(m, {"outputs": [{"text": "Bon", "stop_reason": None}]}) == ChunkInfo(text="Bon")
    last = {"outputs": [{"text": "jour", "stop_reason": "length"}], METRICS_KEY: METRICS}
    assert parse_chunk(m, last) == ChunkInfo(
        text="jour", stop_reason="length", metrics=PARSED_METRICS, is_final=True
    )
    chat = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "stop_reason": None}]}
    assert parse_chunk(m, chat) == ChunkInfo(text="Hi")
    openai_style = {"choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "stop"}]}
    assert parse_chunk(m, openai_style) == ChunkInfo(text="!", stop_reason="stop", is_final=True)
    assert parse_chunk(m, {"outputs": [], "stop_reason": "stop"}) == ChunkInfo(
        stop_reason="stop", is_final=True
    )
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
    assert parse_chunk(m, usage) == ChunkInfo(usage=Usage(3, 5))


def test_cohere_command_r_stream() -> None:
    c = Family.COHERE
    assert (
        parse_chunk(c, {"is_finished": False, "event_type": "stream-start", "generation_id": "g"})
        == ChunkInfo()
    )
    text = {"is_finished": False, "event_type": "text-generation", "text": "Hi"}
    assert parse_chunk(c, text) == ChunkInfo(text="Hi")
    assert (
        parse_chunk(c, {"is_finished": False, "event_type": "citation-generation", "text": "x"})
        == ChunkInfo()
    )
    end = {
        "is_finished": True,
        "event_type": "stream-end",
        "response": {
            "text": "Hi there",  # the whole answer again: not a delta
            "finish_reason": "COMPLETE",
            "meta": {
                "billed_units": {"input_tokens": 9, "output_tokens": 20},
                "tokens": {"input_tokens": 70},
            },
        },
        "finish_reason": "COMPLETE",
        METRICS_KEY: METRICS,
    }
    assert parse_chunk(c, end) == ChunkInfo(
        stop_reason="COMPLETE", usage=Usage(9, 20), metrics=PARSED_METRICS, is_final=True
    )
    # Even if a stream-end repeated the text at the top level, it is not a delta.
    assert parse_chunk(c, {"event_type": "stream-end", "text": "Hi there"}) == ChunkInfo(is_final=True)
    tokens_only = {
        "event_type": "stream-end",
        "response": {"meta": {"tokens": {"input_tokens": 4, "output_tokens": 2}}},
    }
    assert parse_chunk(c, tokens_only).usage == Usage(4, 2)


def test_cohere_legacy_forms() -> None:
    c = Family.COHERE
    assert parse_chunk(c, {"text": "Hi", "is_finished": False}) == ChunkInfo(text="Hi")
    assert parse_chunk(c, {"is_finished": True, "finish_reason": "MAX_TOKENS"}) == ChunkInfo(
        stop_reason="MAX_TOKENS", is_final=True
    )
    assert parse_chunk(c, {"text": "<EOS_TOKEN>", "is_finished": False}) == ChunkInfo(is_final=True)
    generations = {"generations": [{"text": "Yo", "is_finished": False, "index": 0}]}
    assert parse_chunk(c, generations) == ChunkInfo(text="Yo")
    done = {"generations": [{"text": "", "is_finished": True, "finish_reason": "COMPLETE"}]}
    assert parse_chunk(c, done) == ChunkInfo(stop_reason="COMPLETE", is_final=True)


def test_metrics_with_cache_counts_and_metrics_only_chunk() -> None:
    raw = {**METRICS, "cacheReadInputTokenCount": 5, "cacheWriteInputTokenCount": 0}
    info = parse_chunk(None, {METRICS_KEY: raw})
    assert info == ChunkInfo(metrics=InvocationMetrics(9, 104, 3407, 2440, 5, 0), is_final=True)


# --- detection ---


@pytest.mark.parametrize(
    ("event", "family"),
    [
        ({"type": "content_block_delta", "delta": {"text": "x"}}, Family.ANTHROPIC),
        ({"completion": "x", "stop_reason": None}, Family.ANTHROPIC),
        ({"contentBlockDelta": {"delta": {"text": "x"}}}, Family.NOVA),
        ({"metadata": {"usage": {}}}, Family.NOVA),
        ({"outputText": "x", "index": 0}, Family.TITAN_TEXT),
        ({"generation": "x", "stop_reason": None}, Family.LLAMA),
        ({"outputs": [{"text": "x"}]}, Family.MISTRAL),
        ({"choices": [{"message": {"content": "x"}}]}, Family.MISTRAL),
        ({"event_type": "text-generation", "text": "x"}, Family.COHERE),
        ({"text": "x", "is_finished": False}, Family.COHERE),
        ({"generations": [{"text": "x"}]}, Family.COHERE),
        ({METRICS_KEY: METRICS}, None),
        ({}, None),
    ],
)
def test_detect_family_by_shape(event: dict[str, Any], family: Family | None) -> None:
    assert detect_family(event) is family
    if family is not None and "x" in json.dumps(event):
        assert parse_chunk(None, event) == parse_chunk(family, event)


# --- robustness ---


def test_wrong_types_are_ignored_not_raised() -> None:
    assert parse_chunk(Family.ANTHROPIC, {"type": "content_block_delta", "delta": {"text": 5}}) == ChunkInfo()
    assert parse_chunk(Family.ANTHROPIC, {"type": "content_block_delta", "delta": ["x"]}) == ChunkInfo()
    assert parse_chunk(Family.ANTHROPIC, {"type": "message_start", "message": None}) == ChunkInfo()
    bad_usage = {"type": "message_delta", "usage": {"output_tokens": True, "input_tokens": -3}}
    assert parse_chunk(Family.ANTHROPIC, bad_usage) == ChunkInfo()
    assert parse_chunk(Family.TITAN_TEXT, {"outputText": None, "inputTextTokenCount": 2.5}) == ChunkInfo()
    assert parse_chunk(Family.MISTRAL, {"outputs": "nope"}) == ChunkInfo()
    assert parse_chunk(Family.MISTRAL, {"outputs": [None], "choices": [1]}) == ChunkInfo()
    assert parse_chunk(Family.NOVA, {"contentBlockDelta": {"delta": None}}) == ChunkInfo()
    assert parse_chunk(Family.COHERE, {"generations": [{"text": 1}]}) == ChunkInfo()
    assert parse_chunk(Family.LLAMA, {METRICS_KEY: "not a mapping"}) == ChunkInfo()
    assert parse_chunk(None, {METRICS_KEY: {"inputTokenCount": "9"}}) == ChunkInfo(
        metrics=InvocationMetrics(), is_final=True
    )


@pytest.mark.parametrize("event", [None, [], ["type"], "text", 3, b"{}"])
def test_non_mapping_events_give_empty_info(event: Any) -> None:
    for family in [None, *Family]:
        assert parse_chunk(family, event) == ChunkInfo()
    assert detect_family(event) is None


_KEYS = sorted(
    {
        "type", "delta", "text", "message", "usage", "input_tokens", "output_tokens", "stop_reason", "error",
        "completion", "contentBlockDelta", "messageStop", "stopReason", "metadata", "inputTokens",
        "outputTokens",
        "outputText", "completionReason", "inputTextTokenCount", "totalOutputTextTokenCount", "generation",
        "prompt_token_count", "generation_token_count", "outputs", "choices", "content", "finish_reason",
        "event_type", "is_finished", "generations", "response", "meta", "billed_units", "tokens", METRICS_KEY,
        "inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency",
    }
)  # fmt: skip
_VALUES = st.sampled_from(
    [
        "content_block_delta", "message_start", "message_delta", "message_stop", "error", "text_delta",
        "text-generation", "stream-end", "<EOS_TOKEN>", "stop",
    ]
)  # fmt: skip
_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8) | _VALUES
)
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=25,
)
_EVENTS = st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=4) | st.integers(), _JSONISH, max_size=6)


@given(family=st.sampled_from([None, *Family]), event=_EVENTS)
def test_random_events_never_raise_and_are_well_typed(family: Family | None, event: dict[Any, Any]) -> None:
    info = parse_chunk(family, event)
    assert isinstance(info, ChunkInfo)
    assert isinstance(info.text, str)
    assert info.stop_reason is None or isinstance(info.stop_reason, str)
    for count in (info.usage.input_tokens, info.usage.output_tokens) if info.usage else ():
        assert count is None or (type(count) is int and count >= 0)
    assert info.error is None or isinstance(info.error.message, str)
    transcript = Transcript()
    transcript.add(info)
    assert transcript.text == info.text


# --- Transcript ---


def _anthropic_stream() -> list[dict[str, Any]]:
    return [
        {"type": "message_start", "message": {"usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", world"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}},
        {"type": "message_stop", METRICS_KEY: {**METRICS, "inputTokenCount": 12, "outputTokenCount": 3}},
    ]


def test_transcript_accumulates_a_stream() -> None:
    transcript = Transcript()
    seen: list[str] = []
    for event in _anthropic_stream():
        info = transcript.feed(Family.ANTHROPIC, event)
        seen.append(info.text)
        assert transcript.text == "".join(seen)  # readable at every step
        assert transcript.finished == (event["type"] == "message_stop")
    assert transcript.text == "Hello, world"
    assert transcript.stop_reason == "end_turn"
    assert transcript.usage == transcript.model_usage == Usage(12, 3)
    assert transcript.metrics == InvocationMetrics(12, 3, 3407, 2440)
    assert transcript.chunks == 8
    assert transcript.error is None


def test_transcript_usage_falls_back_to_metrics_field_by_field() -> None:
    transcript = Transcript()
    assert transcript.usage is None and transcript.model_usage is None and transcript.text == ""
    transcript.add(ChunkInfo(text="a", usage=Usage(4, None)))
    transcript.add(ChunkInfo(text="b", metrics=InvocationMetrics(99, 7), is_final=True))
    assert transcript.usage == Usage(4, 7)
    assert transcript.model_usage == Usage(4, None)
    assert transcript.text == "ab"


def test_transcript_keeps_errors_and_latest_values() -> None:
    transcript = Transcript()
    transcript.add(ChunkInfo(usage=Usage(1, 1), stop_reason="x"))
    transcript.add(ChunkInfo(usage=Usage(None, 5)))
    transcript.add(ChunkInfo(error=ChunkError("overloaded_error", "Overloaded"), is_final=True))
    assert transcript.model_usage == Usage(1, 5)
    assert transcript.stop_reason == "x"
    assert transcript.error == ChunkError("overloaded_error", "Overloaded")
    assert transcript.errors == [ChunkError("overloaded_error", "Overloaded")]
    assert transcript.finished


# --- round trip: the body we build -> the emulator's answer -> parse_chunk ---

# The family's own "stopped because of the length limit" reason.
_LENGTH_STOP = {
    Family.ANTHROPIC: "max_tokens",
    Family.NOVA: "max_tokens",
    Family.TITAN_TEXT: "LENGTH",
    Family.LLAMA: "length",
    Family.MISTRAL: "length",
    Family.COHERE: "MAX_TOKENS",
}
_ROUND_TRIP_MODELS = {
    Family.ANTHROPIC: "anthropic.claude-3-haiku-20240307-v1:0",
    Family.NOVA: "amazon.nova-lite-v1:0",
    Family.TITAN_TEXT: "amazon.titan-text-express-v1",
    Family.LLAMA: "meta.llama3-8b-instruct-v1:0",
    Family.MISTRAL: "mistral.mistral-7b-instruct-v0:2",
    Family.COHERE: "cohere.command-r-v1:0",
}


def _answer(bedrock: Any, model_id: str, body: dict[str, Any]) -> Transcript:
    transcript = Transcript()
    family = family_of(model_id)
    with bedrock.invoke_model_with_response_stream(model_id, body) as stream:
        for chunk in stream:
            transcript.feed(family, chunk.json())
    return transcript


@pytest.mark.parametrize("family", list(Family))
def test_round_trip_body_emulator_parse_chunk(family: Family) -> None:
    """Every family's body is read as meant: the prompt reaches the answer, max_tokens shortens it."""
    from client import BedrockRuntimeClient
    from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator
    from sigv4 import Credentials

    model_id = _ROUND_TRIP_MODELS[family]
    assert family_of(model_id) is family
    keys = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    with (
        Emulator() as emu,
        BedrockRuntimeClient("us-east-1", credentials=keys, endpoint_url=emu.url) as bedrock,
    ):
        full = _answer(bedrock, model_id, build_body(family, "Why stream answers?"))
        short = _answer(bedrock, model_id, build_body(family, "Why stream answers?", max_tokens=3))
    assert full.text.startswith("You asked: Why stream answers?")
    assert full.finished and full.error is None
    assert full.stop_reason != _LENGTH_STOP[family]
    assert full.usage is not None and full.usage.input_tokens and full.usage.output_tokens
    # The length limit is read: the answer is cut to 3 words with the family's length stop reason.
    assert len(short.text.split()) == 3, short.text
    assert short.stop_reason == _LENGTH_STOP[family]
    assert short.usage is not None and short.usage.output_tokens == 3
