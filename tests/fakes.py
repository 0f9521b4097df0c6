"""In-memory fakes that record what happened (cosmicpython's unit-test layer)."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from shared.catalog import Catalog
from shared.composition.root import Gateway, use_gateway
from shared.domain import holder
from shared.domain.chat import (
    ChatRequest,
    ChatResult,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    TokenUsage,
)
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.ports import EmbeddingModel
from shared.tokenizer import Tokenizer
from simulator.embeddings import lexical_embedding

Reply = str | Callable[[ChatRequest], str] | Exception


@dataclass
class FakeChatModel:
    """Answers from a script of replies (last one repeats); counts usage with the tokenizer."""

    replies: list[Reply] = field(default_factory=lambda: ["A short summary."])
    tokenizer: Tokenizer = field(default_factory=lambda: Tokenizer("o200k_base"))
    calls: list[ChatRequest] = field(default_factory=list)
    include_usage: bool = True
    # What every reply says about why it stopped ("length": cut at max_tokens).
    finish_reason: str = "stop"
    # When set, every call waits for it: lets a test hold calls open to force overlaps.
    gate: asyncio.Event | None = None

    def _next(self, request: ChatRequest) -> str:
        self.calls.append(request)
        reply = self.replies[min(len(self.calls), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply(request) if callable(reply) else reply

    def _result(self, request: ChatRequest, content: str) -> ChatResult:
        usage = TokenUsage(request.prompt_tokens, self.tokenizer.count(content))
        return ChatResult(
            content, usage, "gpt-4o-mini", "fake-eastus", "eastus", self.finish_reason
        )

    async def complete(self, request: ChatRequest) -> ChatResult:
        if self.gate is not None:
            await self.gate.wait()
        return self._result(request, self._next(request))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        content = self._next(request)
        for word in content.split(" "):
            yield StreamDelta(word + " ")
        yield StreamEnd(self._result(request, content))


def dead_holder() -> str:
    """A lease or lock holder on this instance whose process has ended (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{holder.INSTANCE}/{child.stdout.strip()}/0123456789ab"


@dataclass
class FakeEmbeddings:
    """The EmbeddingModel port on the simulator's lexical vectors; records every request."""

    tokenizer: Tokenizer = field(default_factory=lambda: Tokenizer("cl100k_base"))
    requests: list[EmbeddingRequest] = field(default_factory=list)
    fail_with: Exception | None = None

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        self.requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        return EmbeddingResult(
            vectors=tuple(tuple(lexical_embedding(t, request.dimensions)) for t in request.texts),
            usage=TokenUsage(sum(self.tokenizer.count(t) for t in request.texts), 0),
            model="text-embedding-3-small",
            deployment="fake-embed-eastus",
            region="eastus",
        )


def with_semantic_cache(catalog: Catalog, usecase_id: str, similarity: float = 0.92) -> Catalog:
    """The catalog with one use case opted in to the semantic cache (none is, as shipped)."""
    usecase = catalog.get(usecase_id)
    assert usecase is not None
    policy = usecase.cache.model_copy(update={"mode": "semantic", "similarity": similarity})
    usecases = {u.id: u for u in catalog.all()}
    usecases[usecase_id] = usecase.model_copy(update={"cache": policy})
    return Catalog(usecases)


def opt_in_semantic(
    gateway: Gateway,
    usecase_id: str,
    *,
    similarity: float = 0.92,
    embeddings: EmbeddingModel | None = None,
) -> Gateway:
    """Install the gateway with one use case opted in to the semantic cache (and, for a gateway
    of fakes, an embeddings model); its records are frozen, so this is a copy."""
    catalog = with_semantic_cache(gateway.catalog, usecase_id, similarity)
    calls = gateway.usecases.calls
    if embeddings is not None:
        calls = dataclasses.replace(calls, embeddings=embeddings)
    usecases = dataclasses.replace(gateway.usecases, catalog=catalog, calls=calls)
    rewired = dataclasses.replace(gateway, catalog=catalog, usecases=usecases)
    use_gateway(rewired)
    return rewired
