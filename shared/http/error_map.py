"""The one place where exceptions become HTTP answers.

Upstream failures are translated here (content filter → 400, context overflow → 413, no capacity
→ 429 with Retry-After, upstream down → 503); anything unexpected is logged with its trace and
answered 500 with a generic message and the request id — never the exception's text.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse

from shared.domain.errors import (
    BadGateway,
    BadRequest,
    GatewayError,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
)
from shared.domain.upstream import (
    NoCapacity,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamUnavailable,
)

log = logging.getLogger("gateway.errors")


def from_upstream(exc: UpstreamError) -> GatewayError:
    if isinstance(exc, UpstreamRejected):
        if exc.reason == "content_filter":
            return BadRequest(
                "the request or its answer was blocked by the Azure OpenAI content filter",
                code="content_filtered",
            )
        if exc.reason == "context_length_exceeded":
            return PayloadTooLarge(
                "the prompt does not fit the model's context window", code="context_too_long"
            )
        return BadGateway("the model service rejected the request", code="upstream_rejected")
    if isinstance(exc, NoCapacity | UpstreamThrottled):
        retry = exc.retry_after if exc.retry_after is not None else 1.0
        return TooManyRequests(
            "every model deployment is at capacity; retry later or use async (Prefer: "
            "respond-async)",
            code="capacity_exhausted",
            retry_after=retry,
        )
    if isinstance(exc, UpstreamUnavailable):
        return ServiceUnavailable(
            "the model service is unavailable; retry later",
            code="upstream_unavailable",
            headers={"Retry-After": "5"},
        )
    return BadGateway("the model service failed", code="upstream_error")


def error_body(error: GatewayError, request_id: str) -> dict[str, Any]:
    return {
        "error": {
            "code": error.code,
            "message": error.message,
            "request_id": request_id,
            "details": error.details,
        }
    }


def to_gateway_error(exc: BaseException, request_id: str) -> GatewayError:
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, UpstreamError):
        return from_upstream(exc)
    log.error("unhandled error request_id=%s", request_id, exc_info=exc)
    return GatewayError("internal error; quote the request id when reporting it")


def error_response(exc: BaseException, request_id: str) -> JSONResponse:
    error = to_gateway_error(exc, request_id)
    headers = {**error.headers, "x-request-id": request_id}
    return JSONResponse(error_body(error, request_id), status_code=error.status, headers=headers)
