"""The sync twin of :class:`BidirectionalSession`: the async session, run on an event loop in a background
thread (an anyio blocking portal), driven by blocking calls.

Each method hands its call to the loop thread and waits for the result, so ``send`` from one thread and
iteration in another run at the same time there (full duplex), exactly as two async tasks would. Errors are
the async session's, raised in the calling thread. Closing stops the loop thread.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio.from_thread

from ..events import Chunk
from .session import BidirectionalSession, open_bidirectional_stream

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SyncBidirectionalSession", "open_bidirectional_stream_sync"]

_END = object()


async def _next(session: BidirectionalSession) -> Chunk | object:
    try:
        return await anext(session)
    except StopAsyncIteration:
        return _END


class SyncBidirectionalSession:
    """Blocking ``send(event)``, ``end_input()``, ``for chunk in session``, ``close()``; ``with session:``
    ends the input on a normal exit and closes in every case. Safe to use from two threads at once (one
    sending, one reading)."""

    def __init__(
        self,
        portal_context: AbstractContextManager[anyio.from_thread.BlockingPortal],
        portal: anyio.from_thread.BlockingPortal,
        session: BidirectionalSession,
    ) -> None:
        self._portal_context = portal_context
        self._portal = portal
        self._session = session
        self._closed = False

    @property
    def session(self) -> BidirectionalSession:
        """The async session underneath (its properties: ``request_id``, ``events_sent``...)."""
        return self._session

    def send(self, event: bytes | Mapping[str, Any]) -> None:
        """Sign and send one input event (see :meth:`BidirectionalSession.send`)."""
        self._portal.call(self._session.send, event)

    def end_input(self) -> None:
        """Send the signed end-of-input frame (idempotent)."""
        self._portal.call(self._session.end_input)

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        if self._closed:
            raise StopIteration
        item = self._portal.call(_next, self._session)
        if item is _END:
            raise StopIteration
        assert isinstance(item, Chunk)
        return item

    def close(self) -> None:
        """Close the session and stop the loop thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._portal.call(self._session.aclose)
        finally:
            self._portal_context.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and not self._closed:
                self._portal.call(self._session.__aexit__, None, None, None)
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"<SyncBidirectionalSession of {self._session!r}>"


def open_bidirectional_stream_sync(**options: Any) -> SyncBidirectionalSession:
    """:func:`open_bidirectional_stream` with blocking calls: same keyword arguments, a
    :class:`SyncBidirectionalSession` back (its event loop runs in a background thread until ``close``)."""
    context = anyio.from_thread.start_blocking_portal()
    portal = context.__enter__()
    try:
        session = portal.call(functools.partial(open_bidirectional_stream, **options))
    except BaseException:
        context.__exit__(None, None, None)
        raise
    return SyncBidirectionalSession(context, portal, session)
