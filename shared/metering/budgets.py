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
flight when it was crossed. A refused call takes its estimate back out. After the call the
reservation is settled to the real usage (add real - reserved); a failed call releases it.

Each admitted call also writes a *hold* (``hold|{bu}|{month}|{request id}|...``) so a reservation
outlives its worker: a redelivered job (same request id) releases a dead attempt's hold, and
settling a record without a reservation (the overflow worker's recovery path) finds and settles
it. A hold is claimed with an atomic add that must land on exactly zero, so two settlements of
one request never both adjust the counters. Counter writes are not one transaction: a crash
between them errs on the side of counting a reservation until the month ends, never less.
Counters expire (see the TTLs below): an expired hold reads as a claimed one, zero.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.metering.budget_rules import (
    ALL_USE_CASES,
    Budget,
    Spend,
    describe,
    exceeded,
    month_of,
    previous_month,
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
# a month's spend outlives the month by a month; a hold only matters while its call (or its
# queued job) can still settle.
MONTH_COUNTER_TTL_SECONDS = 62 * 24 * 3600
HOLD_TTL_SECONDS = 7 * 24 * 3600
SOFT_LOG_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Hold:
    """One admitted call's reservation, as written to the counters."""

    business_unit: str
    month: str
    request_id: str
    scopes: tuple[str, ...]
    tokens: int
    cost_nano: int


def counter_key(business_unit: str, month: str, scope: str, metric: str) -> str:
    return f"budget|{business_unit}|{month}|{scope}|{metric}"


def hold_key(business_unit: str, month: str, request_id: str, metric: str) -> str:
    return f"hold|{business_unit}|{month}|{request_id}|{metric}"


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
        self, business_unit: str, use_case: str, request_id: str, at: datetime, spend: Spend
    ) -> tuple[Hold | None, list[str]]:
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
        hold = Hold(business_unit, month, request_id, scopes, spend.tokens, spend.cost_nano)
        await self._write_hold(hold)
        return hold, warnings

    async def settle(self, hold: Hold, real: Spend) -> None:
        if await self._claim(hold):
            await self._adjust(hold, real.tokens - hold.tokens, real.cost_nano - hold.cost_nano)

    async def release(self, hold: Hold) -> None:
        if await self._claim(hold):
            await self._adjust(hold, -hold.tokens, -hold.cost_nano)

    async def recover(
        self,
        business_unit: str,
        use_case: str,
        request_id: str,
        at: datetime,
        real: Spend,
        *,
        newly_recorded: bool,
    ) -> None:
        """Settle usage recorded without its reservation (a worker died after the model
        answered): settle the dead worker's hold if one is left, else count the usage once."""
        month = month_of(at)
        for hold_month in (month, previous_month(month)):
            hold = await self._find_hold(business_unit, use_case, hold_month, request_id)
            if hold is not None:
                await self.settle(hold, real)
                return
        if newly_recorded:
            for scope in self.scopes(business_unit, use_case):
                if await self._seed(business_unit, month, scope):
                    continue  # the seed read the ledger after this record: already counted
                await self._move(business_unit, month, scope, real.tokens, real.cost_nano)

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

    async def _adjust(self, hold: Hold, tokens: int, cost: int) -> None:
        for scope in hold.scopes:
            await self._move(hold.business_unit, hold.month, scope, tokens, cost)

    async def _add_hold(self, hold: Hold, metric: str, delta: int) -> int:
        key = hold_key(hold.business_unit, hold.month, hold.request_id, metric)
        return await self._counters.add(key, hold.business_unit, delta, HOLD_TTL_SECONDS)

    async def _write_hold(self, hold: Hold) -> None:
        stale_tokens = await self._add_hold(hold, "tokens", hold.tokens) - hold.tokens
        stale_cost = await self._add_hold(hold, "cost_nano", hold.cost_nano) - hold.cost_nano
        if stale_tokens or stale_cost:
            # A hold under this request id from an attempt that died (a redelivered job).
            log.info("releasing a stale budget hold for %s", hold.request_id)
            await self._add_hold(hold, "tokens", -stale_tokens)
            await self._add_hold(hold, "cost_nano", -stale_cost)
            await self._adjust(hold, -stale_tokens, -stale_cost)

    async def _claim(self, hold: Hold) -> bool:
        """Take the hold off the counters; True for exactly one of several claimants."""
        left = await self._add_hold(hold, "tokens", -hold.tokens)
        if left < 0:
            await self._add_hold(hold, "tokens", hold.tokens)  # someone else claimed it first
            return False
        await self._add_hold(hold, "cost_nano", -hold.cost_nano)
        return True

    async def _find_hold(self, bu: str, use_case: str, month: str, request_id: str) -> Hold | None:
        get = self._counters.get
        tokens = await get(hold_key(bu, month, request_id, "tokens"), bu)
        if tokens <= 0:
            return None
        cost = await get(hold_key(bu, month, request_id, "cost_nano"), bu)
        return Hold(bu, month, request_id, self.scopes(bu, use_case), tokens, cost)
