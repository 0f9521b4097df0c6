"""The price table and the meter's pricing: exact Decimal cost, versions, cache-hit savings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.composition.embedded import open_embedded_stores
from shared.domain.chat import TokenUsage
from shared.domain.usage import UsageRecord
from shared.metering.meter import DEFAULT_PRICE_TABLE, Meter
from shared.metering.prices import PriceTable, PriceTableError
from shared.settings import Settings, SettingsError

NOV = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def table(*versions: dict[str, Any]) -> PriceTable:
    return PriceTable.parse(json.dumps({"unit": "per_1m_tokens", "versions": list(versions)}))


def version(name: str, effective: str, **models: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "version": name,
        "effective_from": effective,
        "currency": "USD",
        "models": {
            m: {"input": i, "cached_input": c, "output": o} for m, (i, c, o) in models.items()
        },
    }


def record(**changes: Any) -> UsageRecord:
    fields: dict[str, Any] = {
        "request_id": "r1",
        "business_unit": "marketing",
        "user_id": "alice",
        "use_case": "summarize",
        "use_case_version": "1",
        "model": "gpt-4o-mini",
        "deployment": "gpt-4o-mini-eastus",
        "region": "eastus",
        "prompt_tokens": 1000,
        "cached_tokens": 400,
        "completion_tokens": 500,
        "reasoning_tokens": 0,
        "estimated": False,
        "cache_hit": False,
        "latency_ms": 12.5,
        "outcome": "ok",
        "created_at": NOV,
    }
    return UsageRecord(**(fields | changes))


def tokens(prompt: int, cached: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "cached_tokens": cached, "completion_tokens": completion}


def test_bundled_table_prices_every_default_deployment() -> None:
    prices = PriceTable.load(DEFAULT_PRICE_TABLE)
    prices.check_covers({d.model for d in Settings().aoai_deployments}, NOV)
    assert prices.currency == "USD"


def test_cost_is_exact_and_cached_tokens_are_part_of_prompt_tokens() -> None:
    prices = table(version("v1", "2025-01-01T00:00:00Z", m=("0.15", "0.075", "0.60")))
    # (1000 - 400) * 0.15 + 400 * 0.075 + 500 * 0.60 = 90 + 30 + 300 = 420 per 1M tokens
    charge = prices.charge("m", NOV, prompt=1000, cached=400, completion=500)
    assert charge.cost == Decimal("0.00042")
    assert (charge.currency, charge.price_version) == ("USD", "v1")
    # A cached count above the prompt count is clamped, never charged twice or negative.
    assert prices.charge("m", NOV, 100, 500, 0).cost == Decimal("0.0000075")


def test_a_million_tiny_costs_sum_exactly() -> None:
    prices = table(version("v1", "2025-01-01T00:00:00Z", m=("0.1", "0.1", "0.3")))
    one = prices.charge("m", NOV, 1, 0, 1).cost
    assert one == Decimal("0.0000004")
    assert sum([one] * 1_000_000, Decimal(0)) == Decimal("0.4")
    assert sum([float(one)] * 1_000_000) != 0.4  # what floats would have billed


def test_json_numbers_are_read_as_decimals_not_floats() -> None:
    raw = '{"unit": "per_1m_tokens", "versions": [{"version": "v", "effective_from": '
    raw += '"2025-01-01T00:00:00+00:00", "currency": "EUR", "models": {"m": '
    raw += '{"input": 0.1, "cached_input": 1, "output": "0.3"}}}]}'
    _, price = PriceTable.parse(raw).price("m", NOV)
    assert price.input == Decimal("0.1")  # float 0.1 would be 0.1000000000000000055...
    assert price.cached_input == Decimal(1)


def test_the_version_effective_at_the_call_is_charged() -> None:
    prices = table(
        version("old", "2025-01-01T00:00:00Z", m=("1", "1", "1")),
        version("new", "2026-11-15T12:00:00Z", m=("2", "1", "2")),
    )
    before = prices.charge("m", datetime(2026, 11, 15, 11, 59, 59, tzinfo=UTC), 10**6, 0, 0)
    at = prices.charge("m", NOV, 10**6, 0, 0)
    assert (before.price_version, before.cost) == ("old", Decimal(1))
    assert (at.price_version, at.cost) == ("new", Decimal(2))
    with pytest.raises(PriceTableError, match="no price version is effective"):
        prices.charge("m", datetime(2024, 1, 1, tzinfo=UTC), 1, 0, 1)
    with pytest.raises(PriceTableError, match="no price for model 'x'"):
        prices.charge("x", NOV, 1, 0, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"currency": "usd"}, "currency"),
        ({"effective_from": "2025-01-01T00:00:00"}, "with a zone"),
        ({"models": {"m": {"input": "-1", "cached_input": "0", "output": "0"}}}, "must be >= 0"),
        ({"models": {"m": {"input": True, "cached_input": "0", "output": "0"}}}, "decimal"),
        ({"models": {"m": {"input": "x", "cached_input": "0", "output": "0"}}}, "not a number"),
        ({"models": {"m": {"input": "NaN", "cached_input": "0", "output": "0"}}}, ">= 0"),
        ({"models": {}}, "non-empty"),
    ],
)
def test_malformed_versions_are_refused_with_the_field_named(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(PriceTableError, match=message):
        table(version("v", "2025-01-01T00:00:00Z", m=("1", "1", "1")) | change)


def test_table_level_mistakes_are_refused() -> None:
    v = version("v", "2025-01-01T00:00:00Z", m=("1", "1", "1"))
    with pytest.raises(PriceTableError, match="unique"):
        table(v, v)
    with pytest.raises(PriceTableError, match="one currency"):
        table(v, version("w", "2026-01-01T00:00:00Z", m=("1", "1", "1")) | {"currency": "EUR"})
    with pytest.raises(PriceTableError, match="unit"):
        PriceTable.parse('{"unit": "per_1k_tokens", "versions": []}')
    with pytest.raises(PriceTableError, match="not valid JSON"):
        PriceTable.parse("{")


def test_start_fails_when_a_deployed_model_has_no_price(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    only_4o = version("v", "2025-01-01T00:00:00Z", **{"gpt-4o": ("1", "1", "1")})
    path.write_text(json.dumps({"unit": "per_1m_tokens", "versions": [only_4o]}))
    settings = Settings(gateway_data_dir=tmp_path, gateway_price_table_file=path)
    stores = open_embedded_stores(tmp_path)
    with pytest.raises(SettingsError, match=r"GATEWAY_PRICE_TABLE_FILE.*'gpt-4o-mini'"):
        Meter.from_settings(settings, stores.ledger, stores.counters, stores.intents)


async def test_settle_prices_the_record_and_keeps_the_version(tmp_path: Path) -> None:
    stores = open_embedded_stores(tmp_path)
    prices = table(
        version("v7", "2025-01-01T00:00:00Z", **{"gpt-4o-mini": ("0.15", "0.075", "0.6")})
    )
    meter = Meter(stores.ledger, stores.intents, prices)

    settled = await meter.settle(None, record())
    again = await meter.settle(None, record())  # a replay: same request id, one record

    stored = await stores.ledger.get("marketing", "2026-11", "r1")
    assert stored == settled == again
    assert (stored.cost, stored.price_version, stored.currency) == (Decimal("0.00042"), "v7", "USD")
    assert len(await stores.ledger.list_partition("marketing", "2026-11")) == 1


async def test_a_cache_hit_costs_nothing_and_reports_what_it_saved(tmp_path: Path) -> None:
    stores = open_embedded_stores(tmp_path)
    prices = table(
        version("v1", "2025-01-01T00:00:00Z", **{"gpt-4o-mini": ("0.15", "0.075", "0.6")})
    )
    meter = Meter(stores.ledger, stores.intents, prices)
    hit = record(prompt_tokens=0, cached_tokens=0, completion_tokens=0, cache_hit=True)

    saved = await meter.settle_cache_hit(hit, TokenUsage(1000, 500, cached_tokens=400))

    assert (saved.cost, saved.savings) == (Decimal(0), Decimal("0.00042"))
    assert (saved.saved_prompt_tokens, saved.saved_completion_tokens) == (1000, 500)
    assert saved.price_version == "v1"
    assert await stores.ledger.get("marketing", "2026-11", "r1") == saved


async def test_an_unpriced_model_is_still_recorded_and_flagged(tmp_path: Path) -> None:
    stores = open_embedded_stores(tmp_path)
    meter = Meter(
        stores.ledger,
        stores.intents,
        table(version("v1", "2025-01-01T00:00:00Z", m=("1", "1", "1"))),
    )
    settled = await meter.settle(None, record(model="mystery"))
    assert (settled.cost, settled.price_version) == (Decimal(0), "unpriced")
    assert await stores.ledger.get("marketing", "2026-11", "r1") == settled
