"""The one place where exceptions become HTTP answers.

Upstream failures are translated here (content filter → 400, context overflow → 413, no capacity
→ 429 with Retry-After, upstream down → 503), and so is a store that cannot take a write (503
with Retry-After: nothing could be metered, so no model call was made); anything unexpected is
logged with its trace and answered 500 with a generic message and the request id — never the
exception's text.
"""

from __future__ import annotations

import logging
import math
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
from shared.ports import StoreUnavailable

log = logging.getLogger("gateway.errors")

# When the store did not say: the embedded store reopens itself every second, a throttled
# Cosmos DB says how long, anything else is as good a guess as any.
STORE_RETRY_AFTER_SECONDS = 2


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


def from_store(exc: StoreUnavailable, request_id: str) -> GatewayError:
    log.warning("store unavailable request_id=%s: %s", request_id, exc)
    wait = STORE_RETRY_AFTER_SECONDS if exc.retry_after is None else exc.retry_after
    return ServiceUnavailable(
        "the gateway cannot record usage right now, so the call was not made; retry later",
        code="store_unavailable",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def to_gateway_error(exc: BaseException, request_id: str) -> GatewayError:
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, UpstreamError):
        return from_upstream(exc)
    if isinstance(exc, StoreUnavailable):
        return from_store(exc, request_id)
    log.error("unhandled error request_id=%s", request_id, exc_info=exc)
    return GatewayError("internal error; quote the request id when reporting it")


def error_response(exc: BaseException, request_id: str) -> JSONResponse:
    error = to_gateway_error(exc, request_id)
    headers = {**error.headers, "x-request-id": request_id}
    return JSONResponse(error_body(error, request_id), status_code=error.status, headers=headers)
