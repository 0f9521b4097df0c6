"""Service Bus trigger that drains the overflow queue, running the same handler as HTTP.

autoCompleteMessages is on (host.json): returning completes the message, raising abandons it, and
Service Bus redelivers an abandoned message at once (dead-lettering it after maxDeliveryCount),
so a retry that raised would burn every delivery in milliseconds. The handler never raises to
retry: it schedules a new message for later (no capacity, a failure worth retrying, a store
that failed) and this one completes. Only a failure to send that message raises.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.composition.root import get_gateway
from shared.handlers.job_worker import process_job
from shared.http.request import safe_log_value

bp = func.Blueprint()
log = logging.getLogger("gateway.worker")


@bp.service_bus_queue_trigger(
    arg_name="msg", queue_name="%SERVICEBUS_QUEUE_NAME%", connection="ServiceBusConnection"
)
async def overflow_worker(msg: func.ServiceBusMessage) -> None:
    gateway = await get_gateway()
    try:
        body = json.loads(msg.get_body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.error("dropping malformed overflow message id=%s", safe_log_value(msg.message_id))
        return
    outcome = await process_job(gateway.usecases, body, int(msg.delivery_count or 1))
    log.info("job %s: %s", safe_log_value(body.get("job_id")), outcome)
