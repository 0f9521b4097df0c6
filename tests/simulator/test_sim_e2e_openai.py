"""The simulator on a real loopback port, called with the official openai SDK, unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from shared.domain.chat import Message
from shared.tokenizer import Tokenizer
from simulator import SimDeployment, SimulatorConfig, serve_simulator

pytestmark = pytest.mark.e2e

CONFIG = SimulatorConfig(
    deployments=(
        SimDeployment(name="chat", model="gpt-4o-mini", tpm=50_000),
        SimDeployment(name="tiny", model="gpt-4o-mini", tpm=100),
    )
)
PROMPT = "Explain retries in one paragraph."


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with serve_simulator(CONFIG) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[openai.AsyncAzureOpenAI]:
    sdk = openai.AsyncAzureOpenAI(
        azure_endpoint=base_url, api_key="x", api_version="2024-10-21", max_retries=0
    )
    yield sdk
    await sdk.close()


async def test_non_streaming_and_streaming_agree(client: openai.AsyncAzureOpenAI) -> None:
    completion = await client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": PROMPT}], max_tokens=300
    )
    stream = await client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=300,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    expected = Tokenizer("o200k_base").count_messages([Message("user", PROMPT)])
    assert completion.usage.prompt_tokens == expected
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion.choices[0].message.content
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert chunks[-1].usage == completion.usage


async def test_sdk_sees_azure_errors(client: openai.AsyncAzureOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as throttled:
        await client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": PROMPT}], max_tokens=200
        )
    with pytest.raises(openai.NotFoundError) as missing:
        await client.chat.completions.create(
            model="absent", messages=[{"role": "user", "content": PROMPT}]
        )

    assert throttled.value.response.headers["retry-after-ms"] == "60000"
    assert missing.value.code == "DeploymentNotFound"


async def test_stats_over_http(base_url: str, client: openai.AsyncAzureOpenAI) -> None:
    await client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "Hi"}])

    async with httpx.AsyncClient(base_url=base_url) as http:
        stats = (await http.get("/_sim/stats")).json()

    assert stats["chat"]["ok"] == 1
    assert stats["tiny"]["requests"] == 0


async def test_two_servers_get_distinct_free_ports() -> None:
    async with serve_simulator(CONFIG) as first, serve_simulator(CONFIG) as second:
        assert first != second
        assert first.startswith("http://127.0.0.1:")
