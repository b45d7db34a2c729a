"""ConverseStream / AsyncConverseStream: a ConverseStream answer read as typed events, accumulated as it goes.

The machinery (retries before the first event, sticky errors, closing) is :mod:`client.stream`'s; what differs
is the core: :class:`ConverseStreamCore` types each message with
:func:`~client.converse_events.type_converse_message` and folds it into a
:class:`~client.converse_response.ConverseAccumulator`, so that ``stream.response`` is ready the moment the
stream ends. A stream that ends without ``messageStop`` raises :class:`~client.StreamError`: peers that took
such a stream for a complete answer silently lost the rest of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping

from eventstream import DecodeError, Message

from .converse_events import ContentBlockDelta, ConverseEvent, TextDelta, type_converse_message
from .converse_response import ConverseAccumulator, ConverseResponse
from .errors import BedrockRuntimeError, StreamError
from .stream import AsyncEventStream, EventStream
from .stream_core import CoreBase

__all__ = ["AsyncConverseStream", "ConverseStream", "ConverseStreamCore"]


class ConverseStreamCore(CoreBase):
    """Sans-I/O core of a ConverseStream answer: body bytes in, typed Converse events out, accumulated."""

    __slots__ = ("accumulator",)

    def __init__(
        self, request_id: str | None, headers: Mapping[str, str] | None = None, retry_attempts: int = 0
    ) -> None:
        super().__init__(request_id)
        self.accumulator = ConverseAccumulator(
            request_id=request_id,
            headers={name.lower(): value for name, value in (headers or {}).items()},
            retry_attempts=retry_attempts,
        )

    def feed(self, data: bytes) -> list[ConverseEvent]:
        """Decode ``data`` (any split of the stream) and type the complete messages it finishes."""
        if self.error is not None:
            return []
        try:
            messages = self._decoder.feed(data)
        except DecodeError as exc:
            events = self._type(message for _offset, message in exc.decoded)
            self._corrupt(exc)
            return events
        return self._type(messages)

    def _type(self, messages: Iterable[Message]) -> list[ConverseEvent]:
        events: list[ConverseEvent] = []
        add = self.accumulator.add
        for message in messages:
            index = self.messages
            self.messages = index + 1
            try:
                event = type_converse_message(
                    message.headers, message.payload, index=index, request_id=self.request_id
                )
                add(event)
            except BedrockRuntimeError as err:
                self.error = err
                break
            events.append(event)
        return events

    def finish(self) -> None:
        """The body ended: also an error if ``messageStop`` never came (the answer would be incomplete)."""
        super().finish()
        if not self.accumulator.stopped:
            error = StreamError(
                f"the ConverseStream answer ended after {self.messages} events without messageStop: the "
                "answer is incomplete (the connection was cut or the server stopped early)",
                offset=self.bytes_received,
                request_id=self.request_id,
                status_code=200,
            )
            self.error = error
            raise error


def _response(stream: EventStream[ConverseEvent] | AsyncEventStream[ConverseEvent]) -> ConverseResponse:
    """``stream.response`` of both stream classes: the accumulated answer once the stream has ended."""
    if stream._state != "done":
        raise StreamError(
            "stream.response is ready once the stream was read to its end: iterate it first",
            request_id=stream.request_id,
        )
    core = stream._core
    assert isinstance(core, ConverseStreamCore)
    if core.error is not None:
        raise core.error
    return core.accumulator.finish()


class ConverseStream(EventStream[ConverseEvent]):
    """The answer of one ConverseStream call (sync): an iterator of typed events.

    Events: :class:`~client.MessageStart`, :class:`~client.ContentBlockStart`,
    :class:`~client.ContentBlockDelta`, :class:`~client.ContentBlockStop`, :class:`~client.MessageStop`,
    :class:`~client.Metadata` (and :class:`~client.UnknownEvent` for a kind this version does not know). Use
    it as a context manager so the connection is closed even when you stop early. After the last event,
    :attr:`response` is the accumulated :class:`~client.ConverseResponse`.
    """

    def _new_core(self, request_id: str | None) -> ConverseStreamCore:
        # _adopt sets the response's headers and retry count before it asks for the core.
        return ConverseStreamCore(request_id, self.headers, self.retry_attempts)

    @property
    def response(self) -> ConverseResponse:
        """The whole answer, once the stream was read to its end (else :class:`~client.StreamError`)."""
        return _response(self)

    def text_deltas(self) -> Iterator[str]:
        """Just the text, as it arrives (the rest of the events still accumulate into :attr:`response`)."""
        for event in self:
            if type(event) is ContentBlockDelta and type(event.delta) is TextDelta:
                yield event.delta.text


class AsyncConverseStream(AsyncEventStream[ConverseEvent]):
    """The answer of one ConverseStream call (async): ``async with stream:`` and ``async for event in
    stream``; otherwise as :class:`ConverseStream`."""

    def _new_core(self, request_id: str | None) -> ConverseStreamCore:
        # _adopt sets the response's headers and retry count before it asks for the core.
        return ConverseStreamCore(request_id, self.headers, self.retry_attempts)

    @property
    def response(self) -> ConverseResponse:
        """The whole answer, once the stream was read to its end (else :class:`~client.StreamError`)."""
        return _response(self)

    async def text_deltas(self) -> AsyncIterator[str]:
        """Just the text, as it arrives (the rest of the events still accumulate into :attr:`response`)."""
        async for event in self:
            if type(event) is ContentBlockDelta and type(event.delta) is TextDelta:
                yield event.delta.text
