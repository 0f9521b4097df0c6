"""Chargeback reports: who used what, what it cost and what the cache saved, from rollups.

The period defaults to the month to date (UTC): ``from`` the first of the month (of ``to``, when
only ``to`` is given), ``to`` today. Reports read daily rollups (rollup.py), never raw records.
Fresh without a recompute per view: when a unit's rollups are older than FRESH_FOR and the
period reaches the day they were computed, only the days since then (usually just today) are
recomputed first (``handlers/rollups.refresh_stale``); the timer recomputes every 15 minutes
besides.
``refresh=true`` recomputes the period's whole months first, for the units the caller may
read (for a late record in an earlier day). Every report says ``as_of``: when the rollups it
read were computed (the oldest of its units' and months'); usage after that is not in it yet.

``calls`` counts upstream calls (billed), ``cache_hits`` calls the gateway answered from its
cache (free; their avoided cost is ``savings``); ``estimated_calls`` / ``estimated_cost`` the
calls whose usage the gateway counted itself (upstream sent none, or the call was interrupted).
Money is summed exactly and rounded once, per row and per total, to 0.000001 (money.py). Who may
read what: the finance role (GATEWAY_FINANCE_ROLE) reads every unit, optionally one
(``business_unit=``); anyone else reads only their own unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from shared.domain.errors import BadRequest
from shared.domain.usage import DailyRollup

GROUP_KEYS = ("business_unit", "use_case", "model", "day")
DEFAULT_GROUP_BY = ("business_unit", "use_case", "model")
MAX_RANGE_DAYS = 366
COUNTS = ("calls", "cache_hits", "prompt_tokens", "cached_tokens", "completion_tokens")
# A report recomputes a unit's recent rollups first when they are older than this.
FRESH_FOR = timedelta(seconds=60)
# Query parameters a report understands; "code" is the Functions host's key parameter.
PARAMS = frozenset({"from", "to", "group_by", "business_unit", "format", "refresh", "code"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNIT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
Format = Literal["json", "csv"]
SHARE = Decimal("0.0001")


def _as_day(raw: Any) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        if isinstance(raw, str) and _DAY.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    return None


def _query_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", message)


class ReportQuery(BaseModel):
    """A report's query string, validated field by field; every problem is reported at once."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    business_unit: str | None = None
    format: Format | None = None
    refresh: bool = False

    @model_validator(mode="before")
    @classmethod
    def _month_to_date(cls, data: Any, info: ValidationInfo) -> Any:
        """By default the month to date: ``to`` today (UTC), ``from`` the first of to's month."""
        if not isinstance(data, dict) or not info.context:
            return data
        data = {"to": info.context["today"], **data}
        if "from" not in data:
            last = _as_day(data["to"])
            if last is not None:
                data["from"] = last.replace(day=1)
        return data

    @field_validator("first", "last", mode="before")
    @classmethod
    def _calendar_day(cls, raw: Any) -> date:
        day = _as_day(raw)
        if day is None:
            raise _query_error("expected a calendar date YYYY-MM-DD")
        return day

    @field_validator("last")
    @classmethod
    def _a_range(cls, last: date, info: ValidationInfo) -> date:
        first = info.data.get("first")
        if first is None:
            return last
        if first > last:
            raise _query_error("must be on or after from")
        days = (last - first).days + 1
        if days > MAX_RANGE_DAYS:
            raise _query_error(f"the range covers {days} days; at most {MAX_RANGE_DAYS}")
        return last

    @field_validator("group_by", mode="before")
    @classmethod
    def _group_keys(cls, raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, str):
            return tuple(raw)
        keys = tuple(dict.fromkeys(p.strip() for p in raw.split(",")))
        if not keys or any(k not in GROUP_KEYS for k in keys):
            raise _query_error(f"expected a comma-separated subset of {GROUP_KEYS}")
        return keys

    @field_validator("business_unit", mode="before")
    @classmethod
    def _unit(cls, raw: Any) -> Any:
        if isinstance(raw, str) and not _UNIT.fullmatch(raw):
            raise _query_error("not a business unit id")
        return raw

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, raw: Any) -> Any:
        if raw is not None and raw not in ("json", "csv"):
            raise _query_error("expected json or csv")
        return raw

    @field_validator("refresh", mode="before")
    @classmethod
    def _flag(cls, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text not in ("true", "false", "1", "0"):
            raise _query_error("expected true or false")
        return text in ("true", "1")


@dataclass(frozen=True, slots=True)
class ReportRow:
    keys: tuple[tuple[str, str], ...]  # (group key, value) in group_by order
    calls: int
    cache_hits: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    saved_tokens: int
    cost: Decimal  # exact; rounded only when rendered
    savings: Decimal
    estimated_calls: int
    estimated_cost: Decimal  # the part of cost counted from estimated usage


@dataclass(frozen=True, slots=True)
class Report:
    query: ReportQuery
    business_units: tuple[str, ...] | None  # None: every unit (finance)
    currency: str
    rows: tuple[ReportRow, ...]
    totals: ReportRow
    daily: tuple[DailyRollup, ...]  # what the rows were summed from (the chart reads these)
    generated_at: datetime
    as_of: datetime | None  # when the rollups read were computed (the oldest unit's); None: never

    @property
    def estimated_share(self) -> Decimal:
        """The part of the period's cost counted from estimated usage, 0 to 1."""
        cost = self.totals.cost
        return Decimal(0) if not cost else (self.totals.estimated_cost / cost).quantize(SHARE)


# The model's field names for the query string's parameter names, in errors.
_PARAM_NAMES = {"first": "from", "last": "to"}


def _error(name: str, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": ["query", name], "msg": msg, "type": kind}


def _single_values(
    params: Sequence[tuple[str, str]], errors: list[dict[str, Any]]
) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        if name not in PARAMS:
            errors.append(_error(name, f"unknown parameter; expected {sorted(PARAMS - {'code'})}"))
        elif name in values:
            errors.append(_error(name, "given more than once"))
        values[name] = value
    return values


def parse_query(params: Sequence[tuple[str, str]], today: date) -> ReportQuery:
    """The query string as a ReportQuery, or a 400 naming every bad parameter at once.
    ``today`` (UTC) is where the default period ends."""
    errors: list[dict[str, Any]] = []
    values = _single_values(params, errors)
    # Unknown names are reported by _single_values; "code" is the Functions host's key.
    known = {name: value for name, value in values.items() if name in PARAMS - {"code"}}
    try:
        query = ReportQuery.model_validate(known, context={"today": today})
    except ValidationError as exc:
        # "from" is missing only when a bad "to" left no month to default it to; to's error
        # says what is wrong.
        errors.extend(_detail(e) for e in exc.errors(include_url=False) if e["type"] != "missing")
    if errors:
        raise BadRequest("invalid report query", code="invalid_query", details=errors)
    return query


def _detail(error: ErrorDetails) -> dict[str, Any]:
    name = _PARAM_NAMES.get(str(error["loc"][0]), str(error["loc"][0]))
    return _error(name, error["msg"], error["type"])


def aggregate(rollups: Iterable[DailyRollup], group_by: Sequence[str]) -> list[ReportRow]:
    groups: dict[tuple[str, ...], list[DailyRollup]] = {}
    for rollup in rollups:
        groups.setdefault(tuple(getattr(rollup, g) for g in group_by), []).append(rollup)
    return [
        report_row(tuple(zip(group_by, k, strict=True)), rs) for k, rs in sorted(groups.items())
    ]


def report_row(keys: tuple[tuple[str, str], ...], rollups: Sequence[DailyRollup]) -> ReportRow:
    return ReportRow(
        keys,
        calls=sum(r.calls for r in rollups),
        cache_hits=sum(r.cache_hits for r in rollups),
        prompt_tokens=sum(r.prompt_tokens for r in rollups),
        cached_tokens=sum(r.cached_tokens for r in rollups),
        completion_tokens=sum(r.completion_tokens for r in rollups),
        saved_tokens=sum(r.saved_tokens for r in rollups),
        cost=sum((r.cost for r in rollups), Decimal(0)),
        savings=sum((r.savings for r in rollups), Decimal(0)),
        estimated_calls=sum(r.estimated_calls for r in rollups),
        estimated_cost=sum((r.estimated_cost for r in rollups), Decimal(0)),
    )
