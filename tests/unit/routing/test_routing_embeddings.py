"""Embeddings through the router: their own group, the same failover, cooldowns and headroom."""

from __future__ import annotations

import pytest

from shared.domain.embeddings import EmbeddingRequest
from shared.domain.upstream import NoCapacity

from .fakes import FakeClock, FakeDeployment, chat, router, throttled

EMBED = "text-embedding-3-small"


def embedding(tokens: int = 50) -> EmbeddingRequest:
    return EmbeddingRequest("r-1.embed", EMBED, ("refund order 1042",), tokens)


async def test_a_429_on_one_embeddings_deployment_fails_over_to_the_other() -> None:
    clock = FakeClock()
    east = FakeDeployment("emb-east", group=EMBED, priority=0).then(throttled(5.0))
    west = FakeDeployment("emb-west", group=EMBED, priority=1)
    chat_only = FakeDeployment("chat-east")
    route = router(east, west, chat_only, clock=clock)

    result = await route.embed(embedding())

    assert (result.deployment, result.attempts) == ("emb-west", 2)
    assert chat_only.calls == []
    assert result.usage.prompt_tokens == 50
    # The preferred one cools for its Retry-After: the next call goes west at once.
    assert (await route.embed(embedding())).deployment == "emb-west"
    clock.advance(5.0)
    assert (await route.embed(embedding())).deployment == "emb-east"


async def test_chat_calls_never_reach_embeddings_deployments() -> None:
    clock = FakeClock()
    emb = FakeDeployment("emb-east", group=EMBED)
    gpt = FakeDeployment("chat-east")
    route = router(emb, gpt, clock=clock)
    for _ in range(5):
        await route.complete(chat())
    assert emb.calls == [] and len(gpt.calls) == 5


async def test_an_embeddings_call_past_the_groups_quota_is_refused_without_a_call() -> None:
    clock = FakeClock()
    emb = FakeDeployment("emb-east", group=EMBED, tpm=1_000)
    route = router(emb, clock=clock)
    with pytest.raises(NoCapacity):
        await route.embed(embedding(tokens=5_000))
    assert emb.calls == []
