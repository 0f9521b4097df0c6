"""Timer trigger: settle the usage of calls cut off by a crash (shared/metering/sweeper.py), and
send their jobs (if any) a new message.

The schedule is the App Setting GATEWAY_SWEEP_SCHEDULE (NCRONTAB, seconds first; every minute by
default), resolved by the host as a binding expression, so it must be set in Azure as
SERVICEBUS_QUEUE_NAME is. A timer runs on one instance at a time; overlapping sweeps would be
harmless anyway (an intent is settled once).
"""

from __future__ import annotations

import azure.functions as func

from shared.composition.root import get_gateway
from shared.handlers.job_worker import revive
from shared.metering.sweeper import sweep

bp = func.Blueprint()

SCHEDULE_SETTING = "GATEWAY_SWEEP_SCHEDULE"


@bp.timer_trigger(arg_name="timer", schedule=f"%{SCHEDULE_SETTING}%", run_on_startup=False)
async def usage_sweep(timer: func.TimerRequest) -> None:
    gateway = await get_gateway()
    now = gateway.now()
    swept = await sweep(
        gateway.meter, gateway.stores.intents, gateway.settings.business_unit_ids, now
    )
    # A job whose attempt was cut off gets a message now: its own may wait out a lock held by
    # the dead worker, or have been dead-lettered.
    await revive(gateway.usecases, swept, now)
