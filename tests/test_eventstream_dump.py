"""Recorded Bedrock streams (fixtures/bedrock/) and the dump tool (``python -m eventstream FILE``)."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from eventstream import Decoder, Message, Timestamp, TruncatedStream, decode, encode
from eventstream.dump import main
from shared_data import require

ROOT = Path(__file__).resolve().parents[1]
BEDROCK = ROOT / "fixtures" / "bedrock"
STREAMS = sorted(p.stem for p in BEDROCK.glob("*.bin"))


def expected_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (BEDROCK / f"{name}.jsonl").read_text().splitlines()]


def run_dump(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", BEDROCK / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recorded_streams_are_all_there() -> None:
    assert STREAMS == [
        "claude_messages",
        "claude_truncated",
        "error_message",
        "model_stream_error",
        "throttling_exception",
    ]


def test_fixtures_regenerate_byte_for_byte(tmp_path: Path) -> None:
    written = load_generator().write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in BEDROCK.iterdir() if p.suffix != ".py")
    for path in written:
        assert path.read_bytes() == (BEDROCK / path.name).read_bytes(), path.name


@pytest.mark.parametrize("name", STREAMS)
def test_dump_prints_the_expected_decoded_form(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, err = run_dump(capsys, str(BEDROCK / f"{name}.bin"))
    assert lines == expected_lines(name)
    if name == "claude_truncated":
        assert status == 1 and "TruncatedStream" in err
    else:
        assert status == 0 and err == ""


def test_claude_stream_decodes_to_the_model_events() -> None:
    messages = decode((BEDROCK / "claude_messages.bin").read_bytes())
    assert all(
        m.headers == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
        for m in messages
    )
    envelopes = [json.loads(m.payload) for m in messages]
    assert all(set(e) == {"bytes", "p"} for e in envelopes)
    events = [json.loads(base64.b64decode(e["bytes"])) for e in envelopes]
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text.startswith("Event streams frame each message")
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert set(metrics) == {"inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency"}
    assert 200 < sum(len(encode(m)) for m in messages) / len(messages) < 400  # realistic frame sizes


@pytest.mark.parametrize(
    ("name", "kind", "fields"),
    [
        ("throttling_exception", "throttlingException", {"message"}),
        (
            "model_stream_error",
            "modelStreamErrorException",
            {"message", "originalStatusCode", "originalMessage"},
        ),
    ],
)
def test_in_stream_exceptions_end_their_streams(name: str, kind: str, fields: set[str]) -> None:
    *chunks, last = decode((BEDROCK / f"{name}.bin").read_bytes())
    assert chunks and all(m.headers[":message-type"] == "event" for m in chunks)
    assert last.headers == {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert set(json.loads(last.payload)) == fields


def test_error_message_carries_code_and_message_headers() -> None:
    *_, last = decode((BEDROCK / "error_message.bin").read_bytes())
    assert last.headers[":message-type"] == "error"
    assert last.headers[":error-code"] == "InternalFailure"
    assert isinstance(last.headers[":error-message"], str) and last.payload == b""


@pytest.mark.parametrize("name", STREAMS)
def test_botocore_reads_the_recorded_streams_as_we_do(name: str) -> None:
    raw = (BEDROCK / f"{name}.bin").read_bytes()
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    theirs = [(dict(m.headers), m.payload) for m in buffer]
    decoder = Decoder()
    ours = [(dict(m.headers), m.payload) for m in decoder.feed(raw)]
    assert theirs == ours and ours
    if name == "claude_truncated":  # botocore silently stops at the cut; we report it
        with pytest.raises(TruncatedStream):
            decoder.close()
    else:
        decoder.close()


def test_dump_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (BEDROCK / "error_message.bin").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    status, lines, _ = run_dump(capsys, "-")
    assert status == 0 and lines == expected_lines("error_message")


def test_dump_reports_a_bad_frame_with_offset_and_prelude(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    vectors = require("vectors") / "eventstream"  # AWS's vectors, from the shared folder
    good = (vectors / "aws-sdk-go" / "encoded" / "positive" / "int32_header").read_bytes()
    bad = (vectors / "smithy-rs" / "invalid_prelude_checksum").read_bytes()
    path = tmp_path / "stream.bin"
    path.write_bytes(good + bad + good)
    status, lines, err = run_dump(capsys, str(path))
    assert status == 1
    assert lines[0]["offset"] == 0 and lines[0]["headers"] == [
        {"name": "event-type", "type": "integer", "value": 40972}
    ]
    assert lines[0]["payload_text"] == "{'foo':'bar'}"  # no JSON content type: text
    assert lines[1] == {
        "offset": 45,
        "error": "PreludeChecksumMismatch",
        "message": "prelude checksum mismatch: computed 0x8bb495fb, frame says 0xdeadbeef",
        "prelude_hex": "00 00 00 96 00 00 00 7a de ad be ef",
    }
    assert len(lines) == 2
    assert "PreludeChecksumMismatch" in err and "offset 45" in err


def test_dump_shows_every_header_type(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    vectors = require("vectors") / "eventstream"  # AWS's vectors, from the shared folder
    path = tmp_path / "all.bin"
    path.write_bytes(
        (vectors / "smithy-rs" / "valid_with_all_headers_and_payload").read_bytes()
        + encode(
            Message({"far": Timestamp(-(1 << 63)), ":content-type": "application/json"}, b"not json \xff")
        )
    )
    status, lines, _ = run_dump(capsys, str(path))
    assert status == 0
    assert lines[0]["headers"] == [
        {"name": "true", "type": "bool_true", "value": True},
        {"name": "false", "type": "bool_false", "value": False},
        {"name": "byte", "type": "byte", "value": 50},
        {"name": "short", "type": "short", "value": 20000},
        {"name": "int", "type": "integer", "value": 500000},
        {"name": "long", "type": "long", "value": 50000000000},
        {"name": "bytes", "type": "byte_array", "value": "c29tZSBieXRlcw=="},
        {"name": "str", "type": "string", "value": "some str"},
        {"name": "time", "type": "timestamp", "value": "1970-02-27T20:53:20.000Z", "ms": 5000000000},
        {"name": "uuid", "type": "uuid", "value": "b79bc914-de21-4e13-b8b2-bc47e85b7f0b"},
    ]
    assert lines[0]["payload_text"] == "some payload" and lines[0]["length"] == 150
    assert lines[1]["headers"][0] == {"name": "far", "type": "timestamp", "ms": -(1 << 63)}
    assert lines[1]["payload_base64"] == base64.b64encode(b"not json \xff").decode()


def test_dump_flags_a_chunk_with_invalid_base64(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "chunk.bin"
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    path.write_bytes(
        encode(Message(headers, b'{"bytes": "not base64!", "p": "ab"}'))
        + encode(Message(headers, b'{"bytes": "aGVsbG8="}'))
    )
    status, lines, _ = run_dump(capsys, str(path))
    assert status == 0
    assert lines[0]["chunk_error"].startswith("invalid base64")
    assert lines[1]["chunk_text"] == "hello"


def test_dump_usage_and_input_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing.bin")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "--max-message-size" in capsys.readouterr().out
    assert main(["--max-message-size", "8", str(BEDROCK / "error_message.bin")]) == 2
    status, lines, _ = run_dump(capsys, "--max-message-size", "100", str(BEDROCK / "error_message.bin"))
    assert status == 1 and lines[-1]["error"] == "FrameTooLarge" and lines[-1]["offset"] == 0


def test_python_dash_m_eventstream(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "eventstream", str(BEDROCK / "throttling_exception.bin")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected_lines("throttling_exception")
    cut = tmp_path / "cut.bin"
    cut.write_bytes((BEDROCK / "throttling_exception.bin").read_bytes()[:-3])
    result = subprocess.run(
        [sys.executable, "-m", "eventstream", str(cut)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout.splitlines()[-1])["error"] == "TruncatedStream"


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`python -m eventstream FILE | head -1`: the closed pipe ends the dump quietly, status 0."""
    frame = encode(Message({":event-type": "chunk"}, b"{}"))
    path = tmp_path / "long.bin"
    path.write_bytes(frame * 200_000)  # far more output than a pipe buffer holds
    dump = subprocess.Popen(
        [sys.executable, "-m", "eventstream", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert dump.stdout is not None and dump.stderr is not None
    first = dump.stdout.readline()
    dump.stdout.close()
    status = dump.wait(timeout=60)
    error = dump.stderr.read().decode()
    dump.stderr.close()
    assert json.loads(first)["offset"] == 0
    assert status == 0, error
    assert error == ""
