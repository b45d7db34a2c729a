"""Conformance against real Amazon Bedrock responses: the shared folder's real_data/ (its README and
INDEX.json say where each recording comes from -- other projects' test cassettes -- and under which
licence; they are read from there, never copied into this repository; tests/shared_data.py finds the folder).

* Every recording (187: ConverseStream, InvokeModelWithResponseStream and bedrock-agent-runtime streams)
  decodes to the same messages in one piece, in 1-, 7- and 4096-byte reads and in the read sizes recorded
  with it; the frames, event and exception types are those INDEX.json lists; everything re-encodes to exactly
  the recorded bytes; botocore's decoder reads the same messages.
* Every InvokeModelWithResponseStream recording is served from a loopback HTTP server started here and read
  through our sync and async clients and through boto3 (pointed at the same server with ``endpoint_url`` and
  fake keys): the same chunks, in order, and the same in-stream exception.
* ConverseStream: :func:`boto3_converse_reference` is what boto3's ``converse_stream`` yields for a recording
  from the same server (a list of event dicts, and the error if any) and :func:`reference_answer` the answer
  accumulated from those events. The client's ``converse_stream`` is being written on another branch;
  ``test_converse_stream_matches_boto3`` compares it to the reference once it exists and is this module's only
  skip until then.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.config
import botocore.exceptions
import pytest
from botocore.eventstream import EventStreamBuffer

import client
from eventstream import Decoder, Message, Timestamp, encode
from shared_data import require
from sigv4 import Credentials

REAL_DATA = require("real_data")
INDEX: dict[str, Any] = json.loads((REAL_DATA / "INDEX.json").read_text(encoding="utf-8"))
RECORDINGS: list[dict[str, Any]] = INDEX["eventstream"]
INVOKE = [r for r in RECORDINGS if r["operation"] == "invoke-with-response-stream"]
CONVERSE = [r for r in RECORDINGS if r["operation"] == "converse-stream"]
AGENT = [r for r in RECORDINGS if r["service"] == "bedrock-agent-runtime"]

ACCESS_KEY, SECRET_KEY = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EVENTSTREAM = "application/vnd.amazon.eventstream"
CONVERSE_MESSAGES: list[Any] = [{"role": "user", "content": [{"text": "Hello"}]}]


def _id(recording: dict[str, Any]) -> str:
    return str(recording["file"]).removesuffix(".bin")


def _data(recording: dict[str, Any]) -> bytes:
    return (REAL_DATA / str(recording["file"])).read_bytes()


def test_the_corpus_is_what_its_readme_says() -> None:
    assert (len(RECORDINGS), len(CONVERSE), len(INVOKE), len(AGENT)) == (187, 82, 70, 35)
    assert all(r["status"] == 200 for r in RECORDINGS)
    assert all(r["license"] for r in RECORDINGS)


# --- decoding: every recording, in any read size ------------------------------------------------------------


def feed(data: bytes, size: int | list[int] | None) -> list[Message]:
    """Decode ``data`` in one piece (None), in pieces of ``size`` bytes, or in the given sequence of sizes."""
    decoder = Decoder()
    out: list[Message] = []
    if size is None:
        out += decoder.feed(data)
    else:
        sizes = [size] if isinstance(size, int) else size
        pos = i = 0
        while pos < len(data):
            step = sizes[i % len(sizes)]
            out += decoder.feed(data[pos:pos + step])
            pos += step
            i += 1
    decoder.close()
    return out


@pytest.mark.parametrize("recording", RECORDINGS, ids=_id)
def test_every_recording_decodes_identically_in_any_reads(recording: dict[str, Any]) -> None:
    data = _data(recording)
    assert len(data) == recording["bytes"]
    whole = feed(data, None)
    for size in (1, 7, 4096):
        assert feed(data, size) == whole, size
    if recording["transport_chunk_sizes"]:  # the reads the recording project saw on the wire
        assert sum(recording["transport_chunk_sizes"]) == len(data)
        assert feed(data, recording["transport_chunk_sizes"]) == whole
    frames = [encode(message) for message in whole]
    assert b"".join(frames) == data
    assert [len(frame) for frame in frames] == recording["frame_sizes"]
    assert len(whole) == recording["frame_count"]
    assert sorted({str(m.headers[":event-type"]) for m in whole if ":event-type" in m.headers}) == sorted(
        recording["event_types"]
    )
    exceptions = {str(m.headers[":exception-type"]) for m in whole if ":exception-type" in m.headers}
    assert sorted(exceptions) == sorted(recording["exception_types"])
    # botocore's decoder reads the same messages
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    theirs = list(buffer)
    assert [t.payload for t in theirs] == [m.payload for m in whole]
    assert [list(t.headers.items()) for t in theirs] == [
        [(h.name, _botocore_view(h.value)) for h in m.headers.typed_items()] for m in whole
    ]


def _botocore_view(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, Timestamp):
        return int(value)
    if hasattr(value, "tzinfo"):
        return int(Timestamp.from_datetime(value))  # type: ignore[arg-type]
    return value


# --- a loopback server answering with the recordings --------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """``POST /model/rec<N>/<operation>`` answers with recording N as recorded (status 200, its headers)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        parts = self.path.split("/")
        try:
            recording = RECORDINGS[int(parts[2].removeprefix("rec"))]
        except (IndexError, ValueError):
            self.send_error(404)
            return
        data = _data(recording)
        recorded = recording["response_headers"]
        request_id = recorded.get("x-amzn-requestid", "")
        if not request_id or "REDACTED" in request_id:
            request_id = "00000000-0000-4000-8000-000000000000"
        self.send_response(200)
        self.send_header("Content-Type", EVENTSTREAM)  # some cassettes redact it; it is always this type
        self.send_header("x-amzn-RequestId", request_id)
        if parts[3] == "invoke-with-response-stream":
            bedrock_type = recorded.get("x-amzn-bedrock-content-type", "application/json")
            self.send_header("X-Amzn-Bedrock-Content-Type",
                             "application/json" if "REDACTED" in bedrock_type else bedrock_type)
        self.send_header("Transfer-Encoding", "chunked")  # as Bedrock sends it
        self.end_headers()
        sizes = recording["transport_chunk_sizes"] or [4096]  # as the recording project read it, if known
        pos = i = 0
        while pos < len(data):
            piece = data[pos:pos + sizes[i % len(sizes)]]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            pos += len(piece)
            i += 1
        self.wfile.write(b"0\r\n\r\n")


