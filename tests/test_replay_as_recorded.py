"""`invoke --record` → `Emulator(replay=..., replay_as_recorded=True)`: the same bytes, cut where they
arrived, with the recorded pauses between them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from client.emulator import Emulator
from client.emulator.plan import Pause, Send, stream_steps
from client.emulator.replay import RecordingError, load_recording
from client.recording import RECORDING_FORMAT, SIDECAR_SUFFIX
from eventstream import Message, encode

MODEL = "anthropic.claude-3-haiku-20240307-v1%3A0"


def frames(n: int) -> list[bytes]:
    return [
        encode(Message({":event-type": "chunk", ":message-type": "event"}, json.dumps({"i": i}).encode()))
        for i in range(n)
    ]


def write_recording(path: Path, pieces: list[bytes], times: list[float]) -> None:
    path.write_bytes(b"".join(pieces))
    lines = [json.dumps({"format": RECORDING_FORMAT, "status": 200, "reason": "OK", "headers": []})]
    end = 0
    for piece, at in zip(pieces, times, strict=True):
        end += len(piece)
        lines.append(json.dumps({"at": at, "end": end}))
    Path(str(path) + SIDECAR_SUFFIX).write_text("\n".join(lines) + "\n")


def test_a_recording_is_cut_and_paced_as_it_arrived(tmp_path: Path) -> None:
    one, two, three = frames(3)
    path = tmp_path / "r.bin"
    # The second read brought two frames at once, 0.25 s after the first.
    write_recording(path, [one, two + three], [0.01, 0.26])
    paced = load_recording(path, as_recorded=True)
    assert paced.pieces == (one, two + three)
    assert paced.gaps == (0.0, 0.25)
    assert stream_steps(paced.pieces, gaps=paced.gaps, pace=9.0)[:3] == (
        Send(one),
        Pause(0.25),
        Send(two + three),
    )
    # Without as_recorded: the same cut, the emulator's own pace.
    plain = load_recording(path)
    assert plain.pieces == (one, two + three) and plain.gaps == ()


def test_as_recorded_needs_the_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "bare.bin"
    path.write_bytes(b"".join(frames(2)))
    with pytest.raises(RecordingError, match="sidecar"):
        load_recording(path, as_recorded=True)
    assert len(load_recording(path).pieces) == 2


def test_the_emulator_replays_the_recording_byte_for_byte(tmp_path: Path) -> None:
    recorded = frames(4)
    path = tmp_path / "r.bin"
    write_recording(path, recorded, [0.0, 0.02, 0.04, 0.06])
    with Emulator(auth=False, replay=path, replay_as_recorded=True) as emu:
        body = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        }
        url = f"{emu.url}/model/{MODEL}/invoke-with-response-stream"
        response = httpx.post(url, json=body, timeout=10)
    assert response.status_code == 200
    assert response.content == b"".join(recorded)
