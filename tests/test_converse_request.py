"""Tests of client.converse_request: Converse and CountTokens bodies, diffed with botocore's serializer."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator
from hypothesis import given
from hypothesis import strategies as st

from client.converse_request import (
    Message,
    ToolConfig,
    build_converse_body,
    build_count_tokens_body,
)
from client.errors import ParamValidationError

_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")

MESSAGES: list[Message] = [
    {
        "role": "user",
        "content": [
            {"text": "What is in this picture? \u00e9\u4e2d"},
            {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n\x1a\n\x00"}}},
            {"document": {"format": "txt", "name": "notes", "source": {"bytes": b"plain text"}}},
            {"cachePoint": {"type": "default"}},
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
            {"reasoningContent": {"redactedContent": b"\x00\x01\x02"}},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": [1, 2.5, None, True]}}},
        ],
    },
    {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "tooluse_1",
                    "content": [{"json": {"answer": 42}}, {"text": "done"}],
                    "status": "success",
                }
            }
        ],
    },
]
TOOLS: ToolConfig = {
    "tools": [
        {"toolSpec": {"name": "lookup", "description": "d", "inputSchema": {"json": {"type": "object"}}}},
        {"cachePoint": {"type": "default"}},
    ],
    "toolChoice": {"auto": {}},
}
FULL: dict[str, Any] = {
    "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default", "ttl": "5m"}}],
    "inference_config": {"maxTokens": 100, "temperature": 0.5, "topP": 1, "stopSequences": ["END"]},
    "tool_config": TOOLS,
    "guardrail_config": {"guardrailIdentifier": "gr", "guardrailVersion": "1", "trace": "enabled"},
    "additional_model_request_fields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    "additional_model_response_field_paths": ["/stop_sequence"],
    "request_metadata": {"team": "search", "env": "dev"},
    "performance_config": {"latency": "optimized"},
    "service_tier": {"type": "flex"},
    "output_config": {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": '{"type":"object"}', "name": "n"}},
        }
    },
}
_CAMEL = {
    "system": "system",
    "inference_config": "inferenceConfig",
    "tool_config": "toolConfig",
    "guardrail_config": "guardrailConfig",
    "additional_model_request_fields": "additionalModelRequestFields",
    "additional_model_response_field_paths": "additionalModelResponseFieldPaths",
    "prompt_variables": "promptVariables",
    "request_metadata": "requestMetadata",
    "performance_config": "performanceConfig",
    "service_tier": "serviceTier",
    "output_config": "outputConfig",
}


def _botocore_body(operation: str, params: dict[str, Any]) -> Any:
    operation_model = _MODEL.operation_model(operation)
    report = ParamValidator().validate(params, operation_model.input_shape)
    assert not report.has_errors(), report.generate_report()
    request = create_serializer("rest-json").serialize_to_request(params, operation_model)
    return json.loads(request["body"])


@pytest.mark.parametrize(("operation", "stream"), [("Converse", False), ("ConverseStream", True)])
def test_the_body_is_what_botocore_serialises(operation: str, stream: bool) -> None:
    body = build_converse_body(MESSAGES, stream=stream, **FULL)
    params = {"modelId": "m", "messages": MESSAGES, **{_CAMEL[name]: value for name, value in FULL.items()}}
    assert json.loads(body) == _botocore_body(operation, params)
    # Compact, UTF-8 (not \\u escapes), blobs base64.
    assert b": " not in body and b", " not in body
    assert "\u00e9\u4e2d".encode() in body
    assert b'"redactedContent":"AAEC"' in body


def test_members_left_none_are_not_sent() -> None:
    body = build_converse_body([{"role": "user", "content": [{"text": "hi"}]}], stream=False)
    assert body == b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
    assert build_converse_body(None, prompt_variables={"topic": {"text": "x"}}, stream=True) == (
        b'{"promptVariables":{"topic":{"text":"x"}}}'
    )


def test_count_tokens_bodies_are_what_botocore_serialises() -> None:
    body = build_count_tokens_body(body=b'{"prompt": "hi"}')
    assert json.loads(body) == _botocore_body(
        "CountTokens", {"modelId": "m", "input": {"invokeModel": {"body": b'{"prompt": "hi"}'}}}
    )
    body = build_count_tokens_body(
        messages=MESSAGES,
        system=[{"text": "s"}],
        tool_config=TOOLS,
        additional_model_request_fields={"k": 1},
    )
    converse = {
        "messages": MESSAGES,
        "system": [{"text": "s"}],
        "toolConfig": TOOLS,
        "additionalModelRequestFields": {"k": 1},
    }
    assert json.loads(body) == _botocore_body(
        "CountTokens", {"modelId": "m", "input": {"converse": converse}}
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"body": b"{}", "messages": []},
        {"body": b"{}", "system": [{"text": "s"}]},
        {"body": b"{}", "tool_config": TOOLS},
    ],
)
def test_count_tokens_takes_exactly_one_input(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ParamValidationError):
        build_count_tokens_body(**kwargs)


def _user(*blocks: Any) -> list[Any]:
    return [{"role": "user", "content": list(blocks)}]


@pytest.mark.parametrize(
    ("messages", "kwargs", "path"),
    [
        ("hello", {}, "messages"),
        ([{"role": "user", "content": [{"text": "a"}]}, "x"], {}, "messages[1]"),
        ([{"role": "system", "content": []}], {}, "messages[0].role"),
        ([{"role": "user"}], {}, "messages[0].content"),
        ([{"role": "user", "content": "hi"}], {}, "messages[0].content"),
        (_user({"text": "a"}, {"text": "b", "image": {}}), {}, "messages[0].content[1]"),
        (_user({}), {}, "messages[0].content[0]"),
        (_user({"text": 3}), {}, "messages[0].content[0].text"),
        (
            _user({"image": {"format": "bmp", "source": {"bytes": b""}}}),
            {},
            "messages[0].content[0].image.format",
        ),
        (
            _user({"image": {"format": "png", "source": {"bytes": 3}}}),
            {},
            "messages[0].content[0].image.source.bytes",
        ),
        (_user({"image": {"format": "png", "source": {}}}), {}, "messages[0].content[0].image.source"),
        (_user({"document": {"source": {"text": "t"}}}), {}, "messages[0].content[0].document.name"),
        (_user({"toolUse": {"toolUseId": "x", "name": "n"}}), {}, "messages[0].content[0].toolUse.input"),
        (
            _user({"toolResult": {"toolUseId": "x", "content": [{}]}}),
            {},
            "messages[0].content[0].toolResult.content[0]",
        ),
        (_user({"toolResult": {"toolUseId": "x", "content": [], "status": "ok"}}), {}, "toolResult.status"),
        (_user({"cachePoint": {"type": "other"}}), {}, "messages[0].content[0].cachePoint.type"),
        (_user({"text": "a"}), {"system": [{"text": ""}]}, "system[0].text"),
        (_user({"text": "a"}), {"system": {"text": "s"}}, "system"),
        (_user({"text": "a"}), {"inference_config": {"maxTokens": 0}}, "inferenceConfig.maxTokens"),
        (_user({"text": "a"}), {"inference_config": {"maxTokens": True}}, "inferenceConfig.maxTokens"),
        (_user({"text": "a"}), {"inference_config": {"temperature": 1.5}}, "inferenceConfig.temperature"),
        (
            _user({"text": "a"}),
            {"inference_config": {"stopSequences": [""]}},
            "inferenceConfig.stopSequences[0]",
        ),
        (_user({"text": "a"}), {"tool_config": {"tools": []}}, "toolConfig.tools"),
        (_user({"text": "a"}), {"tool_config": {}}, "toolConfig.tools"),
        (
            _user({"text": "a"}),
            {"tool_config": {"tools": [{"toolSpec": {"name": "x"}}]}},
            "toolConfig.tools[0].toolSpec.inputSchema",
        ),
        (
            _user({"text": "a"}),
            {"tool_config": {**TOOLS, "toolChoice": {"tool": {}}}},
            "toolConfig.toolChoice.tool.name",
        ),
        (_user({"text": "a"}), {"guardrail_config": {"trace": "on"}}, "guardrailConfig.trace"),
        (
            _user({"text": "a"}),
            {"guardrail_config": {"streamProcessingMode": "sync"}},
            "guardrailConfig.streamProcessingMode",
        ),
        (_user({"text": "a"}), {"additional_model_request_fields": [1]}, "additionalModelRequestFields"),
        (
            _user({"text": "a"}),
            {"additional_model_response_field_paths": ["/a"] * 11},
            "additionalModelResponseFieldPaths",
        ),
        (_user({"text": "a"}), {"request_metadata": {}}, "requestMetadata"),
        (_user({"text": "a"}), {"request_metadata": {"k": "v" * 257}}, "requestMetadata['k']"),
        (_user({"text": "a"}), {"performance_config": {"latency": "fast"}}, "performanceConfig.latency"),
        (_user({"text": "a"}), {"service_tier": {"type": "gold"}}, "serviceTier.type"),
        (
            _user({"text": "a"}),
            {"output_config": {"textFormat": {"type": "xml"}}},
            "outputConfig.textFormat.type",
        ),
        (_user({"text": "a"}), {"prompt_variables": {"v": {}}}, "promptVariables['v']"),
    ],
)
def test_bad_shapes_name_the_offending_path(messages: Any, kwargs: dict[str, Any], path: str) -> None:
    with pytest.raises(ParamValidationError) as caught:
        build_converse_body(messages, stream=False, **kwargs)
    assert path in str(caught.value)


def test_stream_processing_mode_is_for_the_stream_only() -> None:
    body = build_converse_body(
        _user({"text": "a"}), guardrail_config={"streamProcessingMode": "async"}, stream=True
    )
    assert json.loads(body)["guardrailConfig"] == {"streamProcessingMode": "async"}


@pytest.mark.parametrize("bad", [float("nan"), {1, 2}, object()])
def test_values_json_cannot_carry_are_refused(bad: Any) -> None:
    with pytest.raises(ParamValidationError, match="cannot be serialised"):
        build_converse_body(_user({"text": "a"}), additional_model_request_fields={"x": bad}, stream=False)


def test_kinds_added_after_this_version_pass_through() -> None:
    body = build_converse_body(_user({"hologram": {"depth": 3}}), stream=False)
    assert json.loads(body)["messages"][0]["content"] == [{"hologram": {"depth": 3}}]


_texts = st.text(min_size=1, max_size=10)
_ids = st.from_regex(r"[a-zA-Z0-9_-]{1,12}", fullmatch=True)
_json_docs = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
_request_blocks = st.one_of(
    st.fixed_dictionaries({"text": _texts}),
    st.fixed_dictionaries(
        {
            "image": st.fixed_dictionaries(
                {
                    "format": st.sampled_from(["png", "jpeg", "gif", "webp"]),
                    "source": st.fixed_dictionaries({"bytes": st.binary(max_size=20)}),
                }
            )
        }
    ),
    st.fixed_dictionaries(
        {"toolUse": st.fixed_dictionaries({"toolUseId": _ids, "name": _ids, "input": _json_docs})}
    ),
    st.fixed_dictionaries(
        {
            "toolResult": st.fixed_dictionaries(
                {
                    "toolUseId": _ids,
                    "content": st.lists(
                        st.fixed_dictionaries({"json": _json_docs.filter(lambda v: v is not None)}),
                        max_size=2,
                    ),
                },
                optional={"status": st.sampled_from(["success", "error"])},
            )
        }
    ),
    st.fixed_dictionaries(
        {"reasoningContent": st.fixed_dictionaries({"redactedContent": st.binary(max_size=20)})}
    ),
    st.fixed_dictionaries({"cachePoint": st.fixed_dictionaries({"type": st.just("default")})}),
)
_request_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant"]),
            "content": st.lists(_request_blocks, min_size=1, max_size=3),
        }
    ),
    min_size=1,
    max_size=4,
)
_inference = st.fixed_dictionaries(
    {},
    optional={
        "maxTokens": st.integers(1, 10**5),
        "temperature": st.floats(0, 1),
        "topP": st.floats(0, 1),
        "stopSequences": st.lists(_texts, max_size=3),
    },
)


@given(messages=_request_messages, inference=_inference, stream=st.booleans())
def test_generated_requests_serialise_as_botocore_does(
    messages: list[Any], inference: dict[str, Any], stream: bool
) -> None:
    body = build_converse_body(messages, inference_config=inference or None, stream=stream)  # type: ignore[arg-type]
    params: dict[str, Any] = {"modelId": "m", "messages": messages}
    if inference:
        params["inferenceConfig"] = inference
    assert json.loads(body) == _botocore_body("ConverseStream" if stream else "Converse", params)
