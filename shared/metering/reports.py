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


@dataclass(frozen=True, slots=True)
class ReportQuery:
    first: date
    last: date
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    business_unit: str | None = None
    format: Format | None = None
    refresh: bool = False


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


def _error(name: str, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": ["query", name], "msg": msg, "type": kind}


def _day(name: str, raw: str, errors: list[dict[str, Any]]) -> date | None:
    try:
        if _DAY.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    errors.append(_error(name, "expected a calendar date YYYY-MM-DD"))
    return None


def _period(
    values: dict[str, str], today: date, errors: list[dict[str, Any]]
) -> tuple[date | None, date | None]:
    """``from`` and ``to``; by default the month to date (``to``'s month when only it is set)."""
    last = _day("to", values["to"], errors) if "to" in values else today
    if "from" in values:
        return _day("from", values["from"], errors), last
    return (None if last is None else last.replace(day=1)), last


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


def _range(
    values: dict[str, str], today: date, errors: list[dict[str, Any]]
) -> tuple[date | None, date | None]:
    first, last = _period(values, today, errors)
    if first and last and first > last:
        errors.append(_error("to", "must be on or after from"))
    elif first and last and (last - first).days + 1 > MAX_RANGE_DAYS:
        days = (last - first).days + 1
        errors.append(_error("to", f"the range covers {days} days; at most {MAX_RANGE_DAYS}"))
    return first, last


def parse_query(params: Sequence[tuple[str, str]], today: date) -> ReportQuery:
    """Validate the query string; every problem is reported at once (400 with field errors).
    ``today`` (UTC) is where the default period ends."""
    errors: list[dict[str, Any]] = []
    values = _single_values(params, errors)
    first, last = _range(values, today, errors)
    group_by = tuple(dict.fromkeys(p.strip() for p in values.get("group_by", "").split(",")))
    if "group_by" not in values:
        group_by = DEFAULT_GROUP_BY
    unknown = [g for g in group_by if g not in GROUP_KEYS]
    if unknown or not group_by:
        errors.append(_error("group_by", f"expected a comma-separated subset of {GROUP_KEYS}"))
    unit = values.get("business_unit")
    if unit is not None and not _UNIT.fullmatch(unit):
        errors.append(_error("business_unit", "not a business unit id"))
    fmt = values.get("format")
    if fmt is not None and fmt not in ("json", "csv"):
        errors.append(_error("format", "expected json or csv"))
    refresh = values.get("refresh", "false").lower()
    if refresh not in ("true", "false", "1", "0"):
        errors.append(_error("refresh", "expected true or false"))
    if errors or first is None or last is None:
        raise BadRequest("invalid report query", code="invalid_query", details=errors)
    return ReportQuery(
        first,
        last,
        group_by,
        unit,
        "csv" if fmt == "csv" else "json" if fmt == "json" else None,
        refresh in ("true", "1"),
    )


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
