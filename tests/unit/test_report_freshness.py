"""Chargeback reports default to the month to date, say when their data was computed ("as of")
and how much of it is estimated, and pick up new calls without a full recompute per view."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.composition.root import Gateway, use_gateway
from shared.handlers.rollups import rollup_recent
from shared.metering.reports import FRESH_FOR
from tests.unit.test_prices import record, tokens

FINANCE = {"x-business-unit": "finance", "x-user-id": "cfo", "x-user-roles": "finance"}
NOON = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
REPORT = "/api/v1/reports/chargeback"


class Clock:
    """The report's clock (its default period, its staleness) under the test's control."""

    def __init__(self, gateway: Gateway) -> None:
        self.now = NOON
        self.rollup = dataclasses.replace(gateway.reports.rollup, now=lambda: self.now)
        reports = dataclasses.replace(gateway.reports, rollup=self.rollup)
        use_gateway(dataclasses.replace(gateway, now=lambda: self.now, reports=reports))

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(gateway: Gateway) -> Clock:
    return Clock(gateway)


async def spend(gateway: Gateway, request_id: str, at: datetime, **changes: Any) -> None:
    usage = record(request_id=request_id, created_at=at, **tokens(1000, 0, 100), **changes)
    await gateway.meter.settle(None, usage)


async def report(client: httpx.AsyncClient, **params: str) -> Any:
    answer = await client.get(REPORT, params=params, headers=FINANCE)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_default_period_is_the_month_to_date(
    client: httpx.AsyncClient, gateway: Gateway, clock: Clock
) -> None:
    await spend(gateway, "oct", datetime(2026, 10, 30, 9, tzinfo=UTC))
    await spend(gateway, "nov-3", datetime(2026, 11, 3, 9, tzinfo=UTC))
    await spend(gateway, "today", NOON - timedelta(hours=1))

    month = await report(client)
    october = await report(client, to="2026-10-31")
    since_10th = await report(client, **{"from": "2026-11-10"})

    assert (month["from"], month["to"], month["totals"]["calls"]) == ("2026-11-01", "2026-11-15", 2)
    assert (october["from"], october["to"], october["totals"]["calls"]) == (
        "2026-10-01",
        "2026-10-31",
        1,
    )
    assert (since_10th["to"], since_10th["totals"]["calls"]) == ("2026-11-15", 1)


async def test_new_calls_appear_once_the_rollups_are_older_than_fresh_for_and_only_recent_days_are_recomputed(  # noqa: E501
    client: httpx.AsyncClient, gateway: Gateway, clock: Clock
) -> None:
    await spend(gateway, "a", NOON - timedelta(hours=2))
    first = await report(client)  # never computed: computed now
    assert (first["totals"]["calls"], first["as_of"]) == (1, NOON.isoformat())

    clock.advance(FRESH_FOR / 2)
    await spend(gateway, "b", clock.now)
    # A late record on an earlier day: only a full recompute (refresh=true) reads old days.
    await spend(gateway, "late", datetime(2026, 11, 3, 9, tzinfo=UTC))
    within = await report(client)
    assert (within["totals"]["calls"], within["as_of"]) == (1, NOON.isoformat())

    clock.advance(FRESH_FOR)
    later = await report(client)
    assert (later["totals"]["calls"], later["as_of"]) == (2, clock.now.isoformat())

    full = await report(client, refresh="true")
    assert full["totals"]["calls"] == 3


async def test_a_period_that_ends_before_the_last_computation_is_not_recomputed(
    client: httpx.AsyncClient, gateway: Gateway, clock: Clock
) -> None:
    await report(client)  # every unit computed at noon
    clock.advance(timedelta(days=1))
    await spend(gateway, "late", datetime(2026, 11, 10, 9, tzinfo=UTC))

    past = await report(client, **{"from": "2026-11-01", "to": "2026-11-14"})

    assert past["totals"]["calls"] == 0 and past["as_of"] == NOON.isoformat()


async def test_the_timer_marks_what_it_computed_and_only_what_it_fully_covered(
    gateway: Gateway, clock: Clock
) -> None:
    units = sorted(gateway.settings.business_unit_ids)
    clock.now = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)  # recent: Nov 30 and Dec 1

    await rollup_recent(clock.rollup)
    first = await gateway.stores.rollups.computed(units, ["2026-11", "2026-12"])
    await rollup_recent(clock.rollup, full=True)  # the day's first run: both months in full
    clock.advance(timedelta(minutes=15))
    await rollup_recent(clock.rollup)  # November's mark now covers the days before Nov 30
    after = await gateway.stores.rollups.computed(units, ["2026-11", "2026-12"])

    # December was covered from its first day; November only from the 30th, never marked.
    assert first == {(unit, "2026-12"): datetime(2026, 12, 1, 0, 5, tzinfo=UTC) for unit in units}
    assert set(after.values()) == {clock.now} and len(after) == 2 * len(units)


async def test_every_format_says_as_of_and_how_much_is_estimated(
    client: httpx.AsyncClient, gateway: Gateway, clock: Clock
) -> None:
    await spend(gateway, "exact", NOON - timedelta(hours=3))  # 1000 * 0.15 + 100 * 0.60 = 210
    await spend(gateway, "guess", NOON - timedelta(hours=2), estimated=True)
    await spend(gateway, "guess-2", NOON - timedelta(hours=1), estimated=True, use_case="classify")

    body = await report(client)
    csv_answer = await client.get(REPORT, params={"format": "csv"}, headers=FINANCE)
    page = await client.get(f"{REPORT}.html", headers=FINANCE)

    totals = body["totals"]
    assert (totals["calls"], totals["estimated_calls"]) == (3, 2)
    assert (totals["cost"], totals["estimated_cost"]) == ("0.000630", "0.000420")
    assert body["estimated_share"] == "0.6667"
    rows = list(csv.DictReader(io.StringIO(csv_answer.text, newline="")))
    assert [(r["use_case"], r["estimated_calls"], r["estimated_cost"]) for r in rows] == [
        ("classify", "1", "0.000210"),
        ("summarize", "1", "0.000210"),
    ]
    for answer in (csv_answer, page):
        assert answer.headers["x-report-as-of"] == body["as_of"] == NOON.isoformat()
    assert f"Data as of {NOON.isoformat()}" in page.text
    assert "66.67% of cost (2 calls)" in page.text
    assert "2 calls (0.000420 USD) are counted from the gateway&#x27;s own estimate" in page.text


async def test_a_page_that_reaches_today_reloads_itself_and_a_past_one_does_not(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    today = await client.get(f"{REPORT}.html", headers=FINANCE)
    october = await client.get(
        f"{REPORT}.html", params={"from": "2026-10-01", "to": "2026-10-31"}, headers=FINANCE
    )

    assert '<meta http-equiv="refresh" content="300"/>' in today.text
    assert "http-equiv" not in october.text
