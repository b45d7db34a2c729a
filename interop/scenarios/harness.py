"""The scenario side of the interoperability suite: standard library only, run inside each client's venv.

A scenario (one file per client beside this one) drives a third-party client against the emulator and reports,
operation by operation, what the client surfaced: the text, stop reason, usage, tool calls, or the error it
raised. It does not judge the answer itself: the controller (``interop/controller.py``, in the runner's
process, next to the emulator) knows which request the emulator received for the operation and what the
emulator answered, and sends back the verdict. So a scenario only has to be honest about what the client
gave it.

The conversation with the controller is one JSON object per line each way, over a pair of pipes when the
scenario runs in its own venv (``main``), or a direct call when it runs in the controller's process (the CI
test). Each operation is ``begin`` (the controller injects the operation's fault, if any) and ``end`` (the
controller judges), so the emulator's record of requests can be cut exactly at operation boundaries.

While a scenario runs, :func:`loopback_only` refuses every connection that is not to the loopback
interface: a client that would reach a real AWS host (a default endpoint, the EC2 instance metadata
service, a telemetry or price-list download) fails loudly instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import ipaddress
import json
import os
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "EXAMPLE_ACCESS_KEY_ID",
    "EXAMPLE_SECRET_ACCESS_KEY",
    "MODEL_ID",
    "NOVA_MODEL_ID",
    "REGION",
    "Channel",
    "Harness",
    "NetworkGuard",
    "Op",
    "Result",
    "loopback_only",
    "main",
]

EXAMPLE_ACCESS_KEY_ID = "AKIDEXAMPLE"
EXAMPLE_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA_MODEL_ID = "amazon.nova-lite-v1:0"
# A tool the scenarios offer; the emulator answers with a tool use when the last user message names it.
WEATHER_TOOL = "get_weather"
WEATHER_TOOL_DESCRIPTION = "The current weather in a city."
WEATHER_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city."}},
    "required": ["city"],
}
TOOL_PROMPT = f"Use {WEATHER_TOOL} to tell me the weather in Paris."
TOOL_RESULT = "18 degrees and sunny"


class Channel(Protocol):
    """How a scenario talks to the controller: one request object in, one answer object out."""

    def call(self, message: dict[str, Any]) -> dict[str, Any]: ...


class PipeChannel:
    """JSON lines over two inherited file descriptors (the scenario runs in its own venv)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8")
        self._writer = os.fdopen(write_fd, "w", encoding="utf-8")

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self._writer.write(json.dumps(message) + "\n")
        self._writer.flush()
        line = self._reader.readline()
        if not line:
            raise RuntimeError("the controller closed the channel")
        answer: dict[str, Any] = json.loads(line)
        return answer


@dataclass
class Result:
    """What the client surfaced for one operation (``None``: the client does not expose it)."""

    text: str | None = None
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tool_calls: list[dict[str, Any]] | None = None
    error: str | None = None  # the exception the client raised, when one was expected
    exception: str | None = None  # the class of an exception that escaped the operation
    failure: str | None = None  # the scenario's own finding (an unexpected exception, a failed check)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "stop_reason": self.stop_reason,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tool_calls": self.tool_calls,
            "error": self.error,
            "exception": self.exception,
            "failure": self.failure,
            "notes": self.notes,
        }


class Op:
    """One operation in progress: the scenario records what the client surfaced on it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.result = Result()
        self._text: list[str] = []

    def text(self, text: str | None) -> None:
        """The whole answer text the client gave (set once), or ``None`` when it gave none."""
        self.result.text = text

    def add_text(self, piece: str | None) -> None:
        """One streamed piece of the answer; the pieces are joined in order."""
        if piece:
            self._text.append(piece)
            self.result.text = "".join(self._text)
        elif self.result.text is None:
            self.result.text = ""

    def stop_reason(self, reason: object) -> None:
        self.result.stop_reason = None if reason is None else str(reason)

    def usage(self, input_tokens: object, output_tokens: object) -> None:
        self.result.input_tokens = input_tokens if isinstance(input_tokens, int) else None
        self.result.output_tokens = output_tokens if isinstance(output_tokens, int) else None

    def tool_call(self, name: str, arguments: object) -> None:
        """A tool call the client surfaced; ``arguments`` a dict or its JSON text."""
        if isinstance(arguments, str):
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments) if arguments else {}
        calls = self.result.tool_calls if self.result.tool_calls is not None else []
        calls.append({"name": name, "input": arguments})
        self.result.tool_calls = calls

    def raised(self, exc: BaseException, detail: str = "") -> None:
        """The error the client raised for an injected fault (``detail``: its status or code, as the client
        exposes them)."""
        self.result.error = type(exc).__name__ + (f" ({detail})" if detail else "")

    def check(self, condition: bool, finding: str) -> None:
        """A scenario-side check; the first that fails is the operation's finding."""
        if not condition and self.result.failure is None:
            self.result.failure = finding

    def note(self, text: str) -> None:
        self.result.notes.append(text)


