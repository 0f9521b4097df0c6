"""The chargeback use case: who may read which units, rollups read (or recomputed first), rows
aggregated, and the answer built. The report's sums are shared/metering/reports.py's."""

from __future__ import annotations

from shared.domain.caller import Caller
from shared.domain.errors import Forbidden
from shared.handlers.deps import ReportDeps
from shared.handlers.results import ChargebackReport, ChargebackRow
from shared.handlers.rollups import refresh_stale, rollup_month
from shared.metering.money import REPORT_PRECISION, report_money
from shared.metering.reports import (
    COUNTS,
    FRESH_FOR,
    Report,
    ReportQuery,
    ReportRow,
    aggregate,
    report_row,
)
from shared.metering.rollup import months_between


def readable_units(caller: Caller, query: ReportQuery, finance_role: str) -> tuple[str, ...] | None:
    """The units this caller may see in this report; None means every unit."""
    if caller.has_role(finance_role):
        return None if query.business_unit is None else (query.business_unit,)
    if query.business_unit not in (None, caller.business_unit):
        raise Forbidden(
            "only the finance role may read another business unit's chargeback",
            code="report_forbidden",
        )
    return (caller.business_unit,)


async def chargeback(deps: ReportDeps, caller: Caller, query: ReportQuery) -> Report:
    units = readable_units(caller, query, deps.finance_role)
    if query.refresh:
        for month in months_between(query.first, query.last):
            await rollup_month(deps.rollup, month, units)
    every = sorted(deps.rollup.business_units) if units is None else units
    marks = await refresh_stale(deps.rollup, every, query.first, query.last, FRESH_FOR)
    wanted = len(set(every)) * len(months_between(query.first, query.last))
    as_of = min(marks.values()) if len(marks) == wanted else None
    daily = await deps.rollup.rollups.query(units, query.first.isoformat(), query.last.isoformat())
    currencies = {r.currency for r in daily} or {deps.currency}
    if len(currencies) != 1:
        raise ValueError(f"rollups mix currencies {sorted(currencies)}")
    rows = aggregate(daily, query.group_by)
    totals = aggregate(daily, ()) or [report_row((), [])]
    currency, now = currencies.pop(), deps.rollup.now()
    return Report(query, units, currency, tuple(rows), totals[0], tuple(daily), now, as_of)


def row_answer(row: ReportRow, currency: str) -> ChargebackRow:
    counts = {c: getattr(row, c) for c in (*COUNTS, "saved_tokens")}
    money = {"cost": report_money(row.cost), "savings": report_money(row.savings)}
    estimated = {
        "estimated_calls": row.estimated_calls,
        "estimated_cost": report_money(row.estimated_cost),
    }
    return ChargebackRow.model_validate(
        {**dict(row.keys), **counts, **money, "currency": currency, **estimated}
    )


def report_answer(report: Report) -> ChargebackReport:
    q = report.query
    return ChargebackReport.model_validate(
        {
            "from": q.first,
            "to": q.last,
            "group_by": list(q.group_by),
            "business_units": "all"
            if report.business_units is None
            else list(report.business_units),
            "currency": report.currency,
            "precision": str(REPORT_PRECISION),
            "generated_at": report.generated_at,
            "as_of": report.as_of,
            "estimated_share": str(report.estimated_share),
            "rows": [row_answer(r, report.currency) for r in report.rows],
            "totals": row_answer(report.totals, report.currency),
        }
    )
