"""A deployment connects at its first call; the router routes on its configuration before that."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import HttpUrl

from shared.composition.deferred import Closer, DeferredDeployment
from shared.domain.chat import ChatRequest, ChatResult, Message, StreamEnd, StreamEvent
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.routing import Router
from shared.routing.selection import RoutableDeployment
from shared.settings import DeploymentConfig
from tests.fakes import FakeChatModel

CONFIG = DeploymentConfig(
    name="gpt-4o-mini-eastus", endpoint=HttpUrl("https://eastus.example.test"),
    model="gpt-4o-mini", region="eastus", tpm=60_000,
)  # fmt: skip
REQUEST = ChatRequest("r1", CONFIG.group_name, (Message("user", "hi"),), 16, 8)


class Connections:
    """Makes a fake deployment per connect() and records what was made and closed."""

    def __init__(self) -> None:
        self.made: list[FakeChatModel] = []
        self.closed = 0

    def connect(self) -> tuple[RoutableDeployment, Closer]:
        model = FakeChatModel(replies=["answer"])
        self.made.append(model)

        async def close() -> None:
            self.closed += 1

        return Named(model), close


class Named:
    def __init__(self, model: FakeChatModel) -> None:
        self.model, self.config, self.name = model, CONFIG, CONFIG.name

    async def complete(self, request: ChatRequest) -> ChatResult:
        return await self.model.complete(request)

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self.model.stream(request)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        raise NotImplementedError("chat only")


async def test_routing_state_needs_no_connection_and_the_first_call_connects_once() -> None:
    connections = Connections()
    deployment = DeferredDeployment(CONFIG, connections.connect)
    router = Router([deployment])
    assert [h.name for h in router.snapshot()] == [CONFIG.name]
    assert connections.made == [] and not deployment.connected

    first = await router.complete(REQUEST)
    second = await router.complete(REQUEST)

    assert (first.content, second.content) == ("answer", "answer")
    assert len(connections.made) == 1 and len(connections.made[0].calls) == 2


async def test_a_stream_connects_and_close_closes_only_what_was_made() -> None:
    connections = Connections()
    idle = DeferredDeployment(CONFIG, connections.connect)
    used = DeferredDeployment(CONFIG, connections.connect)

    events = [event async for event in used.stream(REQUEST)]
    await idle.close()
    await used.close()
    await used.close()

    assert isinstance(events[-1], StreamEnd)
    assert len(connections.made) == 1 and connections.closed == 1
