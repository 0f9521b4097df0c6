"""Metering: every upstream call and cache hit becomes exactly one priced usage record.

The handler brackets each upstream call. ``admit`` before it: the budget reservation (see
budgets.py) and the call's *intent* (shared/domain/intent.py), written together before the call
may leave; a store that cannot take them raises StoreUnavailable, and no call leaves. Then
``settle`` with the real usage (the ledger record replaces the intent), or ``release`` if the
call failed upstream (Azure bills no failed call: the intent just goes). An intent is closed
exactly once, and whoever closes it moves the budget counters from the reservation to the
usage, so a replay never counts twice. ``settle`` prices the record at the price version
effective when the call ended (prices.py) and writes the ledger with an idempotent upsert keyed
by request id.

A process that dies mid-call leaves its intent open; the sweeper (sweeper.py) settles it once
its deadline has passed with ``settle_interrupted``: an estimated record (the prompt as counted
plus ``max_tokens``, the most Azure can have billed), outcome "interrupted". A settle that comes
after that (a call that outlived its deadline, a job's answer saved before its worker died)
replaces the estimate with the truth and moves the counters by the difference.

On the embedded store each step's writes land together (``Stores.atomic``: one transaction); on
Cosmos DB they land one by one, in an order where a crash between two of them leaves work for
the sweeper, never a lost call. A paid call's writes that the store throttles are retried until
the intent's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from shared.domain.chat import TokenUsage
from shared.domain.intent import CallPlan, UsageIntent
from shared.domain.timestamps import WallClock, utc_now
from shared.domain.usage import UsageRecord
from shared.metering.budget_rules import BudgetConfigError, Spend, month_of, parse_budgets
from shared.metering.budgets import WARNING_HEADER, BudgetBook
from shared.metering.money import to_nano
from shared.metering.prices import PriceTable, PriceTableError
from shared.metering.pricing import estimate_cost, price_cache_hit, price_record
from shared.ports import (
    Atomic,
    CounterStore,
    StoreUnavailable,
    UsageIntents,
    UsageLedger,
    one_by_one,
)
from shared.settings import ROOT, Settings, SettingsError

if TYPE_CHECKING:
    from shared.domain.intent import BudgetHold

log = logging.getLogger("gateway.meter")

DEFAULT_PRICE_TABLE = ROOT / "shared" / "prices.json"
# Writes that stand alone (contextlib.nullcontext is reusable, and cheaper than one_by_one()).
_ONE_BY_ONE: AbstractAsyncContextManager[None] = contextlib.nullcontext()
# The router's deadline (30 s by default) plus time for the settling writes.
DEFAULT_SETTLE_WITHIN = timedelta(seconds=45)
# On every answer that called a model: the tokens admitted against Azure OpenAI quota (prompt +
# max_tokens, as Azure counts TPM). Known before the first byte, so a streamed answer carries it
# too; APIM's per-subscription token limit counts it (apim/policy.xml).
ADMITTED_TOKENS_HEADER = "x-gateway-tokens-admitted"


@dataclass(frozen=True, slots=True)
class Reservation:
    intent: UsageIntent
    # Response headers to add (e.g. a soft-budget warning).
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        return self.intent.request_id

    @property
    def hold(self) -> BudgetHold | None:
        """What was reserved against budgets; None when no budget covers this call."""
        return self.intent.hold


def _spend(record: UsageRecord) -> Spend:
    return Spend(record.prompt_tokens + record.completion_tokens, to_nano(record.cost))


class UsageObserver(Protocol):
    """Told what the meter does (telemetry). Called on the request path: cheap, never raises."""

    def admitted(self, plan: CallPlan) -> None:
        """A call is about to be admitted (before its budget reservation and intent)."""

    def recorded(self, record: UsageRecord) -> None:
        """A priced record was settled (a call's or a cache hit's)."""


class Meter:
    def __init__(
        self,
        ledger: UsageLedger,
        intents: UsageIntents,
        prices: PriceTable | None = None,
        budgets: BudgetBook | None = None,
        *,
        atomic: Atomic = one_by_one,
        settle_within: timedelta = DEFAULT_SETTLE_WITHIN,
        now: WallClock = utc_now,
        observer: UsageObserver | None = None,
    ) -> None:
        self._ledger = ledger
        self._intents = intents
        self.prices = prices or PriceTable.load(DEFAULT_PRICE_TABLE)
        self.budgets = budgets
        self._atomic = atomic
        self._settle_within = settle_within
        self._now = now
        self._observer = observer

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        ledger: UsageLedger,
        counters: CounterStore,
        intents: UsageIntents,
        *,
        atomic: Atomic = one_by_one,
        now: WallClock = utc_now,
        observer: UsageObserver | None = None,
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
        within = settings.gateway_request_deadline_seconds + settings.gateway_settle_seconds
        return cls(
            ledger,
            intents,
            prices,
            book,
            atomic=atomic,
            settle_within=timedelta(seconds=within),
            now=now,
            observer=observer,
        )

    @property
    def currency(self) -> str:
        return self.prices.currency

    async def admit(self, plan: CallPlan) -> Reservation:
        """Reserve the budget and store the intent; raises TooManyRequests (a hard budget) or
        StoreUnavailable (nothing could be written, so the call must not leave)."""
        if self._observer is not None:
            self._observer.admitted(plan)
        at = self._now()
        hold: BudgetHold | None = None
        warnings: list[str] = []
        if self.budgets is not None:  # a seed may wait for another instance's: not in the group
            await self.budgets.seed(plan.caller.business_unit, plan.use_case, at)
        async with self._group():
            if self.budgets is not None:
                cost = to_nano(estimate_cost(self.prices, plan.model, at, plan.estimated_tokens))
                hold, warnings = await self.budgets.reserve(
                    plan.caller.business_unit, plan.use_case, at, Spend(plan.estimated_tokens, cost)
                )
            intent = UsageIntent.of(plan, at, self._settle_within, hold)
            try:
                await self._intents.open(intent)
            except BaseException:
                await self._give_back(intent)
                raise
        headers = {ADMITTED_TOKENS_HEADER: str(plan.estimated_tokens)}
        if warnings:
            headers[WARNING_HEADER] = "; ".join(warnings)
        return Reservation(intent, headers)

    async def settle(self, reservation: Reservation | None, record: UsageRecord) -> UsageRecord:
        """Record the call's usage and close its intent. Without a reservation (the recovery of
        a job whose answer was saved before its worker died) the intent is looked up."""
        settled = await self._settle(reservation, record)
        if self._observer is not None:
            self._observer.recorded(settled)
        return settled

    async def _settle(self, reservation: Reservation | None, record: UsageRecord) -> UsageRecord:
        priced = self.price(record)
        intent = reservation.intent if reservation is not None else None
        if intent is None:
            intent = await self._intents.get(priced.business_unit, priced.request_id)
        if intent is None or self._now() >= intent.deadline:
            return await self._settle_late(intent, priced)
        closed = False

        async def writes() -> None:
            nonlocal closed
            async with self._group():
                await self._ledger.record(priced)
                # Remembered across tries: a close that landed before a throttled write counts.
                closed = await self._close(intent) or closed
                if closed:
                    await self._move_budget(intent, _spend(priced))

        await self._paid_writes(intent.deadline, writes)
        return priced

    async def release(self, reservation: Reservation) -> None:
        """The call failed upstream (nothing billed): the intent goes, the reservation too."""
        intent = reservation.intent
        async with self._group():
            if await self._close(intent):
                await self._move_budget(intent, Spend(0, 0))

    async def settle_interrupted(self, intent: UsageIntent) -> UsageRecord | None:
        """Settle an intent left open past its deadline (its process died). A record already in
        the ledger (its writer died before closing the intent) stands; otherwise the estimate
        is written. None when another closer got there first."""
        existing = await self._find(intent, month_of(intent.deadline))
        record = existing or self.price(intent.interrupted_record())
        async with self._group():
            if existing is None and not await self._ledger.record_new(record):
                # A settle landed since the look: the truth is there; count that instead.
                record = await self._find(intent, month_of(self._now())) or record
            if not await self._close(intent):
                return None
            await self._move_budget(intent, _spend(record))
        return record

    async def _settle_late(self, intent: UsageIntent | None, priced: UsageRecord) -> UsageRecord:
        """A settle the sweeper may have beaten (past the deadline), or one without an intent."""
        found = await self._find(intent, priced.month) if intent else None
        if found is None and intent is None:
            found = await self._ledger.get(priced.business_unit, priced.month, priced.request_id)
        if found is not None:
            # Keep the record where it is (its month), priced as at its own time.
            priced = self.price(replace(priced, created_at=found.created_at))
        if self.budgets is not None:
            await self.budgets.seed(priced.business_unit, priced.use_case, priced.created_at)
        async with self._group():
            await self._ledger.record(priced)
            if intent is not None and await self._close(intent):
                await self._move_budget(intent, _spend(priced))
            elif found is not None and found.outcome == "interrupted" and self.budgets:
                # The sweeper counted its estimate; count the difference to the truth.
                real, counted = _spend(priced), _spend(found)
                diff = Spend(real.tokens - counted.tokens, real.cost_nano - counted.cost_nano)
                await self.budgets.count(
                    priced.business_unit, priced.use_case, found.created_at, diff
                )
            elif found is None and intent is None and self.budgets:
                # Never reserved and never counted (recorded before intents held reservations).
                await self.budgets.count(
                    priced.business_unit, priced.use_case, priced.created_at, _spend(priced)
                )
        return priced

    async def _find(self, intent: UsageIntent | None, *months: str) -> UsageRecord | None:
        """The ledger record of this intent's call, in its month or the ones given."""
        if intent is None:
            return None
        for month in dict.fromkeys((month_of(intent.created_at), *months)):
            found = await self._ledger.get(intent.business_unit, month, intent.request_id)
            if found is not None:
                return found
        return None

    def _group(self) -> AbstractAsyncContextManager[None]:
        """One step's writes, together where the store can. Only the budget counters need it:
        without them each step writes in an order where a crash between two writes leaves the
        sweeper an intent (with its record, or without), never a wrong figure; and a group
        costs the embedded store a BEGIN and a COMMIT."""
        return self._atomic() if self.budgets is not None else _ONE_BY_ONE

    async def _close(self, intent: UsageIntent) -> bool:
        return await self._intents.close(intent.business_unit, intent.request_id)

    async def _move_budget(self, intent: UsageIntent, real: Spend) -> None:
        if self.budgets is not None and intent.hold is not None:
            await self.budgets.settle(intent.business_unit, intent.hold, real)

    async def _give_back(self, intent: UsageIntent) -> None:
        """The intent could not be written: take the reservation back out (on the embedded
        store the transaction's rollback already does)."""
        try:
            await self._move_budget(intent, Spend(0, 0))
        except Exception as exc:
            log.warning("reservation of %s not given back: %s", intent.request_id, exc)

    async def _paid_writes(self, deadline: datetime, writes: Callable[[], Awaitable[None]]) -> None:
        """The model was paid: a store that throttles these writes is waited for, within the
        call's deadline; other failures (or no time left) raise, leaving the intent open."""
        while True:
            try:
                await writes()
                return
            except StoreUnavailable as exc:
                wait = exc.retry_after
                left = (deadline - self._now()).total_seconds()
                if wait is None or wait >= left:
                    raise
                await asyncio.sleep(wait)

    async def settle_cache_hit(
        self, record: UsageRecord, avoided: TokenUsage, *, net_of: Decimal = Decimal(0)
    ) -> UsageRecord:
        """A gateway cache hit: zero upstream cost; the avoided usage is priced as savings,
        less ``net_of`` (a semantic hit's embeddings call, itself on the ledger as a cost)."""
        saved = price_cache_hit(self.prices, record, avoided, net_of=net_of)
        await self._ledger.record(saved)
        if self._observer is not None:
            self._observer.recorded(saved)
        return saved

    def price(self, record: UsageRecord) -> UsageRecord:
        """The record charged at the price version effective when its call ended."""
        return price_record(self.prices, record)
