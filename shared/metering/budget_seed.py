"""A budget added or changed mid-period starts from the period's spend so far, read from the ledger.

Budget counters only count scopes that have a budget, so a budget configured on the 15th would
otherwise start at zero while the unit had already spent for two weeks, and its refusal would
disagree with the chargeback report. Before the first reservation in a scope and month, under a
budget configuration it has not seen, the counters are brought up to the ledger's figure for the
month: the same records, tokens (prompt + completion) and exact costs the report sums.

Once per (business unit, month, scope, configuration) across every instance: the configuration is
a fingerprint of the scope's budgets, so changing a limit or kind seeds again (a no-op when the
counters have been counting all along; it covers a budget that was removed and added back). One
instance claims the seed with an atomic add on a marker counter that must return exactly 1; it
reads what the counters already hold, adds only the missing part (never below what they count:
a top-up, so nothing is counted twice), then marks the seed done. The others wait up to
SEED_WAIT_SECONDS for "done" before reserving, so no call is judged against a half-seeded counter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from shared.metering.budget_rules import ALL_USE_CASES, Budget, Spend
from shared.metering.money import to_nano
from shared.ports import UsageLedger

# The marker counter: 1 (and more, for late claimants) while the seed runs, >= SEED_DONE once done.
SEED_DONE = 1_000_000_000
SEED_WAIT_SECONDS = 2.0
SEED_POLL_SECONDS = 0.02


def fingerprint(budgets: Iterable[Budget]) -> str:
    """The configuration of one scope's budgets, as a short stable hash."""
    figures = sorted(
        (b.kind, b.limit_tokens, None if b.limit_cost is None else str(b.limit_cost))
        for b in budgets
    )
    return hashlib.sha256(json.dumps(figures).encode()).hexdigest()[:12]


async def ledger_spend(ledger: UsageLedger, business_unit: str, month: str, scope: str) -> Spend:
    """The month's spend in one scope as the ledger (and so the report) has it, counted the way
    a settlement counts a record: prompt + completion tokens, the cost in nano-units."""
    tokens = cost_nano = 0
    async for page in ledger.pages(business_unit, month):
        for record in page:
            if scope in (ALL_USE_CASES, record.use_case):
                tokens += record.prompt_tokens + record.completion_tokens
                cost_nano += to_nano(record.cost)
    return Spend(tokens, cost_nano)


def top_up(ledger: Spend, counted: Spend) -> Spend:
    """What the counters miss of the ledger's figure; never negative (reservations in flight
    may already put the counters above it)."""
    return Spend(
        max(0, ledger.tokens - counted.tokens), max(0, ledger.cost_nano - counted.cost_nano)
    )
