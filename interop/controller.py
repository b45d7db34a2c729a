"""The runner's side of a scenario: cut the emulator's record at operation boundaries and judge each one.

For every operation a scenario reports, the controller takes the requests the emulator received during it,
replays each successful one on a second, unauthenticated emulator (the *oracle*: answers are a function of
the model id and the body alone, so it answers byte for byte what the first one did), reads that answer off
the wire with this project's own event-stream decoder, and compares it with what the client surfaced: the
text exactly, the stop reason (each client's vocabulary mapped onto the service's), token usage and tool
calls where the client exposes them. The first difference is the operation's verdict.

An operation that asked for a fault passes when the client raised its documented error (the scenario checks
the class) and the emulator really served the fault.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

import eventstream
from client.emulator import Emulator, RecordedRequest, parse_fault
from client.families import Transcript, family_of

__all__ = ["Controller", "OpRow", "WireAnswer", "read_answer"]

# Headers not replayed: the transport's own, the signature (the oracle does not check it) and faults.
_NOT_REPLAYED = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "expect",
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "x-emulator-fault",
    }
)

# Each client's stop-reason vocabulary, onto one: the service's own spellings and the common translations.
_STOP_REASONS = {
    "end_turn": "end",
    "stop": "end",
    "end": "end",
    "complete": "end",
    "finish": "end",
    "stop_sequence": "stop_sequence",
    "max_tokens": "length",
    "length": "length",
    "tool_use": "tool_use",
    "tool_calls": "tool_use",
    "tool_call": "tool_use",
    "function_call": "tool_use",
}


def _normal_stop(reason: str | None) -> str | None:
    if reason is None:
        return None
    return _STOP_REASONS.get(reason.lower(), reason.lower())


@dataclass
class WireAnswer:
    """What the emulator answered on the wire: text, stop reason, token usage and tool uses."""

    text: str = ""
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    # InvokeModel also states the counts in X-Amzn-Bedrock-Input/Output-Token-Count headers (some clients
    # read those): kept to explain a difference, since they should equal the body's usage.
    header_tokens: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OpRow:
    """One line of the result table."""

    client: str
    op: str
    status: str  # "pass", "FAIL" or "n/a"
    detail: str = ""


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _anthropic_message(body: Mapping[str, Any], answer: WireAnswer) -> None:
    for block in body.get("content") or []:
        if block.get("type") == "text":
            answer.text += block.get("text", "")
        elif block.get("type") == "tool_use":
            answer.tool_calls.append({"name": block.get("name"), "input": block.get("input")})
    answer.stop_reason = body.get("stop_reason")
    usage = body.get("usage") or {}
    answer.input_tokens = usage.get("input_tokens")
    answer.output_tokens = usage.get("output_tokens")


def _converse_message(body: Mapping[str, Any], answer: WireAnswer) -> None:
    message = (body.get("output") or {}).get("message") or {}
    for block in message.get("content") or []:
        if "text" in block:
            answer.text += block["text"]
        elif "toolUse" in block:
            tool = block["toolUse"]
            answer.tool_calls.append({"name": tool.get("name"), "input": tool.get("input")})
    answer.stop_reason = body.get("stopReason")
    usage = body.get("usage") or {}
    answer.input_tokens = usage.get("inputTokens")
    answer.output_tokens = usage.get("outputTokens")


class _StreamReader:
    """Folds the events of InvokeModelWithResponseStream (model JSON chunks) or ConverseStream."""

    def __init__(self, model_id: str) -> None:
        self.answer = WireAnswer()
        self._family = family_of(model_id)
        self._transcript = Transcript()
        self._tools: dict[int, dict[str, Any]] = {}
        self._anthropic = False

    def event(self, event_type: str, payload: Mapping[str, Any]) -> None:
        if event_type == "chunk":
            chunk = json.loads(base64.b64decode(payload["bytes"]))
            self._chunk(chunk)
            return
        # ConverseStream: one event per frame, named by :event-type.
        answer = self.answer
        if event_type == "contentBlockStart":
            tool = (payload.get("start") or {}).get("toolUse")
            if tool is not None:
                self._tools[payload.get("contentBlockIndex", 0)] = {"name": tool.get("name"), "input": ""}
        elif event_type == "contentBlockDelta":
            delta = payload.get("delta") or {}
            if "text" in delta:
                answer.text += delta["text"]
            elif "toolUse" in delta:
                self._tools[payload.get("contentBlockIndex", 0)]["input"] += delta["toolUse"].get("input", "")
        elif event_type == "messageStop":
            answer.stop_reason = payload.get("stopReason")
        elif event_type == "metadata":
            usage = payload.get("usage") or {}
            answer.input_tokens = usage.get("inputTokens")
            answer.output_tokens = usage.get("outputTokens")

    def _chunk(self, chunk: Mapping[str, Any]) -> None:
        kind = chunk.get("type")
        if kind == "content_block_start" and (chunk.get("content_block") or {}).get("type") == "tool_use":
            block = chunk["content_block"]
            self._tools[chunk.get("index", 0)] = {"name": block.get("name"), "input": ""}
        elif kind == "content_block_delta" and (chunk.get("delta") or {}).get("type") == "input_json_delta":
            self._tools[chunk.get("index", 0)]["input"] += chunk["delta"].get("partial_json", "")
        self._transcript.feed(self._family, chunk)

    def finish(self) -> WireAnswer:
        answer = self.answer
        if self._transcript.chunks:
            answer.text = self._transcript.text
            answer.stop_reason = self._transcript.stop_reason
            usage = self._transcript.model_usage
            if usage is not None:
                answer.input_tokens = usage.input_tokens
                answer.output_tokens = usage.output_tokens
        for _, tool in sorted(self._tools.items()):
            text = tool["input"]
            answer.tool_calls.append({"name": tool["name"], "input": json.loads(text) if text else {}})
        return answer


def read_answer(model_id: str, content_type: str, body: bytes) -> WireAnswer:
    """The answer in a 200 response of any of the four inference operations."""
    if content_type.startswith("application/vnd.amazon.eventstream"):
        reader = _StreamReader(model_id)
        for message in eventstream.decode(body):
            headers = message.headers
            if headers.get(":message-type") != "event":
                raise ValueError(f"the stream carries a non-event message: {dict(headers)!r}")
            payload = json.loads(message.payload) if message.payload else {}
            reader.event(str(headers.get(":event-type")), payload)
        return reader.finish()
    parsed = json.loads(body)
    answer = WireAnswer()
    if "output" in parsed:
        _converse_message(parsed, answer)
    elif "content" in parsed:
        _anthropic_message(parsed, answer)
    elif set(parsed) == {"inputTokens"}:  # CountTokens
        answer.input_tokens = parsed["inputTokens"]
    else:  # another family's InvokeModel body: fold it like one streamed chunk
        transcript = Transcript()
        transcript.feed(family_of(model_id), parsed)
        answer.text, answer.stop_reason = transcript.text, transcript.stop_reason
        usage = transcript.usage
        if usage is not None:
            answer.input_tokens, answer.output_tokens = usage.input_tokens, usage.output_tokens
    return answer


class Controller:
    """Judges the operations of the scenarios run against ``emulator``; collects the table's rows.

    ``oracle`` is a second emulator started with ``require_auth=False`` (the replays carry no signature).
    """

    def __init__(self, emulator: Emulator, oracle: Emulator, *, timeout: float = 30.0) -> None:
        self.emulator = emulator
        self.oracle = oracle
        self.rows: list[OpRow] = []
        self.versions: dict[str, dict[str, str]] = {}
        self.refused: dict[str, list[str]] = {}
        self._http = httpx.Client(base_url=oracle.url, timeout=timeout)
        self._client = ""
        self.traffic: dict[str, tuple[int, int]] = {}  # client -> (requests, connections), for keep-alive
        self._start = (0, 0)
        self._begin: dict[str, Any] = {}
        self._mark = 0

    def close(self) -> None:
        self.end_client()
        self._http.close()

    def start_client(self, name: str) -> None:
        """The scenario of client ``name`` starts: the following rows are its."""
        self.end_client()
        self._client = name
        self.versions.setdefault(name, {})
        self._start = (len(self.emulator.requests), self.emulator.connections_accepted)

    def end_client(self) -> None:
        """Count the current client's requests and the connections they used (HTTP keep-alive)."""
        if self._client:
            requests = len(self.emulator.requests) - self._start[0]
            connections = self.emulator.connections_accepted - self._start[1]
            self.traffic[self._client] = (requests, connections)

    def record(self, op: str, status: str, detail: str = "") -> None:
        self.rows.append(OpRow(self._client, op, status, detail))

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        """Answer one message of a scenario (the :class:`harness.Channel` protocol)."""
        kind = message.get("kind")
        if kind == "versions":
            self.versions[self._client].update(message["versions"])
        elif kind == "unsupported":
            self.record(message["op"], "n/a", message["reason"])
        elif kind == "begin":
            self._begin = message
            self.emulator.clear_faults()
            self._mark = len(self.emulator.requests)
            if message.get("fault"):
                self.emulator.inject(parse_fault(message["fault"]), times=int(message.get("fault_times", 1)))
        elif kind == "end":
            window = self.emulator.requests[self._mark :]
            self.emulator.clear_faults()
            row = self._judge(message["op"], message["result"], window)
            self.rows.append(row)
            return {"status": row.status, "detail": row.detail}
        elif kind == "crash":
            self.record("(scenario)", "FAIL", f"the scenario crashed: {message['error']}")
        elif kind == "done":
            refused = list(message.get("refused") or [])
            self.refused[self._client] = refused
            if refused:
                self.record(
                    "(loopback only)", "FAIL", f"tried to leave the machine: {'; '.join(refused[:3])}"
                )
        else:
            raise ValueError(f"unknown message from a scenario: {message!r}")
        return {"ok": True}

    # -- judging ---------------------------------------------------------------------------------------------

    def _judge(self, op: str, result: Mapping[str, Any], window: list[RecordedRequest]) -> OpRow:
        fault = self._begin.get("fault")
        failure = result.get("failure")
        errors = [request for request in window if request.status != 200]
        if failure:
            if errors and not fault and result.get("exception"):
                # The emulator's refusal says more than the client's rendering of it.
                refusal = self._describe(errors[0])
                detail = f"the emulator answered {refusal} (the client raised {result['exception']})"
                return OpRow(self._client, op, "FAIL", detail)
            return OpRow(self._client, op, "FAIL", failure)
        if not window:
            return OpRow(self._client, op, "FAIL", "the client sent nothing to the emulator")
        if fault:
            served = [request for request in window if request.fault is not None]
            if not served:
                why = f": it answered {self._describe(errors[0])} first" if errors else ""
                return OpRow(
                    self._client, op, "FAIL", f"the emulator never acted out the fault {fault!r}{why}"
                )
            attempts = len(window)
            return OpRow(self._client, op, "pass", f"{result.get('error')} after {attempts} attempt(s)")
        if errors:
            return OpRow(self._client, op, "FAIL", f"the emulator answered {self._describe(errors[0])}")
        expected_requests = int(self._begin.get("requests", 1))
        if len(window) != expected_requests:
            return OpRow(
                self._client,
                op,
                "FAIL",
                f"{len(window)} requests reached the emulator, expected {expected_requests}",
            )
        try:
            answers = [self._replay(request) for request in window]
        except (httpx.HTTPError, RuntimeError, ValueError, KeyError, eventstream.DecodeError) as exc:
            return OpRow(self._client, op, "FAIL", f"could not read the emulator's answer: {exc!r}")
        difference = _compare(result, answers)
        if difference:
            return OpRow(self._client, op, "FAIL", difference)
        last = answers[-1]
        echo = self._begin.get("echo")
        if echo and echo not in " ".join(last.text.split()):
            return OpRow(
                self._client,
                op,
                "FAIL",
                f"the emulator's answer {_short(last.text)} does not contain {echo!r}: it did not read the "
                "request's last user message as the client sent it",
            )
        shown = [f"{len(last.text)} chars"]
        if result.get("text") is None:
            shown = []
        if result.get("stop_reason") is not None:
            shown.append(f"stop {result['stop_reason']}")
        if result.get("output_tokens") is not None:
            shown.append(f"usage {result.get('input_tokens')}/{result['output_tokens']}")
        elif result.get("input_tokens") is not None:
            shown.append(f"input tokens {result['input_tokens']}")
        if result.get("tool_calls"):
            shown.append("tool " + ",".join(str(call["name"]) for call in result["tool_calls"]))
        shown.extend(result.get("notes") or [])
        return OpRow(self._client, op, "pass", "; ".join(shown))

    def _replay(self, request: RecordedRequest) -> WireAnswer:
        headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_REPLAYED]
        response = self._http.post(request.path, content=request.body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"the oracle answered {response.status_code}: {response.text[:200]}")
        answer = read_answer(
            request.model_id or "", response.headers.get("content-type", ""), response.content
        )
        for key, header in (
            ("input_tokens", "x-amzn-bedrock-input-token-count"),
            ("output_tokens", "x-amzn-bedrock-output-token-count"),
        ):
            value = response.headers.get(header)
            if value is not None and value.isdigit():
                answer.header_tokens[key] = int(value)
        return answer

    def _describe(self, request: RecordedRequest) -> str:
        what = f"{request.status} {request.error} to {request.method} {request.path.partition('?')[0]}"
        if request.status in (401, 403) or request.fault is not None:
            return what
        headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_REPLAYED]
        try:
            response = self._http.post(request.path, content=request.body, headers=headers)
            message = json.loads(response.content).get("message", response.text)
        except (httpx.HTTPError, ValueError, AttributeError):
            return what
        return f"{what}: {_short(message, 240)}"


