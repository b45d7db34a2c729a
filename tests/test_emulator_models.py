"""client.emulator.models: model resolution, request validation, and deterministic per-family answers.

The round trips feed the emulator's events through client.families (the parsing side), so the two stay in
agreement on every family's format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.emulator.models import (
    KNOWN_MODELS,
    LEGACY_TEXT_COMPLETION_MODELS,
    InvalidRequest,
    UnknownModel,
    answer_events,
    base_model_id,
    prompt_text,
    resolve_model,
    validate_request,
)
from client.families import METRICS_KEY, Family, Transcript, family_of, parse_chunk

PROMPT = "Describe the purpose of a 'hello world' program in one line."
PROMPT_WORDS = len(PROMPT.split())

# One valid request per family (and per body form), with the model that takes it.
REQUESTS: dict[str, tuple[Family, str, dict[str, Any]]] = {
    "anthropic": (
        Family.ANTHROPIC,
        "anthropic.claude-3-haiku-20240307-v1:0",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 512,
            "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
        },
    ),
    "anthropic-legacy": (
        Family.ANTHROPIC,
        "anthropic.claude-v2",
        {"prompt": f"\n\nHuman: {PROMPT}\n\nAssistant:", "max_tokens_to_sample": 300},
    ),
    "nova": (
        Family.NOVA,
        "amazon.nova-lite-v1:0",
        {
            "schemaVersion": "messages-v1",
            "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
            "inferenceConfig": {"max_new_tokens": 200},
        },
    ),
    "titan": (
        Family.TITAN_TEXT,
        "amazon.titan-text-express-v1",
        {"inputText": f"User: {PROMPT}\nBot:", "textGenerationConfig": {"maxTokenCount": 512}},
    ),
    "llama": (
        Family.LLAMA,
        "meta.llama3-8b-instruct-v1:0",
        {
            "prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
            f"{PROMPT}<|eot_id|>\n<|start_header_id|>assistant<|end_header_id|>\n",
            "max_gen_len": 512,
        },
    ),
    "mistral": (
        Family.MISTRAL,
        "mistral.mistral-7b-instruct-v0:2",
        {"prompt": f"<s>[INST] {PROMPT} [/INST]", "max_tokens": 512},
    ),
    "mistral-chat": (
        Family.MISTRAL,
        "mistral.mistral-large-2407-v1:0",
        {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 512},
    ),
    "cohere": (Family.COHERE, "cohere.command-r-v1:0", {"message": PROMPT, "max_tokens": 512}),
}
NATURAL_STOP = {
    Family.ANTHROPIC: "end_turn",
    Family.NOVA: "end_turn",
    Family.TITAN_TEXT: "FINISH",
    Family.LLAMA: "stop",
    Family.MISTRAL: "stop",
    Family.COHERE: "COMPLETE",
}
LENGTH_STOP = {
    Family.ANTHROPIC: "max_tokens",
    Family.NOVA: "max_tokens",
    Family.TITAN_TEXT: "LENGTH",
    Family.LLAMA: "length",
    Family.MISTRAL: "length",
    Family.COHERE: "MAX_TOKENS",
}


def _natural_stop(name: str) -> str:
    return "stop_sequence" if name == "anthropic-legacy" else NATURAL_STOP[REQUESTS[name][0]]


MAX_TOKENS_FIELD: dict[str, tuple[str, ...]] = {
    "anthropic": ("max_tokens",),
    "anthropic-legacy": ("max_tokens_to_sample",),
    "nova": ("inferenceConfig", "max_new_tokens"),
    "titan": ("textGenerationConfig", "maxTokenCount"),
    "llama": ("max_gen_len",),
    "mistral": ("max_tokens",),
    "mistral-chat": ("max_tokens",),
    "cohere": ("max_tokens",),
}


def _body(request: Mapping[str, Any]) -> bytes:
    return json.dumps(request).encode()


def _with_limit(name: str, limit: int) -> dict[str, Any]:
    request: dict[str, Any] = json.loads(json.dumps(REQUESTS[name][2]))
    *parents, key = MAX_TOKENS_FIELD[name]
    target = request
    for parent in parents:
        target = target[parent]
    target[key] = limit
    return request


def _transcript(family: Family | None, events: list[dict[str, Any]]) -> Transcript:
    transcript = Transcript()
    for event in events:
        # Every event crosses the wire as JSON bytes: parse what the client would see.
        transcript.add(parse_chunk(family, json.loads(json.dumps(event))))
    return transcript


def _text_chunks(family: Family, events: list[dict[str, Any]]) -> list[str]:
    return [info.text for info in (parse_chunk(family, event) for event in events) if info.text]


# --- resolve_model ---


@pytest.mark.parametrize("model_id", sorted(KNOWN_MODELS))
def test_every_known_model_resolves_with_and_without_profiles_and_arns(model_id: str) -> None:
    family = KNOWN_MODELS[model_id]
    assert resolve_model(model_id) is family
    assert family_of(model_id) is family  # the parsing side agrees on every served id
    for prefix in ("us", "eu", "apac", "global"):
        assert resolve_model(f"{prefix}.{model_id}") is family
    assert resolve_model(f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}") is family
    profile_arn = f"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.{model_id}"
    assert resolve_model(profile_arn) is family
    assert base_model_id(profile_arn) == model_id


def test_brief_model_list_is_served() -> None:
    for model_id in (
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "amazon.nova-micro-v1:0",
        "amazon.titan-text-express-v1",
        "amazon.titan-text-lite-v1",
        "meta.llama3-8b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "mistral.mistral-7b-instruct-v0:2",
        "mistral.mistral-large-2402-v1:0",
        "cohere.command-r-v1:0",
        "cohere.command-r-plus-v1:0",
    ):
        assert model_id in KNOWN_MODELS


@pytest.mark.parametrize(
    "model_id",
    [
        "",
        "anthropic.claude-9-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0 ",
        "ANTHROPIC.CLAUDE-V2",
        "xx.anthropic.claude-v2",
        "us.us.anthropic.claude-v2",
        "us.",
        "amazon.titan-embed-text-v2:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-9",
        "arn:aws:bedrock:us-east-1::foundation-model/us.anthropic.claude-v2",  # a profile is not a model
        "arn:aws:bedrock:us-east-1::inference-profile/us.anthropic.claude-v2",  # profile ARN needs an account
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/anthropic.claude-v2",  # not a profile id
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl",
        "arn:aws:bedrock:useast1::foundation-model/anthropic.claude-v2",
        "arn:aws:s3:::bucket",
        "x" * 3000,
    ],
)
def test_unknown_models_raise_with_the_service_wording(model_id: str) -> None:
    with pytest.raises(UnknownModel) as caught:
        resolve_model(model_id)
    assert str(caught.value) == "Could not resolve the foundation model from the provided model identifier."
    assert caught.value.model_id == model_id


def test_unknown_model_for_non_string() -> None:
    with pytest.raises(UnknownModel):
        resolve_model(None)  # type: ignore[arg-type]


# --- validate_request ---


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_valid_requests_pass_and_come_back_parsed(name: str) -> None:
    family, _, request = REQUESTS[name]
    assert validate_request(family, _body(request)) == request


@pytest.mark.parametrize(
    ("family", "body", "fragment"),
    [
        (Family.ANTHROPIC, b"", "invalid JSON: Expecting value at line 1 column 1 (char 0)"),
        (Family.ANTHROPIC, b'{"max_tokens": 1,', "at line 1 column 18 (char 17)"),
        (Family.NOVA, b"[1, 2]", "#: expected type: JSONObject, found: JSONArray"),
        (Family.TITAN_TEXT, b'{"inputText": "\xff"}', "not valid UTF-8 (byte offset 15)"),
        (Family.LLAMA, b'{"prompt": "x", "temperature": NaN}', "NaN is not a valid JSON value"),
        (Family.LLAMA, b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            Family.ANTHROPIC,
            b'{"messages": [{"role": "user", "content": "hi"}]}',
            "#: required key [anthropic_version] not found; #: required key [max_tokens] not found",
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10}',
            "#: required key [messages] not found",
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": "10", "messages": []}',
            "#/max_tokens: expected type: Integer, found: String",
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 0, "messages": []}',
            "#/max_tokens: 0 is not greater or equal to 1",
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": []}',
            "#/messages: expected minimum item count: 1, found: 0",
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "bot", '
            b'"content": "x"}]}',
            '#/messages/0/role: "bot" is not a valid enum value',
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": [{"role": "user"}]}',
            "#/messages/0: required key [content] not found",
        ),
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": true, "messages": []}',
            "#/max_tokens: expected type: Integer, found: Boolean",
        ),
        (
            Family.ANTHROPIC,
            b'{"prompt": "\\n\\nHuman: hi"}',
            "#: required key [max_tokens_to_sample] not found",
        ),
        (Family.NOVA, b'{"inferenceConfig": {}}', "#: required key [messages] not found"),
        (
            Family.NOVA,
            b'{"messages": [{"role": "user", "content": "hi"}]}',
            "#/messages/0/content: expected type: JSONArray, found: String",
        ),
        (
            Family.NOVA,
            b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}], '
            b'"inferenceConfig": {"max_new_tokens": -1}}',
            "#/inferenceConfig/max_new_tokens: -1 is not greater or equal to 1",
        ),
        (Family.TITAN_TEXT, b'{"textGenerationConfig": {}}', "#: required key [inputText] not found"),
        (Family.TITAN_TEXT, b'{"inputText": 5}', "#/inputText: expected type: String, found: Integer"),
        (
            Family.TITAN_TEXT,
            b'{"inputText": "x", "textGenerationConfig": {"temperature": "hot"}}',
            "#/textGenerationConfig/temperature: expected type: Number, found: String",
        ),
        (Family.LLAMA, b'{"max_gen_len": 5}', "#: required key [prompt] not found"),
        (Family.MISTRAL, b'{"max_tokens": 5}', "#: required key [prompt] not found"),
        (
            Family.MISTRAL,
            b'{"messages": [{"role": "robot", "content": "x"}]}',
            '#/messages/0/role: "robot" is not a valid enum value',
        ),
        (Family.COHERE, b'{"prompt": "old style"}', "#: required key [message] not found"),
        (
            Family.COHERE,
            b'{"message": "x", "chat_history": [{"role": "USER"}]}',
            "#/chat_history/0: required key [message] not found",
        ),
    ],
)
def test_invalid_requests_say_what_and_where(family: Family, body: bytes, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_request(family, body)
    message = str(caught.value)
    assert message.startswith("Malformed input request: ")
    assert message.endswith(", please reformat your input and try again.")
    assert fragment in message
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("family", "body", "fragment"),
    [
        (
            Family.ANTHROPIC,
            b'{"anthropic_version": "2023-06-01", "max_tokens": 10, '
            b'"messages": [{"role": "user", "content": "x"}]}',
            '#/anthropic_version: "2023-06-01" is not supported',
        ),
        (
            Family.NOVA,
            b'{"schemaVersion": "v2", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}',
            '#/schemaVersion: "v2" is not supported',
        ),
    ],
)
def test_undocumented_refusals_only_when_strict(family: Family, body: bytes, fragment: str) -> None:
    # The service answers Anthropic's SDK, which sends its own dated anthropic_version: accepted by default.
    assert validate_request(family, body)
    with pytest.raises(InvalidRequest, match="is not supported") as caught:
        validate_request(family, body, strict=True)
    assert fragment in str(caught.value)


def test_legacy_prompt_bodies_only_for_the_models_that_take_them() -> None:
    legacy = b'{"prompt": "\\n\\nHuman: hi\\n\\nAssistant:", "max_tokens_to_sample": 20}'
    for model_id in sorted(LEGACY_TEXT_COMPLETION_MODELS):
        assert validate_request(Family.ANTHROPIC, legacy, model_id=model_id)["max_tokens_to_sample"] == 20
    assert "anthropic.claude-3-haiku-20240307-v1:0" not in LEGACY_TEXT_COMPLETION_MODELS
    with pytest.raises(InvalidRequest, match="Please use the Messages API"):
        validate_request(Family.ANTHROPIC, legacy, model_id="us.anthropic.claude-3-haiku-20240307-v1:0")


def test_body_must_be_bytes() -> None:
    with pytest.raises(InvalidRequest, match="the body must be bytes, not str"):
        validate_request(Family.LLAMA, '{"prompt": "x"}')  # type: ignore[arg-type]


@given(body=st.binary(max_size=200), family=st.sampled_from(list(Family)))
def test_random_bodies_validate_or_raise_invalid_request(body: bytes, family: Family) -> None:
    try:
        request = validate_request(family, body)
    except InvalidRequest as exc:
        assert str(exc).startswith("Malformed input request: ")
    else:
        assert isinstance(request, dict)


# --- prompt_text ---


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_prompt_text_strips_templates(name: str) -> None:
    family, _, request = REQUESTS[name]
    assert prompt_text(family, request) == PROMPT


def test_prompt_text_picks_the_last_user_turn_and_never_raises() -> None:
    llama2 = "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nFirst? [/INST] Yes. </s><s>[INST] Second? [/INST]"
    assert prompt_text(Family.LLAMA, {"prompt": llama2}) == "Second?"
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "two"}]},
    ]
    assert prompt_text(Family.ANTHROPIC, {"messages": messages}) == "two"
    for family in Family:
        assert prompt_text(family, {}) == ""
        assert prompt_text(family, {"messages": 3, "prompt": None, "inputText": [], "message": {}}) == ""
        assert prompt_text(family, None) == ""  # type: ignore[arg-type]


# --- answer_events: round trips through the parsing side ---


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_answer_round_trips_through_parse_chunk(name: str) -> None:
    family, model_id, request = REQUESTS[name]
    events = answer_events(family, model_id, validate_request(family, _body(request)))
    transcript = _transcript(family, events)
    assert transcript.text.startswith(f"You asked: {PROMPT} -- ")
    assert model_id in transcript.text
    assert transcript.stop_reason == _natural_stop(name)
    assert transcript.finished
    output_tokens = len(transcript.text.split())
    assert transcript.usage is not None
    assert (transcript.usage.input_tokens, transcript.usage.output_tokens) == (PROMPT_WORDS, output_tokens)
    metrics = transcript.metrics
    assert metrics is not None
    assert (metrics.input_token_count, metrics.output_token_count) == (PROMPT_WORDS, output_tokens)
    assert metrics.first_byte_latency_ms is not None and metrics.invocation_latency_ms is not None
    assert 0 < metrics.first_byte_latency_ms <= metrics.invocation_latency_ms
    # Metrics ride on the last event only, and only the last one ends the answer.
    assert [METRICS_KEY in event for event in events] == [False] * (len(events) - 1) + [True]
    finals = [parse_chunk(family, event).is_final for event in events]
    assert finals == [False] * (len(events) - 1) + [True]
    # One word per text chunk by default.
    assert len(_text_chunks(family, events)) == output_tokens
    # The shape alone identifies the family.
    detected = _transcript(None, events)
    assert (detected.text, detected.stop_reason, detected.usage) == (
        transcript.text,
        transcript.stop_reason,
        transcript.usage,
    )


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_model_reported_usage_where_the_family_reports_it(name: str) -> None:
    family, model_id, request = REQUESTS[name]
    transcript = _transcript(family, answer_events(family, model_id, request))
    if family in (Family.MISTRAL, Family.COHERE) or name == "anthropic-legacy":
        assert transcript.model_usage is None  # these only get counts from Bedrock's metrics
    else:
        assert transcript.model_usage == transcript.usage


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_max_tokens_truncates_with_the_length_stop_reason(name: str) -> None:
    family, model_id, _ = REQUESTS[name]
    events = answer_events(family, model_id, _with_limit(name, 3))
    transcript = _transcript(family, events)
    assert transcript.text == "You asked: Describe"
    assert transcript.stop_reason == LENGTH_STOP[family]
    assert transcript.usage is not None and transcript.usage.output_tokens == 3


def test_titan_zero_max_tokens_gives_one_empty_final_chunk() -> None:
    events = answer_events(Family.TITAN_TEXT, "amazon.titan-text-lite-v1", _with_limit("titan", 0))
    assert len(events) == 1
    transcript = _transcript(Family.TITAN_TEXT, events)
    assert (transcript.text, transcript.stop_reason, transcript.finished) == ("", "LENGTH", True)
    assert transcript.usage is not None and transcript.usage.output_tokens == 0


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("count", [0, 1, 3, 500])
def test_chunk_count_gives_exactly_that_many_text_chunks(name: str, count: int) -> None:
    family, model_id, request = REQUESTS[name]
    natural = _transcript(family, answer_events(family, model_id, request)).text
    events = answer_events(family, model_id, request, chunk_count=count)
    chunks = _text_chunks(family, events)
    assert len(chunks) == count
    transcript = _transcript(family, events)
    assert transcript.stop_reason == _natural_stop(name)
    words = len(transcript.text.split())
    assert transcript.usage is not None and transcript.usage.output_tokens == words
    if count == 0:
        assert transcript.text == ""
    elif count < len(natural.split()):
        assert transcript.text == natural  # all words kept, several per chunk
    else:
        assert transcript.text.startswith(natural) and words == count


def test_chunk_count_overrides_a_small_max_tokens() -> None:
    family, model_id, _ = REQUESTS["llama"]
    events = answer_events(family, model_id, _with_limit("llama", 2), chunk_count=50)
    assert len(_text_chunks(family, events)) == 50
    assert _transcript(family, events).stop_reason == "stop"


@pytest.mark.parametrize("bad", [-1, True, 2.0, "3"])
def test_chunk_count_must_be_a_non_negative_int(bad: Any) -> None:
    family, model_id, request = REQUESTS["cohere"]
    with pytest.raises(ValueError, match="chunk_count must be a non-negative integer"):
        answer_events(family, model_id, request, chunk_count=bad)


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_answers_are_deterministic_to_the_byte(name: str) -> None:
    family, model_id, request = REQUESTS[name]
    first = answer_events(family, model_id, request)
    again = answer_events(family, model_id, json.loads(json.dumps(request)))
    assert json.dumps(first).encode() == json.dumps(again).encode()
    # Key order in the request does not matter; the request's content does.
    reordered = dict(reversed(list(request.items())))
    assert answer_events(family, model_id, reordered) == first
    changed = {**request, "temperature": 0.25}
    other = answer_events(family, model_id, changed)
    assert other[-1][METRICS_KEY] != first[-1][METRICS_KEY] or other[0] != first[0]
    assert answer_events(family, f"us.{model_id}", request) != first


def test_anthropic_ids_and_model_name_look_like_bedrock() -> None:
    family, model_id, request = REQUESTS["anthropic"]
    start = answer_events(family, model_id, request)[0]
    message = start["message"]
    assert message["id"].startswith("msg_bdrk_01") and len(message["id"]) == len("msg_bdrk_01") + 22
    assert message["model"] == "claude-3-haiku-20240307"
    assert (
        answer_events(family, "us." + model_id, request)[0]["message"]["model"] == "claude-3-haiku-20240307"
    )
    other = answer_events(family, model_id, {**request, "max_tokens": 100})[0]["message"]["id"]
    assert other != message["id"]


def test_cohere_stream_end_carries_the_whole_response() -> None:
    family, model_id, request = REQUESTS["cohere"]
    request = {
        **request,
        "chat_history": [{"role": "USER", "message": "hi"}, {"role": "CHATBOT", "message": "yo"}],
    }
    events = answer_events(family, model_id, request)
    start, end = events[0], events[-1]
    assert start["event_type"] == "stream-start"
    assert end["event_type"] == "stream-end" and end["is_finished"] is True
    text = _transcript(family, events).text
    response = end["response"]
    assert response["text"] == text
    assert response["generation_id"] == start["generation_id"]
    assert [turn["role"] for turn in response["chat_history"]] == ["USER", "CHATBOT", "USER", "CHATBOT"]
    assert response["chat_history"][-1]["message"] == text


def test_every_event_is_plain_json() -> None:
    for family, model_id, request in REQUESTS.values():
        for event in answer_events(family, model_id, request, chunk_count=5):
            assert json.loads(json.dumps(event)) == event


def test_counts_sit_where_the_recorded_streams_put_them() -> None:
    family, model_id, request = REQUESTS["llama"]
    events = answer_events(family, model_id, request)
    words = len(events) - 1
    assert [event["prompt_token_count"] for event in events] == [PROMPT_WORDS] + [None] * words
    assert [event["generation_token_count"] for event in events] == [*range(1, words + 1), words]
    family, model_id, request = REQUESTS["titan"]
    events = answer_events(family, model_id, request)
    assert [event["inputTextTokenCount"] for event in events] == [PROMPT_WORDS] + [None] * (len(events) - 1)
    totals = [event["totalOutputTextTokenCount"] for event in events]
    assert totals == [None] * (len(events) - 1) + [len(events)]
    assert {event["index"] for event in events} == {0}


@pytest.mark.parametrize("key", ["maxTokens", "max_new_tokens"])
def test_nova_takes_both_spellings_of_its_limit(key: str) -> None:
    # The CLI (and Nova's current guide) write maxTokens; Nova's first schema wrote max_new_tokens.
    request = {"messages": [{"role": "user", "content": [{"text": PROMPT}]}], "inferenceConfig": {key: 3}}
    validate_request(Family.NOVA, json.dumps(request).encode())
    events = answer_events(Family.NOVA, "amazon.nova-lite-v1:0", request)
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == (
        "You asked: Describe"
    )
