"""RollupStore contract: upsert by id, inclusive day range, optional business-unit filter, and
when each unit's rollups were last computed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.domain.usage import DailyRollup
from shared.ports import RollupStore


def _rollup(bu: str, day: str, model: str = "gpt-4o-mini", calls: int = 10) -> DailyRollup:
    return DailyRollup(
        day=day,
        business_unit=bu,
        use_case="qa",
        model=model,
        calls=calls,
        cache_hits=2,
        prompt_tokens=5000,
        cached_tokens=1024,
        completion_tokens=700,
        cost=Decimal("0.012345678901234567"),
        savings=Decimal("0.001"),
        estimated_calls=1,
        estimated_cost=Decimal("0.000123456789"),
    )


async def _seed(rollups: RollupStore, bu: str, days: list[str]) -> list[DailyRollup]:
    seeded = [_rollup(bu, day) for day in days]
    for rollup in seeded:
        await rollups.upsert(rollup)
    return seeded


def _ids(found: object) -> set[str]:
    assert isinstance(found, list | tuple)
    return {r.id for r in found}


async def test_range_bounds_are_inclusive(rollups: RollupStore, bu: str) -> None:
    days = ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
    seeded = await _seed(rollups, bu, days)

    found = await rollups.query([bu], "2025-03-02", "2025-03-03")

    assert _ids(found) == {seeded[1].id, seeded[2].id}


async def test_single_day_range(rollups: RollupStore, bu: str) -> None:
    seeded = await _seed(rollups, bu, ["2025-03-01", "2025-03-02"])

    found = await rollups.query([bu], "2025-03-02", "2025-03-02")

    assert list(found) == [seeded[1]]


async def test_range_crosses_month_end(rollups: RollupStore, bu: str) -> None:
    seeded = await _seed(rollups, bu, ["2025-02-28", "2025-03-01", "2025-03-02"])

    found = await rollups.query([bu], "2025-02-28", "2025-03-01")

    assert _ids(found) == {seeded[0].id, seeded[1].id}


async def test_upsert_replaces_by_id(rollups: RollupStore, bu: str) -> None:
    first = _rollup(bu, "2025-03-01", calls=10)
    again = dataclasses.replace(first, calls=11, cost=Decimal("0.5"))
    await rollups.upsert(first)
    await rollups.upsert(again)

    found = await rollups.query([bu], "2025-03-01", "2025-03-01")

    assert list(found) == [again]


async def test_models_of_one_day_are_separate_rollups(rollups: RollupStore, bu: str) -> None:
    mini = _rollup(bu, "2025-03-01", model="gpt-4o-mini")
    full = _rollup(bu, "2025-03-01", model="gpt-4o")
    await rollups.upsert(mini)
    await rollups.upsert(full)

    assert _ids(await rollups.query([bu], "2025-03-01", "2025-03-01")) == {mini.id, full.id}


async def test_business_unit_filter(rollups: RollupStore, bu: str) -> None:
    other = f"{bu}-other"
    third = f"{bu}-third"
    mine = await _seed(rollups, bu, ["2025-03-01"])
    theirs = await _seed(rollups, other, ["2025-03-01"])
    await _seed(rollups, third, ["2025-03-01"])

    only_mine = await rollups.query([bu], "2025-03-01", "2025-03-01")
    two = await rollups.query([bu, other], "2025-03-01", "2025-03-01")

    assert list(only_mine) == mine
    assert _ids(two) == {mine[0].id, theirs[0].id}


async def test_none_means_every_business_unit(rollups: RollupStore, bu: str) -> None:
    other = f"{bu}-other"
    mine = await _seed(rollups, bu, ["2025-03-01"])
    theirs = await _seed(rollups, other, ["2025-03-01"])

    found = await rollups.query(None, "2025-03-01", "2025-03-01")

    # Subset, not equality: on a shared database other tests' rollups may share the day.
    assert {mine[0].id, theirs[0].id} <= _ids(found)


async def test_empty_business_unit_list_matches_nothing(rollups: RollupStore, bu: str) -> None:
    await _seed(rollups, bu, ["2025-03-01"])

    assert list(await rollups.query([], "2025-03-01", "2025-03-01")) == []


async def test_when_each_unit_and_month_was_computed(rollups: RollupStore, bu: str) -> None:
    other, never = f"{bu}-other", f"{bu}-never"
    at = datetime(2025, 3, 2, 10, 30, 15, 250_000, tzinfo=UTC)
    await rollups.mark_computed(bu, "2025-03", at)
    await rollups.mark_computed(bu, "2025-02", at - timedelta(days=30))
    await rollups.mark_computed(other, "2025-03", at - timedelta(hours=1))
    await rollups.mark_computed(bu, "2025-03", at + timedelta(seconds=1))  # a later recompute

    found = await rollups.computed([bu, other, never], ["2025-02", "2025-03", "2025-04"])

    assert found == {
        (bu, "2025-03"): at + timedelta(seconds=1),
        (bu, "2025-02"): at - timedelta(days=30),
        (other, "2025-03"): at - timedelta(hours=1),
    }
    assert all(t.utcoffset() == timedelta(0) for t in found.values())
    assert await rollups.computed([bu], ["2025-01"]) == {}


async def test_the_computed_mark_is_never_a_rollup(rollups: RollupStore, bu: str) -> None:
    seeded = await _seed(rollups, bu, ["2025-03-01"])
    await rollups.mark_computed(bu, "2025-03", datetime(2025, 3, 1, 12, tzinfo=UTC))

    assert list(await rollups.query([bu], "0000-01-01", "9999-12-31")) == seeded
    assert _ids(await rollups.query(None, "2025-03-01", "2025-03-01")) >= {seeded[0].id}
