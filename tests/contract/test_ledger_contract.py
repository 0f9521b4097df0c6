"""UsageLedger contract: idempotent upsert per (business unit, month, request id)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.adapters import cosmos_ledger, sqlite_ledger
from shared.domain.usage import UsageRecord
from shared.ports import UsageLedger

JAN = datetime(2025, 1, 31, 23, 59, 59, 123456, tzinfo=UTC)
FEB = datetime(2025, 2, 1, 0, 0, 1, tzinfo=UTC)


def _record(bu: str, created_at: datetime = JAN, request_id: str = "") -> UsageRecord:
    return UsageRecord(
        request_id=request_id or f"req-{uuid.uuid4().hex}",
        business_unit=bu,
        user_id="alice",
        use_case="summarise",
        use_case_version="3",
        model="gpt-4o-mini",
        deployment="gpt-4o-mini-eastus",
        region="eastus",
        prompt_tokens=1200,
        cached_tokens=1024,
        completion_tokens=80,
        reasoning_tokens=0,
        estimated=False,
        cache_hit=False,
        latency_ms=412.5,
        outcome="ok",
        created_at=created_at,
        # More digits than a float keeps exactly: a lossy store would change them.
        cost=Decimal("0.000123456789012345678"),
        savings=Decimal("0.000100"),
        price_version="2025-01",
        job_id="job-1",
    )


async def test_first_record_is_new_and_reads_back_exactly(ledger: UsageLedger, bu: str) -> None:
    record = _record(bu)

    assert await ledger.record(record) is True

    got = await ledger.get(bu, "2025-01", record.request_id)
    assert got == record
    assert got is not None
    assert str(got.cost) == "0.000123456789012345678"
    assert str(got.savings) == "0.000100"
    assert got.created_at.utcoffset() is not None


async def test_replay_replaces_and_is_not_new(ledger: UsageLedger, bu: str) -> None:
    first = _record(bu)
    replay = dataclasses.replace(first, completion_tokens=95, cost=Decimal("0.5"))

    assert await ledger.record(first) is True
    assert await ledger.record(replay) is False
    assert await ledger.record(replay) is False

    assert await ledger.list_partition(bu, "2025-01") == [replay]


async def test_months_are_separate_partitions(ledger: UsageLedger, bu: str) -> None:
    jan = _record(bu, JAN, request_id="same-id")
    feb = _record(bu, FEB, request_id="same-id")

    assert await ledger.record(jan) is True
    assert await ledger.record(feb) is True

    assert await ledger.list_partition(bu, "2025-01") == [jan]
    assert await ledger.list_partition(bu, "2025-02") == [feb]


async def test_business_units_are_separate_partitions(ledger: UsageLedger, bu: str) -> None:
    other_bu = f"{bu}-other"
    mine = _record(bu, request_id="same-id")
    theirs = _record(other_bu, request_id="same-id")

    assert await ledger.record(mine) is True
    assert await ledger.record(theirs) is True

    assert await ledger.list_partition(bu, "2025-01") == [mine]
    assert await ledger.get(other_bu, "2025-01", "same-id") == theirs


async def test_list_partition_returns_every_record(ledger: UsageLedger, bu: str) -> None:
    records = [_record(bu) for _ in range(5)]
    for record in records:
        await ledger.record(record)

    listed = await ledger.list_partition(bu, "2025-01")

    assert sorted(r.request_id for r in listed) == sorted(r.request_id for r in records)


async def test_list_partition_since_keeps_records_at_or_after_the_instant(
    ledger: UsageLedger, bu: str
) -> None:
    midnight = datetime(2025, 1, 31, tzinfo=UTC)
    before = _record(bu, midnight - timedelta(microseconds=1))
    exactly = _record(bu, midnight)
    after = _record(bu, midnight + timedelta(microseconds=500))
    for record in (after, before, exactly):
        await ledger.record(record)

    listed = await ledger.list_partition(bu, "2025-01", since=midnight)

    assert [r.request_id for r in listed] == [exactly.request_id, after.request_id]


async def test_pages_hold_every_record_once_across_page_boundaries(
    ledger: UsageLedger, bu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_ledger, "PAGE_SIZE", 3)
    monkeypatch.setattr(cosmos_ledger, "PAGE_SIZE", 3)
    midnight = datetime(2025, 1, 31, tzinfo=UTC)
    # Several records share an instant: a page may end in the middle of them.
    stamps = [midnight] * 4 + [midnight + timedelta(seconds=s) for s in (1, 1, 2)]
    records = [_record(bu, at) for at in stamps]
    for record in records:
        await ledger.record(record)
    await ledger.record(_record(bu, midnight - timedelta(seconds=1)))  # before `since`

    pages = [page async for page in ledger.pages(bu, "2025-01", since=midnight)]

    seen = [r.request_id for page in pages for r in page]
    assert sorted(seen) == sorted(r.request_id for r in records)
    assert all(len(page) <= 3 for page in pages) and len(pages) >= 3


async def test_unknown_reads_are_empty(ledger: UsageLedger, bu: str) -> None:
    assert await ledger.get(bu, "2025-01", "missing") is None
    assert list(await ledger.list_partition(bu, "2025-01")) == []


async def test_record_new_never_overwrites(ledger: UsageLedger, bu: str) -> None:
    first = _record(bu)
    other = dataclasses.replace(first, completion_tokens=1, estimated=True, outcome="interrupted")

    assert await ledger.record_new(first) is True
    assert await ledger.record_new(other) is False

    assert await ledger.get(bu, "2025-01", first.request_id) == first
    assert await ledger.record(other) is False  # a plain record still replaces it
    assert await ledger.get(bu, "2025-01", first.request_id) == other
