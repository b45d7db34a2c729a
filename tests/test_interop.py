"""The interoperability suite's CI part: Anthropic's SDK and boto3, unchanged, against the emulator.

Both scenarios run in this process (``anthropic[bedrock]`` is in the ``test`` extra, beside boto3), judged by
``interop.controller`` exactly as ``interop/run.py`` judges them in their own venvs: each operation's text,
stop reason, usage and tool calls must equal what the emulator answered, and each injected fault must
surface as the client's documented error. One test per operation, so a failure names it. The other clients
(aiobotocore, langchain-aws, pydantic-ai, litellm) run on demand: ``interop/run.py --all``.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # interop/ lives at the repository's root, beside src/
    sys.path.insert(0, str(ROOT))

from interop.controller import Controller, OpRow, WireAnswer, _compare, read_answer  # noqa: E402
from interop.scenarios import harness, scenario_anthropic, scenario_boto3  # noqa: E402

from client.emulator import Emulator  # noqa: E402

ANTHROPIC_OPS = (
    "messages.create",
    "messages.stream",
    "messages.create(stream=True)",
    "beta.messages.create(betas=[...])",
    "messages.create, throttled",
    "messages.create, tool_use",
    "messages.create, tool_result",
    "async messages.create",
    "async messages.stream",
)
BOTO3_OPS = (
    "invoke_model",
    "invoke_model_with_response_stream",
    "converse",
    "converse_stream",
    "converse, Amazon Nova",
    "count_tokens",
    "invoke_model, throttled",
    "invoke_model_with_response_stream, exception in the stream",
    "converse, toolUse",
    "converse, toolResult",
    "converse_stream, toolUse",
)


def _run(name: str, scenario: Callable[[harness.Harness], None]) -> dict[str, OpRow]:
    with (
        pytest.MonkeyPatch.context() as patch,
        Emulator() as emulator,
        Emulator(require_auth=False, allow_fault_header=False) as oracle,
    ):
        for variable in [v for v in list(sys.modules["os"].environ) if v.startswith("AWS_")]:
            patch.delenv(variable)
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        patch.setenv("AWS_CONFIG_FILE", str(ROOT / "interop" / "no-such-aws-config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(ROOT / "interop" / "no-such-aws-credentials"))
        controller = Controller(emulator, oracle)
        try:
            controller.start_client(name)
            harness.run_scenario(scenario, controller, emulator.url)
        finally:
            controller.close()
    rows: dict[str, OpRow] = {}
    for row in controller.rows:
        rows.setdefault(row.op, row)
    return rows


@pytest.fixture(scope="module")
def anthropic_rows() -> dict[str, OpRow]:
    return _run("anthropic[bedrock]", scenario_anthropic.run)


@pytest.fixture(scope="module")
def boto3_rows() -> dict[str, OpRow]:
    return _run("boto3", scenario_boto3.run)


def _check(rows: dict[str, OpRow], op: str) -> None:
    crashed = [row for name, row in rows.items() if name.startswith("(")]
    assert not crashed, crashed
    assert op in rows, f"{op!r} did not run; rows: {sorted(rows)}"
    row = rows[op]
    assert row.status == "pass", f"{op}: {row.detail}"


@pytest.mark.parametrize("op", ANTHROPIC_OPS)
def test_anthropic_sdk(anthropic_rows: dict[str, OpRow], op: str) -> None:
    _check(anthropic_rows, op)


@pytest.mark.parametrize("op", BOTO3_OPS)
def test_boto3(boto3_rows: dict[str, OpRow], op: str) -> None:
    _check(boto3_rows, op)


# --- the suite's own machinery ---


def test_the_scenarios_environment_cannot_reach_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from interop import run

    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-looking")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    env = run.child_environment("http://127.0.0.1:5", tmp_path)
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env and "HTTPS_PROXY" not in env
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIDEXAMPLE" and env["HOME"] == str(tmp_path)
    assert not Path(env["AWS_CONFIG_FILE"]).exists()
    assert {spec.name for spec in run.CLIENTS if spec.ci} == {"anthropic[bedrock]", "boto3"}


def test_loopback_only_refuses_everything_but_loopback() -> None:
    with harness.loopback_only() as guard:
        with pytest.raises(OSError, match="refused"):
            socket.getaddrinfo("bedrock-runtime.us-east-1.amazonaws.com", 443)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            with pytest.raises(OSError, match="refused"):
                sock.connect(("169.254.169.254", 80))
        assert socket.getaddrinfo("127.0.0.1", 80)
        with Emulator() as emulator, socket.create_connection(("127.0.0.1", emulator.port), timeout=5):
            pass
    assert len(guard.refused) == 2
    assert "169.254.169.254" in guard.refused[1]
    # Restored on exit.
    assert socket.socket.connect is not None and "refused" not in repr(socket.getaddrinfo)


class _ScriptedChannel:
    """A controller stand-in that records what a scenario says."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.messages.append(message)
        return {"ok": True}


