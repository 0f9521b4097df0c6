"""The sweeper: settles the usage intents of calls whose process died mid-call.

An intent's deadline is the router's deadline plus GATEWAY_SETTLE_SECONDS: past it, the call has
ended one way or another and whoever made it would have settled it. An intent still open then
belongs to a process that died (a crash, a recycle, an out-of-memory kill): the sweeper settles
it (``Meter.settle_interrupted``: an exact record its writer left, else an estimate flagged as
such) and releases its budget reservation to that. Closing an intent happens once, so sweeps may
overlap or repeat, on any instance, and a settle racing a sweep is counted once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from shared.domain.usage import UsageRecord
from shared.metering.meter import Meter
from shared.ports import UsageIntents

log = logging.getLogger("gateway.sweeper")

BATCH = 100  # intents per query: one page, and a bounded pause of the event loop


async def sweep(
    meter: Meter, intents: UsageIntents, business_units: Iterable[str], now: datetime
) -> list[UsageRecord]:
    """Settle every intent of these units whose deadline is before ``now``; returns the records
    written (an intent another closer settled first is skipped)."""
    settled: list[UsageRecord] = []
    for business_unit in sorted(business_units):
        while True:
            due = await intents.due(business_unit, now, BATCH)
            failed = 0
            for intent in due:
                try:
                    record = await meter.settle_interrupted(intent)
                except Exception:
                    failed += 1
                    log.exception("intent %s not settled; next sweep", intent.request_id)
                    continue
                if record is not None:
                    settled.append(record)
            if len(due) < BATCH or failed == len(due):
                break  # none left, or none that can be settled now
    if settled:
        estimated = sum(1 for r in settled if r.outcome == "interrupted")
        log.warning(
            "settled %d call(s) cut off by a crash: %d estimated, %d exact",
            len(settled),
            estimated,
            len(settled) - estimated,
        )
    return settled
