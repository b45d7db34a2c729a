"""Unit tests of client.converse_events: one typed, immutable event per ConverseStream frame."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eventstream
from client.converse_events import (
    CitationDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
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
    type_converse_message,
)
from client.errors import (
    BedrockRuntimeError,
    ModelStreamErrorException,
    StreamError,
    ThrottlingException,
    UnmodeledStreamError,
)


def _event(event_type: str, body: Any, *, pad: bool = True, index: int = 0) -> Any:
    if pad and isinstance(body, dict):
        body = {**body, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"}
    payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return type_converse_message(headers, payload, index=index, request_id="rid")


def test_message_start() -> None:
    event = _event("messageStart", {"role": "assistant"})
    assert event == MessageStart("assistant")
    assert event.type == "messageStart"
    assert event.to_dict() == {"messageStart": {"role": "assistant"}}


def test_text_delta_drops_the_padding() -> None:
    event = _event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"text": "Hi"}})
    assert event == ContentBlockDelta(2, TextDelta("Hi"))
    assert event.type == "contentBlockDelta"
    assert event.delta.type == "text"
    assert event.to_dict() == {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 2}}


def test_tool_use_start_delta_stop() -> None:
    start = _event(
        "contentBlockStart",
        {
            "contentBlockIndex": 1,
            "start": {"toolUse": {"toolUseId": "t1", "name": "get", "type": "tool_use"}},
        },
    )
    assert isinstance(start, ContentBlockStart)
    assert start.content_block_index == 1
    assert start.to_dict() == {
        "contentBlockStart": {
            "start": {"toolUse": {"toolUseId": "t1", "name": "get", "type": "tool_use"}},
            "contentBlockIndex": 1,
        }
    }
    delta = _event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"a"'}}})
    assert delta.delta == ToolUseDelta('{"a"')
    assert delta.to_dict()["contentBlockDelta"]["delta"] == {"toolUse": {"input": '{"a"'}}
    stop = _event("contentBlockStop", {"contentBlockIndex": 1})
    assert stop == ContentBlockStop(1)
    assert stop.to_dict() == {"contentBlockStop": {"contentBlockIndex": 1}}


def test_reasoning_deltas() -> None:
    text = _event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hm"}}}
    )
    assert text.delta == ReasoningTextDelta("hm")
    signature = _event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig=="}}}
    )
    assert signature.delta == ReasoningSignatureDelta("sig==")
    assert signature.delta.to_dict() == {"reasoningContent": {"signature": "sig=="}}
    redacted = _event(
        "contentBlockDelta",
        {
            "contentBlockIndex": 0,
            "delta": {"reasoningContent": {"redactedContent": base64.b64encode(b"\x00\xff").decode()}},
        },
    )
    # A blob member: bytes, as boto3 gives it.
    assert redacted.delta == ReasoningRedactedDelta(b"\x00\xff")
    assert redacted.to_dict()["contentBlockDelta"]["delta"] == {
        "reasoningContent": {"redactedContent": b"\x00\xff"}
    }


def test_citation_tool_result_and_image_deltas() -> None:
    citation = {"title": "doc", "sourceContent": [{"text": "x"}], "location": {"documentChar": {"start": 0}}}
    event = _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"citation": citation}})
    assert event.delta == CitationDelta("doc", None, [{"text": "x"}], {"documentChar": {"start": 0}})
    assert event.delta.to_dict() == {"citation": citation}
    result = _event(
        "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolResult": [{"json": {"a": 1}}]}}
    )
    assert result.delta == ToolResultDelta([{"json": {"a": 1}}])
    assert result.delta.to_dict() == {"toolResult": [{"json": {"a": 1}}]}
    image = _event(
        "contentBlockDelta", {"contentBlockIndex": 2, "delta": {"image": {"source": {"bytes": "AAE="}}}}
    )
    assert image.delta == ImageDelta({"bytes": b"\x00\x01"}, None)
    assert image.delta.to_dict() == {"image": {"source": {"bytes": b"\x00\x01"}}}


def test_message_stop_and_metadata() -> None:
    stop = _event("messageStop", {"stopReason": "end_turn", "additionalModelResponseFields": {"x": None}})
    assert stop == MessageStop("end_turn", {"x": None})
    assert stop.to_dict() == {
        "messageStop": {"stopReason": "end_turn", "additionalModelResponseFields": {"x": None}}
    }
    bare = _event("messageStop", {"stopReason": "tool_use", "additionalModelResponseFields": None})
    # A JSON null member is dropped, as botocore drops it.
    assert bare.to_dict() == {"messageStop": {"stopReason": "tool_use"}}
    usage = {
        "inputTokens": 3,
        "outputTokens": 4,
        "totalTokens": 7,
        "cacheReadInputTokens": 10,
        "cacheWriteInputTokens": 0,
    }
    body = {"usage": usage, "metrics": {"latencyMs": 12}, "serviceTier": {"type": "default"}}
    meta = _event("metadata", body)
    assert isinstance(meta, Metadata)
    assert meta.usage == Usage(3, 4, 7, 10, 0, usage)
    assert meta.usage is not None and meta.usage.cache_read_input_tokens == 10
    assert meta.metrics == {"latencyMs": 12}
    assert meta.service_tier == {"type": "default"}
    assert meta.trace is None and meta.performance_config is None
    assert meta.to_dict() == {"metadata": body}


def test_events_are_immutable_and_slotted() -> None:
    event = _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.content_block_index = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.delta.text = "y"
    assert not hasattr(event, "__dict__")
    assert not hasattr(event.delta, "__dict__")
    assert hash(event) == hash(ContentBlockDelta(0, TextDelta("x")))


def test_unknown_event_and_delta_kinds_are_kept() -> None:
    event = _event("contentBlockFlash", {"contentBlockIndex": 0, "sparkle": [1, 2]})
    assert event == UnknownEvent("contentBlockFlash", {"contentBlockIndex": 0, "sparkle": [1, 2]})
    assert event.to_dict() == {"contentBlockFlash": {"contentBlockIndex": 0, "sparkle": [1, 2]}}
    not_json = _event("binaryThing", b"\x00\x01")
    assert not_json == UnknownEvent("binaryThing", b"\x00\x01")
    delta = _event("contentBlockDelta", {"contentBlockIndex": 4, "delta": {"video": {"frame": 1}}})
    assert delta.delta == UnknownDelta("video", {"frame": 1})
    assert delta.to_dict() == {
        "contentBlockDelta": {"delta": {"video": {"frame": 1}}, "contentBlockIndex": 4}
    }
    reasoning = _event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"summary": "s"}}}
    )
    assert reasoning.delta == UnknownDelta("reasoningContent", {"summary": "s"})


def test_payload_layouts_beyond_the_compact_one() -> None:
    headers = {":event-type": "contentBlockDelta", ":message-type": "event"}
    spaced = b' {"contentBlockIndex": 0, "delta": {"text": "a\\u00e9"}}\n'
    assert type_converse_message(headers, spaced, index=0, request_id=None) == ContentBlockDelta(
        0, TextDelta("a\u00e9")
    )
    utf16 = '{"contentBlockIndex":0,"delta":{"text":"b"}}'.encode("utf-16")
    assert type_converse_message(headers, utf16, index=0, request_id=None) == ContentBlockDelta(
        0, TextDelta("b")
    )


@pytest.mark.parametrize(
    ("event_type", "payload", "needle"),
    [
        ("contentBlockDelta", b"{not json", "not JSON"),
        ("contentBlockDelta", b"[1]", "not an object"),
        ("contentBlockDelta", b'{"delta":{"text":"x"}}', "contentBlockIndex"),
        ("contentBlockDelta", b'{"contentBlockIndex":true,"delta":{"text":"x"}}', "contentBlockIndex"),
        ("contentBlockDelta", b'{"contentBlockIndex":-1,"delta":{"text":"x"}}', "contentBlockIndex"),
        ("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":5}}', "delta.text"),
        ("contentBlockDelta", b'{"contentBlockIndex":0,"delta":"x"}', "delta"),
        ("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{}}', "empty"),
        ("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"toolUse":{}}}', "toolUse.input"),
        (
            "contentBlockDelta",
            b'{"contentBlockIndex":0,"delta":{"reasoningContent":{"redactedContent":"!!"}}}',
            "base64",
        ),
        ("contentBlockStart", b'{"contentBlockIndex":0}', "start"),
        ("messageStart", b"{}", "role"),
        ("messageStop", b'{"stopReason":1}', "stopReason"),
        ("metadata", b'{"usage":[]}', "usage"),
        ("contentBlockStop", b'{"contentBlockIndex":"1"}', "contentBlockIndex"),
    ],
)
def test_malformed_known_events_raise_a_stream_error_naming_the_event(
    event_type: str, payload: bytes, needle: str
) -> None:
    headers = {":event-type": event_type, ":message-type": "event"}
    with pytest.raises(StreamError) as caught:
        type_converse_message(headers, payload, index=7, request_id="rid-7")
    assert f"{event_type} event #7" in str(caught.value)
    assert needle in str(caught.value)
    assert caught.value.request_id == "rid-7"


def test_in_stream_exception_raises_the_typed_error() -> None:
    headers = {
        ":exception-type": "throttlingException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    with pytest.raises(ThrottlingException) as caught:
        type_converse_message(headers, b'{"message":"slow down"}', index=3, request_id="r")
    assert caught.value.in_stream
    assert caught.value.message == "slow down"
    assert caught.value.exception_type == "throttlingException"
    headers = {":exception-type": "modelStreamErrorException", ":message-type": "exception"}
    payload = b'{"message":"m","originalStatusCode":500,"originalMessage":"o"}'
    with pytest.raises(ModelStreamErrorException):
        type_converse_message(headers, payload, index=3, request_id="r")


def test_error_message_and_bad_message_types() -> None:
    with pytest.raises(UnmodeledStreamError) as caught:
        type_converse_message(
            {":message-type": "error", ":error-code": "Boom", ":error-message": "it broke"},
            b"",
            index=0,
            request_id=None,
        )
    assert caught.value.error_code == "Boom"
    with pytest.raises(StreamError, match="no :message-type"):
        type_converse_message({":event-type": "messageStart"}, b"{}", index=0, request_id=None)
    with pytest.raises(StreamError, match="unknown :message-type 'weird'"):
        type_converse_message({":message-type": "weird"}, b"{}", index=0, request_id=None)
    with pytest.raises(StreamError, match="no :event-type"):
        type_converse_message({":message-type": "event"}, b"{}", index=0, request_id=None)
    # Every failure is one of the package's documented errors.
    assert issubclass(StreamError, BedrockRuntimeError)


def test_frames_through_the_codec() -> None:
    # The headers the decoder yields (an eventstream.Headers mapping), not a plain dict.
    frame = eventstream.encode(
        eventstream.Message(
            [
                (":event-type", "contentBlockDelta"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            b'{"contentBlockIndex":0,"delta":{"text":"hi"},"p":"abc"}',
        )
    )
    (message,) = eventstream.decode(frame)
    event = type_converse_message(message.headers, message.payload, index=0, request_id=None)
    assert event == ContentBlockDelta(0, TextDelta("hi"))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(text=st.text(), index=st.integers(0, 2**31))
def test_text_deltas_round_trip(text: str, index: int) -> None:
    body = {"contentBlockIndex": index, "delta": {"text": text}}
    event = _event("contentBlockDelta", body)
    assert event.to_dict() == {"contentBlockDelta": body}


@given(
    name=st.from_regex(r"[a-z][A-Za-z]{0,12}", fullmatch=True),
    payload=st.dictionaries(st.text(max_size=6), _json_values),
)
def test_unknown_events_keep_their_payload_without_the_padding(name: str, payload: dict[str, Any]) -> None:
    if name in {
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    }:
        return
    event = _event(name, payload)
    expected = {key: value for key, value in payload.items() if key != "p"}
    assert event == UnknownEvent(name, expected)


_EVENT_TYPES = st.sampled_from(
    [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "x",
    ]
)
_payload_objects = st.dictionaries(
    st.sampled_from(
        ["contentBlockIndex", "delta", "start", "role", "stopReason", "usage", "metrics", "p", "q"]
    ),
    _json_values
    | st.dictionaries(
        st.sampled_from(
            ["text", "toolUse", "reasoningContent", "citation", "toolResult", "image", "input", "z"]
        ),
        _json_values,
    ),
    max_size=4,
)


@given(
    message_type=st.sampled_from(["event", "exception", "error", "other", None]),
    event_type=_EVENT_TYPES,
    payload=st.binary(max_size=64) | _payload_objects.map(lambda obj: json.dumps(obj).encode()),
)
def test_any_message_types_or_raises_a_documented_error(
    message_type: str | None, event_type: str, payload: bytes
) -> None:
    headers: dict[str, Any] = {":event-type": event_type, ":exception-type": "throttlingException"}
    if message_type is not None:
        headers[":message-type"] = message_type
    try:
        event = type_converse_message(headers, payload, index=0, request_id=None)
    except BedrockRuntimeError:
        return
    assert isinstance(event.to_dict(), dict)
    assert event.type == next(iter(event.to_dict()))


def test_deeply_nested_json_is_a_stream_error_not_a_recursion_error() -> None:
    deep = b'{"contentBlockIndex":0,"delta":{"text":"x"},"q":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(StreamError, match="not JSON"):
        _event("contentBlockDelta", deep)
    assert isinstance(_event("someNewEvent", deep), UnknownEvent)
