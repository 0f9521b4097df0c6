"""Chat completions in process: Azure's request checks, response shape and usage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from shared.domain.chat import Message
from shared.tokenizer import Tokenizer
from simulator.testing import chat_path

TURNS = (
    Message("system", "You are terse."),
    Message("user", "What is a token bucket?"),
    Message("assistant", "A rate limiter."),
    Message("user", "And a sliding window?"),
)
MESSAGES = [{"role": m.role, "content": m.content} for m in TURNS]


async def _chat(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(chat_path("sim"), json={"messages": MESSAGES, **body})


async def test_usage_matches_the_project_tokenizer(client: httpx.AsyncClient) -> None:
    tokenizer = Tokenizer("o200k_base")

    response = await _chat(client, max_tokens=200)

    body = response.json()
    content = body["choices"][0]["message"]["content"]
    expected_prompt = tokenizer.count_messages(TURNS)
    assert body["usage"] == {
        "prompt_tokens": expected_prompt,
        "completion_tokens": tokenizer.count(content),
        "total_tokens": expected_prompt + tokenizer.count(content),
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


async def test_cl100k_deployments_count_with_cl100k(make_client: Callable[..., Any]) -> None:
    client = make_client(model="gpt-35-turbo", encoding="cl100k_base")
    tokenizer = Tokenizer("cl100k_base")

    body = (await _chat(client)).json()

    assert body["model"] == "gpt-35-turbo"
    prompt = tokenizer.count_messages(TURNS)
    assert body["usage"]["prompt_tokens"] == prompt


async def test_azure_response_shape_and_headers(client: httpx.AsyncClient) -> None:
    response = await _chat(client)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert response.headers["x-request-id"] == response.headers["apim-request-id"]
    cost = body["usage"]["prompt_tokens"] + 1024  # the default max_tokens is charged
    assert response.headers["x-ratelimit-remaining-tokens"] == str(100_000 - cost)
    assert response.headers["x-ratelimit-remaining-requests"] == str(600 - 1)


async def test_same_request_same_content(client: httpx.AsyncClient) -> None:
    first, second = (
        (await _chat(client, max_tokens=300)).json(),
        (await _chat(client, max_tokens=300)).json(),
    )

    assert first["choices"][0]["message"] == second["choices"][0]["message"]
    assert first["usage"] == second["usage"]
    assert first["id"] != second["id"]


async def test_max_completion_tokens_truncates_with_length(client: httpx.AsyncClient) -> None:
    body = (await _chat(client, max_completion_tokens=5)).json()

    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] <= 5


async def test_key_is_required_either_header_works(client: httpx.AsyncClient) -> None:
    url, body = chat_path("sim"), {"messages": MESSAGES}
    del client.headers["api-key"]

    refused = await client.post(url, json=body)
    bearer = await client.post(url, json=body, headers={"Authorization": "Bearer token"})

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "401"
    assert bearer.status_code == 200


async def test_unknown_deployment_is_azures_404(client: httpx.AsyncClient) -> None:
    response = await client.post(chat_path("nope"), json={"messages": MESSAGES})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DeploymentNotFound"


async def test_missing_api_version_and_unknown_paths_are_404(client: httpx.AsyncClient) -> None:
    no_version = await client.post("/openai/deployments/sim/chat/completions", json={})
    elsewhere = await client.get("/openai/models")

    assert no_version.status_code == elsewhere.status_code == 404
    assert elsewhere.json() == {"error": {"code": "404", "message": "Resource not found"}}


async def test_malformed_bodies_are_400(client: httpx.AsyncClient) -> None:
    url = chat_path("sim")
    bodies: list[Any] = [{"messages": []}, {"messages": MESSAGES, "max_tokens": 0}, [1]]
    for body in bodies:
        response = await client.post(url, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert (await client.post(url, content=b"{not json")).status_code == 400
