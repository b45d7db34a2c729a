"""``bedrock-stream``: stream a model's answer, run the local emulator, decode recordings, debug signatures.

Subcommands::

    bedrock-stream demo [PROMPT]                 the whole stack against an in-process emulator, no account
    bedrock-stream invoke MODEL_ID [PROMPT]      stream an answer (InvokeModelWithResponseStream)
    bedrock-stream converse MODEL_ID [PROMPT]    stream an answer (ConverseStream)
    bedrock-stream decode FILE                   a recording, HTTP capture or bare stream (--text, --hexdump)
    bedrock-stream sign --url URL ...            the canonical request and string to sign of a request
                                                 (--explain AWS_ERROR: diff against AWS's, name the cause)
    bedrock-stream serve [--port N]              the emulator in the foreground, until Ctrl-C

The answer goes to standard output as it streams; everything else (the demo's preamble, the summary, errors)
to standard error, so ``invoke ... > answer.txt`` keeps just the answer. Errors are one line and a non-zero
exit status (1: the request or stream failed; 2: bad usage, refused before anything is sent; 130:
interrupted by Ctrl-C or SIGTERM), never a traceback (``-v`` shows the full message and, for a bug, the
traceback). No secret key, session token or bearer token is ever printed. Each subcommand imports what it
needs when it runs (the emulator only for ``demo`` and ``serve``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from client.families import DEFAULT_MAX_TOKENS
from client.recording import RECORDING_FORMAT, SIDECAR_SUFFIX, Recording, read_recording

if TYPE_CHECKING:
    import httpx

    from client import BedrockRuntimeClient
    from client.emulator import Emulator
    from client.families import Family, Transcript
    from sigv4 import CredentialProvider, Credentials

__all__ = [
    "RECORDING_FORMAT",
    "SIDECAR_SUFFIX",
    "Recording",
    "build_body",
    "main",
    "pick_region",
    "read_recording",
    "region_of_endpoint",
]

PROG = "bedrock-stream"
DEMO_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
DEMO_PROMPT = "Why stream a model's answer instead of waiting for all of it?"
DEMO_REGION = "us-east-1"
# One model per family, for `demo --all-families`.
FAMILY_MODELS = (
    "anthropic.claude-3-haiku-20240307-v1:0",
    "amazon.nova-lite-v1:0",
    "amazon.titan-text-express-v1",
    "meta.llama3-8b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "cohere.command-r-v1:0",
)
_REDACTED_TOKEN = "<session token redacted>"
_TOKEN_LINE = re.compile(r"(x-amz-security-token:)[^\n']*", re.IGNORECASE)

# The label of an AWS host name that is its region: us-east-1, eu-central-2, us-gov-west-1, cn-north-1...
_REGION_SHAPE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}", re.ASCII)
# Hosts that name their region: bedrock-runtime[-fips].{region}.amazonaws.com[.cn] (also VPC endpoints,
# vpce-....bedrock-runtime.{region}.vpce.amazonaws.com, and the dual-stack {region}.api.aws).
_AWS_HOST = re.compile(r".*\.(?:amazonaws\.com(?:\.cn)?|api\.aws)", re.ASCII)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line that cannot run (exit status 2), with the reason in one line."""


# --- argument checks: every one before anything is sent, bound or read ----------------------------------


