"""Timer trigger: recompute the daily usage rollups that chargeback reports read.

Every 15 minutes (NCRONTAB, seconds first: https://learn.microsoft.com/azure/azure-functions/
functions-bindings-timer#ncrontab-expressions). A report brings its units' recent days up to
date itself when they are older than a minute (shared/metering/reports.py), so the timer keeps
the rollups warm rather than fresh; ``refresh=true`` recomputes whole months. A run
recomputes yesterday and today; the first run of each UTC day and a past-due catch-up
recompute the current and the previous month in full. The recompute is idempotent, so an
overlapping or repeated run (a past-due catch-up, two instances) is harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import azure.functions as func

from shared.composition.root import get_gateway
from shared.handlers.rollups import rollup_recent
from shared.metering.rollup import first_run_of_the_day

bp = func.Blueprint()
log = logging.getLogger("gateway.rollup")

SCHEDULE = "0 */15 * * * *"
PERIOD = timedelta(minutes=15)


@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False)
async def usage_rollup(timer: func.TimerRequest) -> None:
    gateway = await get_gateway()
    if timer.past_due:
        log.info("usage rollup is past due; catching up")
    full = timer.past_due or first_run_of_the_day(gateway.now(), PERIOD)
    rollups = await rollup_recent(gateway.reports.rollup, full=full)
    log.info(
        "usage rollup (%s): %d daily rows recomputed", "full" if full else "recent", len(rollups)
    )
