"""A stream the client stops early is still metered: what was received, estimated, "cancelled".

Three ways a server stops a stream: it closes the generator, it cancels the task with an anyio
cancel scope (Starlette on a disconnect), or it drops a response it never started to send.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

import anyio
import httpx
import pytest

from shared.composition.root import Gateway
from shared.domain.caller import Caller
from shared.domain.chat import ChatRequest, StreamDelta, StreamEvent
from shared.domain.usage import UsageRecord
from shared.handlers.chat import stream_message
from shared.handlers.shielded import drain
from shared.handlers.streaming import ReplyEvent
from shared.metering.meter import Reservation
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

PIECES = ["The ", "quarterly ", "numbers ", "look ", "fine."]
REQUEST_ID = "req-stream-1"


@dataclass
class HoldingChatModel(FakeChatModel):
    """Streams PIECES, then waits forever: the stream only ends when the gateway stops it."""

    hold_after: int = len(PIECES) - 1
    reached_hold: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self._next(request)
        try:
            for n, piece in enumerate(PIECES):
                yield StreamDelta(piece)
                if n == self.hold_after:
                    self.reached_hold.set()
                    await asyncio.Event().wait()
        finally:
            self.closed = True


@pytest.fixture
def chat() -> HoldingChatModel:
    return HoldingChatModel()


async def start_chat_stream(
    gateway: Gateway, client: httpx.AsyncClient
) -> AsyncGenerator[ReplyEvent, None]:
    session = (await client.post("/api/v1/chat/sessions", headers=HEADERS)).json()
    caller = Caller("marketing", "alice@contoso.com")
    body = {"content": "hi"}
    stream = await stream_message(gateway.chat, caller, session["session_id"], body, REQUEST_ID)
    return stream.events


async def assert_cancelled_record(gateway: Gateway, chat: HoldingChatModel, received: int) -> None:
    await drain()
    month = gateway.now().strftime("%Y-%m")
    [record] = await gateway.stores.ledger.list_partition("marketing", month)
    assert record.request_id == REQUEST_ID
    assert (record.outcome, record.estimated, record.use_case) == ("cancelled", True, "chat")
    assert record.completion_tokens == chat.tokenizer.count("".join(PIECES[:received]))
    assert record.prompt_tokens == chat.calls[0].prompt_tokens
    assert chat.closed  # upstream was closed too, so it stops generating


async def test_a_closed_stream_meters_what_was_received(
    client: httpx.AsyncClient, gateway: Gateway, chat: HoldingChatModel
) -> None:
    frames = await start_chat_stream(gateway, client)
    await anext(frames)
    await anext(frames)

    await frames.aclose()  # what a server does when the client goes away

    await assert_cancelled_record(gateway, chat, received=2)


async def test_a_cancelled_stream_meters_what_was_received_despite_the_cancel_scope(
    client: httpx.AsyncClient,
    gateway: Gateway,
    chat: HoldingChatModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settle = gateway.meter.settle

    async def remote_settle(reservation: Reservation | None, record: UsageRecord) -> UsageRecord:
        await asyncio.sleep(0.01)  # a real ledger write (Cosmos) yields to the loop
        return await settle(reservation, record)

    monkeypatch.setattr(gateway.meter, "settle", remote_settle)
    chat.hold_after = 2
    frames = await start_chat_stream(gateway, client)

    async def consume() -> None:
        async for _ in frames:
            pass

    # Starlette cancels a disconnected response with an anyio cancel scope: every await in
    # the generator's finally is cancelled again, which is what the shielded write survives.
    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        await chat.reached_hold.wait()
        group.cancel_scope.cancel()

    await assert_cancelled_record(gateway, chat, received=3)


async def test_a_response_dropped_before_it_was_sent_is_still_metered(
    client: httpx.AsyncClient, gateway: Gateway, chat: HoldingChatModel
) -> None:
    frames = await start_chat_stream(gateway, client)

    del frames  # never iterated: the event loop's finaliser closes the started generator
    gc.collect()
    for _ in range(5):
        await asyncio.sleep(0)

    await assert_cancelled_record(gateway, chat, received=1)
