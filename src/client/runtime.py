"""BedrockRuntimeClient and AsyncBedrockRuntimeClient: thin I/O shells over the pure per-call flow.

Everything that decides is shared and pure: :mod:`client.config` checks the arguments once,
:mod:`client.request` and the Converse modules build each request, :func:`client.call.call_flow` classifies
answers, retries and corrects the clock, :mod:`client.stream_core` types the events. The two clients
below only drive that flow: send with httpx, read, sleep (``time.sleep`` or ``anyio.sleep``).
:class:`_ClientBase` holds what they share that is not I/O: configuration, the lazily built authenticator
and the per-operation preparation and answer building.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Generator, Mapping, Sequence
from time import sleep as _sleep
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from sigv4.credentials import CredentialError

from .call import Accepted, Body, Failed, Head, ReadBody, Reply, Send, Step, call_flow
from .config import DEFAULT_TIMEOUT, ClientConfig, SigningClock, credentials_error, make_config, utc_now
from .errors import (
    BedrockRuntimeError,
    EndpointConnectionError,
    ParamValidationError,
    UnexpectedResponseError,
)
from .operations import (
    CONVERSE,
    CONVERSE_STREAM,
    COUNT_TOKENS,
    INVOKE_MODEL,
    INVOKE_MODEL_WITH_RESPONSE_STREAM,
    SIGNING_NAME,
    Operation,
)
from .request import PreparedRequest, build_invoke_request, build_json_request, check_model_id, encode_body
from .retry import DEFAULT_MAX_ATTEMPTS, RetryPolicy
from .stream import (
    AsyncEventStream,
    AsyncResponseStream,
    EventStream,
    ResponseStream,
    async_body_reader,
    body_reader,
)
from .transport_choice import default_sync_http_client, validate_transport

if TYPE_CHECKING:
    from typing_extensions import Self

    from sigv4 import CredentialProvider, Credentials

    from .converse_request import (
        GuardrailConfig,
        InferenceConfig,
        Message,
        OutputConfig,
        PerformanceConfig,
        ServiceTier,
        SystemContentBlock,
        ToolConfig,
    )
    from .converse_response import ConverseResponse
    from .converse_stream import AsyncConverseStream, ConverseStream
    from .duplex import BidirectionalSession, SyncBidirectionalSession
    from .invoke_response import InvokeModelResponse

__all__ = ["DEFAULT_TIMEOUT", "AsyncBedrockRuntimeClient", "BedrockRuntimeClient"]

Flow = Generator[Step, Reply, Accepted]


async def _async_sleep(delay: float) -> None:
    import anyio  # noqa: PLC0415 - httpx's own dependency; only the async client needs it

    await anyio.sleep(delay)


def _transport_failure(exc: httpx.HTTPError, prepared: PreparedRequest, what: str) -> Failed:
    # The flow sets the retry count when it takes the failure.
    error = EndpointConnectionError(
        f"{what} {prepared.url.split('/model/', 1)[0]}: {type(exc).__name__}: {exc or 'no detail'}"
    )
    error.__cause__ = exc
    return Failed(error)


def _json_answer(accepted: Accepted, what: str) -> dict[str, Any]:
    body = accepted.body or b""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if not isinstance(answer, dict):
        raise UnexpectedResponseError(
            f"expected a JSON object from {what} but got: {body[:512].decode('utf-8', 'replace')!r}",
            status_code=accepted.head.status_code,
            request_id=accepted.head.headers.get("x-amzn-requestid"),
            body=body[:16384],
            headers=accepted.head.headers,
            retry_attempts=accepted.retries,
        )
    return answer


class LazyAuth:
    """The request authenticator (SigV4 or bearer), built on first use and then shared by every request.

    Built lazily so that the default credential chain's modules are imported only when no credentials were
    given, and only when the first request goes out. Holds the secrets; its repr shows none of them.
    """

    __slots__ = ("_auth", "_bearer_token", "_clock", "_credentials", "_lock", "_region", "_source")

    def __init__(
        self,
        bearer_token: str | None,
        credentials: Credentials | CredentialProvider | None,
        region: str | None,
        clock: SigningClock,
    ) -> None:
        self._bearer_token = bearer_token
        self._credentials = credentials
        self._region = region
        self._clock = clock
        self._auth: httpx.Auth | None = None
        self._source: Credentials | CredentialProvider | None = None
        # Re-entrant: building the authenticator asks for the credential source under the same lock.
        self._lock = threading.RLock()

    def __call__(self) -> httpx.Auth:
        auth = self._auth
        if auth is not None:
            return auth
        with self._lock:
            if self._auth is None:
                self._auth = self._build()
            return self._auth

    def credential_source(self) -> Credentials | CredentialProvider:
        """What SigV4 signs with: the credentials or provider given, else the default chain (built once and
        shared by every request, so its cache and refresh serve them all)."""
        source = self._source
        if source is not None:
            return source
        with self._lock:
            if self._source is None:
                if self._credentials is not None:
                    self._source = self._credentials
                else:
                    from sigv4.providers import default_chain  # noqa: PLC0415 - cold start: only when needed

                    self._source = default_chain()
            return self._source

    def _build(self) -> httpx.Auth:
        if self._bearer_token is not None:
            from sigv4.httpx_auth import BearerAuth  # noqa: PLC0415 - cold start: only when needed

            return BearerAuth(self._bearer_token)
        from sigv4.httpx_auth import SigV4Auth  # noqa: PLC0415 - cold start: only when needed

        assert self._region is not None  # make_config guarantees it without a bearer token
        return SigV4Auth(self.credential_source(), self._region, SIGNING_NAME, clock=self._clock.now)

    def __repr__(self) -> str:
        return f"<LazyAuth {'bearer token' if self._bearer_token is not None else 'SigV4'}>"


class _ClientBase:
    """Configuration, authentication and the per-operation decisions both clients share (no I/O)."""

    _config: ClientConfig

    def _setup(
        self,
        *,
        region: str | None,
        credentials: Credentials | CredentialProvider | None,
        bearer_token: str | None,
        endpoint_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_attempts: int,
        keep_client_timeout: bool,
    ) -> None:
        self._config, bearer_token = make_config(
            region=region,
            credentials=credentials,
            bearer_token=bearer_token,
            endpoint_url=endpoint_url,
            timeout=timeout,
            max_attempts=max_attempts,
            keep_client_timeout=keep_client_timeout,
        )
        self._clock = SigningClock()
        self._authenticator = LazyAuth(bearer_token, credentials, self._config.region, self._clock)

    @property
    def region(self) -> str | None:
        """The region requests are signed for."""
        return self._config.region

    @property
    def endpoint_url(self) -> str:
        """The base URL requests go to."""
        return self._config.endpoint

    def _request(self, http: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest) -> httpx.Request:
        config = self._config
        if config.keep_client_timeout:
            return http.build_request("POST", prepared.url, headers=prepared.headers, content=prepared.body)
        return http.build_request(
            "POST", prepared.url, headers=prepared.headers, content=prepared.body, timeout=config.timeout
        )

    def _policy(self) -> RetryPolicy:
        return RetryPolicy(self._config.max_attempts, self._config.backoff)

    def _flow(
        self, prepared: PreparedRequest, policy: RetryPolicy, failure: BedrockRuntimeError | None = None
    ) -> Flow:
        return call_flow(
            prepared, policy, self._clock, bearer=self._config.bearer, failure=failure, now=utc_now
        )

    # --- per-operation preparation (pure) -----------------------------------------------------------------

    def _prepare_invoke(
        self, operation: Operation, model_id: str, body: Any, options: dict[str, Any]
    ) -> PreparedRequest:
        return build_invoke_request(self._config.endpoint, model_id, body, operation=operation, **options)

    def _prepare_converse(
        self, operation: Operation, model_id: str, arguments: dict[str, Any]
    ) -> PreparedRequest:
        # Converse's modules load on first use: `import client` stays as light as streaming one answer needs.
        from .converse_request import build_converse_body  # noqa: PLC0415

        body = build_converse_body(stream=operation.streaming, **arguments)
        return build_json_request(self._config.endpoint, operation, model_id, body)

    def _prepare_count_tokens(self, model_id: str, arguments: dict[str, Any]) -> PreparedRequest:
        from .converse_request import build_count_tokens_body  # noqa: PLC0415 - Converse loads on first use

        if arguments.get("body") is not None:
            arguments = {**arguments, "body": encode_body(arguments["body"])}
        return build_json_request(
            self._config.endpoint, COUNT_TOKENS, model_id, build_count_tokens_body(**arguments)
        )

    @staticmethod
    def _converse_answer(accepted: Accepted) -> ConverseResponse:
        from .converse_response import ConverseResponse  # noqa: PLC0415 - Converse loads on first use

        answer = _json_answer(accepted, "Converse")
        headers = accepted.head.headers
        return ConverseResponse.from_answer(
            answer,
            request_id=headers.get("x-amzn-requestid"),
            headers={name.lower(): value for name, value in headers.items()},
            retry_attempts=accepted.retries,
        )

    def _duplex_options(self, model_id: str, timeout: httpx.Timeout | None) -> dict[str, Any]:
        if self._config.bearer:
            raise ParamValidationError(
                "InvokeModelWithBidirectionalStream accepts only SigV4 credentials, not a Bedrock API key "
                "(bearer token): the event signatures chain from the request's signature"
            )
        check_model_id(model_id)
        assert self._config.region is not None  # make_config guarantees it without a bearer token
        return {
            "endpoint": self._config.endpoint,
            "model_id": model_id,
            "region": self._config.region,
            "credentials": self._authenticator.credential_source(),
            "clock": self._clock.now,
            "timeout": timeout,
        }

    @staticmethod
    def _invoke_answer(accepted: Accepted) -> InvokeModelResponse:
        from .invoke_response import InvokeModelResponse  # noqa: PLC0415 - only InvokeModel needs it

        return InvokeModelResponse.from_answer(accepted.head.headers, accepted.body or b"", accepted.retries)

    @staticmethod
    def _count_tokens_answer(accepted: Accepted) -> int:
        answer = _json_answer(accepted, "CountTokens")
        tokens = answer.get("inputTokens")
        if isinstance(tokens, bool) or not isinstance(tokens, int):
            raise UnexpectedResponseError(
                f"CountTokens answered without an integer inputTokens: {answer!r:.200}",
                status_code=accepted.head.status_code,
                request_id=accepted.head.headers.get("x-amzn-requestid"),
                retry_attempts=accepted.retries,
            )
        return tokens


_INVOKE_STREAM_DOC = """Invoke ``model_id`` and return the response stream once the service accepted it.

        ``body`` is the model's request (bytes, str, or a dict serialised as JSON). ``trace`` is
        ``"ENABLED"``, ``"DISABLED"`` or ``"ENABLED_FULL"``; ``guardrail_identifier`` and
        ``guardrail_version`` go together; ``performance_config_latency`` is ``"standard"`` or
        ``"optimized"``; ``service_tier`` is ``"priority"``, ``"default"``, ``"flex"`` or ``"reserved"``.
        Invalid arguments raise :class:`~client.ParamValidationError` before anything is sent. An error
        response raises its typed exception (``ThrottlingException``, ``ValidationException``...) after the
        retries it deserves.
