"""What the handlers return: typed results, and the same classes the OpenAPI document shows.

A handler builds one of these; the trigger chooses the status and headers and renders it with
``model_dump(mode="json", by_alias=True, exclude_unset=True)`` (a field left unset is absent, as
``result`` on a job that has not succeeded). The document's schemas are generated from these
classes (shared/openapi/document.py), so there is no second set of models to keep in step.
Answers may gain fields (``extra="allow"``); a documented field never disappears.

A use case's answer is the exception: its output field's name and type come from the catalog,
so ``UseCaseAnswer`` is a dataclass and its schema is built per use case (openapi/usecases.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from shared.domain.chat import TokenUsage as Usage
from shared.handlers.output import truncated
from shared.metering.money import plain

# Rendered as datetime.isoformat() ("+00:00", as stored), documented as a date-time.
IsoDatetime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"format": "date-time", "type": "string"}),
]


class OpenModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(OpenModel):
    code: str = Field(description="Machine-readable error code, e.g. prompt_too_large")
    message: str
    request_id: str = Field(description="Quote it when reporting a problem")
    details: Any = Field(default=None, description="Field errors or limits; shape depends on code")


class TokenUsage(OpenModel):
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    total_tokens: int
    estimated: bool = Field(description="True when upstream sent no usage and the gateway counted")

    @classmethod
    def of(cls, usage: Usage) -> TokenUsage:
        return cls(**usage.as_dict())


class UseCaseRef(OpenModel):
    id: str
    version: str


class JobAccepted(OpenModel):
    """202: the call was queued (Prefer: respond-async, or every deployment was saturated)."""

    job_id: str
    status: Literal["queued"]
    request_id: str
    location: str = Field(description="Poll this path (GET) for the result")


class JobView(OpenModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    use_case: str
    created_at: IsoDatetime
    updated_at: IsoDatetime
    result: dict[str, Any] | None = Field(
        default=None, description="The use case's answer, once succeeded"
    )
    error: ErrorDetail | None = Field(default=None, description="Why it failed, once failed")


class UseCaseInfo(OpenModel):
    id: str
    version: str
    description: str
    kind: Literal["text", "label", "json", "chat"]
    async_allowed: bool
    max_input_tokens: int
    max_output_tokens: int
    input_schema: dict[str, Any]
    path: str


class UseCaseList(OpenModel):
    use_cases: list[UseCaseInfo]


class SessionCreated(OpenModel):
    session_id: str
    use_case: str
    expires_at: IsoDatetime
    max_turns: int


class SessionTurn(OpenModel):
    turn: int
    request_id: str
    user: str
    assistant: str
    usage: TokenUsage
    at: IsoDatetime


class SessionView(OpenModel):
    session_id: str
    use_case: str
    created_at: IsoDatetime
    updated_at: IsoDatetime
    expires_at: IsoDatetime
    max_turns: int
    turns: list[SessionTurn]


class ChatReply(OpenModel):
    reply: str
    finish_reason: str = Field(description="stop, or length: the reply was cut at max_tokens")
    truncated: bool = Field(description="finish_reason is length")
    usage: TokenUsage
    request_id: str
    model: str
    turns_dropped: int = Field(description="Oldest turns left out of the prompt to fit its budget")
    turn: int
    session_id: str
    expires_at: IsoDatetime


class ChargebackRow(OpenModel):
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


class ChargebackReport(OpenModel):
    from_: date = Field(alias="from")
    to: date
    group_by: list[Literal["business_unit", "use_case", "model", "day"]]
    business_units: Literal["all"] | list[str]
    currency: str
    precision: str
    generated_at: IsoDatetime
    as_of: IsoDatetime | None = Field(
        description="When the rollups read were computed (the oldest unit's and month's): "
        "usage after it is not in the report yet; null: never computed"
    )
    estimated_share: str = Field(description="estimated_cost / cost of the totals, 0 to 1")
    rows: list[ChargebackRow]
    totals: ChargebackRow


@dataclass(frozen=True, slots=True)
class CacheSource:
    """Where a cached answer came from, when that was the semantic cache."""

    kind: Literal["semantic"]
    similarity: float  # cosine similarity of the cached prompt to this one


@dataclass(frozen=True, slots=True)
class UseCaseAnswer:
    """A use case's answer: its output under the use case's own field name."""

    output_field: str
    output: Any
    finish_reason: str
    usage: Usage
    cached: bool
    request_id: str
    model: str
    use_case: UseCaseRef
    cost: Decimal  # exact: the sum of its priced usage records
    currency: str
    # The meter's response headers (a soft-budget warning) and the cache's; the trigger adds
    # them.
    headers: dict[str, str] = field(default_factory=dict)
    cache: CacheSource | None = None

    def body(self) -> dict[str, Any]:
        body = {
            self.output_field: self.output,
            "finish_reason": self.finish_reason,
            "truncated": truncated(self.finish_reason),
            "usage": self.usage.as_dict(),
            "cached": self.cached,
            "request_id": self.request_id,
            "model": self.model,
            "use_case": {"id": self.use_case.id, "version": self.use_case.version},
            "cost": plain(self.cost),
            "currency": self.currency,
        }
        if self.cache is not None:
            body["cache"] = {"kind": self.cache.kind, "similarity": self.cache.similarity}
        return body


@dataclass(frozen=True, slots=True)
class Queued:
    """The call went to the overflow queue: the job to poll, and when to look."""

    accepted: JobAccepted
    retry_after_seconds: int


@dataclass(frozen=True, slots=True)
class ChatTurnAnswer:
    reply: ChatReply
    # The meter's response headers (a soft-budget warning); the trigger adds them.
    headers: dict[str, str] = field(default_factory=dict)
