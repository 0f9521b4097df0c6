"""Metering: every upstream call and cache hit becomes exactly one usage record.

The handler brackets each upstream call: ``admit`` before (budget reservation), then ``settle``
with the real usage, or ``release`` if the call failed. ``settle`` writes the ledger with an
idempotent upsert keyed by request id, so a replay (a redelivered job) never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.domain.caller import Caller
from shared.domain.chat import TokenUsage
from shared.domain.usage import UsageRecord
from shared.ports import UsageLedger


@dataclass(frozen=True, slots=True)
class Reservation:
    request_id: str
    business_unit: str
    use_case: str
    model: str
    estimated_tokens: int
    # Response headers to add (e.g. a soft-budget warning).
    headers: dict[str, str] = field(default_factory=dict)


class Meter:
    def __init__(self, ledger: UsageLedger) -> None:
        self._ledger = ledger

    async def admit(
        self, caller: Caller, request_id: str, use_case: str, model: str, estimated_tokens: int
    ) -> Reservation:
        return Reservation(request_id, caller.business_unit, use_case, model, estimated_tokens)

    async def settle(self, reservation: Reservation | None, record: UsageRecord) -> UsageRecord:
        await self._ledger.record(record)
        return record

    async def settle_cache_hit(self, record: UsageRecord, avoided: TokenUsage) -> UsageRecord:
        """A gateway cache hit: zero upstream tokens, metered as a hit."""
        await self._ledger.record(record)
        return record

    async def release(self, reservation: Reservation) -> None:
        return None