@dataclass(frozen=True)
class Server:
    url: str


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def boto3_client(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """boto3 on the loopback server with fake keys, built with no AWS configuration in sight."""
    import boto3

    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULT_REGION"):
            patch.delenv(name, raising=False)
        patch.setenv("HOME", str(home))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        session = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
        )
        return session.client(
            "bedrock-runtime",
            endpoint_url=server.url,
            config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10),
        )


def _model_id(recording: dict[str, Any]) -> str:
    return f"rec{RECORDINGS.index(recording)}"


def _our_client(server: Server) -> client.BedrockRuntimeClient:
    return client.BedrockRuntimeClient(
        "us-east-1", credentials=Credentials(ACCESS_KEY, SECRET_KEY), endpoint_url=server.url, max_attempts=1,
        timeout=10,
    )


# --- InvokeModelWithResponseStream: our clients against boto3 -----------------------------------------------

# The chunks' bytes, then the in-stream exception (if any) as (error code, message). boto3 reports the wire's
# :exception-type (``throttlingException``); ours is the API's exception name (``ThrottlingException``).
Outcome = tuple[list[bytes], tuple[str, str] | None]


def boto3_invoke(boto3_client: Any, recording: dict[str, Any]) -> Outcome:
    response = boto3_client.invoke_model_with_response_stream(modelId=_model_id(recording), body=b"{}")
    chunks: list[bytes] = []
    try:
        for event in response["body"]:
            chunks.append(event["chunk"]["bytes"])
    except botocore.exceptions.EventStreamError as exc:
        return chunks, _boto3_error(exc)
    return chunks, None


def _boto3_error(exc: botocore.exceptions.EventStreamError) -> tuple[str, str]:
    code = str(exc.response["Error"]["Code"])
    return code[:1].upper() + code[1:], str(exc.response["Error"]["Message"])


def _our_error(exc: client.BedrockRuntimeError) -> tuple[str, str]:
    return str(exc.error_code), str(exc.message)


@pytest.fixture(scope="module")
def sync_client(server: Server) -> Iterator[client.BedrockRuntimeClient]:
    with _our_client(server) as bedrock:
        yield bedrock


