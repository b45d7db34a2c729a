"""Run third-party Bedrock clients, unchanged, against the emulator, and print what works (see README.md).

    .venv/bin/python interop/run.py            # the CI set: anthropic[bedrock] and boto3
    .venv/bin/python interop/run.py --all      # every client
    .venv/bin/python interop/run.py --clients litellm,pydantic-ai --json out.json

Each client gets its own virtual environment under ``interop/.venvs/`` (they pin conflicting botocore
versions), created on first use and reused while its requirements are unchanged (``--refresh`` rebuilds it,
picking up new releases). The emulator and its judge (:mod:`interop.controller`) run in this process; each
scenario runs in its client's venv, talking to the judge over a pair of pipes, with the emulator's URL, the
example keys, and an environment that cannot reach AWS (no profile or config files, instance metadata
disabled, endpoint variables pointing at the emulator; the scenario itself refuses any non-loopback
connection).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the project and this package importable
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from client.emulator import Emulator  # noqa: E402
from interop.controller import Controller, OpRow  # noqa: E402

__all__ = ["CLIENTS", "ClientSpec", "child_environment", "ensure_venv", "main", "run_clients"]

VENVS = ROOT / "interop" / ".venvs"
_MARKER = "interop-requirements.txt"


@dataclass(frozen=True)
class ClientSpec:
    """A client of the suite: what to pip install, its scenario module, and whether CI runs it."""

    name: str
    requirements: tuple[str, ...]
    scenario: str
    versions: tuple[str, ...]
    ci: bool = False
    optional_install: bool = False  # a failed install is listed as n/a rather than a failure


CLIENTS: tuple[ClientSpec, ...] = (
    ClientSpec(
        "anthropic[bedrock]",
        ("anthropic[bedrock]",),
        "scenario_anthropic",
        ("anthropic", "botocore"),
        ci=True,
    ),
    ClientSpec("boto3", ("boto3",), "scenario_boto3", ("boto3", "botocore"), ci=True),
    ClientSpec(
        "aiobotocore", ("aiobotocore",), "scenario_aiobotocore", ("aiobotocore", "botocore", "aiohttp")
    ),
    ClientSpec(
        "langchain-aws",
        ("langchain-aws",),
        "scenario_langchain_aws",
        ("langchain-aws", "langchain-core", "boto3"),
    ),
    ClientSpec(
        "pydantic-ai",
        ("pydantic-ai-slim[bedrock]",),
        "scenario_pydantic_ai",
        ("pydantic-ai-slim", "boto3"),
    ),
    ClientSpec(
        "litellm", ("litellm", "boto3"), "scenario_litellm", ("litellm", "boto3"), optional_install=True
    ),
)


class InstallError(Exception):
    """A client's venv could not be created or its requirements not installed."""


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(spec: ClientSpec, *, refresh: bool = False, log: Path) -> Path:
    """The Python of ``spec``'s venv, created and installed if absent, stale or ``refresh``-ed."""
    venv = VENVS / spec.name.replace("[", "-").replace("]", "")
    python = _venv_python(venv)
    marker = venv / _MARKER
    wanted = "\n".join(spec.requirements) + "\n"
    if not refresh and python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    VENVS.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        if not python.exists():
            done = subprocess.run(
                [sys.executable, "-m", "venv", str(venv)], stdout=out, stderr=subprocess.STDOUT, check=False
            )
            if done.returncode != 0:
                raise InstallError(f"python -m venv failed (see {log})")
        upgrade = ["--upgrade"] if refresh else []
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *upgrade, *spec.requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise InstallError(f"pip install {' '.join(spec.requirements)} failed (see {log})")
    marker.write_text(wanted)
    return python


