"""Errors the gateway answers with on purpose, each with its HTTP status and machine code.

Every non-2xx answer has one shape, built in ``shared/http/error_map.py``:
``{"error": {"code", "message", "request_id", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details
        self.headers = headers or {}


class BadRequest(GatewayError):
    status, code = 400, "bad_request"


class Unauthorized(GatewayError):
    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class MethodNotAllowed(GatewayError):
    status, code = 405, "method_not_allowed"


class Conflict(GatewayError):
    status, code = 409, "conflict"


class PayloadTooLarge(GatewayError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(GatewayError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(GatewayError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, round(retry_after + 0.499))))


class BadGateway(GatewayError):
    status, code = 502, "bad_gateway"


class ServiceUnavailable(GatewayError):
    status, code = 503, "service_unavailable"
