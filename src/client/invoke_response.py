"""InvokeModelResponse: the whole answer of one InvokeModel call, as received."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UnexpectedResponseError
from .operations import REQUEST_ID, RESPONSE_PERFORMANCE_CONFIG_LATENCY, RESPONSE_SERVICE_TIER

__all__ = ["InvokeModelResponse"]


@dataclass(frozen=True)
class InvokeModelResponse:
    """The model's answer to InvokeModel: its bytes untouched, plus what the response headers say."""

    #: The model's answer, exactly as sent (usually JSON; see ``content_type``).
    body: bytes = field(repr=False)
    #: The answer's MIME type (the response's ``Content-Type``: the model's own type).
    content_type: str | None
    #: ``x-amzn-RequestId`` of the response.
    request_id: str | None
    #: ``X-Amzn-Bedrock-PerformanceConfig-Latency`` of the response, when sent.
    performance_config_latency: str | None
    #: ``X-Amzn-Bedrock-Service-Tier`` of the response, when sent.
    service_tier: str | None
    #: All response headers (lower-case names).
    headers: Mapping[str, str] = field(repr=False)
    #: Retries made before this answer was accepted.
    retry_attempts: int = 0

    @classmethod
    def from_answer(cls, headers: Mapping[str, str], body: bytes, retry_attempts: int) -> InvokeModelResponse:
        """Build from a 200's headers (case-insensitive mapping) and body."""
        return cls(
            body=body,
            content_type=headers.get("content-type"),
            request_id=headers.get(REQUEST_ID.lower()),
            performance_config_latency=headers.get(RESPONSE_PERFORMANCE_CONFIG_LATENCY.lower()),
            service_tier=headers.get(RESPONSE_SERVICE_TIER.lower()),
            headers={name.lower(): value for name, value in headers.items()},
            retry_attempts=retry_attempts,
        )

    def json(self) -> Any:
        """The body parsed as JSON; :class:`~client.UnexpectedResponseError` if it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise UnexpectedResponseError(
                f"the model's answer is not JSON (content type {self.content_type!r}): "
                f"{self.body[:200].decode('utf-8', 'replace')!r}",
                status_code=200,
                request_id=self.request_id,
            ) from exc
