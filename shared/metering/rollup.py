"""Daily rollups: usage per day, business unit, use case and model, recomputed from the ledger.

A run re-reads every record of the days it covers, a page at a time into running sums (bounded
memory, and the event loop serves requests between pages), and overwrites each day's rollup with
the fresh sums: an idempotent recompute, not an increment, so a timer that fires twice, a late
record or a replayed job can never double-count. The timer covers yesterday and today (all that
changes), and the current and previous month in full at its first run of each day. Reading a
whole month at once every 15 minutes held the event loop ~2.2 s per 100k records.
Sums are exact Decimals; a rollup equals the sum of its records to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from shared.domain.usage import DailyRollup, UsageRecord

RollupKey = tuple[str, str, str, str]  # day, business unit, use case, model


@dataclass(slots=True)
class _Totals:
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    saved_tokens: int = 0
    cost: Decimal = Decimal(0)
    savings: Decimal = Decimal(0)
    estimated_calls: int = 0
    estimated_cost: Decimal = Decimal(0)
    currencies: set[str] = field(default_factory=set)


class Sums:
    """Running sums per (day, business unit, use case, model): records are added a page at a
    time and never held all at once."""

    def __init__(self) -> None:
        self._totals: dict[RollupKey, _Totals] = {}

    def add(self, records: Iterable[UsageRecord]) -> None:
        for r in records:
            key = (r.day, r.business_unit, r.use_case, r.model)
            t = self._totals.get(key)
            if t is None:
                t = self._totals[key] = _Totals()
            if r.cache_hit:
                t.cache_hits += 1
            else:
                t.calls += 1
            t.prompt_tokens += r.prompt_tokens
            t.cached_tokens += r.cached_tokens
            t.completion_tokens += r.completion_tokens
            t.saved_tokens += r.saved_prompt_tokens + r.saved_completion_tokens
            t.cost += r.cost
            t.savings += r.savings
            if r.estimated:
                t.estimated_calls += 1
                t.estimated_cost += r.cost
            t.currencies.add(r.currency)

    def rollups(self) -> list[DailyRollup]:
        return [_rollup(key, self._totals[key]) for key in sorted(self._totals)]


def _rollup(key: RollupKey, t: _Totals) -> DailyRollup:
    if len(t.currencies) != 1:
        # The price table allows one currency; two here means the ledger was priced elsewhere.
        raise ValueError(f"usage for {'|'.join(key)} mixes currencies {sorted(t.currencies)}")
    day, business_unit, use_case, model = key
    return DailyRollup(
        day=day,
        business_unit=business_unit,
        use_case=use_case,
        model=model,
        calls=t.calls,
        cache_hits=t.cache_hits,
        prompt_tokens=t.prompt_tokens,
        cached_tokens=t.cached_tokens,
        completion_tokens=t.completion_tokens,
        cost=t.cost,
        savings=t.savings,
        currency=next(iter(t.currencies)),
        saved_tokens=t.saved_tokens,
        estimated_calls=t.estimated_calls,
        estimated_cost=t.estimated_cost,
    )


def summarize(records: Iterable[UsageRecord]) -> list[DailyRollup]:
    """One rollup per (day, business unit, use case, model) of the records."""
    sums = Sums()
    sums.add(records)
    return sums.rollups()


def first_run_of_the_day(at: datetime, period: timedelta) -> bool:
    """Whether a timer firing every ``period`` is at its first run of the UTC day."""
    utc = at.astimezone(UTC)
    return utc - datetime.combine(utc.date(), time(), UTC) < period


def covers(month: str, since: datetime | None, marked: datetime | None) -> bool:
    """Whether a recompute of ``month`` from ``since`` leaves all of it computed: the whole
    month, or the days since a mark that already covered the days before ``since``."""
    if since is None or since <= month_start(month):
        return True
    return marked is not None and marked >= since


def month_start(month: str) -> datetime:
    year, mon = (int(p) for p in month.split("-"))
    return datetime(year, mon, 1, tzinfo=UTC)


def months_between(first: date, last: date) -> list[str]:
    """Every YYYY-MM from first's month to last's month, inclusive."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def month_end(month: str) -> date:
    start = month_start(month)
    return (datetime(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(1)).date()