"""

_INVOKE_DOC = """Invoke ``model_id`` once and return its whole answer (InvokeModel).

        Same arguments as :meth:`invoke_model_with_response_stream` (``accept`` is the answer's wanted MIME
        type). Returns :class:`~client.InvokeModelResponse` (``.body``, ``.json()``, ``.content_type``,
        ``.request_id``, ``.performance_config_latency``, ``.service_tier``).
"""

_CONVERSE_STREAM_DOC = """Send a Converse request and return its answer as a stream of typed events.

        ``messages`` is the conversation (``[{"role": "user", "content": [{"text": "..."}]}]``); the keyword
        arguments are the API's members in snake case, their values the wire JSON (camelCase inside):
        ``system``, ``inference_config`` (``{"maxTokens": 512, "temperature": 0.5}``), ``tool_config``,
        ``guardrail_config``, ``additional_model_request_fields``, ``additional_model_response_field_paths``,
        ``prompt_variables``, ``request_metadata``, ``performance_config``, ``service_tier``,
        ``output_config``. Bad shapes raise :class:`~client.ParamValidationError` naming the offending path
        before anything is sent. Iterate the returned :class:`~client.ConverseStream`; after its end,
        ``stream.response`` is the accumulated :class:`~client.ConverseResponse`.
"""

_CONVERSE_DOC = """Send a Converse request and return the whole answer as a :class:`~client.ConverseResponse`.

        Same arguments as :meth:`converse_stream`.
