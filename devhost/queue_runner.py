"""Runs Service Bus-triggered functions against the embedded queue, as the trigger would.

Peek-lock, hand the function a real ``azure.functions.ServiceBusMessage``, complete on return,
abandon on exception (autoCompleteMessages semantics); the queue dead-letters after max deliveries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from azure.functions.servicebus import ServiceBusMessage

from devhost.functions_index import QueueFunction
from shared.domain.records import ReceivedMessage
from shared.ports import QueueReceiver

log = logging.getLogger("devhost.queue")

LOCK_SECONDS = 60.0  # Service Bus default lock duration
BATCH = 16  # host.json maxConcurrentCalls
SETTLE_RETRY_SECONDS = 0.5
RECEIVE_RETRY_SECONDS = 1.0


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
    locked_until = time.monotonic() + LOCK_SECONDS
    try:
        await fn.handler(**{fn.arg_name: to_trigger_message(received)})
    except Exception:
        log.exception("%s failed on message %s; abandoning", fn.name, received.message.message_id)
        await _settle(receiver.abandon, received, locked_until)
        return False
    return await _settle(receiver.complete, received, locked_until)


async def _settle(
    settle: Callable[[str], Awaitable[None]], received: ReceivedMessage, locked_until: float
) -> bool:
    """Complete or abandon; a queue that cannot take it now (its disk failing) is tried again
    while the lock lasts, as the host's settlement retries do. After that the lock expires and
    the message is redelivered anyway."""
    while True:
        try:
            await settle(received.lock_token)
            return True
        except Exception as exc:
            if time.monotonic() + SETTLE_RETRY_SECONDS >= locked_until:
                log.warning("message %s not settled: %s", received.message.message_id, exc)
                return False
            await asyncio.sleep(SETTLE_RETRY_SECONDS)


async def run_queue(
    receiver: QueueReceiver, fn: QueueFunction, stop: asyncio.Event, poll: float = 0.05
) -> None:
    """Keep up to BATCH deliveries running, as the trigger's maxConcurrentCalls does: a slot
    that frees is refilled at once instead of waiting for the whole batch to finish."""
    running: set[asyncio.Task[bool]] = set()
    while not stop.is_set():
        batch: list[ReceivedMessage] = []
        if len(running) < BATCH:
            try:
                batch = await receiver.receive(BATCH - len(running), LOCK_SECONDS)
            except Exception as exc:
                # The queue's disk failing: one line a second, not a traceback every poll.
                log.warning("queue runner for %s failed to receive (%s); retrying", fn.name, exc)
                await asyncio.sleep(RECEIVE_RETRY_SECONDS)
        for received in batch:
            task = asyncio.create_task(deliver(receiver, fn, received))
            running.add(task)
            task.add_done_callback(running.discard)
        if not batch:
            # Idle or full: wake on the first finished delivery, on stop, or after `poll`.
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({*running, stopping}, timeout=poll, return_when="FIRST_COMPLETED")
            stopping.cancel()
    await asyncio.gather(*running, return_exceptions=True)
