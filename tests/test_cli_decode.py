"""``bedrock-stream decode`` and ``invoke --record``: recordings, raw HTTP captures, --text and --hexdump.

Recordings and captures are made here, against the emulator on 127.0.0.1 or from the repository's fixture
streams, so each test knows exactly what the decoder must find.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.cli import FAMILY_MODELS, RECORDING_FORMAT, SIDECAR_SUFFIX, main, read_recording
from client.emulator import Emulator
from eventstream import Message, decode, encode

ROOT = Path(__file__).resolve().parents[1]
CLAUDE_STREAM = ROOT / "fixtures" / "bedrock" / "claude_messages.bin"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def _chunked(body: bytes, sizes: tuple[int, ...] = (7, 300, 1, 50)) -> bytes:
    out = bytearray()
    pos = 0
    index = 0
    while pos < len(body):
        size = sizes[index % len(sizes)]
        piece = body[pos : pos + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        pos += size
        index += 1
    return bytes(out) + b"0\r\n\r\n"


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


# --- what --record writes ---


def test_record_writes_the_frames_and_a_sidecar_replay_can_use(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    recording = tmp_path / "answer.bin"
    with Emulator() as emu:
        argv = [
            "invoke",
            "--endpoint-url",
            emu.url,
            "--example-keys",
            CLAUDE,
            "hi",
            "--record",
            str(recording),
        ]
        assert main([*argv, "-q"]) == 0
    capsys.readouterr()
    data = recording.read_bytes()
    assert len(decode(data)) > 3  # the file alone is a plain event stream
    head, *pieces = [
        json.loads(line) for line in Path(str(recording) + SIDECAR_SUFFIX).read_text().splitlines()
    ]
    assert head["format"] == RECORDING_FORMAT and head["status"] == 200 and head["reason"] == "OK"
    assert head["path"] == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream"
    headers = {name.lower(): value for name, value in head["headers"]}
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    assert headers["x-amzn-requestid"]
    assert "transfer-encoding" not in headers
    ends = [piece["end"] for piece in pieces]
    assert ends == sorted(ends) and ends[-1] == len(data)
    assert all(piece["at"] >= 0 for piece in pieces)

    assert main(["decode", str(recording)]) == 0
    captured = capsys.readouterr()
    assert "a bedrock-stream recording (HTTP 200" in captured.err
    assert len(_json_lines(captured.out)) == len(decode(data))


def test_read_recording_gives_replay_what_it_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    recording = tmp_path / "answer.bin"
    with Emulator(pace=0.01) as emu:
        argv = ["invoke", "--endpoint-url", emu.url, "--example-keys", CLAUDE, "hi", "-q"]
        assert main([*argv, "--record", str(recording)]) == 0
    capsys.readouterr()
    found = read_recording(str(recording))
    assert found is not None and found.problem is None
    assert found.status == 200 and found.reason == "OK"
    assert found.body == recording.read_bytes()
    assert found.path is not None and found.path.endswith("/invoke-with-response-stream")
    assert ("content-type", "application/vnd.amazon.eventstream") in found.headers
    times = [at for at, _end in found.pieces]
    assert times == sorted(times) and times[-1] > times[0]  # paced: the pieces arrived over time
    assert found.pieces[-1][1] == len(found.body)
    # A sidecar whose last line a kill cut: every complete piece is still there, the problem is named.
    sidecar = Path(str(recording) + SIDECAR_SUFFIX)
    sidecar.write_text(sidecar.read_text()[:-10])
    cut = read_recording(str(recording))
    assert cut is not None and cut.problem is not None and "cut short" in cut.problem
    assert cut.pieces == found.pieces[:-1]
    assert main(["decode", str(recording)]) == 0
    assert "note: line" in capsys.readouterr().err
    assert read_recording(str(tmp_path / "no-such.bin")) is None


# --- raw HTTP captures ---


def test_decode_reads_a_raw_http_capture_with_a_chunked_body(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frames = CLAUDE_STREAM.read_bytes()
    capture = tmp_path / "capture.http"
    capture.write_bytes(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
        b"x-amzn-RequestId: 1234\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(frames)
    )
    assert main(["decode", str(capture)]) == 0
    from_capture = capsys.readouterr()
    assert "a raw HTTP response capture (HTTP/1.1 200 OK, chunked body" in from_capture.err
    assert main(["decode", str(CLAUDE_STREAM)]) == 0
    assert from_capture.out == capsys.readouterr().out


def test_decode_of_a_cut_capture_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    frames = CLAUDE_STREAM.read_bytes()
    capture = tmp_path / "cut.http"
    whole = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
    whole += b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(frames)
    capture.write_bytes(whole[:-200])
    assert main(["decode", str(capture)]) == 1
    err = capsys.readouterr().err
    assert "cut" in err and "TruncatedStream" in err


def test_decode_of_a_captured_error_response(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    capture = tmp_path / "denied.http"
    body = b'{"message":"The security token included in the request is invalid."}'
    capture.write_bytes(
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    assert main(["decode", str(capture)]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "HTTP 403" in line and "security token" in line and "not an event stream" in line


# --- --text ---


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_decode_text_rebuilds_each_familys_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_id: str
) -> None:
    recording = tmp_path / "r.bin"
    with Emulator() as emu:
        argv = ["invoke", "--endpoint-url", emu.url, "--example-keys", model_id, "Why stream?"]
        assert main([*argv, "-q", "--record", str(recording)]) == 0
    answer = capsys.readouterr().out
    assert answer.startswith("You asked: Why stream?")
    assert main(["decode", "--text", str(recording)]) == 0
    captured = capsys.readouterr()
    assert captured.out == answer
    assert "stop " in captured.err and "tokens " in captured.err


def _converse_frame(event_type: str, payload: dict[str, object]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode(Message(headers, json.dumps(payload).encode()))


def test_decode_text_rebuilds_a_converse_stream(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "converse.bin"
    path.write_bytes(
        _converse_frame("messageStart", {"role": "assistant"})
        + _converse_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}})
        + _converse_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": ", world"}})
        + _converse_frame("contentBlockStop", {"contentBlockIndex": 0})
        + _converse_frame("messageStop", {"stopReason": "end_turn"})
        + _converse_frame(
            "metadata", {"usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}, "metrics": {}}
        )
    )
    assert main(["decode", "--text", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Hello, world\n"
    assert "stop end_turn" in captured.err and "tokens 5 in / 2 out" in captured.err


def test_decode_text_reports_an_in_stream_exception(capsys: pytest.CaptureFixture[str]) -> None:
    stream = ROOT / "fixtures" / "bedrock" / "model_stream_error.bin"
    assert main(["decode", "--text", str(stream)]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "modelStreamErrorException" in line


# --- --hexdump and bad frames ---


def test_hexdump_marks_the_parts_of_each_frame(capsys: pytest.CaptureFixture[str]) -> None:
    data = CLAUDE_STREAM.read_bytes()
    assert main(["decode", "--hexdump", str(CLAUDE_STREAM)]) == 0
    out = capsys.readouterr().out
    frames = len(decode(data))
    assert out.count("  prelude (12 bytes)") == frames
    assert out.count("  message crc (4 bytes)") == frames
    assert out.count("  headers (") == frames and out.count("  payload (") == frames
    assert f"00000000  {data[:12].hex(' ')}" in out
    assert ":event-type=chunk" in out


def test_a_bad_frame_shows_its_headers_then_the_error_with_its_offset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = _converse_frame("contentBlockDelta", {"delta": {"text": "a"}})
    bad = bytearray(good)
    bad[-1] ^= 0xFF  # the message CRC: the prelude and the headers still parse
    path = tmp_path / "bad.bin"
    path.write_bytes(good + bytes(bad))
    assert main(["decode", str(path)]) == 1
    captured = capsys.readouterr()
    first, last = _json_lines(captured.out)
    assert first["offset"] == 0
    assert last["offset"] == len(good) and last["error"] == "MessageChecksumMismatch"
    assert {"name": ":event-type", "type": "string", "value": "contentBlockDelta"} in last["headers"]  # type: ignore[operator]
    line = captured.err.strip().splitlines()[-1]
    assert f"bad frame at byte {len(good)}" in line and ":event-type=contentBlockDelta" in line
    assert "MessageChecksumMismatch" in line

    assert main(["decode", "--hexdump", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"frame at {len(good)}: {len(good)} bytes" in out
