"""Budgets: the at-limit rule, hard 429 / soft warning, settle and release, reservations that
outlive a dead worker (on its intent), and concurrency against one shared counter store."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.composition.embedded import open_embedded_stores
from shared.composition.stores import Stores
from shared.domain.caller import Caller
from shared.domain.errors import TooManyRequests
from shared.domain.intent import CallPlan
from shared.metering import budgets as budget_module
from shared.metering.budget_rules import BudgetConfigError, parse_budgets
from shared.metering.budgets import BudgetBook, counter_key
from shared.metering.meter import Meter, Reservation
from shared.settings import Settings
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel
from tests.unit.test_prices import record, table, tokens, version

NOV = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
UNITS = frozenset({"marketing", "legal"})
MARKETING = Caller("marketing", "alice")
PRICES = table(version("v1", "2025-01-01T00:00:00Z", **{"gpt-4o-mini": ("0.15", "0.075", "0.6")}))


@dataclass
class InterleavingCounters:
    """An in-memory CounterStore whose atomic add yields before and after, as a network round
    trip would, so concurrent calls really interleave between their counter writes."""

    values: dict[tuple[str, str], int] = field(default_factory=dict)

    async def add(
        self, key: str, partition: str, delta: int, ttl_seconds: int | None = None
    ) -> int:
        await asyncio.sleep(0)  # (never expires: a test is shorter than any TTL)
        value = self.values.get((partition, key), 0) + delta
        self.values[(partition, key)] = value
        await asyncio.sleep(0)
        return value

    async def get(self, key: str, partition: str) -> int:
        return self.values.get((partition, key), 0)


class BudgetMeter(Meter):
    """The meter, with ``admit`` in the terms these tests speak: who, which use case, how many."""

    async def call(
        self, caller: Caller, request_id: str, use_case: str, model: str, tokens: int
    ) -> Reservation:
        plan = CallPlan(caller, request_id, use_case, "1", model, model, tokens, 0)
        return await self.admit(plan)


def meter(stores: Stores, budgets: list[dict[str, Any]], now: datetime = NOV) -> BudgetMeter:
    book = BudgetBook(
        parse_budgets(json.dumps(budgets), UNITS), stores.counters, stores.ledger, "USD"
    )
    return BudgetMeter(stores.ledger, stores.intents, PRICES, book, now=lambda: now)


def spent(stores: Stores, scope: str = "*", metric: str = "tokens") -> Any:
    return stores.counters.get(counter_key("marketing", "2026-11", scope, metric), "marketing")


async def held(stores: Stores, request_id: str) -> int:
    """The reservation still held for a call (on its open intent)."""
    intent = await stores.intents.get("marketing", request_id)
    return 0 if intent is None or intent.hold is None else intent.hold.tokens


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    return open_embedded_stores(tmp_path)


def hard(limit_tokens: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"business_unit": "marketing", "limit_tokens": limit_tokens, "kind": "hard", **extra}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('[{"business_unit": "pirates", "limit_tokens": 1}]', r"\[0\]\.business_unit"),
        ('[{"business_unit": "legal"}]', r"GATEWAY_BUDGETS\[0\]: .*limit_tokens, limit_cost"),
        ('[{"business_unit": "legal", "limit_cost": "-1"}]', r"\[0\]\.limit_cost"),
        ('[{"business_unit": "legal", "limit_tokens": 1, "kind": "maybe"}]', r"\[0\]\.kind"),
        ('[{"business_unit": "legal", "limit_tokens": 1, "colour": 1}]', r"\[0\]\.colour"),
        ("[{", "not valid JSON"),
    ],
)
def test_bad_budget_config_names_the_entry(raw: str, message: str) -> None:
    with pytest.raises(BudgetConfigError, match=message):
        parse_budgets(raw, UNITS)


async def test_one_token_below_the_limit_admits_and_at_the_limit_refuses(stores: Stores) -> None:
    m = meter(stores, [hard(1000)])
    key = counter_key("marketing", "2026-11", "*", "tokens")
    await stores.counters.add(key, "marketing", 999)

    admitted = await m.call(MARKETING, "a", "summarize", "gpt-4o-mini", 100)  # crosses: admitted
    assert admitted.hold is not None and await spent(stores) == 1099
    await m.release(admitted)
    await stores.counters.add(key, "marketing", 1)  # spend is now exactly the limit

    with pytest.raises(TooManyRequests) as refused:
        await m.call(MARKETING, "b", "summarize", "gpt-4o-mini", 1)
    assert await spent(stores) == 1000  # the refused estimate was taken back out
    error = refused.value
    assert (error.status, error.code) == (429, "budget_exceeded")
    assert error.details["budget"] == "marketing/*"
    assert (error.details["spent_tokens"], error.details["limit_tokens"]) == (1000, 1000)
    assert error.details["resets_at"] == "2026-12-01T00:00:00Z"
    assert error.headers["Retry-After"] == str(15 * 86400 + 12 * 3600)
    assert "marketing/*" in error.message and "2026-12-01T00:00:00Z" in error.message


async def test_cost_limit_uses_the_same_rule_and_resets_at_new_year(stores: Stores) -> None:
    new_year_eve = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    m = meter(stores, [hard(limit_cost="0.01")], now=new_year_eve)
    key = counter_key("marketing", "2026-12", "*", "cost_nano")
    await stores.counters.add(key, "marketing", 10_000_000 - 1)  # 0.01 USD minus a nano-dollar
    await m.call(MARKETING, "a", "summarize", "gpt-4o-mini", 10)
    with pytest.raises(TooManyRequests) as refused:
        await m.call(MARKETING, "b", "summarize", "gpt-4o-mini", 10)
    assert refused.value.details["resets_at"] == "2027-01-01T00:00:00Z"
    assert refused.value.headers["Retry-After"] == "1"
    assert refused.value.details["limit_cost"] == "0.01"


async def test_soft_budget_warns_and_lets_the_call_through(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    m = meter(stores, [hard(5000), {**hard(100), "kind": "soft"}])
    first = await m.call(MARKETING, "a", "summarize", "gpt-4o-mini", 150)
    with caplog.at_level(logging.WARNING, logger="gateway.budgets"):
        second = await m.call(MARKETING, "b", "summarize", "gpt-4o-mini", 150)
    assert first.headers == {"x-gateway-tokens-admitted": "150"}
    warning = second.headers["x-budget-warning"]
    assert "budget=marketing/*" in warning and "kind=soft" in warning
    assert "spent_tokens=150" in warning and "limit_tokens=100" in warning
    assert "soft budget exhausted" in caplog.text


async def test_a_soft_budget_warns_every_call_but_logs_once_per_interval(
    stores: Stores, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = meter(stores, [{**hard(100), "kind": "soft"}])
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    await m.call(MARKETING, "a", "summarize", "gpt-4o-mini", 150)
    with caplog.at_level(logging.WARNING, logger="gateway.budgets"):
        warned = [await m.call(MARKETING, f"b{i}", "summarize", "gpt-4o-mini", 1) for i in range(5)]
        clock[0] += budget_module.SOFT_LOG_INTERVAL_SECONDS
        warned.append(await m.call(MARKETING, "c", "summarize", "gpt-4o-mini", 1))
    assert all("x-budget-warning" in r.headers for r in warned)
    assert caplog.text.count("soft budget exhausted") == 2


async def test_spend_counters_outlive_their_month(stores: Stores) -> None:
    ttls: dict[str, set[int | None]] = {}

    class Recording:
        async def add(
            self, key: str, partition: str, delta: int, ttl_seconds: int | None = None
        ) -> int:
            ttls.setdefault(key.split("|")[0], set()).add(ttl_seconds)
            return await stores.counters.add(key, partition, delta, ttl_seconds)

        async def get(self, key: str, partition: str) -> int:
            return await stores.counters.get(key, partition)

    book = BudgetBook(
        parse_budgets(json.dumps([hard(5000)]), UNITS), Recording(), stores.ledger, "USD"
    )
    m = BudgetMeter(stores.ledger, stores.intents, PRICES, book, now=lambda: NOV)
    reservation = await m.call(MARKETING, "a", "summarize", "gpt-4o-mini", 100)
    await m.settle(reservation, record(request_id="a", created_at=NOV, **tokens(80, 0, 5)))

    assert ttls == {"budget": {62 * 24 * 3600}}


async def test_a_use_case_budget_only_limits_that_use_case(stores: Stores) -> None:
    m = meter(stores, [hard(10, use_case="classify")])
    await m.call(MARKETING, "a", "classify", "gpt-4o-mini", 50)
    with pytest.raises(TooManyRequests, match="marketing/classify"):
        await m.call(MARKETING, "b", "classify", "gpt-4o-mini", 50)
    other = await m.call(MARKETING, "c", "summarize", "gpt-4o-mini", 50)
    legal = await m.call(Caller("legal", "bob"), "d", "classify", "gpt-4o-mini", 50)
    assert other.hold is None and legal.hold is None  # no budget covers them: nothing counted


async def test_settle_counts_the_real_usage_and_release_gives_it_back(stores: Stores) -> None:
    m = meter(stores, [hard(10_000)])
    reservation = await m.call(MARKETING, "r1", "summarize", "gpt-4o-mini", 1000)
    assert await spent(stores) == 1000
    assert await spent(stores, metric="cost_nano") == 600_000  # 1000 tokens at the 0.60 rate

    await m.settle(reservation, record(**tokens(300, 0, 100)))
    assert await spent(stores) == 400
    assert await spent(stores, metric="cost_nano") == 105_000  # 300 * 0.15 + 100 * 0.60

    failed = await m.call(MARKETING, "r2", "summarize", "gpt-4o-mini", 1000)
    await m.release(failed)
    await m.release(failed)  # twice: the hold is claimed once
    assert await spent(stores) == 400
    assert [await held(stores, r) for r in ("r1", "r2")] == [0, 0]


async def test_a_dead_workers_reservation_is_settled_by_the_recovery_path(stores: Stores) -> None:
    m = meter(stores, [hard(10_000)])
    await m.call(MARKETING, "job1", "summarize", "gpt-4o-mini", 1000)  # the worker dies here
    usage = record(request_id="job1", **tokens(300, 0, 100))

    await m.settle(None, usage)  # the next delivery finds the answer saved on the job
    await m.settle(None, usage)  # and a duplicate delivery changes nothing
    assert await spent(stores) == 400


async def test_a_reservation_the_sweeper_settles_counts_its_estimate(stores: Stores) -> None:
    m = meter(stores, [hard(10_000)])
    dead = await m.call(MARKETING, "job1", "summarize", "gpt-4o-mini", 1000)  # dies mid-call

    await m.settle_interrupted(dead.intent)
    await m.settle_interrupted(dead.intent)  # a second sweep changes nothing

    assert await spent(stores) == 1000  # prompt as counted + max_tokens: all it can have cost
    assert await spent(stores, metric="cost_nano") == 150_000  # 1000 prompt tokens at 0.15
    assert await held(stores, "job1") == 0


@pytest.mark.parametrize("backend", ["interleaving", "sqlite"])
async def test_concurrent_calls_never_overshoot_by_more_than_one_reservation(
    stores: Stores, backend: str
) -> None:
    if backend == "interleaving":
        stores = replace(stores, counters=InterleavingCounters())
    limit, estimate, calls = 5_000, 600, 60
    m = meter(stores, [hard(limit)])
    rng = random.Random(7)
    real_tokens: list[int] = []
    in_flight = peak = 0

    async def call(i: int) -> str:
        nonlocal in_flight, peak
        try:
            reservation = await m.call(MARKETING, f"c{i}", "summarize", "gpt-4o-mini", estimate)
        except TooManyRequests:
            return "refused"
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(rng.random() / 100)  # the upstream call
        in_flight -= 1
        if i % 10 == 0:
            await m.release(reservation)  # a failed upstream call
            return "failed"
        completion = rng.randint(0, 400)  # real usage (200 + completion) <= the estimate
        real_tokens.append(200 + completion)
        await m.settle(reservation, record(request_id=f"c{i}", **tokens(200, 0, completion)))
        return "ok"

    outcomes = await asyncio.gather(*(call(i) for i in range(calls)))

    final = await spent(stores)
    assert final == sum(real_tokens)  # settled to the real usage, refusals and failures undone
    assert final < limit + estimate  # the one call that crossed the limit, no more
    assert outcomes.count("refused") > 0 and outcomes.count("ok") > 0 and peak > 1
    assert [await held(stores, f"c{i}") for i in range(calls)] == [0] * calls


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    budgets = [
        {"business_unit": "marketing", "use_case": "summarize", "limit_tokens": 1, "kind": "hard"},
        {"business_unit": "legal", "limit_tokens": 1, "kind": "soft"},
    ]
    return Settings(gateway_data_dir=tmp_path, gateway_budgets=json.dumps(budgets))


async def test_over_http_a_hard_budget_is_a_429_and_a_soft_one_a_header(
    client: httpx.AsyncClient, chat: FakeChatModel
) -> None:
    def summarize(text: str, unit: str) -> Any:
        headers = {**HEADERS, "x-business-unit": unit}
        return client.post("/api/v1/summarize", json={"text": text}, headers=headers)

    first, blocked = await summarize("one", "marketing"), await summarize("two", "marketing")
    assert first.status_code == 200 and "x-budget-warning" not in first.headers
    assert blocked.status_code == 429
    error = blocked.json()["error"]
    assert (
        error["code"] == "budget_exceeded" and error["details"]["budget"] == "marketing/summarize"
    )
    assert int(blocked.headers["retry-after"]) > 0 and error["details"]["resets_at"].endswith(
        "T00:00:00Z"
    )
    assert len(chat.calls) == 1

    quiet, warned = await summarize("three", "legal"), await summarize("four", "legal")
    assert quiet.status_code == warned.status_code == 200
    assert "x-budget-warning" not in quiet.headers
    assert "budget=legal/*" in warned.headers["x-budget-warning"]
