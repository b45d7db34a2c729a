"""The errors of a bidirectional session that the rest of the client has no name for."""

from __future__ import annotations

from ..errors import BedrockRuntimeError, StreamError

__all__ = ["H2NotInstalledError", "SessionTimeLimitError", "require_h2"]

INSTALL_HINT = "pip install 'bedrock-stream[bidi]'"


class H2NotInstalledError(BedrockRuntimeError, ImportError):
    """Bidirectional streaming needs the optional ``h2`` package (the ``bidi`` extra), which is missing."""


class SessionTimeLimitError(StreamError):
    """The session reached its time limit (the service ends a bidirectional stream after 8 minutes)."""


def require_h2() -> None:
    """Raise :class:`H2NotInstalledError` (naming the extra to install) unless ``h2`` can be imported."""
    try:
        import h2.connection  # noqa: F401, PLC0415 - the probe is the point
    except ImportError as exc:
        raise H2NotInstalledError(
            "bidirectional streaming (InvokeModelWithBidirectionalStream) runs on HTTP/2 and needs the "
            f"optional 'h2' package: {INSTALL_HINT}"
        ) from exc
