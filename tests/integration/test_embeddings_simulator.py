"""Embeddings through the real adapter and router, against the simulator on loopback: the
vectors, the usage, and a real 429 failing over to the other embeddings region."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from shared.adapters.openai_deployment import AzureOpenAIDeployment, build_client
from shared.domain.embeddings import EMBEDDING_DIMENSIONS, EmbeddingRequest
from shared.domain.upstream import UpstreamThrottled
from shared.routing import Router
from shared.settings import DeploymentConfig
from shared.tokenizer import Tokenizer
from simulator import SimDeployment, SimulatorConfig, serve_simulator
from simulator.embeddings import lexical_embedding

MODEL = "text-embedding-3-small"
CL100K = Tokenizer("cl100k_base")
TEXTS = ("Refund order 1042, please.", "Where is my parcel?")


def request(request_id: str = "r-1.embed") -> EmbeddingRequest:
    return EmbeddingRequest(request_id, MODEL, TEXTS, sum(CL100K.count(t) for t in TEXTS))


@asynccontextmanager
async def deployments(east_tpm: int) -> AsyncIterator[list[AzureOpenAIDeployment]]:
    sim = SimulatorConfig(
        deployments=(
            SimDeployment(name="emb-east", model=MODEL, tpm=east_tpm, encoding="cl100k_base"),
            SimDeployment(name="emb-west", model=MODEL, tpm=100_000, encoding="cl100k_base"),
        )
    )
    async with serve_simulator(sim) as base_url:
        adapters, clients = [], []
        for name, priority in (("emb-east", 0), ("emb-west", 1)):
            config = DeploymentConfig.model_validate(
                {"name": name, "endpoint": base_url, "model": MODEL, "region": name,
                 "priority": priority, "tpm": 100_000}
            )  # fmt: skip
            client = build_client(config, api_version="2024-10-21", timeout=5, credential="test")
            clients.append(client)
            adapters.append(AzureOpenAIDeployment(config, client, CL100K))
        try:
            yield adapters
        finally:
            for client in clients:
                await client.close()


async def test_the_adapter_decodes_the_vectors_and_the_usage() -> None:
    async with deployments(east_tpm=100_000) as (east, _):
        result = await east.embed(request())
    assert result.usage.prompt_tokens == request().prompt_tokens
    assert result.usage.completion_tokens == 0 and not result.usage.estimated
    assert (result.model, result.deployment) == (MODEL, "emb-east")
    assert len(result.vectors) == 2
    for text, vector in zip(TEXTS, result.vectors, strict=True):
        assert len(vector) == EMBEDDING_DIMENSIONS
        assert vector == pytest.approx(lexical_embedding(text, EMBEDDING_DIMENSIONS), abs=1e-6)


async def test_a_real_429_fails_over_to_the_other_region() -> None:
    async with deployments(east_tpm=10) as adapters:
        with pytest.raises(UpstreamThrottled):
            await adapters[0].embed(request())
        # The router's prior believes east has room (its TPM is configured at 100k): the 429
        # is real, and the call moves to west at once.
        router = Router(adapters)
        result = await router.embed(request())
    assert (result.deployment, result.attempts) == ("emb-west", 2)
