"""``bedrock-stream duplex MODEL_ID --events FILE``: a bidirectional session from the command line.

Input events are JSON lines (one Nova Sonic ``{"event": {...}}`` document per line; ``-`` reads standard
input, line by line as it comes, so a pipe can keep feeding a live session). Each answer event is printed as
one JSON line on standard output as soon as it arrives, while input is still being sent. The input ends
(signed end-of-input frame) at the end of the file. :func:`run_demo` is ``demo --duplex``: a short
Nova-Sonic-shaped session against an in-process duplex emulator.

Wiring (in ``cli.py``): ``cli_duplex.add_parser(commands)``; the parser's ``handler`` is :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigv4 import CredentialProvider, Credentials

__all__ = ["add_parser", "run", "run_demo"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``duplex`` command to an ``argparse`` subparsers object; returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "duplex",
        help="a bidirectional session (InvokeModelWithBidirectionalStream, e.g. Nova Sonic) over HTTP/2",
    )
    parser.add_argument("model_id", metavar="MODEL_ID", help="e.g. amazon.nova-sonic-v1:0")
    parser.add_argument(
        "--events", required=True, metavar="FILE", help="input events as JSON lines (- for standard input)"
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    parser.add_argument("--profile", help="shared-config profile for credentials and region")
    parser.add_argument(
        "--endpoint-url", help="another endpoint, e.g. the duplex emulator: http://127.0.0.1:PORT"
    )
    parser.add_argument(
        "--example-keys",
        action="store_true",
        help="sign with the AWS example keys (what the emulator accepts)",
    )
    parser.add_argument(
        "--read-timeout", type=float, default=60.0, help="longest silence, seconds (default 60)"
    )
    parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds (default 10)")
    parser.set_defaults(handler=run)
    return parser


def _credentials(args: argparse.Namespace) -> Credentials | CredentialProvider:
    if args.example_keys:
        from client.emulator.auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY  # noqa: PLC0415
        from sigv4 import Credentials  # noqa: PLC0415

        return Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    from sigv4.providers import default_chain  # noqa: PLC0415

    return default_chain(args.profile)


def _line_reader(source: str) -> tuple[Callable[[], str], Callable[[], None]]:
    if source == "-":
        return sys.stdin.readline, lambda: None
    handle = open(source, encoding="utf-8")  # noqa: SIM115 - closed by the returned closer
    return handle.readline, handle.close


async def _session(args: argparse.Namespace, readline: Callable[[], str], out: IO[str], err: IO[str]) -> int:
    import anyio  # noqa: PLC0415
    import httpx  # noqa: PLC0415

    from client.duplex import open_bidirectional_stream  # noqa: PLC0415
    from client.request import resolve_endpoint  # noqa: PLC0415

    region = args.region
    if region is None:
        from sigv4.providers import resolve_region  # noqa: PLC0415

        region = resolve_region(args.profile)
    if not region:
        err.write("duplex: no AWS region: pass --region or set AWS_REGION\n")
        return EXIT_USAGE
    timeout = httpx.Timeout(args.read_timeout, connect=args.connect_timeout)
    session = await open_bidirectional_stream(
        endpoint=resolve_endpoint(args.endpoint_url, region),
        model_id=args.model_id,
        region=region,
        credentials=_credentials(args),
        timeout=timeout,
    )
    received = 0
    problems: list[str] = []
    failures: list[Exception] = []

    async def send_all(scope: anyio.CancelScope) -> None:
        try:
            await _send_lines(scope)
        except Exception as exc:  # kept and raised after the task group, unwrapped
            failures.append(exc)
            scope.cancel()

    async def print_answers(scope: anyio.CancelScope) -> None:
        nonlocal received
        try:
            async for chunk in session:
                received += 1
                out.write(chunk.bytes.decode("utf-8", "replace") + "\n")
                out.flush()
        except Exception as exc:
            failures.append(exc)
            scope.cancel()

    async def _send_lines(scope: anyio.CancelScope) -> None:
        number = 0
        while True:
            line = await anyio.to_thread.run_sync(readline, abandon_on_cancel=True)
            if not line:
                break
            number += 1
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except ValueError as exc:
                problems.append(f"{args.events}:{number}: not a JSON document: {exc}")
            else:
                if isinstance(document, dict):
                    await session.send(document)
                    continue
                problems.append(f"{args.events}:{number}: an input event is a JSON object")
            scope.cancel()  # a bad line ends the session (the answer so far is printed)
            return
        await session.end_input()

    async with session, anyio.create_task_group() as group:
        group.start_soon(send_all, group.cancel_scope)
        group.start_soon(print_answers, group.cancel_scope)
    if failures:
        raise failures[0]
    if problems:
        err.write(f"duplex: {problems[0]}\n")
        return EXIT_USAGE
    err.write(
        f"duplex: {session.events_sent} events sent, {received} received (request id {session.request_id})\n"
    )
    return EXIT_OK


def run(args: argparse.Namespace, *, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Run ``duplex`` with parsed ``args``; returns the exit status. Service and stream errors propagate
    (typed, as for every other command; ``cli.main`` prints them); a bad events file is a usage error."""
    import anyio  # noqa: PLC0415

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        readline, close = _line_reader(args.events)
    except OSError as exc:
        err.write(f"duplex: cannot read {args.events}: {exc.strerror or exc}\n")
        return EXIT_USAGE
    try:
        result: int = anyio.run(_session, args, readline, out, err)
    finally:
        close()
    return result


