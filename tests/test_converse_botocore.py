"""Differential: our Converse events and answers against botocore's own parsers, on real Bedrock recordings.

For every ConverseStream body in ``../shared/real_data`` (``*__cs_*.bin``), each frame is decoded with
:class:`eventstream.Decoder`, typed with :func:`client.converse_events.type_converse_message`, and its
``to_dict()`` compared with what ``botocore.eventstream.EventStream`` yields for the same bytes; the
accumulated :class:`client.converse_response.ConverseResponse` is compared with an accumulation written
here, independently, over botocore's event dicts. Every non-streaming Converse answer
(``*__converse_*_200_*.json``) goes through ``ConverseResponse.from_answer`` and botocore's rest-json parser.

Members newer than botocore's model (``serverToolUsage``, ``cacheReadInputTokenCount``...) are kept by us
and dropped by botocore: :func:`known_members` prunes exactly those (members the model does not list) from
our side, so everything the model does know must match exactly; a test checks which members it removes.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.eventstream import EventStream
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.parsers import EventStreamJSONParser, create_parser
from hypothesis import given
from hypothesis import strategies as st

import eventstream
from client.converse_events import ConverseEvent, type_converse_message
from client.converse_response import ConverseAccumulator, ConverseResponse

REAL_DATA = Path(
    os.environ.get("BEDROCK_STREAM_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "real_data")
)
STREAMS = sorted(REAL_DATA.glob("*__cs_*.bin"))
ANSWERS = sorted(REAL_DATA.glob("*__converse_*_200_*.json"))

# Where the recordings carry members botocore's model does not list (we keep them; botocore drops them):
# ``serverToolUsage`` (newer than this botocore) and the undocumented ``cache*InputTokenCount`` twins the
# service sends next to ``cache*InputTokens``.
NEWER_THAN_BOTOCORE = {
    f"{where}.{member}"
    for where in (".metadata.usage", ".usage")
    for member in ("serverToolUsage", "cacheReadInputTokenCount", "cacheWriteInputTokenCount")
}

_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")
STREAM_SHAPE = _MODEL.operation_model("ConverseStream").output_shape.members["stream"]
CONVERSE_SHAPE = _MODEL.operation_model("Converse").output_shape


def test_the_recordings_are_there() -> None:
    # The differentials below must not pass vacuously on a machine without the shared data.
    assert len(STREAMS) >= 70, REAL_DATA
    assert len(ANSWERS) >= 15, REAL_DATA


class _RawBody:
    """What botocore's EventStream reads: an object with ``stream()`` yielding the body's bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self) -> Iterator[bytes]:
        # Odd-sized pieces, so botocore's buffer also reassembles frames across reads.
        for start in range(0, len(self._data), 97):
            yield self._data[start : start + 97]

    def close(self) -> None:
        pass


def _botocore_events(data: bytes) -> list[dict[str, Any]]:
    return list(EventStream(_RawBody(data), STREAM_SHAPE, EventStreamJSONParser(), "ConverseStream"))


def _our_events(data: bytes) -> list[ConverseEvent]:
    decoder = eventstream.Decoder()
    messages = decoder.feed(data)
    decoder.close()
    return [
        type_converse_message(message.headers, message.payload, index=index, request_id="req")
        for index, message in enumerate(messages)
    ]


