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
    from .sync_session import SyncBidirectionalSession, open_bidirectional_stream_sync

__all__ = [
    "BidirectionalSession",
    "H2NotInstalledError",
    "SessionTimeLimitError",
    "SyncBidirectionalSession",
    "open_bidirectional_stream",
    "open_bidirectional_stream_sync",
    "require_h2",
]

_LAZY_ASYNC = frozenset({"BidirectionalSession", "open_bidirectional_stream"})
_LAZY_SYNC = frozenset({"SyncBidirectionalSession", "open_bidirectional_stream_sync"})
_LAZY = _LAZY_ASYNC | _LAZY_SYNC


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        require_h2()
        # Both modules import h2, which is optional.
        if name in _LAZY_ASYNC:
            from . import session  # noqa: PLC0415

            return getattr(session, name)
        from . import sync_session  # noqa: PLC0415

        return getattr(sync_session, name)
    raise AttributeError(f"module 'client.duplex' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