def child_environment(url: str, home: Path) -> dict[str, str]:
    """The scenario's environment: example keys, the emulator as every endpoint, no way to reach AWS."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "ANTHROPIC_", "LITELLM_", "LANGCHAIN_", "LANGSMITH_", "OPENAI_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        {
            "HOME": str(home),  # no ~/.aws, no client caches from the user's home
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
            "NO_PROXY": "127.0.0.1,localhost",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # litellm downloads its price list at import otherwise
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _run_scenario(
    spec: ClientSpec, python: Path, url: str, controller: Controller, *, timeout: float, log: Path
) -> None:
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    with tempfile.TemporaryDirectory(prefix="interop-home-") as home, log.open("a") as out:
        command = [
            str(python),
            "-m",
            f"interop.scenarios.{spec.scenario}",
            "--url",
            url,
            "--control",
            f"{to_child_r},{from_child_w}",
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_environment(url, Path(home)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(to_child_r, from_child_w),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        deadline = time.monotonic() + timeout
        done = False
        with os.fdopen(from_child_r, "rb") as reader, os.fdopen(to_child_w, "wb") as writer:
            buffer = b""
            while not done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    process.kill()
                    controller.record(
                        "(scenario)", "FAIL", f"no end within {timeout:.0f} s (killed; see {log})"
                    )
                    break
                ready, _, _ = select.select([reader], [], [], min(remaining, 1.0))
                if not ready:
                    continue
                data = os.read(reader.fileno(), 65536)
                if not data:
                    break
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    message = json.loads(line)
                    answer = controller.call(message)
                    done = message.get("kind") == "done"
                    with contextlib.suppress(BrokenPipeError):
                        writer.write(json.dumps(answer).encode() + b"\n")
                        writer.flush()
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if not done and code != -9:
            controller.record(
                "(scenario)", "FAIL", f"the scenario exited with {code} before its end (see {log})"
            )


def run_clients(
    specs: Sequence[ClientSpec], *, refresh: bool = False, timeout: float = 300.0, verbose: bool = False
) -> Controller:
    """Install and run each client's scenario against one emulator; the controller holds the rows."""
    logs = VENVS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with Emulator() as emulator, Emulator(require_auth=False, allow_fault_header=False) as oracle:
        controller = Controller(emulator, oracle)
        try:
            for spec in specs:
                controller.start_client(spec.name)
                log = logs / f"{spec.name.replace('[', '-').replace(']', '')}.log"
                log.write_text("")
                if verbose:
                    print(f"== {spec.name}: installing", file=sys.stderr)
                try:
                    python = ensure_venv(spec, refresh=refresh, log=log)
                except InstallError as exc:
                    controller.record("(install)", "n/a" if spec.optional_install else "FAIL", str(exc))
                    continue
                if verbose:
                    print(f"== {spec.name}: running {spec.scenario}", file=sys.stderr)
                _run_scenario(spec, python, emulator.url, controller, timeout=timeout, log=log)
        finally:
            controller.close()
    return controller


def _version_text(versions: dict[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def tables(controller: Controller, specs: Sequence[ClientSpec]) -> Iterator[str]:
    """The summary table (client, versions, operations, result) then the per-operation table, as markdown."""
    by_client: dict[str, list[OpRow]] = {}
    for row in controller.rows:
        by_client.setdefault(row.client, []).append(row)
    yield "| client | versions | operations | requests / connections | result |"
    yield "|---|---|---|---|---|"
    for spec in specs:
        rows = by_client.get(spec.name, [])
        ops = [row for row in rows if not row.op.startswith("(")]
        passed = sum(row.status == "pass" for row in ops)
        na = sum(row.status == "n/a" for row in rows)
        failed = [row for row in rows if row.status == "FAIL"]
        if failed:
            first = failed[0]
            result = f"FAIL: {first.op}: {first.detail}"
        elif not ops:
            result = "n/a: " + "; ".join(row.detail for row in rows) if rows else "FAIL: nothing ran"
        else:
            result = "pass"
        counted = f"{passed}/{len(ops) - na} pass" + (f", {na} n/a" if na else "")
        versions = _version_text(controller.versions.get(spec.name, {}))
        shown = result if len(result) <= 240 else result[:237] + "..."
        requests, connections = controller.traffic.get(spec.name, (0, 0))
        yield f"| {spec.name} | {versions} | {counted} | {requests} / {connections} | {_cell(shown)} |"
    yield ""
    yield "| client | operation | result | detail |"
    yield "|---|---|---|---|"
    for row in controller.rows:
        yield f"| {row.client} | {row.op} | {row.status} | {_cell(row.detail)} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--ci", action="store_true", help="the CI set: anthropic[bedrock] and boto3 (default)")
    which.add_argument("--all", action="store_true", help="every client")
    which.add_argument(
        "--clients", help="comma-separated client names: " + ", ".join(c.name for c in CLIENTS)
    )
    parser.add_argument("--refresh", action="store_true", help="rebuild the venvs (picks up new releases)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per client scenario")
    parser.add_argument("--json", type=Path, help="also write the rows and versions to this file")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.all:
        specs: Sequence[ClientSpec] = CLIENTS
    elif args.clients:
        names = [name.strip() for name in args.clients.split(",") if name.strip()]
        known = {spec.name: spec for spec in CLIENTS}
        unknown = [name for name in names if name not in known]
        if unknown:
            parser.error(f"unknown client(s) {', '.join(unknown)}; known: {', '.join(known)}")
        specs = [known[name] for name in names]
    else:
        specs = [spec for spec in CLIENTS if spec.ci]
    controller = run_clients(specs, refresh=args.refresh, timeout=args.timeout, verbose=args.verbose)
    for line in tables(controller, specs):
        print(line)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"versions": controller.versions, "rows": [asdict(row) for row in controller.rows]}, indent=2
            )
            + "\n"
        )
    return 1 if any(row.status == "FAIL" for row in controller.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
