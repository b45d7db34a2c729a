"""Bidirectional streaming (InvokeModelWithBidirectionalStream, e.g. Amazon Nova Sonic) over HTTP/2.

A second wire layer beside httpx's (httpx sends a whole request body before it reads the answer): a
sans-I/O session (:mod:`.session_core`: h2's state machine, :class:`sigv4.EventSigner`, the event-stream
decoder) driven by a thin anyio shell (:mod:`.session`, :mod:`.connection`). Needs the optional ``h2``
package (``pip install 'bedrock-stream[bidi]'``); without it, :func:`open_bidirectional_stream` raises
:class:`H2NotInstalledError`. Importing this package never imports h2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import H2NotInstalledError, SessionTimeLimitError, require_h2

if TYPE_CHECKING:
    from .session import BidirectionalSession, open_bidirectional_stream

__all__ = [
    "BidirectionalSession",
    "H2NotInstalledError",
    "SessionTimeLimitError",
    "open_bidirectional_stream",
    "require_h2",
]

_LAZY = frozenset({"BidirectionalSession", "open_bidirectional_stream"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        require_h2()
        from . import session  # noqa: PLC0415 - imports h2, which is optional

        return getattr(session, name)
    raise AttributeError(f"module 'client.duplex' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
