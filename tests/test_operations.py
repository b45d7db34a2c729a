"""The operations table agrees with botocore's service model: paths, error sets, statuses, event names."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import pytest

from client import operations
from client.operations import ALL_OPERATIONS, ERRORS, Operation, match_path


def _service_model() -> dict[str, Any]:
    root = Path(botocore.__file__).parent / "data" / "bedrock-runtime"
    versions = sorted(root.iterdir())
    path = versions[-1] / "service-2.json.gz"
    if path.exists():
        data: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    else:
        data = json.loads((versions[-1] / "service-2.json").read_text())
    return data


MODEL = _service_model()


def _stream_shape(op: dict[str, Any]) -> dict[str, Any] | None:
    output = MODEL["shapes"][op["output"]["shape"]]
    for member in output["members"].values():
        shape = MODEL["shapes"][member["shape"]]
        if shape.get("eventstream"):
            return dict(shape)
    return None


@pytest.mark.parametrize("op", ALL_OPERATIONS, ids=lambda op: op.name)
def test_operation_row_matches_the_service_model(op: Operation) -> None:
    model_op = MODEL["operations"][op.name]
    assert model_op["http"]["method"] == "POST"
    assert model_op["http"]["requestUri"] == f"/model/{{modelId}}/{op.action}"
    assert sorted(op.errors) == sorted(e["shape"] for e in model_op.get("errors", []))
    stream = _stream_shape(model_op)
    if op.streaming:
        assert stream is not None
        members = stream["members"]
        events = [name for name, m in members.items() if not MODEL["shapes"][m["shape"]].get("exception")]
        exceptions = [name for name, m in members.items() if MODEL["shapes"][m["shape"]].get("exception")]
        assert list(op.stream_events) == events
        assert sorted(op.stream_exceptions) == sorted(exceptions)
        for name in exceptions:
            assert operations.error_row(name) is not None
    else:
        assert stream is None
    request = MODEL["shapes"][model_op["input"]["shape"]]["members"]
    header_names = {m["locationName"] for m in request.values() if m.get("location") == "header"}
    for param in op.headers:
        assert param.header in header_names
        model_member = next(m for m in request.values() if m.get("locationName") == param.header)
        enum_values = MODEL["shapes"][model_member["shape"]].get("enum")
        if param.allowed is not None:
            assert sorted(param.allowed) == sorted(enum_values)
    if op.accept_header is not None:
        assert op.accept_header in header_names


def test_error_rows_match_the_service_model() -> None:
    for name, row in ERRORS.items():
        shape = MODEL["shapes"][name]
        assert shape["exception"]
        assert shape["error"]["httpStatusCode"] == row.status
        assert row.stream_name == name[0].lower() + name[1:]
    # Every exception any of our operations names has a row.
    named = {e for op in ALL_OPERATIONS for e in op.errors}
    assert named <= set(ERRORS)


def test_retryable_rows_are_throttling_and_server_faults() -> None:
    retryable = {name for name, row in ERRORS.items() if row.retryable}
    assert retryable == {
        "ThrottlingException",
        "ModelNotReadyException",
        "InternalServerException",
        "ServiceUnavailableException",
    }


@pytest.mark.parametrize("op", ALL_OPERATIONS, ids=lambda op: op.name)
@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-v1:0",
        "m",
    ],
)
def test_paths_round_trip_encoded_and_raw(op: Operation, model_id: str) -> None:
    path = op.path(model_id)
    assert ":" not in path
    assert match_path(path) == (op, model_id)
    # Some clients send the id unencoded; the last segment still names the operation.
    assert match_path(f"/model/{model_id}/{op.action}") == (op, model_id)


@pytest.mark.parametrize(
    "path", ["/", "/model/", "/model/x", "/model//invoke", "/model/x/unknown", "/models/x/invoke", ""]
)
def test_unknown_paths_match_nothing(path: str) -> None:
    assert match_path(path) is None


def test_every_error_row_has_its_typed_class_here_and_in_the_drop_in() -> None:
    import client
    from client import compat, errors

    for name, row in ERRORS.items():
        cls = getattr(client, name)
        assert issubclass(cls, client.BedrockRuntimeError) and cls.default_error_code == name
        assert issubclass(getattr(compat, name), compat.ClientError)
        # The in-stream name types to the same class.
        err = errors.error_from_exception_message(
            {":exception-type": row.stream_name, ":message-type": "exception"},
            b'{"message": "m"}',
            request_id=None,
        )
        assert type(err) is cls