def _seconds_above_zero(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _seconds_or_zero(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def _at_least_one(value: float) -> bool:
    return value >= 1


def _port(value: float) -> bool:
    return 0 <= value <= 65535


def _frame_size(value: float) -> bool:
    return 16 <= value <= 0xFFFFFFFF


# (attribute, flag, check, what it must be): one table for every numeric option of every subcommand.
_NUMBER_RULES: tuple[tuple[str, str, Callable[[float], bool], str], ...] = (
    ("read_timeout", "--read-timeout", _seconds_above_zero, "a number of seconds > 0"),
    ("connect_timeout", "--connect-timeout", _seconds_above_zero, "a number of seconds > 0"),
    ("max_tokens", "--max-tokens", _at_least_one, "an integer >= 1"),
    ("max_attempts", "--max-attempts", _at_least_one, "an integer >= 1"),
    ("pace", "--pace", _seconds_or_zero, "a number of seconds >= 0"),
    ("port", "--port", _port, "between 0 and 65535 (0 picks a free port)"),
    ("chunk_count", "--chunk-count", _at_least_one, "an integer >= 1"),
    ("max_message_size", "--max-message-size", _frame_size, "between 16 and 4294967295 bytes"),
)


def _check_numbers(args: argparse.Namespace) -> None:
    """Refuse what httpx, the emulator or the decoder would refuse later, in one line and before any I/O."""
    for dest, flag, ok, rule in _NUMBER_RULES:
        value = getattr(args, dest, None)
        if value is not None and not ok(value):
            raise UsageError(f"Parameter validation failed: {flag} must be {rule}, got {value}")


# --- the region: one rule for every subcommand -------------------------------------------------------------


def region_of_endpoint(url: str | None) -> str | None:
    """The region an AWS endpoint URL names in its host (``bedrock-runtime.us-west-2.amazonaws.com``).

    None for hosts that are not AWS's (an emulator on 127.0.0.1, a proxy): their name says nothing about the
    signing region.
    """
    if not url:
        return None
    from urllib.parse import urlsplit  # noqa: PLC0415

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    if _AWS_HOST.fullmatch(host) is None:
        return None
    return next((label for label in host.split(".") if _REGION_SHAPE.fullmatch(label)), None)


def _checked_region(region: str) -> str:
    from sigv4.region_name import is_valid_region  # noqa: PLC0415 - the library's one rule

    if not is_valid_region(region):
        raise UsageError(
            f"--region {region!r} does not look like an AWS region (e.g. us-east-1, eu-central-1)"
        )
    return region


def pick_region(explicit: str | None, url: str | None, profile: str | None) -> str | None:
    """The signing region of ``invoke`` and ``sign`` alike.

    ``--region`` (which must look like a region), else the region the endpoint's host names, else
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile's; None when nothing says.
    """
    named = region_of_endpoint(url)
    if explicit is not None:
        _checked_region(explicit)
        if named is not None and named != explicit:
            sys.stderr.write(f"note: signing for {explicit} although the endpoint names {named}\n")
        return explicit
    if named is not None:
        return named
    from sigv4.providers import resolve_region  # noqa: PLC0415

    return resolve_region(profile)


# --- output ------------------------------------------------------------------------------------------------


@dataclass
class _Style:
    """How to decorate standard error: Unicode separators when it can encode them, dim text on a terminal."""

    sep: str
    rule: str
    arrow: str
    mark: str
    dim: str
    bold: str
    reset: str

    @classmethod
    def for_stream(cls, stream: IO[str]) -> _Style:
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "·─→▸".encode(encoding)
            sep, rule, arrow, mark = " · ", "──", " → ", "▸"
        except (UnicodeEncodeError, LookupError):
            sep, rule, arrow, mark = " | ", "--", " -> ", ">"
        tty = bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
        if tty:
            return cls(sep, rule, arrow, mark, "\x1b[2m", "\x1b[1m", "\x1b[0m")
        return cls(sep, rule, arrow, mark, "", "", "")


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


# --- request bodies ----------------------------------------------------------------------------------------


def build_body(family: Family, prompt: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """The body asking a model of ``family`` to answer ``prompt`` (:func:`client.families.build_body`)."""
    from client import families  # noqa: PLC0415 - keep `bedrock-stream decode` light

    return families.build_body(family, prompt, max_tokens)


def _read_body_argument(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the body from {source}: {exc.strerror or exc}") from None


# --- the raw bytes of the stream: counted, and recorded on request ------------------------------------------


# Hop-by-hop and framing headers describe the connection the answer came on, not the answer: not recorded.
_UNRECORDED_HEADERS = frozenset({"transfer-encoding", "content-length", "connection", "keep-alive"})


class _Recorder:
    """Counts the event-stream bytes received and, with ``path``, records them for ``decode`` and replay.

    ``path`` gets the event-stream bytes exactly as received (a file any event-stream decoder reads);
    ``path + ".meta"`` gets JSON lines: first ``{"format", "status", "reason", "headers", "path"}`` of the
    HTTP response (and the request's path), then one ``{"at": seconds since the headers, "end": bytes so
    far}`` per piece received (what a replay needs to pace the stream as recorded). Both are flushed after
    every piece, so an interrupted or killed run leaves every frame received so far on disk. A retried call
    starts the recording afresh: the files hold exactly the stream whose events were printed.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.bytes = 0
        self._file: IO[bytes] | None = None
        self._meta: IO[str] | None = None
        self._started = 0.0

    def restart(
        self,
        status: int = 200,
        reason: str = "OK",
        headers: Sequence[tuple[str, str]] = (),
        path: str | None = None,
    ) -> None:
        self.bytes = 0
        self._started = time.perf_counter()
        if self.path is None:
            return
        if self._file is None or self._meta is None:
            try:
                self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
                self._meta = open(self.path + SIDECAR_SUFFIX, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                self.close()
                raise UsageError(f"cannot record to {self.path}: {exc.strerror or exc}") from None
        else:
            for stream in (self._file, self._meta):
                stream.seek(0)
                stream.truncate()
        kept = [[name, value] for name, value in headers if name.lower() not in _UNRECORDED_HEADERS]
        head = {"format": RECORDING_FORMAT, "status": status, "reason": reason, "headers": kept}
        if path is not None:
            head["path"] = path  # the request's path: the operation and the model (its chunk format)
        self._meta.write(json.dumps(head) + "\n")
        self._meta.flush()

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        if self._file is not None and self._meta is not None:
            self._file.write(data)
            self._file.flush()
            at = time.perf_counter() - self._started
            self._meta.write(json.dumps({"at": round(at, 6), "end": self.bytes}) + "\n")
            self._meta.flush()

    def close(self) -> None:
        for stream in (self._file, self._meta):
            if stream is not None:
                stream.close()
        self._file = self._meta = None


def _wire(endpoint: str) -> httpx.BaseTransport:
    """The transport the library's sync client would pick for ``endpoint`` (StdlibTransport unless httpx's
    proxy rules send it through a proxy, or ``BEDROCK_STREAM_TRANSPORT`` says otherwise)."""
    import httpx  # noqa: PLC0415

    from client.transport_choice import choose_transport, environment_proxies, proxy_for  # noqa: PLC0415

    proxies = environment_proxies()
    if choose_transport(endpoint, environ=os.environ, proxies=proxies) == "stdlib":
        from client.stdlib_transport import StdlibTransport  # noqa: PLC0415

        return StdlibTransport()
    # A client given transport= ignores the proxy environment, so the proxy that applies is passed on here.
    proxy = proxy_for(endpoint, proxies)
    return httpx.HTTPTransport(proxy=proxy) if proxy else httpx.HTTPTransport()


def _http_client(
    recorder: _Recorder, headers: dict[str, str], timeout: httpx.Timeout, endpoint: str
) -> httpx.Client:
    """An httpx.Client whose event-stream responses pass through ``recorder`` as they are read, on the same
    transport the library's sync client would choose for ``endpoint``."""
    import httpx  # noqa: PLC0415

    class _TeeStream(httpx.SyncByteStream):
        def __init__(self, inner: httpx.SyncByteStream) -> None:
            self._inner = inner

        def __iter__(self) -> Iterator[bytes]:
            for piece in self._inner:
                recorder.write(piece)
                yield piece

        def close(self) -> None:
            self._inner.close()

    class _RecordingTransport(httpx.BaseTransport):
        def __init__(self) -> None:
            self._inner = _wire(endpoint)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = self._inner.handle_request(request)
            content_type = response.headers.get("content-type", "")
            if response.status_code == 200 and content_type.startswith("application/vnd.amazon.eventstream"):
                reason = response.extensions.get("reason_phrase", b"OK")
                recorder.restart(
                    response.status_code,
                    reason.decode("latin-1") if isinstance(reason, bytes) else "OK",
                    response.headers.multi_items(),
                    request.url.raw_path.decode("ascii", "replace").partition("?")[0],
                )
                assert isinstance(response.stream, httpx.SyncByteStream)
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    stream=_TeeStream(response.stream),
                    extensions=response.extensions,
                )
            return response

        def close(self) -> None:
            self._inner.close()

    return httpx.Client(transport=_RecordingTransport(), headers=headers, timeout=timeout)


# --- streaming one answer ----------------------------------------------------------------------------------


@dataclass
class _Invocation:
    model_id: str
    body: bytes
    family: Family | None
    raw: bool
    options: dict[str, Any]


def _stream_answer(
    bedrock: BedrockRuntimeClient,
    job: _Invocation,
    recorder: _Recorder,
    *,
    out: IO[str],
    err: IO[str],
    summary: bool,
) -> int:
    """Stream one answer to ``out`` (text, or JSON lines with ``raw``); the summary to ``err``."""
    from client.families import Transcript  # noqa: PLC0415

    transcript = Transcript()
    started = time.perf_counter()
    first: float | None = None
    events = 0
    wrote_text = False
    stream = bedrock.invoke_model_with_response_stream(job.model_id, job.body, **job.options)
    try:
        with stream:
            for chunk in stream:
                if first is None:
                    first = time.perf_counter() - started
                events += 1
                if job.raw:
                    out.write(chunk.bytes.decode("utf-8", errors="replace") + "\n")
                    out.flush()
                    _feed(transcript, job.family, chunk.bytes)
                    continue
                text = _feed(transcript, job.family, chunk.bytes)
                if text:
                    out.write(text)
                    out.flush()
                    wrote_text = True
            request_id = stream.request_id
    finally:
        # End the answer's line, also when the stream broke mid-answer: the error goes on a line of its own.
        if wrote_text:
            out.write("\n")
            out.flush()
    total = time.perf_counter() - started
    if summary:
        _print_summary(
            err,
            transcript,
            events=events,
            nbytes=recorder.bytes,
            first=first,
            total=total,
            request_id=request_id,
        )
    if transcript.error is not None:
        err.write(f"error: the model reported an error in its stream: {transcript.error}\n")
        return EXIT_FAILED
    return EXIT_OK


def _feed(transcript: Transcript, family: Family | None, data: bytes) -> str:
    try:
        event = json.loads(data)
    except ValueError:
        return ""
    if not isinstance(event, dict):
        return ""
    return transcript.feed(family, event).text


def _print_summary(
    err: IO[str],
    transcript: Transcript,
    *,
    events: int,
    nbytes: int,
    first: float | None,
    total: float,
    request_id: str | None,
) -> None:
    style = _Style.for_stream(err)
    parts = [f"{events} event{'s' if events != 1 else ''}", _size(nbytes)]
    parts.append(f"first event {_duration(first)}" if first is not None else "no event")
    parts.append(f"total {_duration(total)}")
    if transcript.stop_reason:
        parts.append(f"stop {transcript.stop_reason}")
    usage = transcript.usage
    if usage is not None and (usage.input_tokens is not None or usage.output_tokens is not None):
        tokens_in = "?" if usage.input_tokens is None else str(usage.input_tokens)
        tokens_out = "?" if usage.output_tokens is None else str(usage.output_tokens)
        parts.append(f"tokens {tokens_in} in / {tokens_out} out")
    if request_id:
        parts.append(f"request {request_id}")
    err.write(f"{style.dim}{style.rule} {style.sep.join(parts)}{style.reset}\n")
    err.flush()


def _timeout(args: argparse.Namespace) -> httpx.Timeout:
    import httpx  # noqa: PLC0415

    return httpx.Timeout(connect=args.connect_timeout, read=args.read_timeout, write=60.0, pool=10.0)


def _invoke_options(args: argparse.Namespace) -> dict[str, Any]:
    from client.operations import INVOKE_MODEL_WITH_RESPONSE_STREAM  # noqa: PLC0415 - pure data

    options: dict[str, Any] = {}
    for param in INVOKE_MODEL_WITH_RESPONSE_STREAM.headers:
        value = getattr(args, param.param, None)
        if value is not None:
            options[param.param] = value
    return options


def _fault_headers(spec: str | None) -> dict[str, str]:
    if spec is None:
        return {}
    from client.emulator.faults import FAULT_HEADER, FaultSyntaxError, parse_fault  # noqa: PLC0415

    try:
        return {FAULT_HEADER: parse_fault(spec).to_header()}
    except FaultSyntaxError as exc:
        raise UsageError(f"--fault: {exc}") from None


def _job(args: argparse.Namespace, model_id: str) -> _Invocation:
    from client.families import family_of  # noqa: PLC0415

    family = family_of(model_id)
    if args.body is not None:
        if args.prompt is not None:
            raise UsageError("give either a PROMPT or --body, not both")
        body = _read_body_argument(args.body)
    else:
        if family is None:
            raise UsageError(
                f"cannot tell the model family of {model_id!r} from its id, so cannot build its request "
                "body: pass the body with --body FILE (or - for standard input)"
            )
        prompt = args.prompt if args.prompt is not None else DEMO_PROMPT
        body = json.dumps(build_body(family, prompt, args.max_tokens), ensure_ascii=False).encode("utf-8")
    return _Invocation(model_id, body, family, args.raw, _invoke_options(args))


# --- subcommands -------------------------------------------------------------------------------------------


#: The endpoint variables the AWS SDKs read (service-specific first); ``serve`` prints the first.
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL")


def _invoke_auth(args: argparse.Namespace) -> tuple[CredentialProvider | Credentials | None, str | None]:
    """Credentials and/or bearer token from ``--example-keys``, ``--bearer-token`` or ``--profile``."""
    chosen = [
        flag
        for flag, given in (
            ("--example-keys", args.example_keys),
            ("--bearer-token", args.bearer_token is not None),
            ("--profile", args.profile is not None),
        )
        if given
    ]
    if len(chosen) > 1:
        raise UsageError(f"give one of {' / '.join(chosen)}, not several: they are different credentials")
    if args.bearer_token is not None:
        if not args.bearer_token.strip():
            raise UsageError("--bearer-token is empty")
        return None, args.bearer_token
    if args.example_keys:
        from client.emulator.auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY  # noqa: PLC0415
        from sigv4 import Credentials  # noqa: PLC0415

        return Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY), None
    if args.profile is not None:
        from sigv4.providers import default_chain  # noqa: PLC0415

        return default_chain(args.profile), None
    return None, None


@dataclass
class _Connection:
    """Where and how ``invoke`` and ``converse`` send: credentials, region, endpoint, faults, recording."""

    credentials: CredentialProvider | Credentials | None
    bearer_token: str | None
    region: str | None
    endpoint_url: str | None
    fault_headers: dict[str, str]


def _connection(args: argparse.Namespace) -> _Connection:
    fault_headers = _fault_headers(args.fault)
    credentials, bearer_token = _invoke_auth(args)
    endpoint_url = args.endpoint_url or next(
        (os.environ[name] for name in ENDPOINT_ENV if os.environ.get(name)), None
    )
    region = pick_region(args.region, endpoint_url, args.profile)
    if region is None and endpoint_url is not None:
        region = DEMO_REGION
        sys.stderr.write(f"note: no region configured; signing for {region}\n")
    return _Connection(credentials, bearer_token, region, endpoint_url, fault_headers)


def _endpoint_of(conn: _Connection) -> str:
    if conn.endpoint_url is not None:
        return conn.endpoint_url
    from client.request import default_endpoint  # noqa: PLC0415

    return default_endpoint(conn.region) if conn.region else "https://bedrock-runtime.amazonaws.com"


def _client(args: argparse.Namespace, conn: _Connection, http: httpx.Client) -> BedrockRuntimeClient:
    from client import BedrockRuntimeClient  # noqa: PLC0415

    return BedrockRuntimeClient(
        conn.region,
        credentials=conn.credentials,
        bearer_token=conn.bearer_token,
        endpoint_url=conn.endpoint_url,
        http_client=http,
        max_attempts=args.max_attempts,
    )


def _cmd_invoke(args: argparse.Namespace) -> int:
    if args.prompt is None and args.body is None:
        raise UsageError("give a PROMPT or --body FILE")
    job = _job(args, args.model_id)
    conn = _connection(args)
    recorder = _Recorder(args.record)
    restore = _stop_on_signals()
    try:
        http = _http_client(recorder, conn.fault_headers, _timeout(args), _endpoint_of(conn))
        with http, _client(args, conn, http) as bedrock:
            return _stream_answer(
                bedrock, job, recorder, out=sys.stdout, err=sys.stderr, summary=not args.quiet
            )
    finally:
        restore()
        recorder.close()


def _read_json_file(flag: str, source: str) -> Any:
    data = _read_body_argument(source)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise UsageError(f"{flag} {source}: not JSON: {exc}") from None


def _converse_request(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``converse_stream`` from the command line."""
    prompt = args.prompt
    if prompt is None or prompt == "-":
        prompt = sys.stdin.read() if prompt == "-" else None
    if not prompt:
        raise UsageError("give a PROMPT (or - to read it from standard input)")
    request: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": prompt}]}]}
    if args.system is not None:
        request["system"] = [{"text": args.system}]
    config: dict[str, Any] = {"maxTokens": args.max_tokens}
    if args.temperature is not None:
        if not (math.isfinite(args.temperature) and 0 <= args.temperature <= 1):
            raise UsageError(
                f"Parameter validation failed: --temperature must be 0 to 1, got {args.temperature}"
            )
        config["temperature"] = args.temperature
    request["inference_config"] = config
    if args.tools is not None:
        tools = _read_json_file("--tools", args.tools)
        # A whole toolConfig ({"tools": [...], "toolChoice": ...}) or just the list of tools.
        if isinstance(tools, list):
            tools = {"tools": tools}
        if not isinstance(tools, dict) or not isinstance(tools.get("tools"), list):
            raise UsageError('--tools: expected a JSON list of tools or a toolConfig {"tools": [...]}')
        request["tool_config"] = tools
    return request


def _converse_summary(err: IO[str], response: Any, *, events: int, first: float | None, total: float) -> None:
    style = _Style.for_stream(err)
    parts = [f"{events} event{'s' if events != 1 else ''}"]
    parts.append(f"first event {_duration(first)}" if first is not None else "no event")
    parts.append(f"total {_duration(total)}")
    if response.latency_ms is not None:
        parts.append(f"model latency {response.latency_ms} ms")
    parts.append(f"stop {response.stop_reason}")
    usage = response.usage
    if usage is not None:
        tokens = f"tokens {usage.input_tokens} in / {usage.output_tokens} out"
        cache = []
        if usage.cache_read_input_tokens:
            cache.append(f"{usage.cache_read_input_tokens} read")
        if usage.cache_write_input_tokens:
            cache.append(f"{usage.cache_write_input_tokens} written")
        parts.append(tokens + (f" (cache: {', '.join(cache)})" if cache else ""))
    if response.request_id:
        parts.append(f"request {response.request_id}")
    err.write(f"{style.dim}{style.rule} {style.sep.join(parts)}{style.reset}\n")
    for use in response.tool_uses:
        err.write(
            f"{style.dim}   tool call {use.name} ({use.tool_use_id}): {json.dumps(use.input)}{style.reset}\n"
        )
    err.flush()


def _stream_converse(
    bedrock: BedrockRuntimeClient,
    model_id: str,
    request: dict[str, Any],
    *,
    out: IO[str],
    err: IO[str],
    summary: bool,
    as_json: bool = False,
) -> int:
    """Stream one ConverseStream answer to ``out`` (text, or JSON events); the summary to ``err``."""
    from client.converse_events import ContentBlockDelta, TextDelta  # noqa: PLC0415

    started = time.perf_counter()
    first: float | None = None
    events = 0
    wrote_text = False
    stream = bedrock.converse_stream(model_id, **request)
    try:
        with stream:
            for event in stream:
                if first is None:
                    first = time.perf_counter() - started
                events += 1
                if as_json:
                    out.write(json.dumps(event.to_dict(), default=_json_bytes) + "\n")
                    out.flush()
                elif type(event) is ContentBlockDelta and type(event.delta) is TextDelta:
                    out.write(event.delta.text)
                    out.flush()
                    wrote_text = True
    finally:
        if wrote_text:
            out.write("\n")
            out.flush()
    if summary:
        total = time.perf_counter() - started
        _converse_summary(err, stream.response, events=events, first=first, total=total)
    return EXIT_OK


def _cmd_converse(args: argparse.Namespace) -> int:
    request = _converse_request(args)
    conn = _connection(args)
    recorder = _Recorder(args.record)
    restore = _stop_on_signals()
    try:
        http = _http_client(recorder, conn.fault_headers, _timeout(args), _endpoint_of(conn))
        with http, _client(args, conn, http) as bedrock:
            return _stream_converse(
                bedrock,
                args.model_id,
                request,
                out=sys.stdout,
                err=sys.stderr,
                summary=not args.quiet,
                as_json=args.json,
            )
    finally:
        restore()
        recorder.close()


def _json_bytes(value: object) -> str:
    import base64  # noqa: PLC0415

    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.duplex:
        from client import cli_duplex  # noqa: PLC0415

        return cli_duplex.run_demo()
    from client import BedrockRuntimeClient  # noqa: PLC0415
    from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator  # noqa: PLC0415
    from sigv4 import Credentials  # noqa: PLC0415

    models = list(FAMILY_MODELS) if args.all_families else [args.model]
    jobs = [_job(args, model) for model in models]
    fault_headers = _fault_headers(args.fault)
    err = sys.stderr
    style = _Style.for_stream(err)
    credentials = Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    recorder = _Recorder(args.record)
    restore = _stop_on_signals()
    try:
        with Emulator(pace=args.pace, region=DEMO_REGION) as emu:
            if not args.quiet:
                stages = style.arrow.join(
                    ("httpx", "HTTP/1.1 chunks", "event-stream frames (CRC-checked)", "typed chunks", "text")
                )
                err.write(
                    f"{style.bold}bedrock-stream demo{style.reset}{style.sep}a local Bedrock Runtime at "
                    f"{emu.url}{style.sep}no AWS account, no network\n{style.dim}"
                    f"  signing  SigV4 with {EXAMPLE_ACCESS_KEY_ID} (the AWS docs' example key){style.sep}"
                    f"{DEMO_REGION}{style.sep}service bedrock\n"
                    f"  path     {stages}\n"
                )
                if args.fault:
                    err.write(f"  fault    {args.fault}\n")
                err.write(style.reset)
            http = _http_client(recorder, fault_headers, _timeout(args), emu.url)
            status = EXIT_OK
            with (
                http,
                BedrockRuntimeClient(
                    DEMO_REGION,
                    credentials=credentials,
                    endpoint_url=emu.url,
                    http_client=http,
                    max_attempts=args.max_attempts,
                ) as bedrock,
            ):
                # Both APIs by default; --raw and --record are about one stream of the model's own JSON.
                api_choice = args.api or ("invoke" if args.raw or args.record else "both")
                apis = ("invoke", "converse") if api_choice == "both" else (api_choice,)
                prompt = args.prompt if args.prompt is not None else DEMO_PROMPT
                for job in jobs:
                    for api in apis:
                        if status != EXIT_OK:
                            break  # one failure, one error line: the rest would only repeat it
                        # Quiet: no banner, no summary; the model's name only when several answer in turn.
                        if not args.quiet or len(jobs) > 1:
                            name = "InvokeModelWithResponseStream" if api == "invoke" else "ConverseStream"
                            err.write(
                                f"\n{style.bold}{style.mark} {job.model_id}{style.sep}{name}{style.reset}\n"
                            )
                            err.flush()
                        if api == "invoke":
                            done = _stream_answer(
                                bedrock, job, recorder, out=sys.stdout, err=err, summary=not args.quiet
                            )
                        else:
                            request = {
                                "messages": [{"role": "user", "content": [{"text": prompt}]}],
                                "inference_config": {"maxTokens": args.max_tokens},
                            }
                            done = _stream_converse(
                                bedrock,
                                job.model_id,
                                request,
                                out=sys.stdout,
                                err=err,
                                summary=not args.quiet,
                            )
                        status = max(status, done)
            return status
    finally:
        restore()
        recorder.close()


# --- decode: recordings, HTTP captures and bare streams ----------------------------------------------------


@dataclass
class _Capture:
    """What ``decode`` was given: the event-stream bytes, and the HTTP response around them when known."""

    found: str
    body: bytes
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    note: str | None = None
    #: The request's path, when the recording kept it (``/model/{id}/invoke-with-response-stream``).
    path: str | None = None

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name), "")


def _dechunk(data: bytes) -> tuple[bytes, str | None]:
    """An HTTP/1.1 chunked body's content, and what was wrong with its framing (a capture cut short)."""
    out = bytearray()
    pos = 0
    while True:
        line_end = data.find(b"\n", pos)
        if line_end < 0:
            return bytes(out), f"the chunked body stops inside a chunk-size line (byte {pos} of the body)"
        size_text = data[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(out), f"bad chunk size {size_text[:20]!r} at byte {pos} of the body"
        pos = line_end + 1
        if size == 0:
            return bytes(out), None
        piece = data[pos : pos + size]
        out += piece
        if len(piece) < size:
            return bytes(out), "the chunked body is cut inside a chunk (a capture cut short?)"
        pos += size
        if data.startswith(b"\r\n", pos):
            pos += 2
        elif data.startswith(b"\n", pos):
            pos += 1
        if pos >= len(data):
            return bytes(out), "the chunked body ends without its last, empty chunk (a capture cut short?)"


def _http_capture(data: bytes) -> _Capture:
    head_end, gap = data.find(b"\r\n\r\n"), 4
    if head_end < 0:
        head_end, gap = data.find(b"\n\n"), 2
    if head_end < 0:
        raise _FailureError("this looks like an HTTP response capture, but its headers never end")
    lines = data[:head_end].decode("latin-1").splitlines()
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not code.isdigit():
        raise _FailureError(f"this looks like an HTTP capture, but its status line is {lines[0][:60]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    capture = _Capture("", b"", int(code), tuple(headers))
    raw = data[head_end + gap :]
    if "chunked" in capture.header("transfer-encoding").lower():
        capture.body, capture.note = _dechunk(raw)
        framing = "chunked body"
    elif capture.header("content-length").isdigit():
        length = int(capture.header("content-length"))
        capture.body = raw[:length]
        if len(raw) < length:
            capture.note = f"the body is cut short: {len(raw)} of {length} bytes (Content-Length)"
        framing = "Content-Length body"
    else:
        capture.body = raw
        framing = "body to the end"
    capture.found = (
        f"a raw HTTP response capture ({version} {code} {reason}".rstrip()
        + f", {framing}: {len(capture.body)} bytes)"
    )
    return capture


def _recording(path: str, data: bytes) -> _Capture | None:
    """The capture of an ``invoke --record`` file, when its ``.meta`` sidecar is next to it."""
    recording = read_recording(path, data)
    if recording is None:
        return None
    duration = recording.pieces[-1][0] if recording.pieces else 0.0
    found = (
        f"a bedrock-stream recording (HTTP {recording.status}; {len(data)} bytes in {len(recording.pieces)} "
        f"pieces over {_duration(duration)}; sidecar {path + SIDECAR_SUFFIX})"
    )
    return _Capture(found, data, recording.status, recording.headers, recording.problem, recording.path)


def _read_capture(args: argparse.Namespace) -> _Capture:
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    if data.lstrip()[:5] == b"HTTP/":
        return _http_capture(data.lstrip())
    if args.file != "-":
        recording = _recording(args.file, data)
        if recording is not None:
            return recording
    return _Capture(f"a bare event stream ({len(data)} bytes)", data)


def _bedrock_chunk(record: dict[str, Any]) -> None:
    """Add what a Bedrock ``chunk`` frame carries: its base64 ``bytes``, decoded (the model's own JSON)."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    from eventstream.dump import put_bytes  # noqa: PLC0415

    payload = record.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("bytes"), str):
        try:
            chunk = base64.b64decode(payload["bytes"], validate=True)
        except binascii.Error as exc:
            record["chunk_error"] = f"invalid base64 in 'bytes': {exc}"
        else:
            put_bytes(record, "chunk", chunk, try_json=True)


def _header_line(headers: Any) -> str:
    return ", ".join(f"{name}={value}" for name, value in headers.items())


class _TextRebuilder:
    """Rebuilds the answer's text from decoded frames: InvokeModel chunks of any known family, ConverseStream.

    ConverseStream events (``:event-type`` ``contentBlockDelta`` etc.) carry JSON payloads directly;
    InvokeModel ``chunk`` events carry the model's JSON base64-encoded in ``bytes``.
    """

    def __init__(self, family: Family | None, out: IO[str]) -> None:
        from client.families import Transcript  # noqa: PLC0415

        self.family = family
        self.out = out
        self.transcript = Transcript()
        self.stop_reason: str | None = None
        self.tokens: tuple[int | None, int | None] | None = None
        self.errors: list[str] = []
        self.wrote = False
        self.index = -1

    def add(self, message: Any) -> None:
        import base64  # noqa: PLC0415

        self.index += 1
        headers = message.headers
        kind = headers.get(":message-type")
        event_type = headers.get(":event-type")
        try:
            payload = json.loads(message.payload) if message.payload else {}
        except ValueError:
            payload = {}
        if kind in ("exception", "error"):
            name = headers.get(":exception-type") or headers.get(":error-code") or kind
            text = payload.get("message") if isinstance(payload, dict) else None
            text = text or headers.get(":error-message") or message.payload.decode("utf-8", "replace")
            self.errors.append(f"{name}: {text}")
            return
        if not isinstance(payload, dict):
            return
        if event_type == "chunk" and isinstance(payload.get("bytes"), str):
            try:
                event = json.loads(base64.b64decode(payload["bytes"]))
            except ValueError:
                return
            if isinstance(event, dict):
                self._write(self.transcript.feed(self.family, event).text)
            return
        # ConverseStream: model-agnostic events, named by :event-type, typed by the client's own reader.
        from client import BedrockRuntimeError  # noqa: PLC0415
        from client.converse_events import (  # noqa: PLC0415
            ContentBlockDelta,
            MessageStop,
            Metadata,
            TextDelta,
            type_converse_message,
        )
        from client.operations import CONVERSE_STREAM  # noqa: PLC0415

        if event_type not in CONVERSE_STREAM.stream_events:
            return
        try:
            event = type_converse_message(headers, message.payload, index=self.index, request_id=None)
        except BedrockRuntimeError as exc:  # a malformed event: say so, keep decoding the rest
            self.errors.append(f"{event_type}: {exc}")
            return
        if type(event) is ContentBlockDelta and type(event.delta) is TextDelta:
            self._write(event.delta.text)
        elif type(event) is MessageStop:
            self.stop_reason = event.stop_reason
        elif type(event) is Metadata and event.usage is not None:
            self.tokens = (event.usage.input_tokens, event.usage.output_tokens)

    def _write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.wrote = True

    def summary(self) -> str:
        parts = []
        stop = self.stop_reason or self.transcript.stop_reason
        if stop:
            parts.append(f"stop {stop}")
        usage = self.transcript.usage
        tokens = self.tokens or ((usage.input_tokens, usage.output_tokens) if usage else None)
        if tokens:
            parts.append(
                f"tokens {'?' if tokens[0] is None else tokens[0]} in / "
                f"{'?' if tokens[1] is None else tokens[1]} out"
            )
        return ", ".join(parts)


def _cmd_decode(args: argparse.Namespace) -> int:
    from eventstream import DEFAULT_MAX_MESSAGE_SIZE, DecodeError, Decoder, Message  # noqa: PLC0415
    from eventstream.dump import (  # noqa: PLC0415
        describe_error,
        describe_message,
        frame_headers,
        hexdump_frame,
        not_an_event_stream,
    )

    capture = _read_capture(args)
    err, out = sys.stderr, sys.stdout
    err.write(f"decode: {args.file}: {capture.found}\n")
    if capture.note:
        err.write(f"decode: note: {capture.note}\n")
    content_type = capture.header("content-type")
    if capture.status is not None and (capture.status != 200 or "eventstream" not in content_type):
        summary = " ".join(capture.body.decode("utf-8", "replace").split())[:300]
        raise _FailureError(
            f"the capture holds HTTP {capture.status} ({content_type or 'no content type'}), not an event "
            f"stream: {summary or '(empty body)'}"
        )
    if not capture.body:
        raise _FailureError(
            f"{args.file} holds no event-stream bytes (empty: a recording stopped before the first frame?)"
        )
    from client.families import family_of  # noqa: PLC0415

    family = None
    if args.model is not None:
        family = family_of(args.model)
        if family is None:
            raise UsageError(f"--model {args.model!r}: cannot tell its family from the id")
    elif capture.path is not None:
        from client.operations import match_path  # noqa: PLC0415

        matched = match_path(capture.path)
        family = family_of(matched[1]) if matched is not None else None
    decoder = Decoder(args.max_message_size or DEFAULT_MAX_MESSAGE_SIZE)
    failure: DecodeError | None = None
    messages: list[tuple[int, Message]] = []
    try:
        messages = decoder.feed_with_offsets(capture.body)
        decoder.close()  # a stream that stops inside a frame: TruncatedStream, after the frames before it
    except DecodeError as exc:
        messages, failure = messages or list(exc.decoded), exc
    rebuilder = _TextRebuilder(family, out) if args.text else None
    for offset, message in messages:
        if rebuilder is not None:
            rebuilder.add(message)
        elif args.hexdump:
            length = 16 + len(message.headers.wire_bytes()) + len(message.payload)
            out.write("\n".join(hexdump_frame(capture.body[offset : offset + length], offset)) + "\n")
            out.write(f"  = {_header_line(message.headers)}\n")
        else:
            record = describe_message(offset, message)
            _bedrock_chunk(record)
            out.write(json.dumps(record) + "\n")
    if rebuilder is not None:
        if rebuilder.wrote:
            out.write("\n")
        summary = rebuilder.summary()
        if summary:
            err.write(f"decode: {len(messages)} frames, {summary}\n")
    out.flush()
    if failure is not None:
        frame = capture.body[failure.offset :]
        headers = frame_headers(frame)
        if args.hexdump:
            out.write("\n".join(hexdump_frame(frame[:4096], failure.offset)) + "\n")
        elif rebuilder is None:
            out.write(json.dumps(describe_error(failure, frame)) + "\n")
        out.flush()
        shown = f" (its headers: {_header_line(headers)})" if headers is not None else ""
        hint = not_an_event_stream(capture.body) if failure.offset == 0 else None
        raise _FailureError(
            f"bad frame at byte {failure.offset}{shown}: {type(failure).__name__}: {failure.reason}"
            + (f": {hint}" if hint else "")
        )
    if rebuilder is not None and rebuilder.errors:
        raise _FailureError(f"the stream ended with an error: {rebuilder.errors[-1]}")
    return EXIT_OK


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def _sign_credentials(args: argparse.Namespace) -> Credentials | CredentialProvider:
    from sigv4 import Credentials  # noqa: PLC0415

    if args.example_keys:
        if args.access_key_id or args.secret_access_key:
            raise UsageError("give either --example-keys or --access-key-id/--secret-access-key, not both")
        from client.emulator.auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY  # noqa: PLC0415

        return Credentials(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, args.session_token)
    if args.access_key_id or args.secret_access_key:
        if not (args.access_key_id and args.secret_access_key):
            raise UsageError("--access-key-id and --secret-access-key go together")
        return Credentials(args.access_key_id, args.secret_access_key, args.session_token)
    from sigv4.providers import default_chain  # noqa: PLC0415

    return default_chain(args.profile)


# --- sign --explain: AWS's signature-mismatch message against our signature of the same request -------------

_AWS_CANONICAL = "The Canonical String for this request should have been"
_AWS_STRING_TO_SIGN = "The String-to-Sign should have been"
_QUOTED = re.compile(r"'(.*?)'(?:\s*$|\s*\n)", re.DOTALL)


@dataclass(frozen=True)
class AwsSignatureReport:
    """The canonical request and string to sign that AWS computed, as its SignatureDoesNotMatch says."""

    canonical_request: str
    string_to_sign: str


def parse_signature_error(text: str) -> AwsSignatureReport:
    """Read AWS's canonical request and string to sign out of a signature-mismatch error message.

    The message (``SignatureDoesNotMatch`` / ``InvalidSignatureException``, HTTP 403) ends with::

        The Canonical String for this request should have been
        '<canonical request, one element per line>'

        The String-to-Sign should have been
        '<AWS4-HMAC-SHA256, timestamp, scope, hash>'

    Accepted as printed, as the JSON error body (``{"message": "..."}``), or with its line breaks still
    escaped (``\\n``). Raises UsageError when the two parts are not there.
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            found = body.get("message") or body.get("Message")
            if isinstance(found, str):
                text = found
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\n", "\n")
    text = text.replace("\r\n", "\n")
    if _AWS_CANONICAL not in text or _AWS_STRING_TO_SIGN not in text:
        raise UsageError(
            "--explain: no canonical request in this message: paste the whole SignatureDoesNotMatch / "
            f"InvalidSignatureException message (it contains {_AWS_CANONICAL!r})"
        )
    canonical_part = text.split(_AWS_CANONICAL, 1)[1].split(_AWS_STRING_TO_SIGN, 1)[0]
    sts_part = text.split(_AWS_STRING_TO_SIGN, 1)[1]
    canonical = _QUOTED.search(canonical_part.strip() + "\n")
    sts = _QUOTED.search(sts_part.strip() + "\n")
    if canonical is None or sts is None:
        raise UsageError("--explain: the canonical request or string to sign is not quoted as AWS prints it")
    if "\n" not in canonical.group(1):
        raise UsageError(
            "--explain: the message lost its line breaks (each element of the canonical request is on a "
            "line of its own): paste it as the service sent it"
        )
    return AwsSignatureReport(canonical.group(1), sts.group(1))


def _redact_token_lines(lines: list[str]) -> list[str]:
    return [
        f"x-amz-security-token:{_REDACTED_TOKEN}"
        if line.lower().startswith("x-amz-security-token:")
        else line
        for line in lines
    ]


def _canonical_parts(canonical: str) -> tuple[list[str], dict[str, str], str, str]:
    """(method, path, query), headers by name, signed header list, payload hash of a canonical request."""
    lines = canonical.split("\n")
    head = lines[:3]
    headers: dict[str, str] = {}
    index = 3
    while index < len(lines) and lines[index] != "":
        name, _, value = lines[index].partition(":")
        headers[name] = value
        index += 1
    rest = [line for line in lines[index:] if line != ""]
    signed = rest[0] if rest else ""
    payload = rest[1] if len(rest) > 1 else ""
    return head, headers, signed, payload


def explain_mismatch(aws: AwsSignatureReport, canonical: str, string_to_sign: str) -> list[str]:
    """The likely causes of a signature mismatch, from what AWS computed and what we signed."""
    from urllib.parse import unquote  # noqa: PLC0415

    causes: list[str] = []
    (a_method, a_path, a_query), a_headers, a_signed, a_payload = _canonical_parts(aws.canonical_request)
    (o_method, o_path, o_query), o_headers, o_signed, o_payload = _canonical_parts(canonical)
    if a_method != o_method:
        causes.append(f"method: AWS received {a_method}, the request was signed as {o_method}")
    if a_path != o_path:
        if unquote(unquote(a_path)) == unquote(unquote(o_path)):
            causes.append(
                f"path encoding: AWS canonicalised the path as {a_path}, the signer as {o_path} (the same "
                "path, encoded differently: put the model id in the URL percent-encoded once, e.g. ':' as "
                "%3A; SigV4 then encodes it again, %253A)"
            )
        else:
            causes.append(
                f"path: AWS received {a_path}, the request was signed for {o_path} (a proxy, a base path or "
                "an endpoint_url with a path rewrote it)"
            )
    if a_query != o_query:
        causes.append(f"query string: AWS canonicalised {a_query!r}, the signer {o_query!r}")
    for name in sorted(set(a_headers) & set(o_headers)):
        if name == "x-amz-security-token" or a_headers[name] == o_headers[name]:
            continue
        if name == "host":
            causes.append(
                f"host: signed for {o_headers[name]} but AWS saw {a_headers[name]} (sent through a proxy or "
                "to another endpoint than the one signed for)"
            )
        elif name == "x-amz-date":
            causes.append(f"x-amz-date: AWS saw {a_headers[name]}, signed {o_headers[name]}")
        else:
            causes.append(
                f"header {name}: signed as {o_headers[name]!r} but AWS received {a_headers[name]!r} (a proxy "
                "or the HTTP library changed a signed header)"
            )
    for name in sorted(set(o_headers) - set(a_headers)):
        causes.append(f"header {name}: signed, but AWS did not receive it (a proxy removed it?)")
    for name in sorted(set(a_headers) - set(o_headers)):
        causes.append(f"header {name}: listed as signed in the Authorization header AWS received, not here")
    if a_signed != o_signed and set(a_headers) == set(o_headers):
        causes.append(f"signed headers: AWS listed {a_signed}, the signer {o_signed}")
    if a_payload != o_payload:
        causes.append(
            "body: AWS hashed another body than the one signed (re-serialised JSON, a changed encoding or "
            "compression after signing)"
        )
    a_sts, o_sts = aws.string_to_sign.split("\n"), string_to_sign.split("\n")
    if len(a_sts) >= 3 and len(o_sts) >= 3:
        if a_sts[1] != o_sts[1]:
            causes.append(
                f"clock: AWS dated the request {a_sts[1]}, the signature says {o_sts[1]} (pass "
                f"--timestamp {a_sts[1]} to compare the rest; a wrong clock usually gets 'Signature "
                "expired' rather than a mismatch)"
            )
        a_scope, o_scope = a_sts[2].split("/"), o_sts[2].split("/")
        if len(a_scope) == len(o_scope) == 4:
            if a_scope[1] != o_scope[1]:
                causes.append(
                    f"region in the scope: AWS expected {a_scope[1]}, the signature is for {o_scope[1]}"
                )
            if a_scope[2] != o_scope[2]:
                causes.append(
                    f"service in the scope: AWS expected {a_scope[2]}, the signature is for {o_scope[2]} "
                    "(Bedrock Runtime signs as 'bedrock', not 'bedrock-runtime')"
                )
    if not causes and aws.canonical_request == canonical and aws.string_to_sign == string_to_sign:
        causes.append(
            "the canonical request and string to sign match: the secret key is wrong (or belongs to another "
            "access key id than the one sent)"
        )
    elif not causes:
        causes.append("the texts differ only as shown above")
    return causes


def _print_explanation(out: IO[str], aws: AwsSignatureReport, signed: Any) -> None:
    import difflib  # noqa: PLC0415

    style = _Style.for_stream(out)
    for title, theirs, ours in (
        ("canonical request", aws.canonical_request, signed.canonical_request),
        ("string to sign", aws.string_to_sign, signed.string_to_sign),
    ):
        out.write(f"{style.bold}{style.rule} {title}: AWS (-) against ours (+){style.reset}\n")
        a_lines = _redact_token_lines(theirs.split("\n"))
        o_lines = _redact_token_lines(ours.split("\n"))
        for line in difflib.ndiff(a_lines, o_lines):
            if not line.startswith("? "):
                out.write(line + "\n")
        out.write("\n")
    causes = explain_mismatch(aws, signed.canonical_request, signed.string_to_sign)
    out.write(f"{style.bold}{style.rule} likely cause{'s' if len(causes) > 1 else ''}{style.reset}\n")
    for cause in causes:
        out.write(f"- {cause}\n")


def _cmd_sign(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone  # noqa: PLC0415

    from sigv4 import Credentials  # noqa: PLC0415
    from sigv4.signer import sign_request  # noqa: PLC0415

    headers = [_parse_header(h) for h in args.header]
    if args.data is not None and args.data_file is not None:
        raise UsageError("give either --data or --data-file, not both")
    body = args.data.encode("utf-8") if args.data is not None else b""
    if args.data_file is not None:
        body = _read_body_argument(args.data_file)
    aws_report = None
    if args.explain is not None:
        if args.explain == "-" and args.data_file == "-":
            raise UsageError("--explain - and --data-file - cannot both read standard input")
        aws_report = parse_signature_error(sys.stdin.read() if args.explain == "-" else args.explain)
    timestamp = None
    if args.timestamp is None and aws_report is not None:
        # Compare with AWS's own date of the request, so a clock difference does not hide the real one.
        aws_date = aws_report.string_to_sign.split("\n")[1:2]
        if aws_date and re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", aws_date[0]):
            args.timestamp = aws_date[0]
    if args.timestamp is not None:
        try:
            timestamp = datetime.strptime(args.timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise UsageError(
                f"--timestamp {args.timestamp!r}: expected YYYYMMDDTHHMMSSZ (X-Amz-Date)"
            ) from None
    region = pick_region(args.region, args.url, args.profile)
    if region is None:
        raise UsageError("no region: pass --region (or set AWS_REGION), or sign an AWS URL that names one")
    source = _sign_credentials(args)
    credentials = source if isinstance(source, Credentials) else source.load()
    try:
        signed = sign_request(
            args.method,
            args.url,
            headers,
            body,
            credentials=credentials,
            region=region,
            service=args.service,
            timestamp=timestamp,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot sign this request: {exc}") from None
    token = credentials.session_token

    def shown(text: str) -> str:
        return text.replace(token, _REDACTED_TOKEN) if token else text

    out = sys.stdout
    style = _Style.for_stream(out)
    if aws_report is not None:
        _print_explanation(out, aws_report, signed)
        return EXIT_OK
    out.write(
        f"{style.bold}{style.rule} canonical request{style.reset}\n{shown(signed.canonical_request)}\n\n"
    )
    out.write(f"{style.bold}{style.rule} string to sign{style.reset}\n{signed.string_to_sign}\n\n")
    out.write(f"{style.bold}{style.rule} signed headers{style.reset}\n{signed.signed_headers}\n\n")
    out.write(f"{style.bold}{style.rule} headers to send{style.reset}\n")
    for name, value in signed.headers:
        out.write(f"{name}: {shown(value)}\n")
    out.write(
        f"\n{style.dim}Compare with the canonical request and string to sign in the service's "
        f"SignatureDoesNotMatch / InvalidSignatureException message: the first line that differs is the "
        f"bug.{style.reset}\n"
    )
    return EXIT_OK


def make_emulator(args: argparse.Namespace) -> Emulator:
    """The emulator ``serve`` runs, from its parsed arguments (not started)."""
    from client.emulator import Emulator  # noqa: PLC0415

    if args.replay is not None and not Path(args.replay).is_file():
        raise UsageError(f"--replay {args.replay}: no such file")
    if args.as_recorded and args.replay is None:
        raise UsageError("--as-recorded paces a replay: give --replay FILE too")
    try:
        return Emulator(
            host=args.host,
            port=args.port,
            pace=args.pace,
            region=args.region,
            chunk_count=args.chunk_count,
            bearer_tokens=args.bearer_token,
            # --no-auth: clients without any credentials are served (a signature, when sent, is not checked).
            auth=not args.no_auth,
            strict=args.strict,
            replay=args.replay,
            replay_as_recorded=args.as_recorded,
            duplex=args.duplex,
        )
    except ValueError as exc:  # a bad pace or chunk count, a recording that holds no stream
        raise UsageError(str(exc)) from None


def _cmd_serve(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415

    from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY  # noqa: PLC0415

    if args.region is not None:
        _checked_region(args.region)
    emu = make_emulator(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("client.emulator")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        try:
            emu.start()
        except (OSError, RuntimeError) as exc:
            # A busy port, an address that is not ours, a refused bind: one line, at once.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if "listen" not in reason:
                reason = f"the emulator could not listen on {args.host}:{args.port}: {reason}"
            raise _FailureError(reason) from None
        restore = _stop_on_signals()
        try:
            region = args.region or DEMO_REGION
            out = sys.stdout
            out.write(f"Bedrock Runtime emulator listening on {emu.url}\n")
            if args.no_auth:
                out.write("# no authentication: any request is served, signed or not\n")
            else:
                out.write("# paste into a shell: the AWS SDKs, the AWS CLI and bedrock-stream then use it\n")
            out.write(f"export {ENDPOINT_ENV[0]}={emu.url}\n")
            out.write(f"export AWS_ACCESS_KEY_ID={EXAMPLE_ACCESS_KEY_ID}\n")
            # The AWS documentation's published example secret, not a secret: the emulator's default key.
            out.write(f"export AWS_SECRET_ACCESS_KEY={EXAMPLE_SECRET_ACCESS_KEY}\n")
            out.write(f"export AWS_REGION={region}\n")
            if args.duplex:
                out.write(f"# bidirectional stream (HTTP/2, h2c): endpoint_url={emu.duplex_url}\n")
            out.write(
                f"# signatures for {args.region or 'any region'}, service bedrock"
                + (f"; API keys: {len(args.bearer_token)}" if args.bearer_token else "")
                + "; faults via the X-Emulator-Fault header; Ctrl-C stops it\n"
            )
            out.flush()
            emu.serve_forever()
        except KeyboardInterrupt:
            sys.stderr.write("stopped\n")
        finally:
            restore()
            emu.close()
    finally:
        # main() also runs in-process: leave the logger as it was on every path (a port in use too).
        log.removeHandler(handler)
        log.setLevel(level)
    return EXIT_OK


def _stop_on_signals() -> Callable[[], None]:
    """Make Ctrl-C and SIGTERM raise KeyboardInterrupt in the main thread; return what restores them.

    SIGINT may be ignored when the shell started us in the background; `serve` must still stop on it.
    """
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in previous:
        signal.signal(sig, interrupt)

    def restore() -> None:
        for sig, handler in previous.items():
            if handler is not None:  # None: installed outside Python, cannot be restored from here
                signal.signal(sig, handler)

    return restore


class _FailureError(Exception):
    """A failure to report in one line (exit status 1)."""


# --- the parser --------------------------------------------------------------------------------------------


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    # Also after the subcommand (`bedrock-stream invoke ... -v`); SUPPRESS keeps the top-level default.
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="full errors, tracebacks"
    )


def _add_stream_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", metavar="FILE", help="the request body, from a file (- for standard input)")
    parser.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="answer length when building the body"
    )
    parser.add_argument(
        "--raw", action="store_true", help="print each chunk's JSON event instead of the text"
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="save the event-stream bytes to FILE and the HTTP status, headers and timings to FILE.meta "
        "(for `decode` and `serve --replay`)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="nothing on standard error but errors")
    parser.add_argument(
        "--read-timeout", type=float, default=60.0, help="longest silence in the stream, seconds (default 60)"
    )
    parser.add_argument(
        "--connect-timeout", type=float, default=10.0, help="connection timeout, seconds (default 10)"
    )
    parser.add_argument("--max-attempts", type=int, default=3, help="attempts before giving up (default 3)")
    parser.add_argument(
        "--fault",
        metavar="SPEC",
        help="emulator only: ask for a fault, e.g. 'throttling' or "
        "'exception; name=throttlingException; after=3'",
    )


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Where to send and with which credentials (``invoke`` and ``converse``)."""
    parser.add_argument(
        "--region",
        help="AWS region (default: the one the endpoint's host names, else AWS_REGION or the profile's)",
    )
    parser.add_argument("--profile", help="shared-config profile for credentials and region")
    parser.add_argument(
        "--endpoint-url",
        help="another endpoint, e.g. an emulator: http://127.0.0.1:8000 "
        f"(default: {ENDPOINT_ENV[0]} or {ENDPOINT_ENV[1]}, else the region's)",
    )
    parser.add_argument(
        "--example-keys",
        action="store_true",
        help="sign with the AWS documentation's example keys (what the emulator accepts by default)",
    )
    parser.add_argument(
        "--bearer-token",
        metavar="KEY",
        help="a Bedrock API key, sent as Authorization: Bearer instead of SigV4 (never printed; "
        "AWS_BEARER_TOKEN_BEDROCK keeps it off the command line)",
    )


def _add_header_params(parser: argparse.ArgumentParser) -> None:
    """The ``X-Amzn-Bedrock-*`` parameters, with the values the service accepts (from the table)."""
    from client import operations  # noqa: PLC0415 - pure data

    helps = {
        operations.TRACE.param: "guardrail trace in the answer",
        operations.GUARDRAIL_IDENTIFIER.param: "guardrail to apply: its id or ARN (with --guardrail-version)",
        operations.GUARDRAIL_VERSION.param: "version of the guardrail: a number or DRAFT",
        operations.PERFORMANCE_CONFIG_LATENCY.param: "latency-optimized inference where the model offers it",
        operations.SERVICE_TIER.param: "service tier to process the request in",
    }
    for param in operations.INVOKE_MODEL_WITH_RESPONSE_STREAM.headers:
        flag = "--" + param.param.replace("_", "-")
        text = f"{helps.get(param.param, param.header)} (header {param.header})"
        parser.add_argument(flag, dest=param.param, choices=param.allowed, help=text)


class _VersionAction(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            text = version("bedrock-stream")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
            text = "(not installed)"
        sys.stdout.write(f"{PROG} {text}\n")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Stream Amazon Bedrock answers with nothing but httpx; a local emulator; wire debugging.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="full error messages and tracebacks")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=f"{summary[:1].upper()}{summary[1:]}. {description}"
        )

    demo = command(
        "demo",
        "stream an answer from an in-process emulator: the whole stack, no AWS account",
        "Starts the emulator on 127.0.0.1, signs with the AWS documentation's example keys and streams the "
        "answer through httpx, the event-stream decoder and the model family's chunk parser.",
    )
    demo.add_argument("prompt", nargs="?", help=f"what to ask (default: {DEMO_PROMPT!r})")
    demo.add_argument("--model", default=DEMO_MODEL, help=f"model id (default {DEMO_MODEL})")
    demo.add_argument("--all-families", action="store_true", help="one model of each family in turn")
    demo.add_argument("--pace", type=float, default=0.03, help="seconds between frames (default 0.03)")
    demo.add_argument(
        "--api",
        choices=("invoke", "converse", "both"),
        default=None,
        help="InvokeModelWithResponseStream (the model's own JSON), ConverseStream (model-agnostic) or "
        "both in turn (default both; invoke with --raw or --record)",
    )
    demo.add_argument(
        "--duplex",
        action="store_true",
        help="a short bidirectional (Nova Sonic) session over HTTP/2 against the duplex emulator instead "
        "(needs the 'bidi' extra)",
    )
    _add_stream_options(demo)
    _add_verbose(demo)
    demo.set_defaults(handler=_cmd_demo)

    invoke = command(
        "invoke",
        "stream a model's answer (InvokeModelWithResponseStream)",
        "The body is built for the model's family from PROMPT, or given with --body. The text goes to "
        "standard output as it arrives; the summary (first event, tokens, request id) to standard error.",
    )
    invoke.add_argument("model_id", metavar="MODEL_ID", help="model id, inference profile id or ARN")
    invoke.add_argument("prompt", metavar="PROMPT", nargs="?", help="what to ask (or --body)")
    _add_connection_options(invoke)
    _add_header_params(invoke)
    _add_stream_options(invoke)
    _add_verbose(invoke)
    invoke.set_defaults(handler=_cmd_invoke)

    converse = command(
        "converse",
        "stream a model's answer through the model-agnostic Converse API (ConverseStream)",
        "The text goes to standard output as it arrives (or, with --json, one event per line); the summary "
        "(first event, tokens including cache, latency, stop reason, tool calls) to standard error.",
    )
    converse.add_argument("model_id", metavar="MODEL_ID", help="model id, inference profile id or ARN")
    converse.add_argument("prompt", metavar="PROMPT", nargs="?", help="what to ask (- reads standard input)")
    converse.add_argument("--system", help="a system prompt")
    converse.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="longest answer, in tokens (default 512)"
    )
    converse.add_argument("--temperature", type=float, help="sampling temperature, 0 to 1")
    converse.add_argument(
        "--tools", metavar="FILE", help="tools the model may call: a JSON list of tools, or a toolConfig"
    )
    converse.add_argument("--json", action="store_true", help="one JSON event per line instead of the text")
    _add_connection_options(converse)
    converse.add_argument(
        "--record",
        metavar="FILE",
        help="save the event-stream bytes to FILE and the HTTP status, headers and timings to FILE.meta",
    )
    converse.add_argument("-q", "--quiet", action="store_true", help="nothing on standard error but errors")
    converse.add_argument(
        "--read-timeout", type=float, default=60.0, help="longest silence in the stream, seconds (default 60)"
    )
    converse.add_argument(
        "--connect-timeout", type=float, default=10.0, help="connection timeout, seconds (default 10)"
    )
    converse.add_argument("--max-attempts", type=int, default=3, help="attempts before giving up (default 3)")
    converse.add_argument("--fault", metavar="SPEC", help="emulator only: ask for a fault (see invoke)")
    _add_verbose(converse)
    converse.set_defaults(handler=_cmd_converse)

    decode = command(
        "decode",
        "dump a recorded event stream as JSON lines",
        "Reads an `invoke --record` file, a bare event stream or a raw HTTP response capture (status line, "
        "headers, chunked body) and says on standard error which it found.",
    )
    decode.add_argument(
        "file", metavar="FILE", help="recorded stream (invoke --record), - for standard input"
    )
    decode.add_argument("--max-message-size", type=int, help="largest frame accepted, bytes")
    shown = decode.add_mutually_exclusive_group()
    shown.add_argument(
        "--text",
        action="store_true",
        help="rebuild the answer's text (InvokeModel chunks of the known families, or ConverseStream)",
    )
    shown.add_argument(
        "--hexdump",
        action="store_true",
        help="each frame's bytes, with the prelude, header block, payload and CRC marked",
    )
    decode.add_argument(
        "--model", metavar="MODEL_ID", help="with --text: the model whose chunks these are (default: guessed)"
    )
    _add_verbose(decode)
    decode.set_defaults(handler=_cmd_decode)

    sign = command(
        "sign",
        "show the canonical request, string to sign and signed headers of a request",
        "Signs the request SigV4 would send, so it can be compared line by line with the canonical request "
        "in a SignatureDoesNotMatch message.",
    )
    sign.add_argument("--url", required=True, help="the URL exactly as sent (percent-encoded)")
    sign.add_argument("-X", "--method", default="POST", help="HTTP method (default POST)")
    sign.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="a header (repeatable)"
    )
    sign.add_argument("-d", "--data", help="the body, as text")
    sign.add_argument("--data-file", metavar="FILE", help="the body, from a file (- for standard input)")
    sign.add_argument(
        "--region",
        help="signing region (default: the one the URL's host names, else AWS_REGION or the profile's)",
    )
    sign.add_argument("--service", default="bedrock", help="signing name (default bedrock)")
    sign.add_argument("--timestamp", help="X-Amz-Date to sign with, YYYYMMDDTHHMMSSZ (default now)")
    sign.add_argument("--profile", help="shared-config profile for credentials and region")
    sign.add_argument("--access-key-id", help="instead of the credential chain")
    sign.add_argument("--secret-access-key", help="instead of the credential chain (never printed)")
    sign.add_argument("--session-token", help="with --access-key-id or --example-keys (never printed)")
    sign.add_argument(
        "--example-keys", action="store_true", help="the AWS documentation's example keys (as the emulator)"
    )
    sign.add_argument(
        "--explain",
        metavar="AWS_ERROR",
        help="the message of AWS's signature-mismatch error (- for standard input): diff its canonical "
        "request and string to sign against ours for the same request, and name the likely cause",
    )
    _add_verbose(sign)
    sign.set_defaults(handler=_cmd_sign)

    serve = command(
        "serve",
        "run the emulator in the foreground until Ctrl-C",
        "Prints a ready-to-paste environment block (endpoint, example keys, region) and logs each request.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--pace", type=float, default=0.0, help="seconds between frames (default 0)")
    serve.add_argument("--region", help="accept signatures for this region only (default any)")
    serve.add_argument("--chunk-count", type=int, help="text chunks per answer (default: the model's)")
    serve.add_argument(
        "--no-auth", action="store_true", help="serve every request, signed or not (clients need no keys)"
    )
    serve.add_argument(
        "--strict", action="store_true", help="validate requests as strictly as the service does"
    )
    serve.add_argument(
        "--replay",
        metavar="FILE",
        help="answer every stream request with the stream recorded in FILE (invoke --record, a raw HTTP "
        "capture, or bare frames), byte for byte",
    )
    serve.add_argument(
        "--as-recorded",
        action="store_true",
        help="with --replay: pace the replay as it was recorded (needs the FILE.meta sidecar of --record)",
    )
    serve.add_argument(
        "--duplex",
        action="store_true",
        help="also serve InvokeModelWithBidirectionalStream over HTTP/2 on a second port (needs the 'bidi' "
        "extra)",
    )
    serve.add_argument(
        "--bearer-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="accept this API key (repeatable)",
    )
    _add_verbose(serve)
    serve.set_defaults(handler=_cmd_serve)

    from client import cli_duplex  # noqa: PLC0415 - light: h2 is imported only when a session opens

    duplex = cli_duplex.add_parser(commands)
    duplex.description = (
        "Open an InvokeModelWithBidirectionalStream session over HTTP/2 (Amazon Nova Sonic), send each line "
        "of --events as an input event, and print each answer event as it arrives. Needs the 'bidi' extra."
    )
    return parser


# --- errors ------------------------------------------------------------------------------------------------


_HTML = re.compile(r"<(?:!doctype|html|head|body)\b", re.IGNORECASE)
_HTML_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_ONE_LINE_LIMIT = 400


def _html_summary(text: str) -> str:
    """The words of an HTML page (a proxy's error page), its title first, on one line."""
    import html  # noqa: PLC0415

    def words(fragment: str) -> str:
        return " ".join(html.unescape(_HTML_TAG.sub(" ", fragment)).split())

    title_match = _HTML_TITLE.search(text)
    title = words(title_match.group(1)) if title_match else ""
    body = words(_HTML_DROP.sub(" ", _HTML_TITLE.sub(" ", text)))
    if title and body.startswith(title):
        body = body[len(title) :].strip()
    if title and body == title:
        body = ""
    return f"{title}: {body}" if title and body else title or body


def _credential_places(exc: BaseException) -> tuple[str, ...] | None:
    """The places a "no credentials" error looked at (on the error or on what caused it)."""
    seen: BaseException | None = exc
    for _ in range(3):
        if seen is None:
            return None
        places = getattr(seen, "places", None)
        if isinstance(places, tuple) and places:
            return places
        seen = seen.__cause__
    return None


def _describe(exc: BaseException, verbose: bool) -> str:
    """One line for the user (the whole message with ``verbose``), keeping the part they can act on."""
    from client import BedrockRuntimeError  # noqa: PLC0415

    if isinstance(exc, BedrockRuntimeError):
        name = exc.error_code or type(exc).__name__
        details = []
        if exc.in_stream:
            details.append("in the event stream")
        elif exc.status_code is not None:
            details.append(f"HTTP {exc.status_code}")
        if exc.request_id:
            details.append(f"request id {exc.request_id}")
        if getattr(exc, "retry_attempts", 0):
            details.append(f"after {exc.retry_attempts} retries")
        where = f" ({', '.join(details)})" if details else ""
        text = f"{name}{where}: {exc.message}"
    else:
        text = str(exc) or type(exc).__name__
    # The service echoes the canonical request it expected, session token included: never print that.
    text = _TOKEN_LINE.sub(rf"\1{_REDACTED_TOKEN}", text)
    if verbose:
        return text.strip()
    places = _credential_places(exc)
    if places is not None:
        # What was looked at is the actionable part: every place, on the one line.
        listing = "; ".join(f"({number}) {place}" for number, place in enumerate(places, 1))
        return f"No AWS credentials found. Looked in: {listing}"
    if _HTML.search(text):
        head, _, page = text.partition("<")
        summary = _html_summary("<" + page)
        text = f"{head.strip()} {summary}".strip() + " (an HTML page: a proxy or load balancer answered)"
        return text if len(text) <= _ONE_LINE_LIMIT else text[: _ONE_LINE_LIMIT - 1] + "…"
    lines = text.strip().splitlines() or [""]
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0].strip()} [more: rerun with -v]"


def _handled_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [UsageError, _FailureError, OSError]
    try:
        from client import BedrockRuntimeError  # noqa: PLC0415

        errors.append(BedrockRuntimeError)
    except ImportError:  # pragma: no cover - only in a broken install
        pass
    try:
        from sigv4.providers import CredentialError  # noqa: PLC0415

        errors.append(CredentialError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _foreign_client() -> str | None:
    """Where a module named ``client`` that is not this package came from (a user's own ``client.py``).

    The subcommands import ``client``; a ``client.py`` or ``client/`` earlier on ``sys.path`` (the current
    directory, ``PYTHONPATH``) would be imported instead and fail in confusing ways.
    """
    module = sys.modules.get("client")
    if module is None:
        return None
    ours = os.path.dirname(os.path.abspath(__file__))
    where: str | None = getattr(module, "__file__", None)
    if where is not None and os.path.dirname(os.path.abspath(where)) == ours:
        return None
    if where is None:
        locations = list(getattr(module, "__path__", []))
        if ours in [os.path.abspath(path) for path in locations]:
            return None
        return str(locations[0]) if locations else "a module named client"
    return where


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bedrock-stream`` command line; return the exit status (never raises, never exits)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    verbose = bool(args.verbose)
    impostor = _foreign_client()
    if impostor is not None:
        sys.stderr.write(
            f"error: {impostor} shadows bedrock-stream's `client` package (Python imports it instead): "
            "rename that file or run from another directory\n"
        )
        return EXIT_FAILED
    try:
        _check_numbers(args)
        return handler(args)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`| head`): stop quietly, and keep Python's exit-time flush
        # from complaining about the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except Exception as exc:
        if isinstance(exc, _handled_errors()):
            sys.stderr.write(f"error: {_describe(exc, verbose)}\n")
            return EXIT_FAILED
        if verbose:
            import traceback  # noqa: PLC0415

            traceback.print_exc()
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc} (a bug; -v shows where)\n")
        return EXIT_FAILED
