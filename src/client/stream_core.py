"""The sans-I/O core of a response stream: body bytes in, typed events (or a sticky typed error) out.

It knows the event-stream decoder and how a message becomes an event or an error; it knows nothing of
sockets, httpx or threads. :mod:`client.stream` drives it with the bytes of an HTTP response; anything else
that has the bytes (a recorded file, the HTTP/2 duplex) can drive it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from eventstream import DecodeError, Decoder, Message

from .errors import BedrockRuntimeError, StreamError
from .events import Chunk, fast_chunk_bytes, new_chunk, type_message

__all__ = ["CoreBase", "StreamCore"]


class CoreBase:
    """What every stream core shares: the decoder, the sticky ``error``, the message count, and the errors
    for a corrupt, truncated or dropped stream. Subclasses add ``feed`` (bytes in, their typed events out)."""

    __slots__ = ("_decoder", "error", "messages", "request_id")

    def __init__(self, request_id: str | None) -> None:
        self._decoder = Decoder()
        self.request_id = request_id
        self.error: BedrockRuntimeError | None = None
        self.messages = 0

    def _corrupt(self, exc: DecodeError) -> None:
        # Keep the first error: a message typed from the same read may already have failed the stream.
        if self.error is None:
            error = StreamError(
                f"corrupt event stream: {exc.reason}",
                offset=exc.offset,
                request_id=self.request_id,
                status_code=200,
            )
            error.__cause__ = exc
            self.error = error

    @property
    def bytes_received(self) -> int:
        """Bytes fed so far (complete frames plus the pending part of the next one)."""
        decoder = self._decoder
        return decoder.offset + decoder.pending

    def finish(self) -> None:
        """The body ended: raise :class:`StreamError` if it ended inside a frame (or a stored error)."""
        if self.error is not None:
            raise self.error
        try:
            self._decoder.close()
        except DecodeError as exc:  # TruncatedStream: the only error close() raises on a healthy decoder
            error = StreamError(
                f"the event stream ended mid-frame ({exc.reason}) after {self.messages} complete messages: "
                "the connection was cut or the response truncated",
                offset=exc.offset,
                request_id=self.request_id,
                status_code=200,
            )
            self.error = error
            raise error from exc

    def transport_failure(self, exc: Exception, what: str) -> StreamError:
        """Record and return the error for a network (or content-decoding) failure while reading the body;
        ``what`` says what happened in words (the I/O shell knows its transport's exception types)."""
        error = StreamError(
            f"event stream {what} after {self.bytes_received} bytes and {self.messages} complete messages "
            f"({type(exc).__name__}: {exc})",
            offset=self.bytes_received,
            request_id=self.request_id,
            status_code=200,
        )
        error.__cause__ = exc
        self.error = error
        return error


class StreamCore(CoreBase):
    """Sans-I/O core of an InvokeModelWithResponseStream answer: body bytes in, :class:`Chunk` events out.

    ``feed`` never raises for an event-level problem: events decoded before the problem are returned and the
    problem is left in ``error`` for the caller to raise once it has delivered them (so a chunk followed by a
    throttling exception in the same network read yields the chunk, then raises). ``error`` is sticky.
    """

    __slots__ = ("_chunk_headers",)

    def __init__(self, request_id: str | None) -> None:
        super().__init__(request_id)
        # The decoder hands out one (immutable) headers object for consecutive frames with the same header
        # block: once it was seen on a chunk event, the next frames skip the two header lookups.
        self._chunk_headers: object = None

    def feed(self, data: bytes) -> list[Chunk]:
        """Decode ``data`` (any split of the stream) and type the complete messages it finishes."""
        if self.error is not None:
            return []
        try:
            messages = self._decoder.feed(data)
        except DecodeError as exc:
            # Frames completed by this same read before the bad one are still delivered.
            events = self._type(message for _offset, message in exc.decoded)
            self._corrupt(exc)
            return events
        if len(messages) == 1:
            # The service writes one frame per HTTP chunk, so this is nearly every call: the chunk fast path
            # of _type without its loop.
            message = messages[0]
            headers = message.headers
            if headers is self._chunk_headers or (
                headers.get(":event-type") == "chunk" and headers.get(":message-type") == "event"
            ):
                chunk_bytes = fast_chunk_bytes(message.payload)
                if chunk_bytes is not None:
                    self._chunk_headers = headers
                    self.messages += 1
                    return [new_chunk(chunk_bytes)]
        return self._type(messages)

    def _type(self, messages: Iterable[Message]) -> list[Chunk]:
        events: list[Chunk] = []
        append = events.append
        for message in messages:
            headers = message.headers
            # Hot path, inlined: a chunk in the service's own layout. Everything else (exceptions, errors,
            # other layouts, unknown types) goes through type_message, which knows every case.
            if headers.get(":event-type") == "chunk" and headers.get(":message-type") == "event":
                data = fast_chunk_bytes(message.payload)
                if data is not None:
                    self.messages += 1
                    append(new_chunk(data))
                    continue
            index = self.messages
            self.messages = index + 1
            try:
                event = type_message(headers, message.payload, index=index, request_id=self.request_id)
            except BedrockRuntimeError as err:
                self.error = err
                break
            if event is not None:
                append(event)
        return events
