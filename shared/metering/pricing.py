"""Usage records priced from the price table (prices.py): a call, a cache hit's savings, and
a reservation's estimate. A record the table cannot price stays on the ledger, flagged."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from shared.domain.chat import TokenUsage
from shared.domain.usage import UsageRecord
from shared.metering.prices import (
    TOKENS_PER_UNIT_EXPONENT,
    Charge,
    PriceTable,
    PriceTableError,
)

log = logging.getLogger("gateway.meter")

UNPRICED = "unpriced"
_ZERO = Decimal(0)


def price_record(prices: PriceTable, record: UsageRecord) -> UsageRecord:
    """The record charged at the price version effective when its call ended."""
    charge = _charge(
        prices, record, record.prompt_tokens, record.cached_tokens, record.completion_tokens
    )
    if charge is None:
        # The call happened and must stay on the ledger; flag it instead of dropping it.
        return replace(record, cost=_ZERO, currency=prices.currency, price_version=UNPRICED)
    return record.priced(
        cost=charge.cost,
        savings=record.savings,
        currency=charge.currency,
        price_version=charge.price_version,
        saved_prompt_tokens=record.saved_prompt_tokens,
        saved_completion_tokens=record.saved_completion_tokens,
    )


def price_cache_hit(
    prices: PriceTable, record: UsageRecord, avoided: TokenUsage, *, net_of: Decimal = _ZERO
) -> UsageRecord:
    """A gateway cache hit: zero upstream cost; the avoided usage is priced as savings, less
    ``net_of`` (what finding the hit cost: a semantic lookup's embeddings call)."""
    charge = _charge(
        prices, record, avoided.prompt_tokens, avoided.cached_tokens, avoided.completion_tokens
    )
    if charge is None:
        savings, currency, version = record.savings, prices.currency, UNPRICED
    else:
        savings, currency, version = charge.cost - net_of, charge.currency, charge.price_version
    return record.priced(
        cost=_ZERO,
        savings=savings,
        currency=currency,
        price_version=version,
        saved_prompt_tokens=avoided.prompt_tokens,
        saved_completion_tokens=avoided.completion_tokens,
    )


def estimate_cost(prices: PriceTable, model: str, at: datetime, tokens: int) -> Decimal:
    """A reservation's cost: the estimate does not say how many tokens are prompt and how many
    completion, so it is priced at the dearest rate: too high, never too low."""
    try:
        _, price = prices.price(model, at)
    except PriceTableError:
        return Decimal(0)
    return (price.highest_rate * tokens).scaleb(-TOKENS_PER_UNIT_EXPONENT)


def _charge(
    prices: PriceTable, record: UsageRecord, prompt: int, cached: int, completion: int
) -> Charge | None:
    """These tokens at the record's model and time; None (and an error logged) when the price
    table cannot price them."""
    try:
        return prices.charge(record.model, record.created_at, prompt, cached, completion)
    except PriceTableError as exc:
        log.error("usage %s not priced: %s", record.request_id, exc)
        return None