class Harness:
    """What a scenario is handed: the endpoint, the keys, and :meth:`op` to report each operation."""

    def __init__(self, channel: Channel, url: str) -> None:
        self.channel = channel
        self.url = url
        self.access_key = EXAMPLE_ACCESS_KEY_ID
        self.secret_key = EXAMPLE_SECRET_ACCESS_KEY
        self.region = REGION

    def versions(self, *distributions: str) -> None:
        """Report the installed versions of the client's distributions (the table's version column)."""
        found: dict[str, str] = {}
        for name in distributions:
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name] = "not installed"
        self.channel.call({"kind": "versions", "versions": found})

    def unsupported(self, name: str, reason: str) -> None:
        """An operation this client cannot do against the emulator, listed with the reason."""
        self.channel.call({"kind": "unsupported", "op": name, "reason": reason})

    @contextlib.contextmanager
    def op(
        self,
        name: str,
        *,
        fault: str | None = None,
        fault_times: int = 1,
        requests: int = 1,
        echo: str | None = None,
    ) -> Iterator[Op]:
        """One operation: ``fault`` (``X-Emulator-Fault`` syntax) is queued ``fault_times`` times for it.

        With a fault, the body must make the client fail and record the error with :meth:`expect_raised`
        (the client's documented exception class, subclasses included). ``requests`` is how many model
        requests the operation makes when it succeeds. ``echo``: text the emulator's answer must contain
        (the prompt, or a tool's result), proving it read the request as the client sent it. An exception
        escaping the body is the operation's failure (and stops nothing else: the scenario goes on).
        """
        self.channel.call(
            {
                "kind": "begin",
                "op": name,
                "fault": fault,
                "fault_times": fault_times,
                "requests": requests,
                "echo": echo,
            }
        )
        op = Op(name)
        try:
            yield op
        except Exception as exc:
            op.result.failure = f"raised {_describe(exc)}"
            op.result.exception = f"{type(exc).__module__}.{type(exc).__name__}"
        if fault is not None and op.result.error is None and op.result.failure is None:
            op.result.failure = "the injected fault raised no error in the client"
        self.channel.call({"kind": "end", "op": name, "result": op.result.as_dict()})

    def expect_raised(
        self, op: Op, exc: BaseException, expected: type[BaseException], detail: str = ""
    ) -> None:
        """Record ``exc`` for a fault operation; check it is (a subclass of) the documented ``expected``."""
        op.raised(exc, detail)
        op.check(isinstance(exc, expected), f"raised {_describe(exc)}, documented: {expected.__name__}")


def _describe(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(exc).__module__}.{type(exc).__name__}: {text}"


# --- no traffic but loopback ---


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """The connections refused while a scenario ran (each would have left this machine)."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def refuse(self, what: str) -> OSError:
        self.refused.append(what)
        return ConnectionRefusedError(
            f"interop: refused {what}: scenarios may only reach the loopback emulator"
        )


@contextlib.contextmanager
def loopback_only() -> Iterator[NetworkGuard]:
    """Refuse name lookups and connections to anything but the loopback interface, then restore."""
    guard = NetworkGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, str(guard.refuse(f"a name lookup of {host!r}")))
        return real_getaddrinfo(host, *args, **kwargs)

    def allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # unix sockets and socket pairs never leave the machine
        return isinstance(address, tuple) and _is_loopback(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(self, address):
            raise guard.refuse(f"a connection to {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(self, address):
            raise guard.refuse(f"a connection to {address!r}")
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield guard
    finally:
        socket.getaddrinfo = real_getaddrinfo
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


def run_scenario(scenario: Callable[[Harness], None], channel: Channel, url: str) -> None:
    """Run one scenario under :func:`loopback_only`; report a crash and every refused connection."""
    harness = Harness(channel, url)
    with loopback_only() as guard:
        try:
            scenario(harness)
        except Exception as exc:
            channel.call({"kind": "crash", "error": _describe(exc), "traceback": traceback.format_exc()})
    channel.call({"kind": "done", "refused": guard.refused})


def main(scenario: Callable[[Harness], None]) -> None:
    """Entry point of a scenario file run by ``interop/run.py`` in the client's venv."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--control", required=True, help="READ_FD,WRITE_FD of the controller's pipes")
    args = parser.parse_args()
    read_fd, write_fd = (int(part) for part in args.control.split(","))
    if not _is_loopback(args.url.split("//", 1)[-1].rsplit(":", 1)[0].strip("[]")):
        sys.exit(f"interop: the emulator URL must be on loopback, got {args.url}")
    run_scenario(scenario, PipeChannel(read_fd, write_fd), args.url)
