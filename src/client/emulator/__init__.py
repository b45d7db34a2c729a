"""A local Bedrock Runtime for tests and demos: ``Emulator`` serves InvokeModelWithResponseStream locally.

It checks SigV4 signatures and bearer tokens like the service, validates requests like the service,
streams deterministic answers in each model family's own chunk format, and injects faults on request
(:class:`Fault`, or the ``X-Emulator-Fault`` header). Never imported by ``client`` itself: importing it
costs nothing to users who do not run it.
"""

from .auth import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY
from .faults import (
    FAULT_HEADER,
    HTTP_ERROR_STATUS,
    STREAM_EXCEPTIONS,
    Fault,
    FaultKind,
    FaultSyntaxError,
    parse_fault,
)
from .server import Emulator, RecordedRequest

__all__ = [
    "EXAMPLE_ACCESS_KEY_ID",
    "EXAMPLE_SECRET_ACCESS_KEY",
    "FAULT_HEADER",
    "HTTP_ERROR_STATUS",
    "STREAM_EXCEPTIONS",
    "Emulator",
    "Fault",
    "FaultKind",
    "FaultSyntaxError",
    "RecordedRequest",
    "parse_fault",
]
