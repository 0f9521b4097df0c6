"""Answers only the HTTP layer gives: the error shape and the health probes' reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shared.handlers.results import ErrorDetail, OpenModel


class ErrorResponse(OpenModel):
    """Every 4xx/5xx answer of the gateway has this shape."""

    error: ErrorDetail


class Liveness(OpenModel):
    status: Literal["ok"]


class ReadinessReport(OpenModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, dict[str, Any]] = Field(
        description="store, queue, deployments (each with a status: ok, degraded or fail)"
    )


class NotReady(ReadinessReport):
    """503 from readiness: the report and the standard error object."""

    error: ErrorDetail


class DevSession(OpenModel):
    """Local development only: the identity the developer sign-in cookie names."""

    business_unit: str
    user_id: str
    roles: list[str]
