"""Liveness and readiness through the registered functions, with no caller headers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import HttpUrl

from shared.composition.root import Gateway, use_gateway
from shared.domain.chat import ChatRequest, ChatResult, StreamEvent
from shared.domain.embeddings import EmbeddingRequest, EmbeddingResult
from shared.domain.upstream import UpstreamUnavailable
from shared.routing import Router
from shared.settings import DeploymentConfig


class DownDeployment:
    """A deployment whose every call fails like a 5xx (feeds its breaker)."""

    def __init__(self, name: str, group: str) -> None:
        self.config = DeploymentConfig(
            name=name, endpoint=HttpUrl("http://127.0.0.1:1"), model="gpt-4o-mini",
            region=name.rsplit("-", 1)[-1], group=group, tpm=60_000,
        )  # fmt: skip

    @property
    def name(self) -> str:
        return self.config.name

    async def complete(self, request: ChatRequest) -> ChatResult:
        raise UpstreamUnavailable("down", deployment=self.name)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        raise UpstreamUnavailable("down", deployment=self.name)
        yield  # pragma: no cover

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        raise UpstreamUnavailable("down", deployment=self.name)


def request(group: str) -> ChatRequest:
    return ChatRequest("r1", group, (), max_tokens=1, prompt_tokens=1)


async def test_liveness_needs_no_caller_and_no_dependency(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    async def down() -> None:
        raise ConnectionError("store down")

    use_gateway(dataclasses.replace(gateway, stores=dataclasses.replace(gateway.stores, ping=down)))
    response = await client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]


async def test_ready_lists_each_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health/ready")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["store"]["status"] == "ok"
    assert body["checks"]["queue"] == {
        "status": "ok",
        "depth": 0,
        "duration_ms": body["checks"]["queue"]["duration_ms"],
    }
    assert body["checks"]["deployments"] == {"status": "ok", "groups": []}


async def test_store_down_is_503_with_the_error_shape(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    async def down() -> None:
        raise ConnectionError("secret connection string in this message")

    use_gateway(dataclasses.replace(gateway, stores=dataclasses.replace(gateway.stores, ping=down)))
    response = await client.get("/api/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["store"]["status"] == "fail"
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert "secret" not in response.text


async def test_queue_failure_is_degraded_but_still_ready(
    client: httpx.AsyncClient, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> int:
        raise ConnectionError("service bus down")

    monkeypatch.setattr(gateway.queue, "depth", unreachable)
    response = await client.get("/api/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["queue"]["status"] == "degraded"


async def test_a_group_with_every_breaker_open_is_not_ready(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    router = Router(
        [DownDeployment("a-eastus", "g1"), DownDeployment("b-westus", "g1"),
         DownDeployment("c-sweden", "g2")],
        breaker_failures=1, max_attempts=2,
    )  # fmt: skip
    use_gateway(dataclasses.replace(gateway, router=router))
    with pytest.raises(UpstreamUnavailable):
        await router.complete(request("g1"))  # both g1 deployments fail once: both open

    response = await client.get("/api/health/ready")

    assert response.status_code == 503
    groups = {g["group"]: g for g in response.json()["checks"]["deployments"]["groups"]}
    assert groups["g1"]["status"] == "fail"
    assert {d["breaker"] for d in groups["g1"]["deployments"]} == {"open"}
    assert groups["g2"]["status"] == "ok"


async def test_one_open_breaker_in_a_group_is_still_ready(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    router = Router(
        [DownDeployment("a-eastus", "g1"), DownDeployment("b-westus", "g1")],
        breaker_failures=1, max_attempts=1,
    )  # fmt: skip
    use_gateway(dataclasses.replace(gateway, router=router))
    with pytest.raises(UpstreamUnavailable):
        await router.complete(request("g1"))

    response = await client.get("/api/health/ready")

    assert response.status_code == 200
    [group] = response.json()["checks"]["deployments"]["groups"]
    assert sorted(d["breaker"] for d in group["deployments"]) == ["closed", "open"]
