"""Failures of an upstream Azure OpenAI call, in the gateway's own terms.

Adapters translate SDK exceptions into these; the router decides what to do with them and the
error map (shared/http/errors.py) turns what is left into HTTP answers.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Base class; ``deployment`` names where it happened."""

    def __init__(self, message: str, *, deployment: str = "") -> None:
        super().__init__(message)
        self.deployment = deployment


class UpstreamThrottled(UpstreamError):
    """429 from a deployment; ``retry_after`` seconds from retry-after-ms / retry-after."""

    def __init__(self, message: str, *, deployment: str = "", retry_after: float | None) -> None:
        super().__init__(message, deployment=deployment)
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    """5xx, timeout or connection failure: feeds the deployment's circuit breaker."""

    def __init__(self, message: str, *, deployment: str = "", kind: str = "server") -> None:
        super().__init__(message, deployment=deployment)
        self.kind = kind  # "server" | "timeout" | "connection"


class UpstreamRejected(UpstreamError):
    """The request itself was refused (content filter, context length, bad request)."""

    def __init__(self, message: str, *, deployment: str = "", reason: str = "bad_request") -> None:
        super().__init__(message, deployment=deployment)
        self.reason = reason  # "content_filter" | "context_length" | "bad_request"


class NoCapacity(UpstreamError):
    """Every deployment is throttled, open or busy past the request's deadline."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
