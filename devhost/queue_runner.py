"""Runs Service Bus-triggered functions against the embedded queue, as the trigger would.

Peek-lock, hand the function a real ``azure.functions.ServiceBusMessage``, complete on return,
abandon on exception (autoCompleteMessages semantics); the queue dead-letters after max deliveries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from azure.functions.servicebus import ServiceBusMessage

from devhost.functions_index import QueueFunction
from shared.domain.records import ReceivedMessage
from shared.ports import QueueReceiver

log = logging.getLogger("devhost.queue")

LOCK_SECONDS = 60.0  # Service Bus default lock duration
BATCH = 16  # host.json maxConcurrentCalls


def to_trigger_message(received: ReceivedMessage) -> ServiceBusMessage:
    message = received.message
    return ServiceBusMessage(
        body=json.dumps(message.body).encode(),
        message_id=message.message_id,
        delivery_count=received.delivery_count,
        enqueued_time_utc=received.enqueued_at,
        application_properties=dict(message.application_properties),
        user_properties=dict(message.application_properties),
        content_type="application/json",
        lock_token=received.lock_token,
    )


async def deliver(receiver: QueueReceiver, fn: QueueFunction, received: ReceivedMessage) -> bool:
    """One delivery; True when the message was completed."""
    try:
        await fn.handler(**{fn.arg_name: to_trigger_message(received)})
    except Exception:
        log.exception("%s failed on message %s; abandoning", fn.name, received.message.message_id)
        await receiver.abandon(received.lock_token)
        return False
    await receiver.complete(received.lock_token)
    return True


async def drain_once(receiver: QueueReceiver, fn: QueueFunction) -> int:
    """Receive one batch and run it; returns how many messages were handled."""
    batch = await receiver.receive(BATCH, LOCK_SECONDS)
    if batch:
        await asyncio.gather(*(deliver(receiver, fn, m) for m in batch))
    return len(batch)


async def run_queue(
    receiver: QueueReceiver, fn: QueueFunction, stop: asyncio.Event, poll: float = 0.2
) -> None:
    while not stop.is_set():
        try:
            handled = await drain_once(receiver, fn)
        except Exception:
            log.exception("queue runner for %s failed; retrying", fn.name)
            handled = 0
        if not handled:
            await _wait(stop, poll)


async def _wait(stop: asyncio.Event, seconds: float) -> Any:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return None
