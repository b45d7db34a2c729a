"""ResponseStream / AsyncResponseStream: raw body bytes in, decoder, typed events (or typed errors) out.

All deciding lives in :class:`~client.stream_core.StreamCore` (pure: feed bytes, get events; end of input; a
transport failure) and in :class:`_StreamBase` (response headers, retry-before-first-event bookkeeping). The
two public classes only differ in how they wait for the next bytes: ``for raw in response.iter_raw()`` against
``async for raw in response.aiter_raw()``.

Guarantees:
  * bytes are decoded as they arrive, so the first event reaches the caller while the server is still sending;
  * a stream that ends mid-frame, whose connection drops or stalls past the read timeout, or that is corrupt
    raises :class:`~client.errors.StreamError` (chained to the cause) - never a silent end; events already
    yielded stay yielded; the error is sticky (iterating again raises it again);
  * closing the stream (``close()``, leaving ``with``, or dropping a partly read stream) closes the
    connection;
  * a retryable failure before the first event (throttling or a 5xx exception as the first message, a
    connection reset before any event) re-sends the request, within the client's ``max_attempts``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar
from weakref import proxy

import httpx

from .errors import BedrockRuntimeError, StreamError
from .events import Chunk
from .stream_core import StreamCore

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "AsyncEventStream",
    "AsyncResponseStream",
    "EventCore",
    "EventStream",
    "ResponseStream",
    "StreamCore",
    "async_body_reader",
    "body_reader",
]

E = TypeVar("E")


class EventCore(Protocol[E]):
    """What a stream needs of its sans-I/O core (:class:`StreamCore` for chunks, the Converse core for
    ConverseStream events): bytes in, typed events out, a sticky ``error``."""

    error: BedrockRuntimeError | None
    request_id: str | None

    def feed(self, data: bytes) -> list[E]: ...

    def finish(self) -> None: ...

    def transport_failure(self, exc: Exception, what: str) -> StreamError: ...


def _is_encoded(response: httpx.Response) -> bool:
    encoding = response.headers.get("content-encoding")
    return encoding is not None and encoding.strip().lower() not in ("", "identity")


def _raw_stream(response: httpx.Response) -> httpx.SyncByteStream | httpx.AsyncByteStream:
    # The checks and the mark iter_raw()/aiter_raw() make before reading.
    if response.is_stream_consumed:
        raise httpx.StreamConsumed()
    if response.is_closed:
        raise httpx.StreamClosed()
    response.is_stream_consumed = True
    return response.stream


def body_reader(response: httpx.Response) -> Iterator[bytes]:
    # Raw reads keep the network's chunk boundaries and skip httpx's decoder chain; only a body the server
    # compressed anyway (despite Accept-Encoding: identity) goes through it. The raw body is read from
    # response.stream itself rather than iter_raw(), which wraps every chunk in one more generator, a no-op
    # chunker and a byte count: 2-3% of an event's cost end to end (~0.3 of ~12 us, bench_client.py).
    # httpx's error mapping lives in the stream, so network errors still arrive as httpx exceptions.
    if _is_encoded(response) or response.is_stream_consumed:
        # A body httpx already holds (a transport that answers with content=..., as httpx.MockTransport and
        # respx do) is served from memory by iter_bytes(); reading the raw stream again would fail.
        return response.iter_bytes()
    stream = _raw_stream(response)
    if not isinstance(stream, httpx.SyncByteStream):
        raise RuntimeError("a sync response stream was given an async httpx response")
    return iter(stream)


def async_body_reader(response: httpx.Response) -> AsyncIterator[bytes]:
    if _is_encoded(response) or response.is_stream_consumed:
        return response.aiter_bytes()
    stream = _raw_stream(response)
    if not isinstance(stream, httpx.AsyncByteStream):
        raise RuntimeError("an async response stream was given a sync httpx response")
    return aiter(stream)


def describe_transport_failure(exc: httpx.HTTPError) -> str:
    """What a network (or content-decoding) failure while reading a body means, in words."""
    if isinstance(exc, httpx.TimeoutException):
        return "stalled: no data within the read timeout"
    if isinstance(exc, httpx.DecodingError):
        return "could not be decompressed"
    return "connection dropped"


def _with_request(exc: httpx.HTTPError, response: httpx.Response) -> httpx.HTTPError:
    # iter_raw() attaches the request to a network error; reading response.stream directly, we do it.
    if isinstance(exc, httpx.RequestError):
        exc.request = response.request
    return exc


_NOT_STARTED = "not started"
_OPEN = "open"
_DONE = "done"
_CLOSED = "closed"


class _StreamBase(Generic[E]):
    """State and response metadata shared by the sync and async streams."""

    content_type: str | None
    """The model's MIME type for the chunk bytes (``X-Amzn-Bedrock-Content-Type``)."""
    performance_config_latency: str | None
    """``X-Amzn-Bedrock-PerformanceConfig-Latency`` of the response (``standard``/``optimized``), if sent."""
    service_tier: str | None
    """``X-Amzn-Bedrock-Service-Tier`` of the response, if sent."""
    request_id: str | None
    """``x-amzn-RequestId`` of the response, if sent."""
    status_code: int
    """HTTP status of the response (200)."""
    headers: httpx.Headers
    """All response headers."""
    retry_attempts: int
    """Retries made before this stream's response was accepted."""
    _state: str

    def _adopt(self, response: httpx.Response, retry_attempts: int) -> None:
        headers = response.headers
        self._response = response
        self.headers = headers
        self.status_code = response.status_code
        self.content_type = headers.get("x-amzn-bedrock-content-type")
        self.performance_config_latency = headers.get("x-amzn-bedrock-performanceconfig-latency")
        self.service_tier = headers.get("x-amzn-bedrock-service-tier")
        self.request_id = headers.get("x-amzn-requestid")
        self.retry_attempts = retry_attempts
        self._core = self._new_core(self.request_id)

    def _new_core(self, request_id: str | None) -> EventCore[E]:
        raise NotImplementedError

    def _interrupted(self, exc: BaseException) -> StreamError:
        error = StreamError(
            f"the stream was interrupted by {type(exc).__name__}: {exc}",
            request_id=self.request_id,
            status_code=self.status_code,
        )
        error.__cause__ = exc
        return error

    def _closed_error(self) -> StreamError:
        return StreamError(
            "the response stream was closed before it was read to the end",
            request_id=self.request_id,
            status_code=self.status_code,
        )

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._state} request_id={self.request_id!r} "
            f"content_type={self.content_type!r}>"
        )


