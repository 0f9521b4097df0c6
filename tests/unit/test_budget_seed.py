"""A budget added or changed mid-month starts from the month's spend in the ledger: the refusal
names the same figure the chargeback report shows, and nothing is counted twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.asgi import build_asgi
from devhost.host import indexed_app
from shared.composition.embedded import open_embedded_queue, open_embedded_stores
from shared.composition.root import assemble, use_gateway
from shared.composition.stores import Stores
from shared.domain.caller import Caller
from shared.domain.errors import TooManyRequests
from shared.metering import budgets as budget_module
from shared.metering.budget_rules import parse_budgets
from shared.metering.budget_seed import fingerprint
from shared.metering.budgets import BudgetBook, seed_key
from shared.settings import Settings
from tests.fakes import FakeChatModel
from tests.unit.test_budgets import (
    NOV,
    PRICES,
    UNITS,
    BudgetMeter,
    InterleavingCounters,
    hard,
    spent,
)
from tests.unit.test_prices import record, tokens

MARKETING = Caller("marketing", "alice")
LEGAL = {"x-business-unit": "legal", "x-user-id": "lena@contoso.com"}
FINANCE = {"x-business-unit": "finance", "x-user-id": "cfo", "x-user-roles": "finance"}


def book(stores: Stores, budgets: list[dict[str, Any]]) -> BudgetBook:
    return BudgetBook(
        parse_budgets(json.dumps(budgets), UNITS), stores.counters, stores.ledger, "USD"
    )


def metered(stores: Stores, budgets: list[dict[str, Any]] | None) -> BudgetMeter:
    budget_book = book(stores, budgets) if budgets else None
    return BudgetMeter(stores.ledger, stores.intents, PRICES, budget_book, now=lambda: NOV)


async def spend_without_budget(stores: Stores, *calls: tuple[str, str, int, int]) -> None:
    """Usage settled while no budget covered it: on the ledger only."""
    for request_id, use_case, prompt, completion in calls:
        usage = record(
            request_id=request_id,
            use_case=use_case,
            created_at=NOV,
            **tokens(prompt, 0, completion),
        )
        await metered(stores, None).settle(None, usage)


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    return open_embedded_stores(tmp_path)


async def test_a_budget_added_mid_month_starts_from_the_ledger(stores: Stores) -> None:
    await spend_without_budget(stores, ("a", "summarize", 1000, 235), ("b", "classify", 300, 10))

    m = metered(stores, [hard(limit_cost="0.0001")])
    with pytest.raises(TooManyRequests) as refused:
        await m.call(MARKETING, "c", "summarize", "gpt-4o-mini", 10)

    # 1000 * 0.15 + 235 * 0.60 = 291 and 300 * 0.15 + 10 * 0.60 = 51 micro-dollars
    assert refused.value.details["spent_cost"] == "0.000342"
    assert refused.value.details["spent_tokens"] == 1545
    assert await spent(stores) == 1545  # the refused estimate was taken back out


async def test_a_use_case_budget_counts_only_its_use_case(stores: Stores) -> None:
    await spend_without_budget(stores, ("a", "summarize", 1000, 235), ("b", "classify", 300, 10))

    admitted = await metered(stores, [hard(400, use_case="classify")]).call(
        MARKETING, "c", "classify", "gpt-4o-mini", 50
    )

    assert admitted.hold is not None
    assert await spent(stores, scope="classify") == 310 + 50
    assert await spent(stores, scope="*") == 0  # no budget on "*": not counted, not seeded


async def test_changing_a_limit_mid_month_counts_nothing_twice(stores: Stores) -> None:
    first = metered(stores, [hard(10_000)])
    for request_id in ("a", "b"):
        reservation = await first.call(MARKETING, request_id, "summarize", "gpt-4o-mini", 900)
        usage = record(request_id=request_id, created_at=NOV, **tokens(300, 0, 100))
        await first.settle(reservation, usage)
    assert await spent(stores) == 800

    changed = metered(stores, [hard(5_000)])  # a new configuration: seeded again, a no-op
    await changed.call(MARKETING, "c", "summarize", "gpt-4o-mini", 900)

    assert await spent(stores) == 800 + 900


async def test_a_budget_removed_and_added_back_catches_up_on_the_gap(stores: Stores) -> None:
    first = metered(stores, [hard(10_000)])
    reservation = await first.call(MARKETING, "a", "summarize", "gpt-4o-mini", 900)
    await first.settle(reservation, record(request_id="a", created_at=NOV, **tokens(300, 0, 100)))
    await spend_without_budget(stores, ("gap", "summarize", 2000, 500))  # no budget meanwhile

    back = metered(stores, [hard(20_000)])
    await back.call(MARKETING, "c", "summarize", "gpt-4o-mini", 900)

    assert await spent(stores) == 400 + 2500 + 900


async def test_a_recovered_record_is_counted_once_when_it_triggers_the_seed(
    stores: Stores,
) -> None:
    await spend_without_budget(stores, ("a", "summarize", 1000, 0))
    m = metered(stores, [hard(10_000)])

    # The worker died after the model answered; the next delivery meters the saved record.
    await m.settle(None, record(request_id="job1", created_at=NOV, **tokens(300, 0, 100)))
    await m.settle(None, record(request_id="job2", created_at=NOV, **tokens(300, 0, 100)))

    assert await spent(stores) == 1000 + 400 + 400


async def test_instances_seeding_at_once_add_the_ledger_once(stores: Stores) -> None:
    await spend_without_budget(stores, ("a", "summarize", 1000, 235))
    counters = InterleavingCounters()
    shared = replace(stores, counters=counters)
    instances = [metered(shared, [hard(100_000)]) for _ in range(3)]

    await asyncio.gather(
        *(
            m.call(MARKETING, f"c{i}-{n}", "summarize", "gpt-4o-mini", 100)
            for i, m in enumerate(instances)
            for n in range(4)
        )
    )

    assert await spent(shared) == 1235 + 12 * 100


async def test_a_seed_claimed_but_never_finished_is_waited_for_then_logged(
    stores: Stores, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    await spend_without_budget(stores, ("a", "summarize", 1000, 235))
    m = metered(stores, [hard(10_000)])
    config = fingerprint(parse_budgets(json.dumps([hard(10_000)]), UNITS))
    await stores.counters.add(seed_key("marketing", "2026-11", "*", config), "marketing", 1)
    monkeypatch.setattr(budget_module, "SEED_WAIT_SECONDS", 0.1)

    with caplog.at_level(logging.WARNING, logger="gateway.budgets"):
        await m.call(MARKETING, "c", "summarize", "gpt-4o-mini", 100)

    assert "seed was not finished in time" in caplog.text
    assert await spent(stores) == 100  # the claimant's top-up never came; nothing doubled


@contextlib.asynccontextmanager
async def serving(settings: Settings, chat: FakeChatModel) -> AsyncIterator[httpx.AsyncClient]:
    stores = open_embedded_stores(settings.gateway_data_dir)
    queue = open_embedded_queue(settings.gateway_data_dir)
    gw = assemble(settings, stores, queue, chat, receiver=queue)
    gw.closers.extend([stores.close, queue.close])
    use_gateway(gw)
    transport = httpx.ASGITransport(app=build_asgi(indexed_app().http))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client
    finally:
        use_gateway(None)
        await gw.close()


async def test_over_http_the_refusal_and_the_report_agree_on_the_months_spend(
    tmp_path: Path,
) -> None:
    chat = FakeChatModel()
    text = " ".join(["The quarterly review covers revenue, costs and the hiring plan."] * 60)
    async with serving(Settings(gateway_data_dir=tmp_path), chat) as client:
        for n in range(3):  # legal spends with no budget configured
            answer = await client.post(
                "/api/v1/summarize", json={"text": f"{n} {text}"}, headers=LEGAL
            )
            assert answer.status_code == 200, answer.text

    budget = [{"business_unit": "legal", "limit_cost": "0.0001", "kind": "hard"}]
    settings = Settings(gateway_data_dir=tmp_path, gateway_budgets=json.dumps(budget))
    async with serving(settings, chat) as client:
        refused = await client.post("/api/v1/summarize", json={"text": "new"}, headers=LEGAL)
        today = datetime.now(UTC).date()
        query = f"from={today.replace(day=1)}&to={today}&business_unit=legal&refresh=true"
        report = await client.get(f"/api/v1/reports/chargeback?{query}", headers=FINANCE)

    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded" and error["details"]["budget"] == "legal/*"
    assert len(chat.calls) == 3  # the first call after the budget was added is refused
    totals = report.json()["totals"]
    assert float(totals["cost"]) > 0.0001
    assert error["details"]["spent_cost"] == totals["cost"]
    assert error["details"]["spent_tokens"] == totals["prompt_tokens"] + totals["completion_tokens"]