@pytest.mark.parametrize("recording", INVOKE, ids=_id)
def test_invoke_stream_sync_client_matches_boto3(
    recording: dict[str, Any], sync_client: client.BedrockRuntimeClient, boto3_client: Any
) -> None:
    chunks: list[bytes] = []
    error: tuple[str, str] | None = None
    with sync_client.invoke_model_with_response_stream(_model_id(recording), b"{}") as stream:
        try:
            for chunk in stream:
                chunks.append(chunk.bytes)
        except client.BedrockRuntimeError as exc:
            error = _our_error(exc)
    expected = boto3_invoke(boto3_client, recording)
    assert (chunks, error) == expected
    assert len(chunks) == recording["event_type_counts"].get("chunk", 0)
    assert (error is not None) == bool(recording["exception_types"])


@pytest.mark.anyio
@pytest.mark.parametrize("recording", INVOKE, ids=_id)
async def test_invoke_stream_async_client_matches_boto3(
    recording: dict[str, Any], server: Server, boto3_client: Any
) -> None:
    chunks: list[bytes] = []
    error: tuple[str, str] | None = None
    async with client.AsyncBedrockRuntimeClient(
        "us-east-1", credentials=Credentials(ACCESS_KEY, SECRET_KEY), endpoint_url=server.url, max_attempts=1,
        timeout=10,
    ) as bedrock:
        stream = await bedrock.invoke_model_with_response_stream(_model_id(recording), b"{}")
        async with stream:
            try:
                async for chunk in stream:
                    chunks.append(chunk.bytes)
            except client.BedrockRuntimeError as exc:
                error = _our_error(exc)
    assert (chunks, error) == boto3_invoke(boto3_client, recording)


def test_the_throttled_recording_raises_the_typed_exception(
    sync_client: client.BedrockRuntimeClient,
) -> None:
    (recording,) = [r for r in INVOKE if r["exception_types"]]
    with sync_client.invoke_model_with_response_stream(_model_id(recording), b"{}") as stream:
        got = []
        with pytest.raises(client.ThrottlingException):
            for chunk in stream:
                got.append(chunk)
    assert len(got) == recording["event_type_counts"]["chunk"]


# --- ConverseStream: boto3's view, the reference for our converse_stream ------------------------------------


