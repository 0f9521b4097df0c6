"""The Service Bus codec and sender, checked against the SDK's own message types.

No broker runs here (the Service Bus emulator needs Docker; other AMQP brokers reject its $cbs
handshake), so the wire round trip encodes the outgoing message to AMQP bytes and decodes it
into a ``ServiceBusReceivedMessage`` with the SDK's own pyamqp codec: the same functions its
sender and receiver call.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from azure.servicebus import ServiceBusMessage, ServiceBusReceivedMessage, ServiceBusReceiveMode
from azure.servicebus._pyamqp._decode import decode_payload
from azure.servicebus._pyamqp._encode import encode_payload
from azure.servicebus._transport._pyamqp_transport import PyamqpTransport

from shared.adapters.servicebus_queue import (
    Client,
    Sender,
    ServiceBusOverflowQueue,
    from_received_message,
    from_servicebus_body,
    to_servicebus_message,
)
from shared.domain.records import QueueMessage

MESSAGE = QueueMessage(
    message_id="job-7f3a",
    body={"job_id": "job-7f3a", "business_unit": "legal", "prompt": "Résumé ✓", "n": [1, 2.5]},
    application_properties={"business_unit": "legal", "use_case": "summarise"},
)
# AMQP timestamps carry milliseconds: https://docs.oasis-open.org/amqp/core/v1.0/amqp-core-types-v1.0.html
AT = datetime(2030, 5, 17, 8, 30, 15, 123000, tzinfo=UTC)


def _over_the_wire(message: ServiceBusMessage) -> ServiceBusReceivedMessage:
    outgoing = PyamqpTransport.to_outgoing_amqp_message(message.raw_amqp_message)
    wire = bytes(encode_payload(bytearray(), outgoing))
    return ServiceBusReceivedMessage(
        decode_payload(memoryview(wire)),
        receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE,
        receiver=None,
    )


def test_outgoing_message_carries_id_properties_type_and_schedule() -> None:
    sb = to_servicebus_message(MESSAGE, AT)

    assert sb.message_id == "job-7f3a"
    assert sb.application_properties == {"business_unit": "legal", "use_case": "summarise"}
    assert sb.content_type == "application/json"
    assert sb.scheduled_enqueue_time_utc == AT


def test_schedule_is_converted_to_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=2)))

    sb = to_servicebus_message(MESSAGE, local)

    assert sb.scheduled_enqueue_time_utc == AT
    assert sb.scheduled_enqueue_time_utc is not None
    assert sb.scheduled_enqueue_time_utc.utcoffset() == timedelta(0)


def test_naive_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_servicebus_message(MESSAGE, datetime(2030, 1, 1))


def test_unscheduled_message_has_no_schedule() -> None:
    assert to_servicebus_message(MESSAGE).scheduled_enqueue_time_utc is None


def test_round_trip_over_amqp_wire_format() -> None:
    received = _over_the_wire(to_servicebus_message(MESSAGE, AT))

    assert received.message_id == "job-7f3a"
    assert received.content_type == "application/json"
    assert received.scheduled_enqueue_time_utc == AT
    assert from_received_message(received) == MESSAGE


def test_parse_what_the_functions_trigger_hands_over() -> None:
    body = b"".join(to_servicebus_message(MESSAGE).body)

    parsed = from_servicebus_body(
        body,
        message_id="job-7f3a",
        application_properties={b"business_unit": b"legal", "use_case": "summarise"},
    )

    assert parsed == MESSAGE


def test_body_as_text_parses_too() -> None:
    parsed = from_servicebus_body('{"a": 1}', message_id="m-1")

    assert parsed == QueueMessage(message_id="m-1", body={"a": 1})


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", "42"])
def test_poison_bodies_raise_value_error(body: bytes | str) -> None:
    with pytest.raises(ValueError, match="m-9"):
        from_servicebus_body(body, message_id="m-9")


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[ServiceBusMessage] = []
        self.closed = False

    async def send_messages(self, message: ServiceBusMessage) -> None:
        await asyncio.sleep(0)
        self.sent.append(message)

    async def close(self) -> None:
        self.closed = True


class FakeClient:
    def __init__(self) -> None:
        self.sender = FakeSender()
        self.queues: list[str] = []
        self.closed = False

    def get_queue_sender(self, queue_name: str) -> Sender:
        self.queues.append(queue_name)
        return self.sender

    async def close(self) -> None:
        self.closed = True


class Factory:
    def __init__(self) -> None:
        self.clients: list[FakeClient] = []

    def __call__(self) -> Client:
        self.clients.append(FakeClient())
        return self.clients[-1]


async def test_client_is_created_lazily_once_and_closed() -> None:
    factory = Factory()
    queue = ServiceBusOverflowQueue("overflow", factory)
    assert factory.clients == []

    await asyncio.gather(*(queue.send(MESSAGE, scheduled_at=AT) for _ in range(5)))
    await queue.close()

    [client] = factory.clients
    assert client.queues == ["overflow"]
    assert [m.message_id for m in client.sender.sent] == ["job-7f3a"] * 5
    assert all(m.scheduled_enqueue_time_utc == AT for m in client.sender.sent)
    assert client.sender.closed and client.closed


async def test_depth_is_unknown_without_manage_rights() -> None:
    queue = ServiceBusOverflowQueue("overflow", Factory())

    assert await queue.depth() is None
