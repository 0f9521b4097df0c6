"""Metering: every upstream call and cache hit becomes exactly one priced usage record.

The handler brackets each upstream call: ``admit`` before (budget reservation, see budgets.py),
then ``settle`` with the real usage, or ``release`` if the call failed. ``settle`` prices the
record at the price version effective when the call ended (prices.py), writes the ledger with an
idempotent upsert keyed by request id, so a replay (a redelivered job) never counts twice, and
settles the reservation to the real usage. ``settle(None, record)`` is the overflow worker's
recovery path: the record was saved on the job by a worker that died before metering it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from shared.domain.caller import Caller
from shared.domain.chat import TokenUsage
from shared.domain.timestamps import WallClock, utc_now
from shared.domain.usage import UsageRecord
from shared.metering.budget_rules import BudgetConfigError, Spend, parse_budgets
from shared.metering.budgets import WARNING_HEADER, BudgetBook, Hold
from shared.metering.money import to_nano
from shared.metering.prices import (
    TOKENS_PER_UNIT_EXPONENT,
    Charge,
    PriceTable,
    PriceTableError,
)
from shared.ports import CounterStore, UsageLedger
from shared.settings import ROOT, Settings, SettingsError

log = logging.getLogger("gateway.meter")

DEFAULT_PRICE_TABLE = ROOT / "shared" / "prices.json"
UNPRICED = "unpriced"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Reservation:
    request_id: str
    business_unit: str
    use_case: str
    model: str
    estimated_tokens: int
    # Response headers to add (e.g. a soft-budget warning).
    headers: dict[str, str] = field(default_factory=dict)
    # What was reserved against budgets; None when no budget covers this call.
    hold: Hold | None = None


class Meter:
    def __init__(
        self,
        ledger: UsageLedger,
        prices: PriceTable | None = None,
        budgets: BudgetBook | None = None,
        *,
        now: WallClock = utc_now,
    ) -> None:
        self._ledger = ledger
        self.prices = prices or PriceTable.load(DEFAULT_PRICE_TABLE)
        self.budgets = budgets
        self._now = now

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        ledger: UsageLedger,
        counters: CounterStore,
        *,
        now: WallClock = utc_now,
    ) -> Meter:
        """Load and check the price table and budgets once, at start (fail fast, named)."""
        try:
            prices = PriceTable.load(settings.gateway_price_table_file)
            prices.check_covers({d.model for d in settings.aoai_deployments}, now())
        except PriceTableError as exc:
            raise SettingsError(f"GATEWAY_PRICE_TABLE_FILE: {exc}") from None
        try:
            budgets = parse_budgets(settings.gateway_budgets, settings.business_unit_ids)
        except BudgetConfigError as exc:
            raise SettingsError(str(exc)) from None
        book = BudgetBook(budgets, counters, ledger, prices.currency) if budgets else None
        return cls(ledger, prices, book, now=now)

    @property
    def currency(self) -> str:
        return self.prices.currency

    async def admit(
        self, caller: Caller, request_id: str, use_case: str, model: str, estimated_tokens: int
    ) -> Reservation:
        hold: Hold | None = None
        warnings: list[str] = []
        if self.budgets is not None:
            at = self._now()
            spend = Spend(estimated_tokens, to_nano(self._estimate(model, at, estimated_tokens)))
            hold, warnings = await self.budgets.reserve(
                caller.business_unit, use_case, request_id, at, spend
            )
        headers = {WARNING_HEADER: "; ".join(warnings)} if warnings else {}
        return Reservation(
            request_id, caller.business_unit, use_case, model, estimated_tokens, headers, hold
        )

    async def settle(self, reservation: Reservation | None, record: UsageRecord) -> UsageRecord:
        priced = self.price(record)
        newly_recorded = await self._ledger.record(priced)
        if self.budgets is None:
            return priced
        real = Spend(priced.prompt_tokens + priced.completion_tokens, to_nano(priced.cost))
        if reservation is None:
            await self.budgets.recover(
                priced.business_unit,
                priced.use_case,
                priced.request_id,
                priced.created_at,
                real,
                newly_recorded=newly_recorded,
            )
        elif reservation.hold is not None:
            await self.budgets.settle(reservation.hold, real)
        return priced

    async def settle_cache_hit(self, record: UsageRecord, avoided: TokenUsage) -> UsageRecord:
        """A gateway cache hit: zero upstream cost; the avoided usage is priced as savings."""
        charge = self._charge(
            record, avoided.prompt_tokens, avoided.cached_tokens, avoided.completion_tokens
        )
        if charge is None:
            savings, currency, version = record.savings, self.currency, UNPRICED
        else:
            savings, currency, version = charge.cost, charge.currency, charge.price_version
        saved = record.priced(
            cost=_ZERO,
            savings=savings,
            currency=currency,
            price_version=version,
            saved_prompt_tokens=avoided.prompt_tokens,
            saved_completion_tokens=avoided.completion_tokens,
        )
        await self._ledger.record(saved)
        return saved

    async def release(self, reservation: Reservation) -> None:
        if self.budgets is not None and reservation.hold is not None:
            await self.budgets.release(reservation.hold)

    def price(self, record: UsageRecord) -> UsageRecord:
        """The record charged at the price version effective when its call ended."""
        charge = self._charge(
            record, record.prompt_tokens, record.cached_tokens, record.completion_tokens
        )
        if charge is None:
            # The call happened and must stay on the ledger; flag it instead of dropping it.
            return replace(record, cost=_ZERO, currency=self.currency, price_version=UNPRICED)
        return record.priced(
            cost=charge.cost,
            savings=record.savings,
            currency=charge.currency,
            price_version=charge.price_version,
            saved_prompt_tokens=record.saved_prompt_tokens,
            saved_completion_tokens=record.saved_completion_tokens,
        )

    def _charge(
        self, record: UsageRecord, prompt: int, cached: int, completion: int
    ) -> Charge | None:
        """These tokens at the record's model and time; None (and an error logged) when the
        price table cannot price them."""
        try:
            return self.prices.charge(record.model, record.created_at, prompt, cached, completion)
        except PriceTableError as exc:
            log.error("usage %s not priced: %s", record.request_id, exc)
            return None

    def _estimate(self, model: str, at: datetime, tokens: int) -> Decimal:
        try:
            _, price = self.prices.price(model, at)
        except PriceTableError:
            return Decimal(0)
        # The estimate does not say how many tokens are prompt and how many completion, so
        # it is priced at the dearest rate: a reservation may be too high, never too low.
        return (price.highest_rate * tokens).scaleb(-TOKENS_PER_UNIT_EXPONENT)