def boto3_converse_reference(
    boto3_client: Any, recording: dict[str, Any]
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """What boto3's ``converse_stream`` yields for ``recording`` served from the loopback server: the list of
    event dicts (``{"contentBlockDelta": {...}}``, base64 members as bytes) and the in-stream exception, if
    one ended the stream (as ``(ExceptionName, message)``)."""
    response = boto3_client.converse_stream(modelId=_model_id(recording), messages=CONVERSE_MESSAGES)
    events: list[dict[str, Any]] = []
    try:
        for event in response["stream"]:
            events.append(event)
    except botocore.exceptions.EventStreamError as exc:
        return events, _boto3_error(exc)
    return events, None


def reference_answer(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer accumulated from boto3's ConverseStream events, in the shape of boto3's ``converse()``
    answer (without ``ResponseMetadata``): text deltas joined per block, a tool-use block's input fragments
    joined and parsed once, reasoning text with its signature, then ``stopReason``, ``usage``, ``metrics`` and
    what else ``messageStop`` and ``metadata`` carry."""
    role = "assistant"
    blocks: dict[int, dict[str, Any]] = {}
    tool_input: dict[int, str] = {}
    answer: dict[str, Any] = {}
    for event in events:
        ((name, body),) = event.items()
        if name == "messageStart":
            role = body["role"]
        elif name == "contentBlockStart":
            start = body.get("start", {})
            if "toolUse" in start:
                blocks[body["contentBlockIndex"]] = {"toolUse": dict(start["toolUse"])}
                tool_input[body["contentBlockIndex"]] = ""
            else:
                blocks[body["contentBlockIndex"]] = {kind: dict(value) for kind, value in start.items()}
        elif name == "contentBlockDelta":
            index, delta = body["contentBlockIndex"], body["delta"]
            block = blocks.setdefault(index, {})
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
            elif "toolUse" in delta:
                tool_input[index] = tool_input.get(index, "") + delta["toolUse"]["input"]
            elif "reasoningContent" in delta:
                reasoning = block.setdefault("reasoningContent", {})
                part = delta["reasoningContent"]
                if "redactedContent" in part:
                    redacted = reasoning.get("redactedContent", b"")
                    reasoning["redactedContent"] = redacted + part["redactedContent"]
                else:
                    text = reasoning.setdefault("reasoningText", {})
                    if "text" in part:
                        text["text"] = text.get("text", "") + part["text"]
                    if "signature" in part:
                        text["signature"] = part["signature"]
            elif "citation" in delta:
                block.setdefault("citationsContent", {}).setdefault("citations", []).append(delta["citation"])
            elif "toolResult" in delta:  # a list of result items, added to the block its start opened
                block.setdefault("toolResult", {}).setdefault("content", []).extend(delta["toolResult"])
            else:  # a delta kind newer than this reference: kept, in arrival order
                for kind, value in delta.items():
                    block.setdefault(kind, {}).setdefault("content", []).append(value)
        elif name == "contentBlockStop":
            index = body["contentBlockIndex"]
            if index in tool_input:
                blocks[index]["toolUse"]["input"] = json.loads(tool_input.pop(index) or "{}")
        elif name == "messageStop":
            answer["stopReason"] = body["stopReason"]
            if "additionalModelResponseFields" in body:
                answer["additionalModelResponseFields"] = body["additionalModelResponseFields"]
        elif name == "metadata":
            answer.update(body)
    content = [blocks[index] for index in sorted(blocks)]
    for block in content:
        # A block that received citations is one citationsContent block holding its text, as Converse's own
        # (non-streamed) answers show it: {"citationsContent": {"content": [{"text"}], "citations": [...]}}.
        if "citationsContent" in block and "text" in block:
            block["citationsContent"]["content"] = [{"text": block.pop("text")}]
    return {"output": {"message": {"role": role, "content": content}}, **answer}


def contains(ours: Any, theirs: Any) -> bool:
    """``ours`` has everything ``theirs`` has (members newer than botocore's model may be in ours only)."""
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and all(k in ours and contains(ours[k], v) for k, v in theirs.items())
    if isinstance(theirs, list):
        return isinstance(ours, list) and len(ours) == len(theirs) and all(
            contains(a, b) for a, b in zip(ours, theirs, strict=True)
        )
    return bool(ours == theirs)


@pytest.mark.parametrize("recording", CONVERSE, ids=_id)
def test_boto3_converse_reference(recording: dict[str, Any], boto3_client: Any) -> None:
    """The reference itself agrees with the recording: one event per frame, of the recorded event types, and
    its payloads (botocore's parse, ``p`` padding dropped) hold what each frame's JSON holds."""
    events, error = boto3_converse_reference(boto3_client, recording)
    assert error is None
    messages = feed(_data(recording), None)
    assert [next(iter(event)) for event in events] == [str(m.headers[":event-type"]) for m in messages]
    for event, message in zip(events, messages, strict=True):
        wire = json.loads(message.payload)
        wire.pop("p", None)
        # boto3 drops only members its model does not know: everything it kept equals the wire's
        assert contains(wire, _jsonable(next(iter(event.values())))), (event, wire)
    answer = reference_answer(events)
    assert answer["stopReason"] and "usage" in answer
    assert answer["output"]["message"]["role"] == "assistant"


def _jsonable(value: Any) -> Any:
    """boto3's parsed values as the wire JSON writes them (blobs in base64)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@pytest.mark.parametrize("recording", CONVERSE, ids=_id)
def test_converse_stream_matches_boto3(recording: dict[str, Any], server: Server, boto3_client: Any) -> None:
    """Our ``converse_stream`` against boto3's on the same bytes: every event's ``to_dict()`` holds what boto3
    yields (newer members may be ours only) and ``stream.response.to_dict()`` holds the accumulated answer."""
    expected_events, expected_error = boto3_converse_reference(boto3_client, recording)
    events: list[dict[str, Any]] = []
    error: tuple[str, str] | None = None
    with _our_client(server) as bedrock:
        stream = bedrock.converse_stream(_model_id(recording), CONVERSE_MESSAGES)
        with stream:
            try:
                for event in stream:
                    events.append(event.to_dict())
            except client.BedrockRuntimeError as exc:
                error = _our_error(exc)
            else:
                answer = stream.response.to_dict()
                assert contains(answer, reference_answer(expected_events)), answer
    assert error == expected_error
    assert contains(events, expected_events), events
