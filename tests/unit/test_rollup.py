"""The rollup timer's two runs: recent (yesterday and today) and full (two months)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters import sqlite_ledger
from shared.composition.root import Gateway
from shared.handlers.rollups import rollup_recent
from shared.metering.rollup import first_run_of_the_day
from tests.unit.test_prices import record, tokens

NOW = datetime(2026, 11, 1, 0, 20, tzinfo=UTC)  # just past midnight, first day of a month


async def calls_by_day(gateway: Gateway) -> dict[str, int]:
    rollups = await gateway.stores.rollups.query(["marketing"], "2026-10-01", "2026-11-30")
    return {r.day: r.calls for r in rollups}


async def test_a_recent_run_recomputes_yesterday_and_today_only(gateway: Gateway) -> None:
    # Yesterday is in the previous month: both partitions are read from its midnight on.
    for i, when in enumerate(
        (NOW, NOW - timedelta(hours=1), NOW - timedelta(hours=23), NOW - timedelta(days=2))
    ):
        await gateway.meter.settle(
            None, record(request_id=f"r{i}", created_at=when, **tokens(10, 0, 1))
        )

    recomputed = await rollup_recent(gateway.reports.rollup, NOW)

    assert sorted({r.day for r in recomputed}) == ["2026-10-31", "2026-11-01"]
    assert await calls_by_day(gateway) == {"2026-10-31": 2, "2026-11-01": 1}


async def test_a_full_run_also_catches_a_late_record_of_an_older_day(gateway: Gateway) -> None:
    three_days_ago = NOW - timedelta(days=3)
    await gateway.meter.settle(None, record(request_id="old", created_at=three_days_ago))

    assert await rollup_recent(gateway.reports.rollup, NOW) == []
    full = await rollup_recent(gateway.reports.rollup, NOW, full=True)

    assert [r.day for r in full] == ["2026-10-29"]
    assert await calls_by_day(gateway) == {"2026-10-29": 1}


def test_the_full_run_is_the_first_of_each_utc_day() -> None:
    period = timedelta(minutes=15)
    midnight = datetime(2026, 11, 23, tzinfo=UTC)
    assert first_run_of_the_day(midnight, period)
    assert first_run_of_the_day(midnight + timedelta(minutes=14, seconds=59), period)
    assert not first_run_of_the_day(midnight + timedelta(minutes=15), period)
    assert not first_run_of_the_day(midnight - timedelta(seconds=1), period)


async def test_a_rollup_reads_a_page_at_a_time_and_lets_requests_in_between(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_ledger, "PAGE_SIZE", 2)
    for i in range(10):
        await gateway.meter.settle(
            None, record(request_id=f"r{i}", created_at=NOW, **tokens(10, 0, 1))
        )
    turns = 0

    async def other_request() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    started = turns
    [rollup] = await rollup_recent(gateway.reports.rollup, NOW)
    task.cancel()

    assert rollup.calls == 10 and rollup.prompt_tokens == 10 * 10
    assert turns - started >= 5  # at least once per page of two
