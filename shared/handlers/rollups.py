"""The rollup use case: recompute daily rollups from the ledger (the timer, a report's
``refresh=true``, and a report's stale recent days). The sums are shared/metering/rollup.py's;
why a recompute and not an increment is explained there."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from shared.domain.usage import DailyRollup
from shared.handlers.deps import RollupDeps
from shared.metering.budget_rules import month_of, previous_month
from shared.metering.rollup import Sums, covers, month_end, months_between


async def rollup_month(
    deps: RollupDeps, month: str, business_units: Iterable[str] | None = None
) -> list[DailyRollup]:
    """Recompute every rollup of ``month`` (YYYY-MM) for the given (default: all) units."""
    return await _recompute(deps, [month], business_units)


async def rollup_recent(
    deps: RollupDeps, at: datetime | None = None, *, full: bool = False
) -> list[DailyRollup]:
    """What the timer runs: yesterday and today (UTC), every configured unit. A record is
    stamped when its call ends, so only those days still change; ``full`` recomputes the
    current and the previous month, for a record that arrives late (a job that waited in the
    queue past midnight)."""
    at = at or deps.now()
    month = month_of(at)
    if full:
        return [*await rollup_month(deps, previous_month(month)), *await rollup_month(deps, month)]
    since = datetime.combine(at.astimezone(UTC).date() - timedelta(days=1), time(), UTC)
    return await _recompute(deps, sorted({month_of(since), month}), since=since)


async def _recompute(
    deps: RollupDeps,
    months: Iterable[str],
    business_units: Iterable[str] | None = None,
    *,
    since: datetime | None = None,
) -> list[DailyRollup]:
    """Recompute the rollups of every day with records in ``months`` (from ``since``): each
    day's records are all read, so each rollup is complete. Each (unit, month) is then marked
    computed as of the run's start, when the run covered all of it that could have changed: the
    whole month, or the days since a mark that already covered the days before ``since``."""
    started = deps.now()
    months = list(months)
    units = sorted(deps.business_units if business_units is None else business_units)
    marks = {} if since is None else await deps.rollups.computed(units, months)
    rollups: list[DailyRollup] = []
    for business_unit in units:
        for month in months:
            sums = Sums()
            async for page in deps.ledger.pages(business_unit, month, since):
                sums.add(page)
                await asyncio.sleep(0)  # requests get the event loop between pages
            for rollup in sums.rollups():
                await deps.rollups.upsert(rollup)
                rollups.append(rollup)
            if covers(month, since, marks.get((business_unit, month))):
                await deps.rollups.mark_computed(business_unit, month, started)
    return rollups


async def refresh_stale(
    deps: RollupDeps, business_units: Iterable[str], first: date, last: date, max_age: timedelta
) -> dict[tuple[str, str], datetime]:
    """Before a report of ``first``..``last``: bring each (unit, month) of the range up to date
    if its rollups are older than ``max_age`` and the range reaches the day they were computed,
    by recomputing only the days since then (usually just today: records are stamped when
    their call ends), not the month. A page viewed every minute so costs one day's records at
    most once a minute; a past month computed after its end is final and never recomputed
    here. A (unit, month) never computed is computed in full. Two views at once may both
    recompute: idempotent, the same rollups. Returns the marks after."""
    units = sorted(set(business_units))
    months = months_between(first, last)
    marks = await deps.rollups.computed(units, months)
    now = deps.now()
    for unit in units:
        for month in months:
            at = marks.get((unit, month))
            if at is None:
                await _recompute(deps, [month], [unit])
                continue
            day = at.astimezone(UTC).date()
            if now - at <= max_age or min(last, month_end(month)) < day:
                continue  # fresh enough, or nothing in the range could have changed since
            await _recompute(deps, [month], [unit], since=datetime.combine(day, time(), UTC))
    return dict(await deps.rollups.computed(units, months))
