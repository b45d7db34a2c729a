"""A local Bedrock Runtime for tests and demos: ``Emulator`` serves the Bedrock Runtime operations locally.

It serves InvokeModel, InvokeModelWithResponseStream, Converse, ConverseStream and CountTokens over HTTP/1.1
for every model family it knows, checks SigV4 signatures and bearer tokens like the service, validates
requests like the service (refusing only what the service is documented to refuse, unless ``strict=True``),
answers deterministically in each family's own formats, injects faults on request (:class:`Fault`, or the
``X-Emulator-Fault`` header), and can replay a recorded stream. Never imported by ``client`` itself:
importing it costs nothing to users who do not run it.

:data:`EXAMPLE_ACCESS_KEY_ID` and :data:`EXAMPLE_SECRET_ACCESS_KEY` are the public example keys of the AWS
documentation, which an ``Emulator()`` accepts by default (with any session token and any region)::

    from client.emulator import EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, Emulator

    with Emulator() as emu:
        bedrock = boto3.client("bedrock-runtime", endpoint_url=emu.url, region_name="us-east-1",
                               aws_access_key_id=EXAMPLE_ACCESS_KEY_ID,
                               aws_secret_access_key=EXAMPLE_SECRET_ACCESS_KEY)
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
from .replay import Recording, RecordingError, load_recording, read_recording
from .server import Emulator, EmulatorStartError, RecordedRequest

__all__ = [
    "EXAMPLE_ACCESS_KEY_ID",
    "EXAMPLE_SECRET_ACCESS_KEY",
    "FAULT_HEADER",
    "HTTP_ERROR_STATUS",
    "STREAM_EXCEPTIONS",
    "Emulator",
    "EmulatorStartError",
    "Fault",
    "FaultKind",
    "FaultSyntaxError",
    "RecordedRequest",
    "Recording",
    "RecordingError",
    "load_recording",
    "parse_fault",
    "read_recording",
]
