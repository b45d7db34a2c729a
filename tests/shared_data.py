"""Where the conformance data lives: the shared folder next to the repository, never a copy inside it.

AWS's SigV4 and event-stream vectors (``vectors/``), the peers' codec and SigV4 cases (``peer_data/``) and
the real Bedrock recordings (``real_data/``) belong to their upstream projects (each folder's README names
the repositories, commits and licences), so this repository points at them instead of carrying copies.

The folder is ``$BEDROCK_STREAM_SHARED`` when set, else ``<repository>/../shared`` (how CI lays it out). A
test module asks for a part with :func:`require`: when the folder is missing the module is skipped with a
reason naming where the data comes from -- except under CI (``CI=true``), where a missing folder fails the
run, so CI can never pass by skipping its conformance tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["ENV_VAR", "REPOSITORY", "require", "shared_root"]

ENV_VAR = "BEDROCK_STREAM_SHARED"
REPOSITORY = Path(__file__).resolve().parents[1]

_WHERE = {
    "vectors": "AWS's SigV4 suites (awslabs/aws-c-auth, botocore) and event-stream vectors (aws/aws-sdk-go, "
    "smithy-lang/smithy-rs), Apache-2.0",
    "peer_data": "the codec and SigV4 test cases of botocore, smithy-python, aws-c-event-stream and "
    "mhart/aws4",
    "real_data": "real Amazon Bedrock responses recorded in other projects' test cassettes",
}


def shared_root() -> Path:
    """The shared data folder: ``$BEDROCK_STREAM_SHARED``, else ``<repository>/../shared``."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured).expanduser() if configured else REPOSITORY.parent / "shared"


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(part: str) -> Path:
    """``shared_root() / part`` (``vectors``, ``peer_data`` or ``real_data``), checked to be there.

    Call it at module level. Missing folder: ``pytest.fail`` under CI, else the whole module is skipped with
    a reason saying what the data is and how to point the tests at it.
    """
    folder = shared_root() / part
    if folder.is_dir():
        return folder
    reason = (
        f"conformance data not found at {folder}: {part}/ holds {_WHERE.get(part, 'shared test data')}; "
        f"it is read from the shared folder next to the repository (../shared), never copied into it -- set "
        f"{ENV_VAR}=/path/to/shared to run these tests"
    )
    if _under_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