def known_members(value: Any, shape: Shape) -> Any:
    """``value`` without the members ``shape`` does not list (what botocore drops), recursively."""
    if isinstance(shape, StructureShape):
        if shape.is_document_type or not isinstance(value, dict):
            return value
        if shape.is_tagged_union and len(value) == 1 and next(iter(value)) not in shape.members:
            return {"SDK_UNKNOWN_MEMBER": {"name": next(iter(value))}}
        return {
            name: known_members(member, shape.members[name])
            for name, member in value.items()
            if name in shape.members and member is not None
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [known_members(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: known_members(item, shape.value) for key, item in value.items()}
    return value


def _dropped_paths(ours: Any, pruned: Any, path: str = "") -> list[str]:
    """Where pruning removed something: the members our dict has and the pruned one lacks."""
    if isinstance(ours, dict) and isinstance(pruned, dict):
        found = [f"{path}.{name}" for name in ours if name not in pruned]
        for name in pruned:
            if name in ours:
                found.extend(_dropped_paths(ours[name], pruned[name], f"{path}.{name}"))
        return found
    if isinstance(ours, list) and isinstance(pruned, list):
        return [
            p
            for i, (a, b) in enumerate(zip(ours, pruned, strict=True))
            for p in _dropped_paths(a, b, f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name[:90])
def test_each_event_to_dict_is_what_botocore_yields(path: Path) -> None:
    data = path.read_bytes()
    theirs = _botocore_events(data)
    ours = [event.to_dict() for event in _our_events(data)]
    assert len(ours) == len(theirs)
    for position, (mine, botocores) in enumerate(zip(ours, theirs, strict=True)):
        assert known_members(mine, STREAM_SHAPE) == botocores, f"event #{position}"


def test_pruning_removes_only_members_newer_than_botocores_model() -> None:
    dropped: set[str] = set()
    for path in STREAMS:
        for event in _our_events(path.read_bytes()):
            mine = event.to_dict()
            dropped.update(_dropped_paths(mine, known_members(mine, STREAM_SHAPE)))
    for answer_path in ANSWERS:
        mine = ConverseResponse.from_answer(json.loads(answer_path.read_bytes())).to_dict()
        dropped.update(_dropped_paths(mine, known_members(mine, CONVERSE_SHAPE)))
    # Exactly these members, which the service sends and this botocore does not model yet: nothing of ours
    # is hidden from the comparisons above by the pruning.
    assert dropped == NEWER_THAN_BOTOCORE


# --- the accumulated answer against an independent accumulation of botocore's event dicts ---------------


def _accumulate_botocore(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer as a reader of boto3's ``converse_stream`` would fold it (written without our code)."""
    blocks: dict[int, dict[str, Any]] = {}
    answer: dict[str, Any] = {}
    role = "assistant"
    for event in events:
        ((kind, body),) = event.items()
        if kind == "messageStart":
            role = body["role"]
        elif kind == "contentBlockStart":
            blocks.setdefault(body["contentBlockIndex"], {})["start"] = body["start"]
        elif kind == "contentBlockDelta":
            block = blocks.setdefault(body["contentBlockIndex"], {})
            ((delta_kind, delta),) = body["delta"].items()
            if delta_kind == "reasoningContent":
                ((sub, value),) = delta.items()
                block.setdefault("reasoning." + sub, []).append(value)
            elif delta_kind == "toolResult":
                block.setdefault("toolResult", []).extend(delta)
            else:
                block.setdefault(delta_kind, []).append(delta)
        elif kind == "messageStop":
            answer["stopReason"] = body["stopReason"]
            if "additionalModelResponseFields" in body:
                answer["additionalModelResponseFields"] = body["additionalModelResponseFields"]
        elif kind == "metadata":
            for name in ("usage", "metrics", "trace", "performanceConfig", "serviceTier"):
                if name in body:
                    answer[name] = body[name]
    content: list[dict[str, Any]] = []
    for _, block in sorted(blocks.items()):
        start = block.get("start", {})
        if "toolUse" in start:
            text = "".join(piece["input"] for piece in block.get("toolUse", []))
            use = {
                "toolUseId": start["toolUse"]["toolUseId"],
                "name": start["toolUse"]["name"],
                "input": json.loads(text) if text else {},
            }
            if "type" in start["toolUse"]:
                use["type"] = start["toolUse"]["type"]
            content.append({"toolUse": use})
        elif "toolResult" in start:
            result = {"toolUseId": start["toolResult"]["toolUseId"], "content": block.get("toolResult", [])}
            result.update({k: v for k, v in start["toolResult"].items() if k in ("status", "type")})
            content.append({"toolResult": result})
        elif "reasoning.redactedContent" in block:
            content.append(
                {"reasoningContent": {"redactedContent": b"".join(block["reasoning.redactedContent"])}}
            )
        elif "reasoning.text" in block or "reasoning.signature" in block:
            reasoning = {"text": "".join(block.get("reasoning.text", []))}
            if "reasoning.signature" in block:
                reasoning["signature"] = "".join(block["reasoning.signature"])
            content.append({"reasoningContent": {"reasoningText": reasoning}})
        elif "citation" in block:
            content.append(
                {
                    "citationsContent": {
                        "content": [{"text": "".join(block.get("text", []))}],
                        "citations": block["citation"],
                    }
                }
            )
        else:
            content.append({"text": "".join(block.get("text", []))})
    return {"output": {"message": {"role": role, "content": content}}, **answer}


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name[:90])
def test_accumulated_response_matches_an_independent_accumulation(path: Path) -> None:
    data = path.read_bytes()
    accumulator = ConverseAccumulator(request_id="req-1")
    for event in _our_events(data):
        accumulator.add(event)
    response = accumulator.finish()
    assert response.request_id == "req-1"
    expected = _accumulate_botocore(_botocore_events(data))
    assert known_members(response.to_dict(), CONVERSE_SHAPE) == expected
    # The convenience views agree with the dict.
    texts = [block["text"] for block in expected["output"]["message"]["content"] if "text" in block]
    cited = [
        item["text"]
        for block in expected["output"]["message"]["content"]
        if "citationsContent" in block
        for item in block["citationsContent"]["content"]
    ]
    assert len(response.text) == sum(map(len, texts)) + sum(map(len, cited))
    uses = [block["toolUse"] for block in expected["output"]["message"]["content"] if "toolUse" in block]
    assert [(u.tool_use_id, u.name, u.input) for u in response.tool_uses] == [
        (u["toolUseId"], u["name"], u["input"]) for u in uses
    ]


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.name[:90])
def test_from_answer_matches_botocores_rest_json_parser(path: Path) -> None:
    data = path.read_bytes()
    parsed = create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": data}, CONVERSE_SHAPE
    )
    parsed.pop("ResponseMetadata")
    response = ConverseResponse.from_answer(json.loads(data), request_id="r")
    assert known_members(response.to_dict(), CONVERSE_SHAPE) == parsed
    assert response.request_id == "r"
    assert response.stop_reason == parsed["stopReason"]
    assert response.usage is not None
    assert response.usage.input_tokens == parsed["usage"]["inputTokens"]
    assert response.usage.cache_read_input_tokens == parsed["usage"].get("cacheReadInputTokens")


# --- generated events: every kind botocore's model has, including ones the recordings lack ----------------

_small_text = st.text(max_size=12)
_document = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | _small_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
_b64 = st.binary(max_size=24).map(lambda data: base64.b64encode(data).decode())
_location = st.sampled_from(["documentChar", "documentPage", "documentChunk"]).flatmap(
    lambda kind: st.fixed_dictionaries(
        {kind: st.fixed_dictionaries({"documentIndex": st.integers(0, 5), "start": st.integers(0, 9)})}
    )
)
_citation = st.fixed_dictionaries(
    {},
    optional={
        "title": _small_text,
        "source": _small_text,
        "sourceContent": st.lists(st.fixed_dictionaries({"text": _small_text}), max_size=2),
        "location": _location,
    },
)
_deltas = st.one_of(
    st.fixed_dictionaries({"text": _small_text}),
    st.fixed_dictionaries({"toolUse": st.fixed_dictionaries({"input": _small_text})}),
    st.fixed_dictionaries({"reasoningContent": st.fixed_dictionaries({"text": _small_text})}),
    st.fixed_dictionaries({"reasoningContent": st.fixed_dictionaries({"signature": _small_text})}),
    st.fixed_dictionaries({"reasoningContent": st.fixed_dictionaries({"redactedContent": _b64})}),
    st.fixed_dictionaries({"citation": _citation}),
    st.fixed_dictionaries(
        {
            "toolResult": st.lists(
                st.one_of(
                    st.fixed_dictionaries({"text": _small_text}),
                    st.fixed_dictionaries({"json": _document.filter(lambda v: v is not None)}),
                ),
                max_size=3,
            )
        }
    ),
    st.fixed_dictionaries(
        {"image": st.fixed_dictionaries({"source": st.fixed_dictionaries({"bytes": _b64})})}
    ),
)
_starts = st.one_of(
    st.fixed_dictionaries(
        {
            "toolUse": st.fixed_dictionaries(
                {"toolUseId": _small_text, "name": _small_text}, optional={"type": st.just("server_tool_use")}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "toolResult": st.fixed_dictionaries(
                {"toolUseId": _small_text}, optional={"type": _small_text, "status": st.just("success")}
            )
        }
    ),
    st.fixed_dictionaries({"image": st.fixed_dictionaries({"format": st.sampled_from(["png", "jpeg"])})}),
)
_usage = st.fixed_dictionaries(
    {
        "inputTokens": st.integers(0, 10**6),
        "outputTokens": st.integers(0, 10**6),
        "totalTokens": st.integers(0, 10**6),
    },
    optional={"cacheReadInputTokens": st.integers(0, 10**6), "cacheWriteInputTokens": st.integers(0, 10**6)},
)
_events = st.one_of(
    st.tuples(st.just("messageStart"), st.fixed_dictionaries({"role": st.just("assistant")})),
    st.tuples(
        st.just("contentBlockStart"),
        st.fixed_dictionaries({"contentBlockIndex": st.integers(0, 50), "start": _starts}),
    ),
    st.tuples(
        st.just("contentBlockDelta"),
        st.fixed_dictionaries({"contentBlockIndex": st.integers(0, 50), "delta": _deltas}),
    ),
    st.tuples(st.just("contentBlockStop"), st.fixed_dictionaries({"contentBlockIndex": st.integers(0, 50)})),
    st.tuples(
        st.just("messageStop"),
        st.fixed_dictionaries(
            {"stopReason": st.sampled_from(["end_turn", "tool_use", "max_tokens"])},
            optional={"additionalModelResponseFields": _document},
        ),
    ),
    st.tuples(
        st.just("metadata"),
        st.fixed_dictionaries(
            {"usage": _usage, "metrics": st.fixed_dictionaries({"latencyMs": st.integers(0, 10**5)})},
            optional={
                "performanceConfig": st.fixed_dictionaries(
                    {"latency": st.sampled_from(["standard", "optimized"])}
                ),
                "serviceTier": st.fixed_dictionaries({"type": st.sampled_from(["default", "flex"])}),
                "trace": st.fixed_dictionaries(
                    {"guardrail": st.fixed_dictionaries({"modelOutput": st.lists(_small_text, max_size=2)})}
                ),
            },
        ),
    ),
)


@given(
    events=st.lists(_events, min_size=1, max_size=8),
    padding=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=30),
)
def test_generated_events_match_botocore(events: list[tuple[str, dict[str, Any]]], padding: str) -> None:
    data = b"".join(
        eventstream.encode(
            eventstream.Message(
                [(":event-type", name), (":content-type", "application/json"), (":message-type", "event")],
                json.dumps({**body, "p": padding}, separators=(",", ":")).encode(),
            )
        )
        for name, body in events
    )
    theirs = _botocore_events(data)
    ours = [known_members(event.to_dict(), STREAM_SHAPE) for event in _our_events(data)]
    assert ours == theirs


_answer_blocks = st.one_of(
    st.fixed_dictionaries({"text": _small_text}),
    st.fixed_dictionaries(
        {
            "toolUse": st.fixed_dictionaries(
                {"toolUseId": _small_text, "name": _small_text, "input": _document}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "reasoningContent": st.one_of(
                st.fixed_dictionaries(
                    {
                        "reasoningText": st.fixed_dictionaries(
                            {"text": _small_text}, optional={"signature": _small_text}
                        )
                    }
                ),
                st.fixed_dictionaries({"redactedContent": _b64}),
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "image": st.fixed_dictionaries(
                {"format": st.just("png"), "source": st.fixed_dictionaries({"bytes": _b64})}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "citationsContent": st.fixed_dictionaries(
                {
                    "content": st.lists(st.fixed_dictionaries({"text": _small_text}), max_size=2),
                    "citations": st.lists(_citation, max_size=2),
                }
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "toolResult": st.fixed_dictionaries(
                {
                    "toolUseId": _small_text,
                    "content": st.lists(
                        st.one_of(
                            st.fixed_dictionaries({"text": _small_text}),
                            st.fixed_dictionaries(
                                {
                                    "image": st.fixed_dictionaries(
                                        {
                                            "format": st.just("gif"),
                                            "source": st.fixed_dictionaries({"bytes": _b64}),
                                        }
                                    )
                                }
                            ),
                        ),
                        max_size=2,
                    ),
                },
                optional={"status": st.just("error")},
            )
        }
    ),
)


@given(
    blocks=st.lists(_answer_blocks, max_size=5),
    usage=_usage,
    extra=st.fixed_dictionaries(
        {},
        optional={
            "additionalModelResponseFields": _document.filter(lambda v: v is not None),
            "performanceConfig": st.fixed_dictionaries({"latency": st.just("optimized")}),
            "serviceTier": st.fixed_dictionaries({"type": st.just("priority")}),
        },
    ),
)
def test_generated_answers_match_botocores_rest_json_parser(
    blocks: list[dict[str, Any]], usage: dict[str, Any], extra: dict[str, Any]
) -> None:
    answer = {
        "output": {"message": {"role": "assistant", "content": blocks}},
        "stopReason": "end_turn",
        "usage": usage,
        "metrics": {"latencyMs": 5},
        **extra,
    }
    data = json.dumps(answer).encode()
    parsed = create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": data}, CONVERSE_SHAPE
    )
    parsed.pop("ResponseMetadata")
    assert known_members(ConverseResponse.from_answer(json.loads(data)).to_dict(), CONVERSE_SHAPE) == parsed