"""

_BIDI_DOC = """Open an InvokeModelWithBidirectionalStream session (Amazon Nova Sonic) over HTTP/2.

        Needs the ``bidi`` extra (``pip install 'bedrock-stream[bidi]'``; without it
        :class:`~client.duplex.H2NotInstalledError`). Send input events with ``session.send(event)`` (the JSON
        document that goes into ``chunk.bytes``, as bytes or a dict) while the answer's :class:`~client.Chunk`
        events arrive; ``session.end_input()`` sends the signed end-of-input frame. SigV4 only: a client built
        with a bearer token raises :class:`~client.ParamValidationError`. ``session_limit`` (seconds, the
        service's own limit is 8 minutes) and ``receive_window`` (bytes buffered for a slow reader) are passed
        on.
"""

_COUNT_TOKENS_DOC = """Count the input tokens ``model_id`` would see for a request (CountTokens).

        Pass exactly one of ``body`` (an InvokeModel body: bytes, str or dict) or ``messages`` (a Converse
        request, with optional ``system``, ``tool_config`` and ``additional_model_request_fields``).
"""


class BedrockRuntimeClient(_ClientBase):
    """A Bedrock Runtime client on ``httpx.Client``.

    Args:
        region: AWS region (``us-east-1``). Default: ``AWS_REGION``/``AWS_DEFAULT_REGION`` or the shared
            config file's profile; :class:`~client.NoRegionError` if none.
        credentials: ``sigv4.Credentials`` or a credential provider (``load()``). Default: the standard chain
            (environment, shared files, container, instance metadata), resolved at the first request.
        bearer_token: a Bedrock API key, sent as ``Authorization: Bearer`` instead of SigV4. Default:
            ``AWS_BEARER_TOKEN_BEDROCK`` when no ``credentials`` are given. Not combinable with
            ``credentials``.
        endpoint_url: base URL instead of ``https://bedrock-runtime.{region}.amazonaws.com`` (an emulator,
            a VPC endpoint).
        http_client: an ``httpx.Client`` to send with (its pool, proxies, TLS settings). It is not closed by
            this client. Its own timeout applies unless ``timeout`` is given.
        transport: the default ``http_client``'s wire layer: ``"stdlib"`` (``client.stdlib_transport``)
            or ``"httpx"``. Default: ``BEDROCK_STREAM_TRANSPORT``, else ``"stdlib"`` unless httpx's proxy
            environment applies to the endpoint (see ``client.transport_choice``). Not with ``http_client``.
        timeout: a number (seconds, for connect, each read, write and pool wait) or an ``httpx.Timeout``.
            The read timeout bounds the silence between two pieces of the stream, not the whole answer.
        max_attempts: attempts per call, including the first (retries happen only before the first event).

    One client is safe to use from several threads at once; use it as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        region: str | None = None,
        *,
        credentials: Credentials | CredentialProvider | None = None,
        bearer_token: str | None = None,
        endpoint_url: str | None = None,
        http_client: httpx.Client | None = None,
        transport: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise ParamValidationError(
                f"http_client must be an httpx.Client, not {type(http_client).__name__}"
            )
        if validate_transport(transport) is not None and http_client is not None:
            raise ParamValidationError("pass either http_client or transport, not both")
        self._setup(
            region=region,
            credentials=credentials,
            bearer_token=bearer_token,
            endpoint_url=endpoint_url,
            timeout=timeout,
            max_attempts=max_attempts,
            keep_client_timeout=http_client is not None and timeout is DEFAULT_TIMEOUT,
        )
        self._owns_http = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else default_sync_http_client(self._config.endpoint, self._config.timeout, transport)
        )

    def _run(self, flow: Flow) -> tuple[Accepted, httpx.Response | None]:
        """Drive ``flow`` to its answer: send, read and sleep as it says; raise what ends the call."""
        http = self._http
        response: httpx.Response | None = None
        reply: Reply = None
        try:
            while True:
                step = flow.send(reply)
                if isinstance(step, Send):
                    prepared = step.request
                    try:
                        # Never follow a redirect, whatever the http_client says: the service does not send
                        # them, and httpx would re-send the session token (and the body) to the new location.
                        response = http.send(
                            self._request(http, prepared),
                            auth=self._authenticator(),
                            stream=True,
                            follow_redirects=False,
                        )
                    except httpx.TransportError as exc:
                        reply = _transport_failure(exc, prepared, "could not get a response from")
                        continue
                    reply = Head(response.status_code, response.headers)
                elif isinstance(step, ReadBody):
                    assert response is not None
                    reply = _read_body(response, step, prepared)
                else:
                    _sleep(step.seconds)
                    reply = None
        except StopIteration as stop:
            return stop.value, response
        except CredentialError as exc:
            raise credentials_error(exc) from exc

    def invoke_model_with_response_stream(
        self,
        model_id: str,
        body: bytes | str | dict[str, Any],
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        trace: str | None = None,
        guardrail_identifier: str | None = None,
        guardrail_version: str | None = None,
        performance_config_latency: str | None = None,
        service_tier: str | None = None,
    ) -> ResponseStream:
        prepared = self._prepare_invoke(
            INVOKE_MODEL_WITH_RESPONSE_STREAM,
            model_id,
            body,
            {
                "content_type": content_type,
                "accept": accept,
                "trace": trace,
                "guardrail_identifier": guardrail_identifier,
                "guardrail_version": guardrail_version,
                "performance_config_latency": performance_config_latency,
                "service_tier": service_tier,
            },
        )
        stream: ResponseStream = self._open_stream(prepared, ResponseStream)
        return stream

    invoke_model_with_response_stream.__doc__ = _INVOKE_STREAM_DOC

    def _open_stream(self, prepared: PreparedRequest, stream_class: type[EventStream[Any]]) -> Any:
        policy = self._policy()
        accepted, response = self._run(self._flow(prepared, policy))
        assert response is not None

        def reopen(error: BedrockRuntimeError) -> tuple[httpx.Response, int]:
            accepted, response = self._run(self._flow(prepared, policy, error))
            assert response is not None
            return response, accepted.retries

        return stream_class(response, retry_attempts=accepted.retries, reopen=reopen)

    def converse_stream(
        self,
        model_id: str,
        messages: Sequence[Message] | None,
        *,
        system: Sequence[SystemContentBlock] | None = None,
        inference_config: InferenceConfig | None = None,
        tool_config: ToolConfig | None = None,
        guardrail_config: GuardrailConfig | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        prompt_variables: Mapping[str, Mapping[str, str]] | None = None,
        request_metadata: Mapping[str, str] | None = None,
        performance_config: PerformanceConfig | None = None,
        service_tier: ServiceTier | None = None,
        output_config: OutputConfig | None = None,
    ) -> ConverseStream:
        from .converse_stream import ConverseStream  # noqa: PLC0415 - Converse loads on first use

        prepared = self._prepare_converse(
            CONVERSE_STREAM,
            model_id,
            {
                "messages": messages,
                "system": system,
                "inference_config": inference_config,
                "tool_config": tool_config,
                "guardrail_config": guardrail_config,
                "additional_model_request_fields": additional_model_request_fields,
                "additional_model_response_field_paths": additional_model_response_field_paths,
                "prompt_variables": prompt_variables,
                "request_metadata": request_metadata,
                "performance_config": performance_config,
                "service_tier": service_tier,
                "output_config": output_config,
            },
        )
        stream: ConverseStream = self._open_stream(prepared, ConverseStream)
        return stream

    converse_stream.__doc__ = _CONVERSE_STREAM_DOC

    def converse(
        self,
        model_id: str,
        messages: Sequence[Message] | None,
        *,
        system: Sequence[SystemContentBlock] | None = None,
        inference_config: InferenceConfig | None = None,
        tool_config: ToolConfig | None = None,
        guardrail_config: GuardrailConfig | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        prompt_variables: Mapping[str, Mapping[str, str]] | None = None,
        request_metadata: Mapping[str, str] | None = None,
        performance_config: PerformanceConfig | None = None,
        service_tier: ServiceTier | None = None,
        output_config: OutputConfig | None = None,
    ) -> ConverseResponse:
        prepared = self._prepare_converse(
            CONVERSE,
            model_id,
            {
                "messages": messages,
                "system": system,
                "inference_config": inference_config,
                "tool_config": tool_config,
                "guardrail_config": guardrail_config,
                "additional_model_request_fields": additional_model_request_fields,
                "additional_model_response_field_paths": additional_model_response_field_paths,
                "prompt_variables": prompt_variables,
                "request_metadata": request_metadata,
                "performance_config": performance_config,
                "service_tier": service_tier,
                "output_config": output_config,
            },
        )
        accepted, _ = self._run(self._flow(prepared, self._policy()))
        return self._converse_answer(accepted)

    converse.__doc__ = _CONVERSE_DOC

    def invoke_model(
        self,
        model_id: str,
        body: bytes | str | dict[str, Any],
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        trace: str | None = None,
        guardrail_identifier: str | None = None,
        guardrail_version: str | None = None,
        performance_config_latency: str | None = None,
        service_tier: str | None = None,
    ) -> InvokeModelResponse:
        prepared = self._prepare_invoke(
            INVOKE_MODEL,
            model_id,
            body,
            {
                "content_type": content_type,
                "accept": accept,
                "trace": trace,
                "guardrail_identifier": guardrail_identifier,
                "guardrail_version": guardrail_version,
                "performance_config_latency": performance_config_latency,
                "service_tier": service_tier,
            },
        )
        accepted, _ = self._run(self._flow(prepared, self._policy()))
        return self._invoke_answer(accepted)

    invoke_model.__doc__ = _INVOKE_DOC

    def count_tokens(
        self,
        model_id: str,
        *,
        body: bytes | str | dict[str, Any] | None = None,
        messages: list[Any] | None = None,
        system: list[Any] | None = None,
        tool_config: Any = None,
        additional_model_request_fields: Any = None,
    ) -> int:
        prepared = self._prepare_count_tokens(
            model_id,
            {
                "body": body,
                "messages": messages,
                "system": system,
                "tool_config": tool_config,
                "additional_model_request_fields": additional_model_request_fields,
            },
        )
        accepted, _ = self._run(self._flow(prepared, self._policy()))
        return self._count_tokens_answer(accepted)

    count_tokens.__doc__ = _COUNT_TOKENS_DOC

    def invoke_model_with_bidirectional_stream(
        self, model_id: str, **options: Any
    ) -> SyncBidirectionalSession:
        from .duplex import open_bidirectional_stream_sync  # noqa: PLC0415 - h2 is optional

        timeout = self._http.timeout if self._config.keep_client_timeout else self._config.timeout
        try:
            return open_bidirectional_stream_sync(**self._duplex_options(model_id, timeout), **options)
        except CredentialError as exc:
            raise credentials_error(exc) from exc

    invoke_model_with_bidirectional_stream.__doc__ = _BIDI_DOC

    def close(self) -> None:
        """Close the underlying ``httpx.Client`` (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BedrockRuntimeClient(region={self.region!r}, endpoint_url={self.endpoint_url!r})"


def _read_body(response: httpx.Response, step: ReadBody, prepared: PreparedRequest) -> Body | Failed:
    parts: list[bytes] = []
    size = 0
    limit = step.limit
    try:
        for chunk in body_reader(response):
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                break
    except httpx.HTTPError as exc:
        if not step.partial_ok:
            return _transport_failure(exc, prepared, "the answer was cut while reading it from")
        # keep what arrived: a cut error body still names the error more often than not
    finally:
        response.close()
    return Body(b"".join(parts))


async def _async_read_body(
    response: httpx.Response, step: ReadBody, prepared: PreparedRequest
) -> Body | Failed:
    parts: list[bytes] = []
    size = 0
    limit = step.limit
    reader: AsyncIterator[bytes] = async_body_reader(response)
    try:
        async for chunk in reader:
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                break
    except httpx.HTTPError as exc:
        if not step.partial_ok:
            return _transport_failure(exc, prepared, "the answer was cut while reading it from")
    finally:
        await response.aclose()
    return Body(b"".join(parts))


class AsyncBedrockRuntimeClient(_ClientBase):
    """The asyncio/trio twin of :class:`BedrockRuntimeClient`, on ``httpx.AsyncClient``.

    Same arguments (``http_client`` is an ``httpx.AsyncClient``). Use::

        async with AsyncBedrockRuntimeClient("us-east-1") as bedrock:
            stream = await bedrock.invoke_model_with_response_stream(model_id, body)
            async with stream:
                async for event in stream:
                    ...

    One client is safe to share between tasks.
    """

    def __init__(
        self,
        region: str | None = None,
        *,
        credentials: Credentials | CredentialProvider | None = None,
        bearer_token: str | None = None,
        endpoint_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ParamValidationError(
                f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}"
            )
        self._setup(
            region=region,
            credentials=credentials,
            bearer_token=bearer_token,
            endpoint_url=endpoint_url,
            timeout=timeout,
            max_attempts=max_attempts,
            keep_client_timeout=http_client is not None and timeout is DEFAULT_TIMEOUT,
        )
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.AsyncClient(timeout=self._config.timeout)
        )

    async def _run(self, flow: Flow) -> tuple[Accepted, httpx.Response | None]:
        """Drive ``flow`` to its answer (the twin of :meth:`BedrockRuntimeClient._run`)."""
        http = self._http
        response: httpx.Response | None = None
        reply: Reply = None
        try:
            while True:
                step = flow.send(reply)
                if isinstance(step, Send):
                    prepared = step.request
                    try:
                        response = await http.send(
                            self._request(http, prepared),
                            auth=self._authenticator(),
                            stream=True,
                            follow_redirects=False,
                        )
                    except httpx.TransportError as exc:
                        reply = _transport_failure(exc, prepared, "could not get a response from")
                        continue
                    reply = Head(response.status_code, response.headers)
                elif isinstance(step, ReadBody):
                    assert response is not None
                    reply = await _async_read_body(response, step, prepared)
                else:
                    await _async_sleep(step.seconds)
                    reply = None
        except StopIteration as stop:
            return stop.value, response
        except CredentialError as exc:
            raise credentials_error(exc) from exc

    async def invoke_model_with_response_stream(
        self,
        model_id: str,
        body: bytes | str | dict[str, Any],
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        trace: str | None = None,
        guardrail_identifier: str | None = None,
        guardrail_version: str | None = None,
        performance_config_latency: str | None = None,
        service_tier: str | None = None,
    ) -> AsyncResponseStream:
        prepared = self._prepare_invoke(
            INVOKE_MODEL_WITH_RESPONSE_STREAM,
            model_id,
            body,
            {
                "content_type": content_type,
                "accept": accept,
                "trace": trace,
                "guardrail_identifier": guardrail_identifier,
                "guardrail_version": guardrail_version,
                "performance_config_latency": performance_config_latency,
                "service_tier": service_tier,
            },
        )
        stream: AsyncResponseStream = await self._open_stream(prepared, AsyncResponseStream)
        return stream

    invoke_model_with_response_stream.__doc__ = _INVOKE_STREAM_DOC

    async def _open_stream(
        self, prepared: PreparedRequest, stream_class: type[AsyncEventStream[Any]]
    ) -> Any:
        policy = self._policy()
        accepted, response = await self._run(self._flow(prepared, policy))
        assert response is not None

        async def reopen(error: BedrockRuntimeError) -> tuple[httpx.Response, int]:
            accepted, response = await self._run(self._flow(prepared, policy, error))
            assert response is not None
            return response, accepted.retries

        return stream_class(response, retry_attempts=accepted.retries, reopen=reopen)

    async def converse_stream(
        self,
        model_id: str,
        messages: Sequence[Message] | None,
        *,
        system: Sequence[SystemContentBlock] | None = None,
        inference_config: InferenceConfig | None = None,
        tool_config: ToolConfig | None = None,
        guardrail_config: GuardrailConfig | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        prompt_variables: Mapping[str, Mapping[str, str]] | None = None,
        request_metadata: Mapping[str, str] | None = None,
        performance_config: PerformanceConfig | None = None,
        service_tier: ServiceTier | None = None,
        output_config: OutputConfig | None = None,
    ) -> AsyncConverseStream:
        from .converse_stream import AsyncConverseStream  # noqa: PLC0415 - Converse loads on first use

        prepared = self._prepare_converse(
            CONVERSE_STREAM,
            model_id,
            {
                "messages": messages,
                "system": system,
                "inference_config": inference_config,
                "tool_config": tool_config,
                "guardrail_config": guardrail_config,
                "additional_model_request_fields": additional_model_request_fields,
                "additional_model_response_field_paths": additional_model_response_field_paths,
                "prompt_variables": prompt_variables,
                "request_metadata": request_metadata,
                "performance_config": performance_config,
                "service_tier": service_tier,
                "output_config": output_config,
            },
        )
        stream: AsyncConverseStream = await self._open_stream(prepared, AsyncConverseStream)
        return stream

    converse_stream.__doc__ = _CONVERSE_STREAM_DOC

    async def converse(
        self,
        model_id: str,
        messages: Sequence[Message] | None,
        *,
        system: Sequence[SystemContentBlock] | None = None,
        inference_config: InferenceConfig | None = None,
        tool_config: ToolConfig | None = None,
        guardrail_config: GuardrailConfig | None = None,
        additional_model_request_fields: Mapping[str, Any] | None = None,
        additional_model_response_field_paths: Sequence[str] | None = None,
        prompt_variables: Mapping[str, Mapping[str, str]] | None = None,
        request_metadata: Mapping[str, str] | None = None,
        performance_config: PerformanceConfig | None = None,
        service_tier: ServiceTier | None = None,
        output_config: OutputConfig | None = None,
    ) -> ConverseResponse:
        prepared = self._prepare_converse(
            CONVERSE,
            model_id,
            {
                "messages": messages,
                "system": system,
                "inference_config": inference_config,
                "tool_config": tool_config,
                "guardrail_config": guardrail_config,
                "additional_model_request_fields": additional_model_request_fields,
                "additional_model_response_field_paths": additional_model_response_field_paths,
                "prompt_variables": prompt_variables,
                "request_metadata": request_metadata,
                "performance_config": performance_config,
                "service_tier": service_tier,
                "output_config": output_config,
            },
        )
        accepted, _ = await self._run(self._flow(prepared, self._policy()))
        return self._converse_answer(accepted)

    converse.__doc__ = _CONVERSE_DOC

    async def invoke_model(
        self,
        model_id: str,
        body: bytes | str | dict[str, Any],
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        trace: str | None = None,
        guardrail_identifier: str | None = None,
        guardrail_version: str | None = None,
        performance_config_latency: str | None = None,
        service_tier: str | None = None,
    ) -> InvokeModelResponse:
        prepared = self._prepare_invoke(
            INVOKE_MODEL,
            model_id,
            body,
            {
                "content_type": content_type,
                "accept": accept,
                "trace": trace,
                "guardrail_identifier": guardrail_identifier,
                "guardrail_version": guardrail_version,
                "performance_config_latency": performance_config_latency,
                "service_tier": service_tier,
            },
        )
        accepted, _ = await self._run(self._flow(prepared, self._policy()))
        return self._invoke_answer(accepted)

    invoke_model.__doc__ = _INVOKE_DOC

    async def count_tokens(
        self,
        model_id: str,
        *,
        body: bytes | str | dict[str, Any] | None = None,
        messages: list[Any] | None = None,
        system: list[Any] | None = None,
        tool_config: Any = None,
        additional_model_request_fields: Any = None,
    ) -> int:
        prepared = self._prepare_count_tokens(
            model_id,
            {
                "body": body,
                "messages": messages,
                "system": system,
                "tool_config": tool_config,
                "additional_model_request_fields": additional_model_request_fields,
            },
        )
        accepted, _ = await self._run(self._flow(prepared, self._policy()))
        return self._count_tokens_answer(accepted)

    count_tokens.__doc__ = _COUNT_TOKENS_DOC

    async def invoke_model_with_bidirectional_stream(
        self, model_id: str, **options: Any
    ) -> BidirectionalSession:
        from .duplex import open_bidirectional_stream  # noqa: PLC0415 - h2 is optional

        timeout = self._http.timeout if self._config.keep_client_timeout else self._config.timeout
        try:
            return await open_bidirectional_stream(**self._duplex_options(model_id, timeout), **options)
        except CredentialError as exc:
            raise credentials_error(exc) from exc

    invoke_model_with_bidirectional_stream.__doc__ = _BIDI_DOC

    async def aclose(self) -> None:
        """Close the underlying ``httpx.AsyncClient`` (unless it was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncBedrockRuntimeClient(region={self.region!r}, endpoint_url={self.endpoint_url!r})"
