"""cli_duplex: the ``duplex`` command and ``demo --duplex``, against the h2c emulator on 127.0.0.1."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from client import ThrottlingException, sonic
from client.cli_duplex import EXIT_OK, EXIT_USAGE, add_parser, run, run_demo
from client.emulator.duplex import DuplexFault, DuplexServer


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def events_file(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_duplex_prints_each_answer_event(tmp_path: Path) -> None:
    lines = [
        json.dumps(sonic.session_start()),
        json.dumps(sonic.prompt_start("p")),
        "",
        json.dumps(sonic.text_input("p", "c", "one")),
        json.dumps(sonic.text_input("p", "c", "two")),
        json.dumps(sonic.prompt_end("p")),
    ]
    out, err = io.StringIO(), io.StringIO()
    with DuplexServer() as server:
        argv = ["duplex", "amazon.nova-sonic-v1:0", "--events", events_file(tmp_path, lines)]
        args = parse([*argv, "--endpoint-url", server.url, "--region", "us-east-1", "--example-keys"])
        assert args.handler is run
        assert run(args, out=out, err=err) == EXIT_OK
        assert server.sessions[0].events_verified == 6  # five events and the end of input
    names = [next(iter(json.loads(line)["event"])) for line in out.getvalue().splitlines()]
    assert names == ["completionStart", "textOutput", "textOutput", "usageEvent", "completionEnd"]
    assert "5 events sent, 5 received" in err.getvalue()


def test_a_bad_line_is_a_usage_error(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with DuplexServer() as server:
        path = events_file(tmp_path, [json.dumps(sonic.session_start()), "{not json"])
        argv = ["duplex", "m", "--events", path, "--endpoint-url", server.url, "--region", "us-east-1"]
        assert run(parse([*argv, "--example-keys"]), out=out, err=err) == EXIT_USAGE
    assert f"{path}:2: not a JSON document" in err.getvalue()
    args = parse(["duplex", "m", "--events", str(tmp_path / "missing.jsonl"), "--region", "us-east-1"])
    assert run(args, out=out, err=err) == EXIT_USAGE
    assert "cannot read" in err.getvalue()


def test_service_errors_propagate_typed(tmp_path: Path) -> None:
    with DuplexServer(fault=DuplexFault("throttle")) as server:
        path = events_file(tmp_path, [json.dumps(sonic.session_start())])
        argv = ["duplex", "m", "--events", path, "--endpoint-url", server.url, "--region", "us-east-1"]
        with pytest.raises(ThrottlingException):
            run(parse([*argv, "--example-keys"]), out=io.StringIO(), err=io.StringIO())


def test_demo_duplex() -> None:
    out = io.StringIO()
    assert run_demo(out) == EXIT_OK
    text = out.getvalue()
    assert "-> textInput\n  <- text (ASSISTANT): You said: Hello, Nova!" in text
    assert "<- audio: 1024 bytes of PCM" in text
    assert "every signature verified" in text
