"""Pydantic models of the gateway's answers, for the OpenAPI document only.

The handlers build these bodies as dicts (``answer_body``, ``job_view``, ``session_view``,
``report_json``, ``error_body``); these models describe them, and tests/unit/test_openapi.py
validates real answers against the generated schemas so the two cannot drift apart silently.
Answers may gain fields (``extra="allow"``); a documented field never disappears.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Open):
    code: str = Field(description="Machine-readable error code, e.g. prompt_too_large")
    message: str
    request_id: str = Field(description="Quote it when reporting a problem")
    details: Any = Field(default=None, description="Field errors or limits; shape depends on code")


class ErrorResponse(_Open):
    """Every 4xx/5xx answer of the gateway has this shape."""

    error: ErrorDetail


class TokenUsage(_Open):
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    total_tokens: int
    estimated: bool = Field(description="True when upstream sent no usage and the gateway counted")


class UseCaseRef(_Open):
    id: str
    version: str


class JobAccepted(_Open):
    """202: the call was queued (Prefer: respond-async, or every deployment was saturated)."""

    job_id: str
    status: Literal["queued"]
    request_id: str
    location: str = Field(description="Poll this path (GET) for the result")


class JobView(_Open):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    use_case: str
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = Field(
        default=None, description="The use case's answer, once succeeded"
    )
    error: ErrorDetail | None = Field(default=None, description="Why it failed, once failed")


class UseCaseInfo(_Open):
    id: str
    version: str
    description: str
    kind: Literal["text", "label", "json", "chat"]
    async_allowed: bool
    max_input_tokens: int
    max_output_tokens: int
    input_schema: dict[str, Any]
    path: str


class UseCaseList(_Open):
    use_cases: list[UseCaseInfo]


class SessionCreated(_Open):
    session_id: str
    use_case: str
    expires_at: datetime
    max_turns: int


class SessionTurn(_Open):
    turn: int
    request_id: str
    user: str
    assistant: str
    usage: TokenUsage
    at: datetime


class SessionView(_Open):
    session_id: str
    use_case: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    max_turns: int
    turns: list[SessionTurn]


class ChatReply(_Open):
    reply: str
    finish_reason: str = Field(description="stop, or length: the reply was cut at max_tokens")
    truncated: bool = Field(description="finish_reason is length")
    usage: TokenUsage
    request_id: str
    model: str
    session_id: str
    turn: int
    turns_dropped: int = Field(description="Oldest turns left out of the prompt to fit its budget")
    expires_at: datetime


class ChargebackRow(_Open):
    business_unit: str | None = None
    use_case: str | None = None
    model: str | None = None
    day: date | None = None
    calls: int
    cache_hits: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    saved_tokens: int
    cost: str = Field(description="Exact decimal, as a string")
    savings: str = Field(description="Cost the cache avoided, exact decimal as a string")
    currency: str
    estimated_calls: int = Field(
        description="Calls whose usage the gateway counted itself (upstream sent none, or the "
        "call was interrupted)"
    )
    estimated_cost: str = Field(description="The part of cost from those calls")


class ChargebackReport(_Open):
    from_: date = Field(alias="from")
    to: date
    group_by: list[Literal["business_unit", "use_case", "model", "day"]]
    business_units: Literal["all"] | list[str]
    currency: str
    precision: str
    generated_at: datetime
    as_of: datetime | None = Field(
        description="When the rollups read were computed (the oldest unit's and month's): "
        "usage after it is not in the report yet; null: never computed"
    )
    estimated_share: str = Field(description="estimated_cost / cost of the totals, 0 to 1")
    rows: list[ChargebackRow]
    totals: ChargebackRow


class Liveness(_Open):
    status: Literal["ok"]


class ReadinessReport(_Open):
    status: Literal["ready", "not_ready"]
    checks: dict[str, dict[str, Any]] = Field(
        description="store, queue, deployments (each with a status: ok, degraded or fail)"
    )


class NotReady(ReadinessReport):
    """503 from readiness: the report and the standard error object."""

    error: ErrorDetail


class DevSession(_Open):
    """Local development only: the identity the developer sign-in cookie names."""

    business_unit: str
    user_id: str
    roles: list[str]


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ErrorResponse,
    TokenUsage,
    UseCaseRef,
    JobAccepted,
    JobView,
    UseCaseList,
    SessionCreated,
    SessionView,
    ChatReply,
    ChargebackReport,
    Liveness,
    ReadinessReport,
    NotReady,
    DevSession,
)