def _compare(result: Mapping[str, Any], answers: Iterable[WireAnswer]) -> str:
    """The first difference between what the client surfaced and what the emulator answered, or ""."""
    answers = list(answers)
    last = answers[-1]
    text = result.get("text")
    if text is not None and text != last.text:
        return f"text: expected {_short(last.text)}, got {_short(text)}"
    stop = result.get("stop_reason")
    if stop is not None and _normal_stop(stop) != _normal_stop(last.stop_reason):
        return f"stop reason: expected {last.stop_reason!r}, got {stop!r}"
    for key in ("input_tokens", "output_tokens"):
        got = result.get(key)
        values = [getattr(answer, key) for answer in answers]
        want = sum(v for v in values if v is not None) if len(answers) > 1 else values[0]
        if got is not None and got != want:
            headers = [answer.header_tokens.get(key) for answer in answers]
            if len(answers) == 1 and headers[0] == got:
                header = "X-Amzn-Bedrock-" + ("Input" if key == "input_tokens" else "Output") + "-Token-Count"
                return (
                    f"{key}: expected {want}, got {got}: the value of the emulator's {header} header, "
                    f"which contradicts the usage in its body ({want})"
                )
            return f"{key}: expected {want}, got {got}"
    calls = result.get("tool_calls")
    if calls is not None:
        wire = [call for answer in answers for call in answer.tool_calls]
        if [(c["name"], c["input"]) for c in calls] != [(c["name"], c["input"]) for c in wire]:
            return f"tool calls: expected {_short(wire)}, got {_short(calls)}"
    elif any(answer.tool_calls for answer in answers) and text is None:
        return "the emulator answered with a tool use the client did not surface"
    return ""
