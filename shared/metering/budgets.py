"""Monthly budgets per business unit (optionally per use case), enforced across instances.

The configuration (GATEWAY_BUDGETS) and the at-limit rule live in budget_rules.py.

Spend lives in the shared CounterStore (partition: the business unit), per scope and UTC month:
``budget|{bu}|{YYYY-MM}|{use case or *}|tokens`` and ``...|cost_nano`` (money in integer
nano-units, see money.py). Only scopes that have a budget are counted; a budget added or changed
mid-month first brings its counters up to the month's spend in the usage ledger, so it judges
the same figure the chargeback report shows (budget_seed.py).

Enforcement: before the upstream call, the call's estimate is *added* to each scope's counters;
the atomic add returns the new total, so concurrent calls on any instance each see a distinct
"spend before me" (new total - own estimate), and no read-then-write race exists. The at-limit
rule: a budget is exhausted when the spend before the call (settled usage plus every reservation
in flight) is >= its limit. spend = limit - 1 admits; spend = limit refuses (hard: 429
``budget_exceeded``) or warns (soft: ``x-budget-warning`` and a log line). A reservation that
crosses the limit is admitted, so a hard budget can end above its limit by at most what was in
flight when it was crossed. A refused call takes its estimate back out.

What was reserved (a ``BudgetHold``) is kept on the call's usage intent (shared/domain/intent.py),
so it outlives its worker: whoever closes the intent (the call's own settle or release, the
recovery of a job answered before its worker died, the sweeper) moves the counters from the
reservation to the real (or estimated) usage, once, because an intent is closed exactly once.
Counters expire (see the TTL below).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from shared.domain.intent import BudgetHold
from shared.metering.budget_rules import (
    ALL_USE_CASES,
    Budget,
    Spend,
    describe,
    exceeded,
    month_of,
)
from shared.metering.budget_seed import (
    SEED_DONE,
    SEED_POLL_SECONDS,
    SEED_WAIT_SECONDS,
    fingerprint,
    ledger_spend,
    top_up,
)
from shared.ports import CounterStore, UsageLedger

log = logging.getLogger("gateway.budgets")

WARNING_HEADER = "x-budget-warning"
# Counters are dropped this long after their last write, so the store does not grow forever:
# a month's spend outlives the month by a month.
MONTH_COUNTER_TTL_SECONDS = 62 * 24 * 3600
SOFT_LOG_INTERVAL_SECONDS = 300.0


def counter_key(business_unit: str, month: str, scope: str, metric: str) -> str:
    return f"budget|{business_unit}|{month}|{scope}|{metric}"


def seed_key(business_unit: str, month: str, scope: str, config: str) -> str:
    return f"budget|{business_unit}|{month}|{scope}|seed-{config}"


class BudgetBook:
    def __init__(
        self,
        budgets: Sequence[Budget],
        counters: CounterStore,
        ledger: UsageLedger,
        currency: str,
    ) -> None:
        self._counters = counters
        self._ledger = ledger
        self.currency = currency
        self.budgets = tuple(budgets)
        self._soft_logged: dict[tuple[str, str, str, str], float] = {}
        scopes = {(b.business_unit, b.scope) for b in self.budgets}
        self._configs = {
            key: fingerprint(b for b in self.budgets if (b.business_unit, b.scope) == key)
            for key in scopes
        }
        self._seeded: set[tuple[str, str, str]] = set()

    def _log_soft(self, budget: Budget, month: str, warning: str) -> None:
        """Every call past a soft budget carries the header; the log gets one line per budget
        per SOFT_LOG_INTERVAL_SECONDS, not one per call."""
        key = (budget.business_unit, budget.scope, budget.kind, month)
        now = time.monotonic()
        last = self._soft_logged.get(key)
        if last is None or now - last >= SOFT_LOG_INTERVAL_SECONDS:
            self._soft_logged[key] = now
            log.warning("soft budget exhausted: %s", warning)

    def scopes(self, business_unit: str, use_case: str) -> tuple[str, ...]:
        wanted = {ALL_USE_CASES, use_case}
        found = {b.scope for b in self.budgets if b.business_unit == business_unit}
        return tuple(sorted(found & wanted))

    async def spend(self, business_unit: str, month: str, scope: str) -> Spend:
        get = self._counters.get
        return Spend(
            await get(counter_key(business_unit, month, scope, "tokens"), business_unit),
            await get(counter_key(business_unit, month, scope, "cost_nano"), business_unit),
        )

    async def reserve(
        self, business_unit: str, use_case: str, at: datetime, spend: Spend
    ) -> tuple[BudgetHold | None, list[str]]:
        """Reserve ``spend`` in every scope with a budget; returns the hold and soft warnings.
        Raises TooManyRequests (code budget_exceeded) when a hard budget is exhausted."""
        scopes = self.scopes(business_unit, use_case)
        if not scopes:
            return None, []
        month = month_of(at)
        for scope in scopes:
            await self._seed(business_unit, month, scope)
        warnings: list[str] = []
        moved: list[str] = []
        try:
            for scope in scopes:
                before = await self._move(
                    business_unit, month, scope, spend.tokens, spend.cost_nano
                )
                moved.append(scope)
                for budget in (b for b in self.budgets if b.business_unit == business_unit):
                    if budget.scope != scope or not budget.exhausted(before):
                        continue
                    if budget.kind == "hard":
                        raise exceeded(budget, before, at, self.currency)
                    warnings.append(describe(budget, before, at, self.currency))
                    self._log_soft(budget, month, warnings[-1])
        except BaseException:
            for scope in moved:
                await self._move(business_unit, month, scope, -spend.tokens, -spend.cost_nano)
            raise
        return BudgetHold(month, scopes, spend.tokens, spend.cost_nano), warnings

    async def settle(self, business_unit: str, hold: BudgetHold, real: Spend) -> None:
        """Replace a reservation by what the call really cost (zero: a released call)."""
        tokens, cost = real.tokens - hold.tokens, real.cost_nano - hold.cost_nano
        for scope in hold.scopes:
            await self._move(business_unit, hold.month, scope, tokens, cost)

    async def count(self, business_unit: str, use_case: str, at: datetime, real: Spend) -> None:
        """Count usage that was never reserved (a record from before intents held reservations,
        or the difference between the truth and an estimate the sweeper counted)."""
        for scope in self.scopes(business_unit, use_case):
            await self._move(business_unit, month_of(at), scope, real.tokens, real.cost_nano)

    async def seed(self, business_unit: str, use_case: str, at: datetime) -> None:
        """Seed every scope of this call (see _seed) before a reservation or a count. Called
        outside the meter's atomic group: a seed may wait for another instance's."""
        for scope in self.scopes(business_unit, use_case):
            await self._seed(business_unit, month_of(at), scope)

    async def _seed(self, bu: str, month: str, scope: str) -> bool:
        """Bring one scope's counters up to the month's spend in the ledger, once per budget
        configuration (budget_seed.py). True when this call did the seeding."""
        if (bu, month, scope) in self._seeded:
            return False
        marker = seed_key(bu, month, scope, self._configs[(bu, scope)])
        state = await self._counters.get(marker, bu)
        seeded_here = False
        if state == 0:
            spent = await ledger_spend(self._ledger, bu, month, scope)
            counted = await self.spend(bu, month, scope)
            state = await self._counters.add(marker, bu, 1, MONTH_COUNTER_TTL_SECONDS)
            if state == 1:  # this instance won the claim
                missing = top_up(spent, counted)
                if missing.tokens or missing.cost_nano:
                    await self._move(bu, month, scope, missing.tokens, missing.cost_nano)
                    log.info(
                        "budget %s/%s starts %s from the ledger: %d tokens, %d nano-units",
                        bu, scope, month, missing.tokens, missing.cost_nano,
                    )  # fmt: skip
                state = await self._counters.add(marker, bu, SEED_DONE, MONTH_COUNTER_TTL_SECONDS)
                seeded_here = True
        for _ in range(round(SEED_WAIT_SECONDS / SEED_POLL_SECONDS)):
            if state >= SEED_DONE:
                break
            await asyncio.sleep(SEED_POLL_SECONDS)  # another instance is seeding this scope
            state = await self._counters.get(marker, bu)
        else:
            log.warning("budget %s/%s: the %s seed was not finished in time", bu, scope, month)
        self._seeded.add((bu, month, scope))
        return seeded_here

    async def _move(self, bu: str, month: str, scope: str, tokens: int, cost: int) -> Spend:
        """Add to one scope's counters; returns the spend before the add."""
        add, ttl = self._counters.add, MONTH_COUNTER_TTL_SECONDS
        after_tokens = await add(counter_key(bu, month, scope, "tokens"), bu, tokens, ttl)
        after_cost = await add(counter_key(bu, month, scope, "cost_nano"), bu, cost, ttl)
        return Spend(after_tokens - tokens, after_cost - cost)
