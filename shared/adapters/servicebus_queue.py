"""OverflowQueue on Azure Service Bus: the send side, plus the codec the worker reads with.

One ``ServiceBusClient`` and one queue sender per worker process, created on the first send (an
AMQP connection and link are expensive; the SDK reconnects them itself). The receive side is the
Functions Service Bus trigger, which hands the worker the body bytes, ``message_id`` and
application properties: :func:`from_servicebus_body` turns those back into a ``QueueMessage``.

Duplicate detection (the port's "a message_id seen before is dropped") is a queue property,
``requiresDuplicateDetection``, set when the queue is created (IaC), not by the sender:
https://learn.microsoft.com/azure/service-bus-messaging/duplicate-detection
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.credentials_async import AsyncTokenCredential
from azure.servicebus import ServiceBusMessage, ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusClient

from shared.domain.records import QueueMessage
from shared.settings import Settings

CONTENT_TYPE = "application/json"


class Sender(Protocol):
    async def send_messages(self, message: ServiceBusMessage) -> None: ...

    async def close(self) -> None: ...


class Client(Protocol):
    def get_queue_sender(self, queue_name: str) -> Sender: ...

    async def close(self) -> None: ...


ClientFactory = Callable[[], Client]


def to_servicebus_message(
    message: QueueMessage, scheduled_at: datetime | None = None
) -> ServiceBusMessage:
    """The wire form: JSON body, message_id for duplicate detection, string properties.

    A scheduled time rides on the message itself (``x-opt-scheduled-enqueue-time``), so a
    plain send schedules it: https://learn.microsoft.com/azure/service-bus-messaging/message-sequencing
    """
    if scheduled_at is not None and scheduled_at.utcoffset() is None:
        raise ValueError(f"scheduled_at {scheduled_at.isoformat()} is naive; give a UTC time")
    body = json.dumps(message.body, separators=(",", ":"), ensure_ascii=False)
    properties: dict[str | bytes, Any] = {k: v for k, v in message.application_properties.items()}
    return ServiceBusMessage(
        body=body.encode("utf-8"),
        message_id=message.message_id,
        application_properties=properties,
        content_type=CONTENT_TYPE,
        scheduled_enqueue_time_utc=None if scheduled_at is None else scheduled_at.astimezone(UTC),
    )


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def from_servicebus_body(
    body: bytes | str,
    *,
    message_id: str,
    application_properties: Mapping[Any, Any] | None = None,
) -> QueueMessage:
    """Parse what the trigger delivers. Raises ValueError on a body that is not a JSON object,
    so the worker can dead-letter it instead of retrying a message that can never succeed."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"message {message_id!r}: body is not JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"message {message_id!r}: body is a {type(parsed).__name__}, not object")
    properties = {_text(k): _text(v) for k, v in (application_properties or {}).items()}
    return QueueMessage(message_id=message_id, body=parsed, application_properties=properties)


def from_received_message(received: ServiceBusReceivedMessage) -> QueueMessage:
    """The same parse for an SDK receiver's message (its data body is a sequence of sections)."""
    sections: Iterable[bytes] = received.body
    return from_servicebus_body(
        b"".join(sections),
        message_id=str(received.message_id),
        application_properties=received.application_properties,
    )


def servicebus_client_factory(
    settings: Settings, credential: Callable[[], AsyncTokenCredential] | None = None
) -> ClientFactory:
    """Entra ID with a namespace (the process's credential: ``credential()``, a managed identity
    in Azure; not closed by the queue); a connection string otherwise."""

    def build() -> Client:
        if settings.servicebus_fully_qualified_namespace:
            if credential is None:
                raise ValueError(
                    "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE needs an Entra ID credential"
                )
            return ServiceBusClient(settings.servicebus_fully_qualified_namespace, credential())
        connection_string = settings.servicebus_connection_string.get_secret_value()
        if connection_string:
            return ServiceBusClient.from_connection_string(connection_string)
        raise ValueError(
            "SERVICEBUS_FULLY_QUALIFIED_NAMESPACE or SERVICEBUS_CONNECTION_STRING is required"
        )

    return build


class ServiceBusOverflowQueue:
    def __init__(self, queue_name: str, client_factory: ClientFactory) -> None:
        self._queue_name = queue_name
        self._factory = client_factory
        self._lock = asyncio.Lock()
        self._client: Client | None = None
        self._sender: Sender | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, credential: Callable[[], AsyncTokenCredential] | None = None
    ) -> ServiceBusOverflowQueue:
        factory = servicebus_client_factory(settings, credential)
        return cls(settings.servicebus_queue_name, factory)

    async def _get_sender(self) -> Sender:
        if self._sender is not None:
            return self._sender
        async with self._lock:  # concurrent first sends must not open two connections
            if self._sender is None:
                self._client = self._factory()
                self._sender = self._client.get_queue_sender(self._queue_name)
            return self._sender

    async def send(self, message: QueueMessage, *, scheduled_at: datetime | None = None) -> None:
        sender = await self._get_sender()
        await sender.send_messages(to_servicebus_message(message, scheduled_at))

    async def depth(self) -> int | None:
        # Active-message counts come from the management client
        # (ServiceBusAdministrationClient.get_queue_runtime_properties), which needs Manage
        # rights or the Data Owner role; the gateway's identity only holds Send.
        return None

    async def close(self) -> None:
        async with self._lock:
            sender, client = self._sender, self._client
            self._sender = self._client = None
        if sender is not None:
            await sender.close()
        if client is not None:
            await client.close()