#: Called with the error that ended an attempt before its first event; returns the next attempt's response
#: and the retry count, or raises the error that ends the call. Supplied by the client (it owns retries).
RetryOpener = Callable[[BedrockRuntimeError], "tuple[httpx.Response, int]"]
AsyncRetryOpener = Callable[[BedrockRuntimeError], "Awaitable[tuple[httpx.Response, int]]"]


class EventStream(_StreamBase[E]):
    """A streamed answer being read (sync): the machinery shared by :class:`ResponseStream` and
    :class:`~client.ConverseStream`, which differ only in the core that types their events."""

    def __init__(
        self, response: httpx.Response, *, retry_attempts: int = 0, reopen: RetryOpener | None = None
    ) -> None:
        self._adopt(response, retry_attempts)
        self._reopen = reopen
        self._state = _NOT_STARTED
        # The generator gets a weak proxy of the stream: holding the stream itself would make a reference
        # cycle (stream -> generator -> frame -> stream), and a stream dropped after a `break` would then
        # keep its connection checked out until the cyclic garbage collector happened to run.
        self._gen: Generator[E, None, None] = EventStream._events(proxy(self))

    def _events(self) -> Generator[E, None, None]:
        yielded = False
        # A local, so the final close still works when the generator is finalised after its stream.
        response = self._response
        try:
            while True:
                core = self._core
                try:
                    try:
                        for raw in body_reader(response):
                            events = core.feed(raw)
                            if events:
                                yielded = True
                                yield from events
                            if core.error is not None:
                                raise core.error
                    except httpx.HTTPError as exc:
                        raise core.transport_failure(
                            _with_request(exc, response), describe_transport_failure(exc)
                        ) from exc
                    core.finish()
                    return
                except BedrockRuntimeError as err:
                    if yielded or self._reopen is None:
                        raise
                    response.close()
                    # Raises the final error itself when the client decides not to retry.
                    response, retries = self._reopen(err)
                    self._adopt(response, retries)
        finally:
            response.close()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> E:
        state = self._state
        if state is not _OPEN:
            if state is _NOT_STARTED:
                self._state = _OPEN
            elif state is _CLOSED:
                raise self._closed_error()
            else:
                error = self._core.error
                if error is not None:
                    raise error
                raise StopIteration
        try:
            return next(self._gen)
        except StopIteration:
            self._state = _DONE
            raise
        except BedrockRuntimeError as err:
            self._state = _DONE
            self._core.error = err
            raise
        except BaseException as exc:
            # Anything else (a cancelled task, KeyboardInterrupt, a credential provider failing on a retry)
            # also ended the generator: later reads must not mistake that for a clean end.
            self._state = _DONE
            self._core.error = self._interrupted(exc)
            raise

    def close(self) -> None:
        """Close the connection. Safe to call more than once. Iterating afterwards raises ``StreamError``
        unless the stream had already ended (then it ends again, or re-raises the error it ended with)."""
        if self._state is _DONE:
            # Finished (cleanly or with its sticky error): keep that outcome for later iteration.
            self._response.close()
            return
        if self._state is not _CLOSED:
            self._state = _CLOSED
            self._gen.close()
            self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # A stream dropped without being read to the end (a `break` out of `for event in client.invoke(...)`)
        # must give its connection back; generators that never started have no `finally` to do it.
        try:
            if self._state is not _DONE and self._state is not _CLOSED:
                self._response.close()
        except Exception:  # nothing sensible to do during garbage collection
            pass