def test_an_escaping_exception_is_the_operations_failure_and_the_scenario_goes_on() -> None:
    channel = _ScriptedChannel()

    def scenario(h: harness.Harness) -> None:
        with h.op("first"):
            raise KeyError("boom")
        with h.op("second") as op:
            op.text("ok")

    harness.run_scenario(scenario, channel, "http://127.0.0.1:1")
    ends = [m for m in channel.messages if m["kind"] == "end"]
    assert [m["op"] for m in ends] == ["first", "second"]
    assert ends[0]["result"]["failure"].startswith("raised builtins.KeyError")
    assert ends[1]["result"]["failure"] is None and ends[1]["result"]["text"] == "ok"
    assert channel.messages[-1] == {"kind": "done", "refused": []}


def test_a_fault_the_client_swallowed_is_a_failure() -> None:
    channel = _ScriptedChannel()

    def scenario(h: harness.Harness) -> None:
        with h.op("faulty", fault="throttling"):
            pass

    harness.run_scenario(scenario, channel, "http://127.0.0.1:1")
    end = next(m for m in channel.messages if m["kind"] == "end")
    assert end["result"]["failure"] == "the injected fault raised no error in the client"


@pytest.fixture
def judged() -> Iterator[tuple[Emulator, Controller]]:
    with Emulator() as emulator, Emulator(require_auth=False, allow_fault_header=False) as oracle:
        controller = Controller(emulator, oracle)
        controller.start_client("raw")
        yield emulator, controller
        controller.close()


def _stream_once(emulator: Emulator, body: dict[str, Any]) -> str:
    import client

    model = "anthropic.claude-3-haiku-20240307-v1:0"
    from sigv4 import Credentials

    keys = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    with (
        client.BedrockRuntimeClient("us-east-1", endpoint_url=emulator.url, credentials=keys) as bedrock,
        bedrock.invoke_model_with_response_stream(model, body) as stream,
    ):
        return "".join(
            chunk.json().get("delta", {}).get("text", "")
            for chunk in stream
            if chunk.json().get("type") == "content_block_delta"
        )


BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "judge me"}],
}


def test_the_controller_passes_the_emulators_own_answer_and_names_a_wrong_one(
    judged: tuple[Emulator, Controller],
) -> None:
    emulator, controller = judged
    controller.call({"kind": "begin", "op": "right", "fault": None})
    text = _stream_once(emulator, BODY)
    assert text.startswith("You asked: judge me")
    verdict = controller.call(
        {"kind": "end", "op": "right", "result": {"text": text, "stop_reason": "end_turn"}}
    )
    assert verdict["status"] == "pass", verdict

    controller.call({"kind": "begin", "op": "wrong", "fault": None})
    text = _stream_once(emulator, BODY)
    verdict = controller.call(
        {"kind": "end", "op": "wrong", "result": {"text": text + "!", "stop_reason": "stop"}}
    )
    assert verdict["status"] == "FAIL"
    assert verdict["detail"].startswith("text: expected 'You asked: judge me")

    controller.call({"kind": "begin", "op": "echo", "fault": None, "echo": "judge me"})
    text = _stream_once(emulator, BODY)
    assert controller.call({"kind": "end", "op": "echo", "result": {"text": text}})["status"] == "pass"
    controller.call({"kind": "begin", "op": "no echo", "fault": None, "echo": "something else"})
    text = _stream_once(emulator, BODY)
    verdict = controller.call({"kind": "end", "op": "no echo", "result": {"text": text}})
    assert verdict["status"] == "FAIL" and "does not contain 'something else'" in verdict["detail"]

    controller.call({"kind": "begin", "op": "length", "fault": None})
    _stream_once(emulator, BODY)
    verdict = controller.call({"kind": "end", "op": "length", "result": {"stop_reason": "max_tokens"}})
    assert verdict == {"status": "FAIL", "detail": "stop reason: expected 'end_turn', got 'max_tokens'"}


