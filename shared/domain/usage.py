"""The usage record: one per upstream call or gateway cache hit, keyed by request id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal

# "interrupted": the process died during the call; the record is the sweeper's estimate.
Outcome = Literal["ok", "cache_hit", "error", "cancelled", "interrupted"]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    request_id: str
    business_unit: str
    user_id: str
    use_case: str
    use_case_version: str
    model: str
    deployment: str
    region: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    estimated: bool
    cache_hit: bool
    latency_ms: float
    outcome: Outcome
    created_at: datetime
    # Money is exact: Decimal, never float. price_version names the price-table row charged.
    cost: Decimal = Decimal("0")
    savings: Decimal = Decimal("0")
    currency: str = "USD"
    price_version: str = ""
    job_id: str = ""
    # A gateway cache hit's avoided upstream usage (the cached entry's tokens); savings prices it.
    saved_prompt_tokens: int = 0
    saved_completion_tokens: int = 0

    # Formatted by hand: strftime costs 4x as much (~1.7 µs), once per ledger write.
    @property
    def month(self) -> str:
        at = self.created_at
        return f"{at.year:04d}-{at.month:02d}"

    @property
    def day(self) -> str:
        at = self.created_at
        return f"{at.year:04d}-{at.month:02d}-{at.day:02d}"

    def to_doc(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which deep-copies every value: ~45 µs
        # per record against ~5, once per request, and every field here is a plain value.
        doc = {name: getattr(self, name) for name in _USAGE_FIELDS}
        doc["created_at"] = self.created_at.astimezone(UTC).isoformat()
        doc["cost"] = str(self.cost)
        doc["savings"] = str(self.savings)
        return doc

    def priced(
        self,
        *,
        cost: Decimal,
        savings: Decimal,
        currency: str,
        price_version: str,
        saved_prompt_tokens: int,
        saved_completion_tokens: int,
    ) -> UsageRecord:
        """The record with its price (and a cache hit's saved usage): ``dataclasses.replace``
        without its per-call walk over the fields' metadata, which costs more than building
        the record (~2x as many instructions); every request prices one record."""
        values = list(_USAGE_VALUES(self))
        values[_COST] = cost
        values[_SAVINGS] = savings
        values[_CURRENCY] = currency
        values[_PRICE_VERSION] = price_version
        values[_SAVED_PROMPT_TOKENS] = saved_prompt_tokens
        values[_SAVED_COMPLETION_TOKENS] = saved_completion_tokens
        return UsageRecord(*values)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> UsageRecord:
        fields = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
        fields["created_at"] = datetime.fromisoformat(doc["created_at"])
        fields["cost"] = Decimal(str(doc.get("cost", "0")))
        fields["savings"] = Decimal(str(doc.get("savings", "0")))
        return cls(**fields)


_USAGE_FIELDS = tuple(f.name for f in fields(UsageRecord))
_USAGE_VALUES = attrgetter(*_USAGE_FIELDS)
_COST, _SAVINGS, _CURRENCY, _PRICE_VERSION, _SAVED_PROMPT_TOKENS, _SAVED_COMPLETION_TOKENS = (
    _USAGE_FIELDS.index(name)
    for name in (
        "cost",
        "savings",
        "currency",
        "price_version",
        "saved_prompt_tokens",
        "saved_completion_tokens",
    )
)


@dataclass(frozen=True, slots=True)
class DailyRollup:
    """Usage summed per day, business unit, use case and model: what reports read."""

    day: str  # YYYY-MM-DD (UTC)
    business_unit: str
    use_case: str
    model: str
    calls: int
    cache_hits: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost: Decimal
    savings: Decimal
    currency: str = "USD"
    # Upstream tokens that cache hits avoided (prompt + completion of the cached answers).
    saved_tokens: int = 0
    # Calls whose usage the gateway counted itself (upstream sent none, or the call was
    # interrupted: UsageRecord.estimated), and their part of ``cost``.
    estimated_calls: int = 0
    estimated_cost: Decimal = Decimal(0)

    @property
    def id(self) -> str:
        return f"{self.day}|{self.business_unit}|{self.use_case}|{self.model}"

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        for money in _ROLLUP_MONEY:
            doc[money] = str(getattr(self, money))
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DailyRollup:
        fields = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
        for money in _ROLLUP_MONEY:
            if money in doc:  # estimated_cost is absent from rollups written before it
                fields[money] = Decimal(str(doc[money]))
        return cls(**fields)


_ROLLUP_MONEY = ("cost", "savings", "estimated_cost")
