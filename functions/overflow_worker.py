"""Service Bus trigger that drains the overflow queue, running the same handler as HTTP.

autoCompleteMessages is on (host.json): returning completes the message, raising abandons it so
Service Bus redelivers (and dead-letters after maxDeliveryCount). When there is still no capacity
the handler schedules a new message for later and this one completes: no busy retry.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.composition.root import get_gateway
from shared.handlers.overflow import process_job
from shared.http.request import safe_log_value

bp = func.Blueprint()
log = logging.getLogger("gateway.worker")


class TransientJobFailure(RuntimeError):
    """Raised so the trigger abandons the message and Service Bus redelivers it."""


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
    outcome = await process_job(gateway, body, int(msg.delivery_count or 1))
    log.info("job %s: %s", safe_log_value(body.get("job_id")), outcome)
    if outcome == "retry":
        raise TransientJobFailure("the model service is unavailable; redeliver later")
