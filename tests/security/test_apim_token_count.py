"""APIM's token limit counts what the gateway says it admitted (apim/policy.xml, docs/apim.md).

llm-token-limit reads an OpenAI chat-completions "usage", which our answers and SSE frames do not
carry; the policy's token counter instead adds each answer's x-gateway-tokens-admitted. These
tests hold both ends: the gateway sends the header on every answer that called a model (JSON and
streamed, where it must be known before the first byte) and not on a cache hit, and the policy
counts exactly that header.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from shared.metering.meter import ADMITTED_TOKENS_HEADER
from tests.conftest import HEADERS

POLICY = Path(__file__).resolve().parents[2] / "apim" / "policy.xml"
TEXT = {"text": "Revenue rose 12% in Q3 while costs stayed flat.", "max_words": 20}


async def test_an_answer_that_called_the_model_says_how_many_tokens_were_admitted(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/api/v1/summarize", json=TEXT, headers=HEADERS)
    assert answer.status_code == 200
    admitted = int(answer.headers[ADMITTED_TOKENS_HEADER])
    usage = answer.json()["usage"]
    # Admission counts the prompt estimate plus max_tokens: never less than the prompt sent.
    assert admitted >= usage["prompt_tokens"] > 0


async def test_a_cache_hit_admits_nothing_and_says_nothing(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/v1/summarize", json=TEXT, headers=HEADERS)
    again = await client.post("/api/v1/summarize", json=TEXT, headers=HEADERS)
    assert ADMITTED_TOKENS_HEADER in first.headers
    assert again.json()["cached"] is True
    assert ADMITTED_TOKENS_HEADER not in again.headers


async def test_a_streamed_answer_carries_the_count_in_its_headers(
    client: httpx.AsyncClient,
) -> None:
    sse = {**HEADERS, "accept": "text/event-stream"}
    body = {**TEXT, "text": "A different text, so no cache hit."}
    async with client.stream("POST", "/api/v1/summarize", json=body, headers=sse) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert int(answer.headers[ADMITTED_TOKENS_HEADER]) > 0
        await answer.aread()


def test_the_policy_counts_exactly_that_header() -> None:
    root = ET.parse(POLICY).getroot()  # noqa: S314 - our own file from the repository
    limits = list(root.iter("rate-limit-by-key"))
    token_limits = [e for e in limits if "tokens-per-minute" in e.get("calls", "")]
    assert len(token_limits) == 1
    limit = token_limits[0]
    assert ADMITTED_TOKENS_HEADER in limit.get("increment-count", "")
    assert ADMITTED_TOKENS_HEADER in limit.get("increment-condition", "")
    assert "context.Subscription" in limit.get("counter-key", "")
    # The calls counter and the tokens counter must not share a key.
    keys = {e.get("counter-key") for e in limits}
    assert len(keys) == len(limits)
