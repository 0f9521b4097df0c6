"""The metering lifecycle on every store: an intent is written before the call, replaced by the
exact record when it settles, and settled as an estimate by the sweeper once its process is
gone; a second sweep changes nothing, and budget counters always equal the ledger."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.composition.stores import Stores
from shared.domain.caller import Caller
from shared.domain.intent import CallPlan
from shared.domain.usage import UsageRecord
from shared.metering.budget_rules import parse_budgets
from shared.metering.budgets import BudgetBook, counter_key
from shared.metering.meter import Meter
from shared.metering.prices import PriceTable
from shared.metering.sweeper import sweep

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PRICES = PriceTable.parse(
    json.dumps(
        {
            "unit": "per_1m_tokens",
            "versions": [
                {
                    "version": "v1",
                    "effective_from": "2025-01-01T00:00:00Z",
                    "currency": "USD",
                    "models": {
                        "gpt-4o-mini": {"input": "0.15", "cached_input": "0.075", "output": "0.6"}
                    },
                }
            ],
        }
    )
)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def meter(stores: Stores, bu: str, clock: Clock) -> Meter:
    budgets = parse_budgets(
        json.dumps([{"business_unit": bu, "limit_tokens": 10**9}]), frozenset({bu})
    )
    book = BudgetBook(budgets, stores.counters, stores.ledger, "USD")
    return Meter(
        stores.ledger,
        stores.intents,
        PRICES,
        book,
        atomic=stores.atomic,
        settle_within=timedelta(seconds=45),
        now=clock.now,
    )


def plan(bu: str, prompt: int = 700, max_tokens: int = 300) -> CallPlan:
    caller = Caller(bu, "alice")
    rid = f"req-{uuid.uuid4().hex}"
    return CallPlan(caller, rid, "summarize", "2", "gpt-4o-mini", "gpt-4o-mini", prompt, max_tokens)


def answered(p: CallPlan, at: datetime, completion: int) -> UsageRecord:
    return UsageRecord(
        request_id=p.request_id,
        business_unit=p.caller.business_unit,
        user_id=p.caller.user_id,
        use_case=p.use_case,
        use_case_version=p.use_case_version,
        model=p.model,
        deployment="gpt-4o-mini-eastus",
        region="eastus",
        prompt_tokens=p.prompt_tokens,
        cached_tokens=0,
        completion_tokens=completion,
        reasoning_tokens=0,
        estimated=False,
        cache_hit=False,
        latency_ms=900.0,
        outcome="ok",
        created_at=at,
    )


async def books(stores: Stores, bu: str) -> tuple[int, int, list[UsageRecord]]:
    """(budget tokens, Σ ledger tokens, records) of the unit's month."""
    counted = await stores.counters.get(counter_key(bu, "2026-11", "*", "tokens"), bu)
    records = list(await stores.ledger.list_partition(bu, "2026-11"))
    return counted, sum(r.prompt_tokens + r.completion_tokens for r in records), records


async def test_write_settle_and_nothing_left_to_sweep(
    stores: Stores, meter: Meter, bu: str, clock: Clock
) -> None:
    p = plan(bu)
    reservation = await meter.admit(p)
    assert await stores.intents.get(bu, p.request_id) == reservation.intent
    assert (await books(stores, bu))[0] == 1000  # reserved: prompt + max_tokens

    clock.at += timedelta(seconds=2)
    await meter.settle(reservation, answered(p, clock.at, 42))
    clock.at += timedelta(minutes=5)

    assert await sweep(meter, stores.intents, [bu], clock.at) == []
    counted, ledger, records = await books(stores, bu)
    assert counted == ledger == 742
    assert [(r.outcome, r.estimated) for r in records] == [("ok", False)]
    assert await stores.intents.get(bu, p.request_id) is None


async def test_a_released_call_leaves_nothing(stores: Stores, meter: Meter, bu: str) -> None:
    p = plan(bu)
    await meter.release(await meter.admit(p))

    assert await stores.intents.get(bu, p.request_id) is None
    assert await books(stores, bu) == (0, 0, [])


async def test_a_dead_call_is_swept_once_as_an_estimate(
    stores: Stores, meter: Meter, bu: str, clock: Clock
) -> None:
    dead, alive = plan(bu, 500, 200), plan(bu, 300, 100)
    await meter.admit(dead)  # its process dies here
    clock.at += timedelta(seconds=30)
    await meter.admit(alive)  # admitted later: not due at the first sweep

    first = await sweep(meter, stores.intents, [bu], START + timedelta(seconds=46))
    again = await sweep(meter, stores.intents, [bu], START + timedelta(seconds=46))

    assert [(r.request_id, r.outcome, r.estimated) for r in first] == [
        (dead.request_id, "interrupted", True)
    ]
    assert again == []
    counted, ledger, records = await books(stores, bu)
    assert [r.prompt_tokens + r.completion_tokens for r in records] == [700]
    assert counted == ledger + 400  # the live call's reservation is still held
    assert await stores.intents.get(bu, alive.request_id) is not None


async def test_a_record_written_before_its_writer_died_is_kept_by_the_sweep(
    stores: Stores, meter: Meter, bu: str, clock: Clock
) -> None:
    p = plan(bu)
    await meter.admit(p)
    exact = meter.price(answered(p, START + timedelta(seconds=1), 42))
    await stores.ledger.record(exact)  # the ledger write landed, the intent close did not

    swept = await sweep(meter, stores.intents, [bu], START + timedelta(minutes=1))

    assert swept == [exact]
    counted, ledger, records = await books(stores, bu)
    assert counted == ledger == 742 and records == [exact]


async def test_a_settle_after_the_sweep_replaces_the_estimate_with_the_truth(
    stores: Stores, meter: Meter, bu: str, clock: Clock
) -> None:
    p = plan(bu)
    reservation = await meter.admit(p)
    clock.at += timedelta(minutes=1)
    await sweep(meter, stores.intents, [bu], clock.at)  # the call outlived its deadline

    await meter.settle(reservation, answered(p, clock.at, 42))
    await meter.settle(None, answered(p, clock.at, 42))  # and a replay

    counted, ledger, records = await books(stores, bu)
    assert counted == ledger == 742
    assert [(r.outcome, r.estimated) for r in records] == [("ok", False)]
