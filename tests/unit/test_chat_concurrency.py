"""Messages posted to one session at the same time: optimistic concurrency, nothing lost.

Real concurrency: the posts run together (asyncio.gather) against the embedded SQLite store, and
the model holds every call until all of them have arrived, so every post reads the same session
version before any of them writes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field

import httpx
import pytest

from shared.composition.root import Gateway, use_gateway
from shared.domain.chat import ChatRequest, ChatResult
from shared.domain.records import ChatSession
from shared.ports import ConcurrencyConflict, SessionStore
from tests.conftest import HEADERS
from tests.fakes import FakeChatModel

SESSIONS = "/api/v1/chat/sessions"


@dataclass
class GatedChatModel(FakeChatModel):
    """Answers only once ``expected`` calls are waiting: they all read before anyone writes."""

    expected: int = 2
    arrived: int = 0
    all_in: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(self, request: ChatRequest) -> ChatResult:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), timeout=5)
        return await super().complete(request)


class AlwaysConflicting:
    """A session store whose every replace loses the race."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.replaces = 0

    async def create(self, session: ChatSession) -> ChatSession:
        return await self.inner.create(session)

    async def get(self, business_unit: str, session_id: str) -> ChatSession | None:
        return await self.inner.get(business_unit, session_id)

    async def replace(self, session: ChatSession) -> ChatSession:
        self.replaces += 1
        raise ConcurrencyConflict("someone else wrote first")

    async def delete(self, business_unit: str, session_id: str) -> bool:
        return await self.inner.delete(business_unit, session_id)


@pytest.fixture
def chat() -> GatedChatModel:
    return GatedChatModel(replies=[lambda r: f"reply to {r.messages[-1].content}"])


async def new_session(client: httpx.AsyncClient) -> str:
    session_id: str = (await client.post(SESSIONS, headers=HEADERS)).json()["session_id"]
    return session_id


async def post(client: httpx.AsyncClient, session_id: str, content: str) -> httpx.Response:
    return await client.post(
        f"{SESSIONS}/{session_id}/messages", json={"content": content}, headers=HEADERS
    )


async def ledger_count(gateway: Gateway) -> int:
    month = gateway.now().strftime("%Y-%m")
    return len(await gateway.stores.ledger.list_partition("marketing", month))


@pytest.mark.parametrize("writers", [2, 3])
async def test_concurrent_messages_all_land_in_history_and_each_is_paid_once(
    client: httpx.AsyncClient, gateway: Gateway, chat: GatedChatModel, writers: int
) -> None:
    chat.expected = writers
    session_id = await new_session(client)
    contents = [f"message {n}" for n in range(writers)]

    responses = await asyncio.gather(*(post(client, session_id, c) for c in contents))

    assert [r.status_code for r in responses] == [200] * writers, [r.text for r in responses]
    # Every call saw the same empty history (system + user), so the writes really collided.
    assert all(len(call.messages) == 2 for call in chat.calls)
    assert len(chat.calls) == writers  # a conflict re-appends the reply; the model isn't re-run
    assert sorted(r.json()["turn"] for r in responses) == list(range(1, writers + 1))
    history = (await client.get(f"{SESSIONS}/{session_id}", headers=HEADERS)).json()["turns"]
    assert sorted(t["user"] for t in history) == contents
    assert all(t["assistant"] == f"reply to {t['user']}" for t in history)
    assert await ledger_count(gateway) == writers


async def test_a_session_that_keeps_conflicting_is_409_busy_and_the_reply_still_metered(
    client: httpx.AsyncClient, gateway: Gateway, chat: GatedChatModel
) -> None:
    chat.expected = 1
    session_id = await new_session(client)
    store = AlwaysConflicting(gateway.stores.sessions)
    use_gateway(
        dataclasses.replace(gateway, chat=dataclasses.replace(gateway.chat, sessions=store))
    )

    busy = await post(client, session_id, "hello")

    assert busy.status_code == 409
    error = busy.json()["error"]
    assert error["code"] == "session_busy"
    assert error["details"]["request_id"] == busy.headers["x-request-id"]
    assert store.replaces == 3
    assert len(chat.calls) == 1
    assert await ledger_count(gateway) == 1