def test_the_controller_requires_the_fault_to_have_been_served(judged: tuple[Emulator, Controller]) -> None:
    emulator, controller = judged
    controller.call({"kind": "begin", "op": "faulty", "fault": "throttling", "fault_times": 1})
    assert len(emulator.pending_faults) == 1
    verdict = controller.call({"kind": "end", "op": "faulty", "result": {"error": "RateLimitError"}})
    assert verdict["status"] == "FAIL" and "sent nothing" in verdict["detail"]
    assert not emulator.pending_faults  # an unused fault does not leak into the next operation


def test_read_answer_reads_an_event_stream_and_json_bodies() -> None:
    from client.emulator.frames import chunk_frame

    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "name": "t", "id": "x"},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a"'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ": 1}"},
        },
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
    ]
    body = b"".join(chunk_frame(event) for event in events)
    answer = read_answer("anthropic.claude-3-haiku-20240307-v1:0", "application/vnd.amazon.eventstream", body)
    assert (answer.text, answer.stop_reason, answer.input_tokens, answer.output_tokens) == (
        "Hi",
        "tool_use",
        3,
        7,
    )
    assert answer.tool_calls == [{"name": "t", "input": {"a": 1}}]

    converse = {
        "output": {
            "message": {"content": [{"text": "A"}, {"toolUse": {"name": "t", "input": {}, "toolUseId": "1"}}]}
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 2, "outputTokens": 4},
    }
    answer = read_answer("m", "application/json", json.dumps(converse).encode())
    assert (answer.text, answer.stop_reason, answer.input_tokens, answer.output_tokens) == (
        "A",
        "tool_use",
        2,
        4,
    )
    assert answer.tool_calls == [{"name": "t", "input": {}}]


def test_run_py_drives_a_scenario_in_a_subprocess_over_its_pipes(tmp_path: Path) -> None:
    """run.py's own path, with this interpreter standing in for the client's venv (it has boto3)."""
    from interop import run

    spec = next(spec for spec in run.CLIENTS if spec.name == "boto3")
    log = tmp_path / "boto3.log"
    with Emulator() as emulator, Emulator(require_auth=False, allow_fault_header=False) as oracle:
        controller = Controller(emulator, oracle)
        controller.start_client("boto3")
        run._run_scenario(spec, Path(sys.executable), emulator.url, controller, timeout=120, log=log)
        controller.close()
    failed = [row for row in controller.rows if row.status != "pass"]
    assert not failed, (failed, log.read_text()[-2000:])
    assert [row.op for row in controller.rows] == list(BOTO3_OPS)
    assert controller.versions["boto3"]["boto3"] != "not installed"
    requests, connections = controller.traffic["boto3"]
    assert requests >= len(BOTO3_OPS) and 1 <= connections < requests  # kept alive
    lines = list(run.tables(controller, [spec]))
    assert lines[2].startswith("| boto3 |") and lines[2].endswith("| pass |")


def test_run_py_reports_a_scenario_that_ends_without_saying_done(tmp_path: Path) -> None:
    from interop import run

    mute = run.ClientSpec("mute", (), "harness", ())  # a module with no scenario: it exits at once
    with Emulator() as emulator, Emulator(require_auth=False) as oracle:
        controller = Controller(emulator, oracle)
        controller.start_client("mute")
        run._run_scenario(
            mute, Path(sys.executable), emulator.url, controller, timeout=60, log=tmp_path / "log"
        )
        controller.close()
    assert [(row.op, row.status) for row in controller.rows] == [("(scenario)", "FAIL")]
    assert "exited with 0 before its end" in controller.rows[0].detail
    summary = list(run.tables(controller, [mute]))[2]
    assert "FAIL: (scenario): the scenario exited with 0" in summary


def test_a_usage_difference_that_comes_from_the_headers_says_so() -> None:
    answer = WireAnswer(text="t", input_tokens=9, output_tokens=5, header_tokens={"output_tokens": 18})
    assert _compare({"text": "t", "output_tokens": 5}, [answer]) == ""
    assert _compare({"output_tokens": 7}, [answer]) == "output_tokens: expected 5, got 7"
    difference = _compare({"output_tokens": 18}, [answer])
    assert difference.startswith("output_tokens: expected 5, got 18: the value of the emulator's ")
    assert "X-Amzn-Bedrock-Output-Token-Count header" in difference
