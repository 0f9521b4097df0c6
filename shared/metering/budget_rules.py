"""Budget configuration and the rule that judges one: what a budget is, when it is exhausted.

GATEWAY_BUDGETS is a JSON list of ``{"business_unit", "use_case" (null: every use case),
"limit_tokens", "limit_cost" (decimal string, in the price table's currency),
"kind": "hard"|"soft"}``; either limit may be omitted, not both. Budgets are per UTC month.

The at-limit rule: a budget is exhausted when the spend before a call (settled usage plus every
reservation in flight) is >= its limit. spend = limit - 1 admits; spend = limit refuses (hard)
or warns (soft). A call whose reservation crosses the limit is admitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from shared.domain.errors import TooManyRequests
from shared.metering.money import from_nano, plain, report_money, to_nano

ALL_USE_CASES = "*"


class BudgetConfigError(ValueError):
    """GATEWAY_BUDGETS is malformed; the message names the entry and field."""


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    business_unit: str = Field(min_length=1)
    use_case: str | None = None
    limit_tokens: int | None = Field(default=None, gt=0)
    limit_cost: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    kind: Literal["hard", "soft"] = "hard"

    @model_validator(mode="after")
    def _has_a_limit(self) -> Budget:
        if self.limit_tokens is None and self.limit_cost is None:
            raise ValueError("set limit_tokens, limit_cost or both")
        return self

    @property
    def scope(self) -> str:
        return self.use_case or ALL_USE_CASES

    @property
    def name(self) -> str:
        return f"{self.business_unit}/{self.scope}"

    def exhausted(self, spend: Spend) -> bool:
        over_tokens = self.limit_tokens is not None and spend.tokens >= self.limit_tokens
        over_cost = self.limit_cost is not None and spend.cost_nano >= to_nano(self.limit_cost)
        return over_tokens or over_cost


@dataclass(frozen=True, slots=True)
class Spend:
    tokens: int
    cost_nano: int


def parse_budgets(raw: str, business_units: frozenset[str]) -> tuple[Budget, ...]:
    try:
        # Decimal, not float: "limit_cost": 50.1 must mean exactly 50.1.
        data = json.loads(raw, parse_float=Decimal)
        budgets = TypeAdapter(list[Budget]).validate_python(data)
    except json.JSONDecodeError as exc:
        raise BudgetConfigError(f"GATEWAY_BUDGETS is not valid JSON: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"GATEWAY_BUDGETS{_where(e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise BudgetConfigError(problems) from None
    seen: set[tuple[str, str, str]] = set()
    for i, budget in enumerate(budgets):
        if budget.business_unit not in business_units:
            raise BudgetConfigError(
                f"GATEWAY_BUDGETS[{i}].business_unit: {budget.business_unit!r} is not one of "
                f"GATEWAY_BUSINESS_UNITS {sorted(business_units)}"
            )
        key = (budget.business_unit, budget.scope, budget.kind)
        if key in seen:
            raise BudgetConfigError(
                f"GATEWAY_BUDGETS[{i}]: a second {budget.kind} budget for {budget.name}"
            )
        seen.add(key)
    return tuple(budgets)


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def month_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def next_month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def previous_month(month: str) -> str:
    year, mon = (int(p) for p in month.split("-"))
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def describe(budget: Budget, spend: Spend, at: datetime, currency: str) -> str:
    """The soft-budget warning (header value and log line): plain ASCII key=value pairs."""
    parts = [f"budget={budget.name}", f"kind={budget.kind}", f"period={month_of(at)}"]
    parts.append(f"spent_tokens={spend.tokens}")
    if budget.limit_tokens is not None:
        parts.append(f"limit_tokens={budget.limit_tokens}")
    parts.append(f"spent_cost={report_money(from_nano(spend.cost_nano))}")
    if budget.limit_cost is not None:
        parts.append(f"limit_cost={plain(budget.limit_cost)}")
    parts += [f"currency={currency}", f"resets_at={_iso(next_month_start(at))}"]
    return " ".join(parts)


def exceeded(budget: Budget, spend: Spend, at: datetime, currency: str) -> TooManyRequests:
    """The 429 for a hard budget: names the budget, the spend and when it resets."""
    resets = next_month_start(at)
    details = {
        "budget": budget.name,
        "business_unit": budget.business_unit,
        "use_case": budget.use_case,
        "kind": budget.kind,
        "period": month_of(at),
        "limit_tokens": budget.limit_tokens,
        "limit_cost": None if budget.limit_cost is None else plain(budget.limit_cost),
        "spent_tokens": spend.tokens,
        "spent_cost": report_money(from_nano(spend.cost_nano)),
        "currency": currency,
        "resets_at": _iso(resets),
    }
    limits = []
    if budget.limit_tokens is not None:
        limits.append(f"{spend.tokens} of {budget.limit_tokens} tokens")
    if budget.limit_cost is not None:
        limits.append(f"{details['spent_cost']} of {details['limit_cost']} {currency}")
    return TooManyRequests(
        f"the monthly budget {budget.name} is used up ({'; '.join(limits)}); "
        f"it resets at {details['resets_at']}",
        code="budget_exceeded",
        details=details,
        retry_after=(resets - at).total_seconds(),
    )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
