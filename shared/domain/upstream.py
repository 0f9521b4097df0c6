"""Failures of an upstream Azure OpenAI call, in the gateway's own terms.

Adapters translate SDK exceptions into these; the router decides what to do with them and the
error map (shared/http/error_map.py) turns what is left into HTTP answers.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Base class; ``deployment`` names where it happened, ``status`` the HTTP status it
    answered with (None when no answer came: a timeout or a broken connection)."""

    def __init__(self, message: str, *, deployment: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.deployment = deployment
        self.status = status


class UpstreamThrottled(UpstreamError):
    """429 from a deployment; ``retry_after`` seconds from retry-after-ms / retry-after."""

    def __init__(
        self,
        message: str,
        *,
        deployment: str = "",
        retry_after: float | None,
        status: int | None = 429,
    ) -> None:
        super().__init__(message, deployment=deployment, status=status)
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    """5xx, timeout or connection failure: feeds the deployment's circuit breaker."""

    def __init__(
        self,
        message: str,
        *,
        deployment: str = "",
        kind: str = "server",
        status: int | None = None,
    ) -> None:
        super().__init__(message, deployment=deployment, status=status)
        self.kind = kind  # "server" | "timeout" | "connection"

    @property
    def may_have_run(self) -> bool:
        """A timeout: the request may have reached the model, and Azure bills a call it ran
        whether or not anyone waited for the answer. An answered 5xx ran nothing billable."""
        return self.kind == "timeout"


class UpstreamRejected(UpstreamError):
    """The request itself was refused (content filter, context length, bad request)."""

    def __init__(
        self,
        message: str,
        *,
        deployment: str = "",
        reason: str = "bad_request",
        status: int | None = None,
    ) -> None:
        super().__init__(message, deployment=deployment, status=status)
        self.reason = reason  # "content_filter" | "context_length" | "bad_request"


class NoCapacity(UpstreamError):
    """Every deployment is throttled, open or busy past the request's deadline."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