def run_demo(out: IO[str] | None = None) -> int:
    """``demo --duplex``: a short Nova-Sonic-shaped session against an in-process duplex emulator, printing
    each answer event as it arrives (text, tool use, audio sizes, usage)."""
    import anyio  # noqa: PLC0415

    from client import sonic  # noqa: PLC0415
    from client.duplex import open_bidirectional_stream  # noqa: PLC0415
    from client.emulator.auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY  # noqa: PLC0415
    from client.emulator.duplex import DuplexServer  # noqa: PLC0415
    from sigv4 import Credentials  # noqa: PLC0415

    stream = out or sys.stdout

    def show(event: sonic.SonicEvent) -> None:
        if isinstance(event, sonic.TextOutput):
            stream.write(f"  <- text ({event.role}): {event.text}\n")
        elif isinstance(event, sonic.AudioOutput):
            stream.write(f"  <- audio: {len(event.audio)} bytes of PCM\n")
        elif isinstance(event, sonic.ToolUse):
            stream.write(f"  <- tool use {event.tool_name}({event.content})\n")
        elif isinstance(event, sonic.Usage):
            stream.write(f"  <- usage: {event.input_tokens} in, {event.output_tokens} out\n")
        else:
            stream.write(f"  <- {type(event).__name__}\n")

    async def main(url: str) -> None:
        session = await open_bidirectional_stream(
            endpoint=url,
            model_id="amazon.nova-sonic-v1:0",
            region="us-east-1",
            credentials=Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY),
            timeout=10.0,
        )
        async with session:
            steps: list[tuple[str, dict[str, Any], int]] = [
                ("sessionStart", sonic.session_start(), 0),
                ("promptStart", sonic.prompt_start("demo"), 1),
                ("contentStart (text)", sonic.content_start_text("demo", "t", role="USER"), 0),
                ("textInput", sonic.text_input("demo", "t", "Hello, Nova!"), 1),
                ("contentEnd", sonic.content_end("demo", "t"), 0),
                ("contentStart (audio)", sonic.content_start_audio("demo", "mic"), 0),
                ("audioInput (1024 bytes)", sonic.audio_input("demo", "mic", bytes(1024)), 1),
                ("contentEnd", sonic.content_end("demo", "mic"), 0),
                ("promptEnd", sonic.prompt_end("demo"), 2),
                ("sessionEnd", sonic.session_end(), 0),
            ]
            for label, event, answers in steps:
                stream.write(f"-> {label}\n")
                await session.send(event)
                for _ in range(answers):  # each answer is read before the next event is sent: duplex
                    show(sonic.parse_event(await anext(session)))
            await session.end_input()
            async for chunk in session:
                show(sonic.parse_event(chunk))
        stream.write(f"session done: {session.events_sent} events sent, every signature verified\n")

    with DuplexServer() as server:
        anyio.run(main, server.url)
        if any(record.refused_at is not None for record in server.sessions):
            return EXIT_FAILED
    return EXIT_OK
