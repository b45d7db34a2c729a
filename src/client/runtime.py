"""BedrockRuntimeClient and AsyncBedrockRuntimeClient: thin I/O shells over the shared, pure decisions.

:class:`_Settings` holds everything both clients decide the same way: configuration checks, authentication
(SigV4 or bearer, resolved lazily and thread-safely), the corrected clock, request preparation, response
classification and the retry policy. The two clients only send, read and sleep (``time.sleep`` or
``anyio.sleep``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from time import sleep as _sleep
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from .errors import (
    BedrockRuntimeError,
    EndpointConnectionError,
    NoRegionError,
    ParamValidationError,
    UnexpectedResponseError,
    error_from_http_response,
)
from .request import EVENTSTREAM_CONTENT_TYPE, InvokeRequest, build_invoke_request, resolve_endpoint
from .retry import DEFAULT_MAX_ATTEMPTS, Backoff, RetryAction, RetryPolicy
from .stream import AsyncResponseStream, ResponseStream, async_body_reader, body_reader
from .transport_choice import default_sync_http_client, validate_transport

if TYPE_CHECKING:
    from typing_extensions import Self

    from sigv4 import CredentialProvider, Credentials

__all__ = ["DEFAULT_TIMEOUT", "AsyncBedrockRuntimeClient", "BedrockRuntimeClient"]

#: Connect, read (per read: the longest silence tolerated between two pieces of the stream), write and pool
#: timeouts. There is no total-time limit: a long answer streams for as long as the model keeps talking.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)

SIGNING_NAME = "bedrock"
BEARER_TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"

# Error bodies are small JSON documents; reading more than this from a misbehaving endpoint only costs memory.
_MAX_ERROR_BODY = 64 * 1024


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def _async_sleep(delay: float) -> None:
    import anyio  # noqa: PLC0415 - httpx's own dependency; only the async client needs it

    await anyio.sleep(delay)


class _Settings:
    """Configuration and every decision shared by the sync and async clients. Safe to share across threads."""

    def __init__(
        self,
        *,
        region: str | None,
        credentials: Credentials | CredentialProvider | None,
        bearer_token: str | None,
        endpoint_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_attempts: int,
        respect_client_timeout: bool,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ParamValidationError(f"max_attempts must be an integer >= 1, not {max_attempts!r}")
        if credentials is not None and bearer_token is not None:
            raise ParamValidationError(
                "pass either credentials (SigV4) or bearer_token (Bedrock API key), not both"
            )
        if bearer_token is not None and (not isinstance(bearer_token, str) or not bearer_token.strip()):
            raise ParamValidationError("bearer_token must be a non-empty string")
        if credentials is not None and not callable(getattr(credentials, "load", None)):
            from sigv4 import Credentials as _Credentials  # noqa: PLC0415 - cold start: only when needed

            if not isinstance(credentials, _Credentials):
                raise ParamValidationError(
                    "credentials must be sigv4.Credentials or a provider with load(), "
                    f"not {type(credentials).__name__}"
                )
        if bearer_token is None and credentials is None:
            # Like botocore: the environment's API key is used unless credentials were configured in code.
            bearer_token = os.environ.get(BEARER_TOKEN_ENV) or None
        self.bearer = bearer_token is not None
        if region is not None and (not isinstance(region, str) or not region):
            raise ParamValidationError(f"region must be a non-empty string, not {region!r}")
        if region is None and not (self.bearer and endpoint_url is not None):
            # Needed for the endpoint and the signing scope; only a bearer token with an explicit endpoint
            # can do without one.
            from sigv4.providers import resolve_region  # noqa: PLC0415 - cold start: only when needed

            region = resolve_region()
            if not region:
                raise NoRegionError(
                    "no AWS region: pass region=..., set AWS_REGION (or AWS_DEFAULT_REGION), or set "
                    "'region' in the profile of ~/.aws/config"
                )
        self.region = region
        self.endpoint = resolve_endpoint(endpoint_url, region)
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
                raise ParamValidationError(
                    f"timeout must be a positive number or httpx.Timeout, not {timeout!r}"
                )
            timeout = httpx.Timeout(float(timeout))
        self.timeout = timeout
        self.respect_client_timeout = respect_client_timeout
        self.max_attempts = max_attempts
        self.backoff = Backoff()
        self._bearer_token = bearer_token
        self._credentials = credentials
        self._auth: httpx.Auth | None = None
        self._lock = threading.Lock()
        # server time - local time, learnt from a signature-expired response; read by the signer's clock.
        self._clock_offset = timedelta(0)

    # --- authentication -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The signing clock: local UTC time corrected by the learnt skew."""
        return datetime.now(timezone.utc) + self._clock_offset

    @property
    def clock_offset(self) -> timedelta:
        """The correction currently applied to the signing clock."""
        return self._clock_offset

    def auth(self) -> httpx.Auth:
        """The request authenticator, created on first use (the default credential chain is only built -
        and its modules only imported - when no credentials were given)."""
        auth = self._auth
        if auth is not None:
            return auth
        with self._lock:
            if self._auth is None:
                self._auth = self._make_auth()
            return self._auth

    def _make_auth(self) -> httpx.Auth:
        if self._bearer_token is not None:
            from sigv4.httpx_auth import BearerAuth  # noqa: PLC0415 - cold start: only when needed

            return BearerAuth(self._bearer_token)
        from sigv4.httpx_auth import SigV4Auth  # noqa: PLC0415 - cold start: only when needed

        source = self._credentials
        if source is None:
            from sigv4.providers import default_chain  # noqa: PLC0415 - cold start: only when needed

            source = default_chain()
        assert self.region is not None  # guaranteed in __init__ when not using a bearer token
        return SigV4Auth(source, self.region, SIGNING_NAME, clock=self.now)

    # --- requests and responses ---------------------------------------------------------------------------

    def prepare(self, model_id: str, body: Any, **options: Any) -> InvokeRequest:
        return build_invoke_request(self.endpoint, model_id, body, **options)

    def build(self, http: httpx.Client | httpx.AsyncClient, prepared: InvokeRequest) -> httpx.Request:
        if self.respect_client_timeout:
            return http.build_request("POST", prepared.url, headers=prepared.headers, content=prepared.body)
        return http.build_request(
            "POST", prepared.url, headers=prepared.headers, content=prepared.body, timeout=self.timeout
        )

    def new_policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts, self.backoff)

    @staticmethod
    def is_event_stream(response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        content_type = str(response.headers.get("content-type", ""))
        return content_type.split(";", 1)[0].strip().lower() == EVENTSTREAM_CONTENT_TYPE

    @staticmethod
    def response_error(response: httpx.Response, body: bytes, policy: RetryPolicy) -> BedrockRuntimeError:
        if response.status_code == 200:
            content_type = response.headers.get("content-type")
            shown = body[:512].decode("utf-8", "replace")
            return UnexpectedResponseError(
                f"expected an event stream ({EVENTSTREAM_CONTENT_TYPE}) but got a 200 with content type "
                f"{content_type!r}: {shown!r}",
                status_code=200,
                request_id=response.headers.get("x-amzn-requestid"),
                body=body,
                headers=response.headers,
                retry_attempts=policy.retries,
            )
        return error_from_http_response(
            response.status_code, response.headers, body, retry_attempts=policy.retries
        )

    @staticmethod
    def transport_error(
        exc: httpx.HTTPError, prepared: InvokeRequest, policy: RetryPolicy
    ) -> BedrockRuntimeError:
        error = EndpointConnectionError(
            f"could not get a response from {prepared.url.split('/model/', 1)[0]}: "
            f"{type(exc).__name__}: {exc or 'no detail'}",
            retry_attempts=policy.retries,
        )
        error.__cause__ = exc
        return error

    def decide(self, failure: BedrockRuntimeError, policy: RetryPolicy) -> RetryAction:
        """Retry decision for a failed attempt; applies a clock correction when that is the remedy."""
        if self.bearer:
            # Nothing is signed with a bearer token: a time complaint cannot be fixed by our clock.
            action = policy.after_failure(failure, date_header=None)
        else:
            action = policy.after_failure(
                failure, date_header=failure.headers.get("date"), local_now=_utc_now()
            )
        if action.clock_offset is not None:
            self._clock_offset = action.clock_offset
        if not action.retry:
            failure.retry_attempts = policy.retries
        return action


_INVOKE_DOC = """Invoke ``model_id`` and return the response stream once the service accepted the request.

        ``body`` is the model's request (bytes, str, or a dict serialised as JSON). ``trace`` is
        ``"ENABLED"``, ``"DISABLED"`` or ``"ENABLED_FULL"``; ``guardrail_identifier`` and
        ``guardrail_version`` go together; ``performance_config_latency`` is ``"standard"`` or
        ``"optimized"``; ``service_tier`` is ``"priority"``, ``"default"``, ``"flex"`` or ``"reserved"``.
        Invalid arguments raise :class:`~client.ParamValidationError` before anything is sent. An error
        response raises its typed exception (``ThrottlingException``, ``ValidationException``...) after the
        retries it deserves.
"""


class BedrockRuntimeClient:
    """A Bedrock Runtime client for ``InvokeModelWithResponseStream`` on ``httpx.Client``.

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
        self._settings = _Settings(
            region=region,
            credentials=credentials,
            bearer_token=bearer_token,
            endpoint_url=endpoint_url,
            timeout=timeout,
            max_attempts=max_attempts,
            respect_client_timeout=http_client is not None and timeout is DEFAULT_TIMEOUT,
        )
        self._owns_http = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else default_sync_http_client(self._settings.endpoint, self._settings.timeout, transport)
        )

    @property
    def region(self) -> str | None:
        """The region requests are signed for."""
        return self._settings.region

    @property
    def endpoint_url(self) -> str:
        """The base URL requests go to."""
        return self._settings.endpoint

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
        settings = self._settings
        prepared = settings.prepare(
            model_id,
            body,
            content_type=content_type,
            accept=accept,
            trace=trace,
            guardrail_identifier=guardrail_identifier,
            guardrail_version=guardrail_version,
            performance_config_latency=performance_config_latency,
            service_tier=service_tier,
        )
        policy = settings.new_policy()
        response = self._send(prepared, policy, None)

        def reopen(error: BedrockRuntimeError) -> tuple[httpx.Response, int]:
            return self._send(prepared, policy, error), policy.retries

        return ResponseStream(response, retry_attempts=policy.retries, reopen=reopen)

    invoke_model_with_response_stream.__doc__ = _INVOKE_DOC

    def _send(
        self, prepared: InvokeRequest, policy: RetryPolicy, failure: BedrockRuntimeError | None
    ) -> httpx.Response:
        settings = self._settings
        http = self._http
        while True:
            if failure is not None:
                action = settings.decide(failure, policy)
                if not action.retry:
                    raise failure
                if action.delay > 0:
                    _sleep(action.delay)
            policy.start_attempt()
            request = settings.build(http, prepared)
            try:
                # Never follow a redirect, whatever the http_client says: the service does not send them,
                # and httpx would re-send the session token (and the body) to the new location.
                response = http.send(request, auth=settings.auth(), stream=True, follow_redirects=False)
            except httpx.TransportError as exc:
                failure = settings.transport_error(exc, prepared, policy)
                continue
            if settings.is_event_stream(response):
                return response
            parts: list[bytes] = []
            try:
                _read_limited(body_reader(response), parts)
            except httpx.HTTPError:
                pass  # keep what arrived: a cut error body still names the error more often than not
            finally:
                response.close()
            body = b"".join(parts)[:_MAX_ERROR_BODY]
            failure = settings.response_error(response, body, policy)

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


def _read_limited(chunks: Iterator[bytes], parts: list[bytes]) -> None:
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= _MAX_ERROR_BODY:
            return


class AsyncBedrockRuntimeClient:
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
        self._settings = _Settings(
            region=region,
            credentials=credentials,
            bearer_token=bearer_token,
            endpoint_url=endpoint_url,
            timeout=timeout,
            max_attempts=max_attempts,
            respect_client_timeout=http_client is not None and timeout is DEFAULT_TIMEOUT,
        )
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.AsyncClient(timeout=self._settings.timeout)
        )

    @property
    def region(self) -> str | None:
        """The region requests are signed for."""
        return self._settings.region

    @property
    def endpoint_url(self) -> str:
        """The base URL requests go to."""
        return self._settings.endpoint

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
        settings = self._settings
        prepared = settings.prepare(
            model_id,
            body,
            content_type=content_type,
            accept=accept,
            trace=trace,
            guardrail_identifier=guardrail_identifier,
            guardrail_version=guardrail_version,
            performance_config_latency=performance_config_latency,
            service_tier=service_tier,
        )
        policy = settings.new_policy()
        response = await self._send(prepared, policy, None)

        async def reopen(error: BedrockRuntimeError) -> tuple[httpx.Response, int]:
            return await self._send(prepared, policy, error), policy.retries

        return AsyncResponseStream(response, retry_attempts=policy.retries, reopen=reopen)

    invoke_model_with_response_stream.__doc__ = _INVOKE_DOC

    async def _send(
        self, prepared: InvokeRequest, policy: RetryPolicy, failure: BedrockRuntimeError | None
    ) -> httpx.Response:
        settings = self._settings
        http = self._http
        while True:
            if failure is not None:
                action = settings.decide(failure, policy)
                if not action.retry:
                    raise failure
                if action.delay > 0:
                    await _async_sleep(action.delay)
            policy.start_attempt()
            request = settings.build(http, prepared)
            try:
                response = await http.send(request, auth=settings.auth(), stream=True, follow_redirects=False)
            except httpx.TransportError as exc:
                failure = settings.transport_error(exc, prepared, policy)
                continue
            if settings.is_event_stream(response):
                return response
            parts: list[bytes] = []
            size = 0
            try:
                async for chunk in async_body_reader(response):
                    parts.append(chunk)
                    size += len(chunk)
                    if size >= _MAX_ERROR_BODY:
                        break
            except httpx.HTTPError:
                pass  # keep what arrived (as the sync client does)
            finally:
                await response.aclose()
            body = b"".join(parts)[:_MAX_ERROR_BODY]
            failure = settings.response_error(response, body, policy)

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
