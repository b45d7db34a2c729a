"""Unit and property tests of client.converse_response: ConverseResponse and ConverseAccumulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.converse_events import (
    CitationDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    ConverseEvent,
    ImageDelta,
    MessageStart,
    MessageStop,
    Metadata,
    ReasoningRedactedDelta,
    ReasoningSignatureDelta,
    ReasoningTextDelta,
    TextDelta,
    ToolResultDelta,
    ToolUseDelta,
    UnknownDelta,
    UnknownEvent,
    Usage,
)
from client.converse_response import ConverseAccumulator, ConverseResponse, ToolInputError, ToolUse
from client.errors import StreamError, UnexpectedResponseError

USAGE = {
    "inputTokens": 5,
    "outputTokens": 7,
    "totalTokens": 12,
    "cacheReadInputTokens": 3,
    "cacheWriteInputTokens": 1,
}


def _accumulate(events: list[ConverseEvent], request_id: str | None = "rid") -> ConverseResponse:
    accumulator = ConverseAccumulator(request_id=request_id)
    for event in events:
        accumulator.add(event)
    return accumulator.finish()


def _tail() -> list[ConverseEvent]:
    return [
        MessageStop("end_turn"),
        Metadata(
            Usage.from_dict(USAGE), {"latencyMs": 40}, None, {"latency": "standard"}, {"type": "default"}
        ),
    ]


def test_text_blocks_accumulate_and_to_dict_is_boto3s_answer() -> None:
    events: list[ConverseEvent] = [
        MessageStart("assistant"),
        ContentBlockDelta(0, TextDelta("Hel")),
        ContentBlockDelta(0, TextDelta("lo")),
        ContentBlockStop(0),
        *_tail(),
    ]
    response = _accumulate(events)
    assert response.text == "Hello"
    assert response.stop_reason == "end_turn"
    assert response.request_id == "rid"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.cache_read_input_tokens) == (5, 3)
    assert response.usage.cache_write_input_tokens == 1
    assert response.latency_ms == 40
    assert response.message == {"role": "assistant", "content": [{"text": "Hello"}]}
    assert response.to_dict() == {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}]}},
        "stopReason": "end_turn",
        "usage": USAGE,
        "metrics": {"latencyMs": 40},
        "performanceConfig": {"latency": "standard"},
        "serviceTier": {"type": "default"},
    }
    # The same answer, non-streaming, gives the same object.
    assert ConverseResponse.from_answer(response.to_dict(), request_id="rid") == response


def test_tool_use_input_is_joined_and_parsed_once_at_the_block_stop() -> None:
    accumulator = ConverseAccumulator()
    accumulator.add(ContentBlockDelta(0, TextDelta("Let me look.")))
    accumulator.add(
        ContentBlockStart(1, {"toolUse": {"toolUseId": "t-1", "name": "lookup", "type": "tool_use"}})
    )
    for fragment in ('{"ci', 'ty": "Pa', 'ris", "n": [1,', " 2]}"):
        accumulator.add(ContentBlockDelta(1, ToolUseDelta(fragment)))
    accumulator.add(ContentBlockStop(1))
    accumulator.add(ContentBlockStart(2, {"toolUse": {"toolUseId": "t-2", "name": "noargs"}}))
    accumulator.add(ContentBlockDelta(2, ToolUseDelta("")))
    accumulator.add(ContentBlockStop(2))
    accumulator.add(MessageStop("tool_use"))
    response = accumulator.finish()
    assert response.tool_uses == [
        ToolUse("t-1", "lookup", {"city": "Paris", "n": [1, 2]}, "tool_use"),
        ToolUse("t-2", "noargs", {}, None),
    ]
    assert response.content[1] == {
        "toolUse": {
            "toolUseId": "t-1",
            "name": "lookup",
            "input": {"city": "Paris", "n": [1, 2]},
            "type": "tool_use",
        }
    }
    assert response.text == "Let me look."
    assert "usage" not in response.to_dict()


def test_tool_input_that_is_not_json_raises_at_its_block_stop() -> None:
    accumulator = ConverseAccumulator(request_id="r-9")
    accumulator.add(ContentBlockStart(3, {"toolUse": {"toolUseId": "t-7", "name": "calc"}}))
    accumulator.add(ContentBlockDelta(3, ToolUseDelta('{"x": ')))
    accumulator.add(ContentBlockDelta(3, ToolUseDelta("oops}")))
    with pytest.raises(ToolInputError) as caught:
        accumulator.add(ContentBlockStop(3))
    error = caught.value
    assert isinstance(error, StreamError)
    assert (error.content_block_index, error.tool_use_id, error.tool_name) == (3, "t-7", "calc")
    assert error.input_text == '{"x": oops}'
    assert error.request_id == "r-9"
    assert "content block 3" in str(error) and "'calc'" in str(error)


def test_tool_input_without_a_block_stop_is_parsed_at_finish() -> None:
    events: list[ConverseEvent] = [
        ContentBlockStart(0, {"toolUse": {"toolUseId": "a", "name": "f"}}),
        ContentBlockDelta(0, ToolUseDelta("[1")),
        ContentBlockDelta(0, ToolUseDelta("]")),
        MessageStop("tool_use"),
    ]
    assert _accumulate(events).tool_uses == [ToolUse("a", "f", [1])]
    broken: list[ConverseEvent] = [*events[:2], MessageStop("tool_use")]
    with pytest.raises(ToolInputError):
        _accumulate(broken)


def test_reasoning_with_signature_and_redacted_reasoning() -> None:
    events: list[ConverseEvent] = [
        ContentBlockDelta(0, ReasoningTextDelta("First, ")),
        ContentBlockDelta(0, ReasoningTextDelta("think.")),
        ContentBlockDelta(0, ReasoningSignatureDelta("c2ln")),
        ContentBlockStop(0),
        ContentBlockDelta(1, ReasoningRedactedDelta(b"\x01")),
        ContentBlockDelta(1, ReasoningRedactedDelta(b"\x02")),
        ContentBlockStop(1),
        ContentBlockDelta(2, TextDelta("Answer.")),
        MessageStop("end_turn"),
    ]
    response = _accumulate(events)
    assert response.content == (
        {"reasoningContent": {"reasoningText": {"text": "First, think.", "signature": "c2ln"}}},
        {"reasoningContent": {"redactedContent": b"\x01\x02"}},
        {"text": "Answer."},
    )
    assert response.text == "Answer."


def test_citations_make_a_citations_content_block() -> None:
    citation = CitationDelta("doc", None, [{"text": "quoted"}], {"documentChar": {"documentIndex": 0}})
    events: list[ConverseEvent] = [
        ContentBlockDelta(0, TextDelta("Intro. ")),
        ContentBlockDelta(1, citation),
        ContentBlockDelta(1, TextDelta("Cited ")),
        ContentBlockDelta(1, TextDelta("claim")),
        MessageStop("end_turn"),
    ]
    response = _accumulate(events)
    assert response.content[1] == {
        "citationsContent": {
            "content": [{"text": "Cited claim"}],
            "citations": [
                {
                    "title": "doc",
                    "sourceContent": [{"text": "quoted"}],
                    "location": {"documentChar": {"documentIndex": 0}},
                }
            ],
        }
    }
    assert response.text == "Intro. Cited claim"


def test_tool_results_images_and_unknown_kinds() -> None:
    events: list[ConverseEvent] = [
        ContentBlockStart(
            0, {"toolResult": {"toolUseId": "s-1", "status": "success", "type": "runner_result"}}
        ),
        ContentBlockDelta(0, ToolResultDelta([{"json": {"out": 1}}])),
        ContentBlockDelta(0, ToolResultDelta([{"text": "done"}])),
        ContentBlockStart(1, {"image": {"format": "png"}}),
        ContentBlockDelta(1, ImageDelta({"bytes": b"\x89P"}, None)),
        ContentBlockDelta(1, ImageDelta({"bytes": b"NG"}, None)),
        ContentBlockDelta(2, UnknownDelta("hologram", "ab")),
        ContentBlockDelta(2, UnknownDelta("hologram", "cd")),
        ContentBlockStart(3, {"video": {"format": "mp4"}}),
        UnknownEvent("somethingNew", {"x": 1}),
        MessageStop("end_turn"),
    ]
    response = _accumulate(events)
    assert response.content == (
        {
            "toolResult": {
                "toolUseId": "s-1",
                "content": [{"json": {"out": 1}}, {"text": "done"}],
                "status": "success",
                "type": "runner_result",
            }
        },
        {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}},
        {"hologram": "abcd"},
        {"video": {"format": "mp4"}},
    )


def test_blocks_come_in_index_order_and_empty_blocks_are_left_out() -> None:
    events: list[ConverseEvent] = [
        ContentBlockDelta(2, TextDelta("c")),
        ContentBlockDelta(0, TextDelta("a")),
        ContentBlockStop(1),
        ContentBlockDelta(0, TextDelta("")),
        MessageStop("end_turn"),
    ]
    assert _accumulate(events).content == ({"text": "a"}, {"text": "c"})


def test_a_stream_without_message_stop_is_incomplete() -> None:
    accumulator = ConverseAccumulator(request_id="cut")
    accumulator.add(MessageStart("assistant"))
    accumulator.add(ContentBlockDelta(0, TextDelta("partial")))
    assert not accumulator.stopped
    with pytest.raises(StreamError, match="without messageStop") as caught:
        accumulator.finish()
    assert caught.value.request_id == "cut"
    accumulator.add(MessageStop("end_turn"))
    assert accumulator.stopped
    assert accumulator.finish().text == "partial"


def test_from_answer_decodes_blobs_and_keeps_the_rest() -> None:
    answer: dict[str, Any] = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"redactedContent": base64.b64encode(b"secret").decode()}},
                    {"image": {"format": "png", "source": {"bytes": "AAE="}}},
                    {
                        "toolResult": {
                            "toolUseId": "x",
                            "content": [{"image": {"format": "gif", "source": {"bytes": "Ag=="}}}],
                        }
                    },
                    {"text": "ok"},
                ],
            }
        },
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
        "metrics": {"latencyMs": 9},
        "additionalModelResponseFields": {"stop_sequence": None},
        "trace": {"guardrail": {}},
    }
    response = ConverseResponse.from_answer(answer, request_id="q")
    assert response.content[0] == {"reasoningContent": {"redactedContent": b"secret"}}
    assert response.content[1] == {"image": {"format": "png", "source": {"bytes": b"\x00\x01"}}}
    assert response.content[2]["toolResult"]["content"][0]["image"]["source"]["bytes"] == b"\x02"
    assert response.text == "ok"
    assert response.additional_model_response_fields == {"stop_sequence": None}
    assert response.to_dict()["trace"] == {"guardrail": {}}
    assert response.usage is not None and response.usage.cache_read_input_tokens is None
    # The input is not modified.
    assert answer["output"]["message"]["content"][1]["image"]["source"]["bytes"] == "AAE="


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"output": {}, "stopReason": "end_turn"},
        {"output": {"message": {"role": "assistant"}}, "stopReason": "end_turn"},
        {"output": {"message": {"role": "assistant", "content": []}}},
        {"output": {"message": {"role": "assistant", "content": ["x"]}}, "stopReason": "end_turn"},
        {
            "output": {"message": {"role": "assistant", "content": [{"image": {"source": {"bytes": "!!"}}}]}},
            "stopReason": "end_turn",
        },
    ],
)
def test_from_answer_refuses_answers_without_their_required_members(answer: dict[str, Any]) -> None:
    with pytest.raises(UnexpectedResponseError, match="the Converse answer"):
        ConverseResponse.from_answer(answer, request_id="z")


def test_a_one_megabyte_answer_in_100k_deltas() -> None:
    # Quadratic string building would copy ~50 GB here; the accumulator keeps pieces and joins once.
    piece = "0123456789"
    delta = ContentBlockDelta(0, TextDelta(piece))
    accumulator = ConverseAccumulator()
    for _ in range(100_000):
        accumulator.add(delta)
    accumulator.add(MessageStop("max_tokens"))
    text = accumulator.finish().text
    assert len(text) == 1_000_000
    assert text == piece * 100_000


_pieces = st.lists(st.lists(st.text(max_size=5), min_size=1, max_size=6), min_size=1, max_size=5)


@given(blocks=_pieces, data=st.data())
def test_accumulation_preserves_order_within_blocks_whatever_the_interleaving(
    blocks: list[list[str]], data: st.DataObject
) -> None:
    # Deliver the blocks' deltas interleaved in any order that keeps each block's own order.
    queues = [list(pieces) for pieces in blocks]
    indexes = data.draw(st.permutations(range(len(blocks))))
    accumulator = ConverseAccumulator()
    while any(queues):
        candidates = [i for i in range(len(queues)) if queues[i]]
        chosen = data.draw(st.sampled_from(candidates))
        accumulator.add(ContentBlockDelta(indexes[chosen], TextDelta(queues[chosen].pop(0))))
    accumulator.add(MessageStop("end_turn"))
    response = accumulator.finish()
    by_index = sorted((indexes[i], "".join(pieces)) for i, pieces in enumerate(blocks))
    assert response.content == tuple({"text": text} for _, text in by_index)
    assert response.text == "".join(text for _, text in by_index)


@given(pieces=st.lists(st.text(max_size=4), min_size=1, max_size=40))
def test_accumulation_keeps_the_pieces_as_they_came_until_the_end(pieces: list[str]) -> None:
    # Linear by structure: each add appends the delta's own string object; nothing is concatenated
    # before finish() joins once.
    accumulator = ConverseAccumulator()
    for text in pieces:
        accumulator.add(ContentBlockDelta(0, TextDelta(text)))
    kept = accumulator._blocks[0].text  # the structure is the property under test
    assert len(kept) == len(pieces)
    assert all(a is b for a, b in zip(kept, pieces, strict=True))
    accumulator.add(MessageStop("end_turn"))
    assert accumulator.finish().text == "".join(pieces)


@given(
    fragments=st.lists(st.text(max_size=3), max_size=10),
    value=st.dictionaries(st.text(max_size=4), st.integers()),
)
def test_tool_input_split_anywhere_parses_to_the_same_value(
    fragments: list[str], value: dict[str, int]
) -> None:

    text = json.dumps(value)
    # Split the JSON text at arbitrary points given by the fragment lengths.
    cuts, position = [], 0
    for fragment in fragments:
        position = min(len(text), position + len(fragment))
        cuts.append(position)
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    accumulator = ConverseAccumulator()
    accumulator.add(ContentBlockStart(0, {"toolUse": {"toolUseId": "i", "name": "n"}}))
    for piece in pieces:
        accumulator.add(ContentBlockDelta(0, ToolUseDelta(piece)))
    accumulator.add(ContentBlockStop(0))
    accumulator.add(MessageStop("tool_use"))
    assert accumulator.finish().tool_uses == [ToolUse("i", "n", value)]


def test_http_details_are_carried_but_not_compared() -> None:
    accumulator = ConverseAccumulator(request_id="r", headers={"x-amzn-requestid": "r"}, retry_attempts=2)
    accumulator.add(ContentBlockDelta(0, TextDelta("x")))
    accumulator.add(MessageStop("end_turn"))
    streamed = accumulator.finish()
    assert (streamed.headers, streamed.retry_attempts) == ({"x-amzn-requestid": "r"}, 2)
    answered = ConverseResponse.from_answer(
        streamed.to_dict(), request_id="r", headers={"X-Amzn-RequestId": "r", "Date": "d"}, retry_attempts=0
    )
    assert answered.headers == {"x-amzn-requestid": "r", "date": "d"}
    # The same answer is the same response, however it travelled.
    assert answered == streamed
    assert "headers" not in repr(answered)


@given(
    answer=st.dictionaries(
        st.sampled_from(["output", "stopReason", "usage", "metrics", "trace"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=4),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        ["message", "role", "content", "text", "toolUse", "citationsContent", "image"]
                    ),
                    inner,
                    max_size=3,
                )
            ),
            max_leaves=12,
        ),
    )
)
def test_from_answer_on_any_json_builds_or_raises_a_documented_error(answer: dict[str, Any]) -> None:
    try:
        response = ConverseResponse.from_answer(answer)
    except UnexpectedResponseError:
        return
    # The views never raise on what was accepted.
    assert isinstance(response.text, str)
    assert isinstance(response.tool_uses, list)
    assert response.to_dict()["stopReason"] == answer["stopReason"]


@pytest.mark.parametrize(
    ("first", "second", "named"),
    [
        (ToolUseDelta("{}"), TextDelta("stray"), "toolUse block but also has text"),
        (ReasoningTextDelta("r"), TextDelta("t"), "reasoning block but also has text"),
        (ReasoningRedactedDelta(b"x"), TextDelta("t"), "text"),
        (
            ToolResultDelta([{"text": "r"}]),
            ImageDelta({"bytes": b"x"}, None),
            "toolResult block but also has image",
        ),
    ],
)
def test_a_block_mixing_known_kinds_is_an_error_not_a_silent_loss(
    first: Any, second: Any, named: str
) -> None:
    accumulator = ConverseAccumulator(request_id="m")
    accumulator.add(ContentBlockDelta(4, first))
    accumulator.add(ContentBlockDelta(4, second))
    accumulator.add(MessageStop("end_turn"))
    with pytest.raises(StreamError, match="content block 4") as caught:
        accumulator.finish()
    assert named in str(caught.value)
    assert caught.value.request_id == "m"


def test_unknown_kinds_next_to_text_are_not_an_error() -> None:
    events: list[ConverseEvent] = [
        ContentBlockDelta(0, TextDelta("a")),
        ContentBlockDelta(0, UnknownDelta("annotation", {"x": 1})),
        MessageStop("end_turn"),
    ]
    assert _accumulate(events).content == ({"text": "a"},)