class AsyncEventStream(_StreamBase[E]):
    """A streamed answer being read (async): the twin of :class:`EventStream`."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        retry_attempts: int = 0,
        reopen: AsyncRetryOpener | None = None,
    ) -> None:
        self._adopt(response, retry_attempts)
        self._reopen = reopen
        self._state = _NOT_STARTED
        # A weak proxy, as in ResponseStream: a stream dropped after a `break` is then finalised at once, and
        # the event loop's async-generator hook closes its connection.
        self._gen: AsyncGenerator[E, None] = AsyncEventStream._events(proxy(self))

    async def _events(self) -> AsyncGenerator[E, None]:
        yielded = False
        response = self._response
        try:
            while True:
                core = self._core
                try:
                    try:
                        async for raw in async_body_reader(response):
                            events = core.feed(raw)
                            if events:
                                yielded = True
                                for event in events:
                                    yield event
                            if core.error is not None:
                                raise core.error
                    except httpx.HTTPError as exc:
                        raise core.transport_failure(
                            _with_request(exc, response), describe_transport_failure(exc)
                        ) from exc
                    core.finish()
                    return
                except BedrockRuntimeError as err:
                    if yielded or self._reopen is None:
                        raise
                    await response.aclose()
                    response, retries = await self._reopen(err)
                    self._adopt(response, retries)
        finally:
            await response.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> E:
        state = self._state
        if state is not _OPEN:
            if state is _NOT_STARTED:
                self._state = _OPEN
            elif state is _CLOSED:
                raise self._closed_error()
            else:
                error = self._core.error
                if error is not None:
                    raise error
                raise StopAsyncIteration
        try:
            return await self._gen.__anext__()
        except StopAsyncIteration:
            self._state = _DONE
            raise
        except BedrockRuntimeError as err:
            self._state = _DONE
            self._core.error = err
            raise
        except BaseException as exc:
            # Anything else (a cancelled task, KeyboardInterrupt, a credential provider failing on a retry)
            # also ended the generator: later reads must not mistake that for a clean end.
            self._state = _DONE
            self._core.error = self._interrupted(exc)
            raise

    async def aclose(self) -> None:
        """Close the connection. Safe to call more than once."""
        if self._state is _DONE:
            await self._response.aclose()
            return
        if self._state is not _CLOSED:
            self._state = _CLOSED
            await self._gen.aclose()
            await self._response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ResponseStream(EventStream[Chunk]):
    """The event stream of one InvokeModelWithResponseStream call (sync).

    Iterate it for :class:`~client.Chunk` events; use it as a context manager so the connection is closed
    even when you stop early. In-stream exceptions and broken streams raise typed
    :class:`~client.BedrockRuntimeError` subclasses. One stream is read by one thread.

    Attributes ``content_type``, ``performance_config_latency``, ``service_tier``, ``request_id``,
    ``status_code``, ``headers`` and ``retry_attempts`` describe the HTTP response.
    """

    def _new_core(self, request_id: str | None) -> StreamCore:
        return StreamCore(request_id)


class AsyncResponseStream(AsyncEventStream[Chunk]):
    """The event stream of one InvokeModelWithResponseStream call (async).

    ``async with stream:`` and ``async for event in stream``; otherwise as :class:`ResponseStream`.
    Closing it (``await stream.aclose()`` or leaving ``async with``) closes the connection.
    """

    def _new_core(self, request_id: str | None) -> StreamCore:
        return StreamCore(request_id)
