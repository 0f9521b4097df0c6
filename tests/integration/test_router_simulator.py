"""The router over the real simulator on loopback, through real openai clients: real 429s.

Another gateway instance (here: direct calls) spends most of one deployment's quota behind the
router's back, so the router's TPM prior is wrong there and it meets genuine 429s. It must fail
over to the other deployment and keep serving until the aggregate quota is really spent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from shared.adapters.openai_deployment import AzureOpenAIDeployment, build_client
from shared.domain.chat import ChatRequest, Message, StreamDelta, StreamEnd
from shared.domain.upstream import NoCapacity
from shared.routing import Router
from shared.settings import DeploymentConfig
from shared.tokenizer import Tokenizer
from simulator import SimDeployment, SimulatorConfig, serve_simulator

MODEL = "gpt-4o-mini"
TPM = 5_000
COST = 500  # prompt + max_tokens, what Azure (and the simulator) charge at admission
TOKENIZER = Tokenizer("o200k_base")

Deployments = tuple[AzureOpenAIDeployment, AzureOpenAIDeployment]


def chat(request_id: str, cost: int = COST) -> ChatRequest:
    messages = (Message("user", f"Summarise support ticket {request_id} in one line."),)
    prompt_tokens = TOKENIZER.count_messages(messages)
    return ChatRequest(
        request_id=request_id,
        group=MODEL,
        messages=messages,
        max_tokens=cost - prompt_tokens,
        prompt_tokens=prompt_tokens,
    )


@asynccontextmanager
async def simulated(east_tpm: int, west_priority: int) -> AsyncIterator[tuple[Deployments, str]]:
    """Two simulated deployments, each behind its own real AsyncAzureOpenAI client."""
    sim = SimulatorConfig(
        deployments=(
            SimDeployment(name="east", model=MODEL, tpm=east_tpm),
            SimDeployment(name="west", model=MODEL, tpm=TPM),
        )
    )
    async with serve_simulator(sim) as base_url:
        adapters, clients = [], []
        for name, priority in (("east", 0), ("west", west_priority)):
            config = DeploymentConfig.model_validate(
                {
                    "name": name,
                    "endpoint": base_url,
                    "model": MODEL,
                    "region": name,
                    "priority": priority,
                    "tpm": east_tpm if name == "east" else TPM,
                }
            )
            client = build_client(config, api_version="2024-10-21", timeout=5, credential="test")
            clients.append(client)
            adapters.append(AzureOpenAIDeployment(config, client, TOKENIZER))
        try:
            yield (adapters[0], adapters[1]), base_url
        finally:
            for client in clients:
                await client.close()


async def sim_stats(base_url: str) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/_sim/stats")
        response.raise_for_status()
        stats: dict[str, dict[str, Any]] = response.json()
        return stats


async def test_router_fails_over_on_real_429s_until_the_aggregate_quota_is_spent() -> None:
    async with simulated(east_tpm=TPM, west_priority=0) as ((east, west), base_url):
        # another instance spends 4_000 of east's 5_000 tokens; this router cannot see that
        for i in range(4):
            await east.complete(chat(f"other-{i}", cost=1_000))
        spent = Counter({"east": 4_000})
        router = Router([east, west])
        before = await sim_stats(base_url)

        results = await asyncio.gather(*(router.complete(chat(f"r-{i}")) for i in range(10)))

        after = await sim_stats(base_url)
        assert after["east"]["throttled"] - before["east"]["throttled"] >= 1  # real 429s
        assert any(result.attempts > 1 for result in results)
        for name in ("east", "west"):  # both served tokens to the router, per the simulator
            assert after[name]["ok"] > before[name]["ok"]
            assert after[name]["completion_tokens"] > before[name]["completion_tokens"]
        for result in results:
            spent[result.deployment] += COST

        # keep going: the router may give up only once no deployment has COST tokens left
        for i in range(40):
            try:
                result = await router.complete(chat(f"more-{i}"))
            except NoCapacity as exc:
                refused = exc
                break
            spent[result.deployment] += COST
        else:
            pytest.fail("the router never ran out of capacity")
        assert all(TPM - spent[name] < COST for name in ("east", "west")), spent
        assert spent.total() == 2 * TPM  # every token of the aggregate quota was served
        assert 0 < refused.retry_after <= 60  # the quota window frees within a minute


async def test_stream_fails_over_on_a_real_429_before_its_first_chunk() -> None:
    async with simulated(east_tpm=1_000, west_priority=1) as ((east, west), base_url):
        await east.complete(chat("other", cost=1_000))  # east is full; the router does not know
        router = Router([east, west])
        events = [event async for event in router.stream(chat("s-1"))]

        text = "".join(e.text for e in events if isinstance(e, StreamDelta))
        end = events[-1]
        assert isinstance(end, StreamEnd)
        assert text and end.result.content == text
        assert (end.result.deployment, end.result.attempts) == ("west", 2)
        stats = await sim_stats(base_url)
        assert stats["east"]["throttled"] == 1
        assert stats["west"]["ok"] == 1
