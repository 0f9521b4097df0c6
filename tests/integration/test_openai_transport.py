"""The deployment adapter's transport failures, against real misbehaving servers on loopback.

The openai client runs on the SDK's aiohttp transport (openai_deployment.py). Whatever breaks
underneath must reach the router as an UpstreamError it fails over on (never a raw exception, a
500 for the caller), and a dropped connection must not be reported as a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from shared.adapters.openai_deployment import AzureOpenAIDeployment, build_client
from shared.composition.adapters import build_chat
from shared.deployment_groups import DeploymentGroups
from shared.domain.chat import ChatRequest, Message
from shared.domain.upstream import (
    NoCapacity,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamUnavailable,
)
from shared.settings import DeploymentConfig, Settings
from shared.tokenizer import Tokenizer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
REQUEST = ChatRequest(
    request_id="r-1",
    group="gpt-4o-mini",
    messages=(Message("user", "hi"),),
    max_tokens=10,
    prompt_tokens=8,
)


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)


def answer(status: str, body: bytes, *headers: str) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        head = [f"HTTP/1.1 {status}", "content-type: application/json", *headers]
        head.append(f"content-length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        writer.close()

    return handle


async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()  # no answer at all


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(5)  # longer than the client's timeout
    writer.close()


@asynccontextmanager
async def deployment(
    handler: Handler, read_timeout: float = 5
) -> AsyncIterator[AzureOpenAIDeployment]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = DeploymentConfig.model_validate(
        {
            "name": "east",
            "endpoint": f"http://127.0.0.1:{port}",
            "model": "gpt-4o-mini",
            "region": "eastus",
            "tpm": 10_000,
        }
    )
    client = build_client(config, api_version="2024-10-21", timeout=read_timeout, credential="test")
    try:
        yield AzureOpenAIDeployment(config, client, Tokenizer("o200k_base"))
    finally:
        await client.close()
        server.close()


async def test_a_dropped_connection_is_a_connection_failure_not_a_timeout() -> None:
    async with deployment(drop) as east:
        with pytest.raises(UpstreamUnavailable) as caught:
            await east.complete(REQUEST)
    assert (caught.value.kind, caught.value.status, caught.value.deployment) == (
        "connection",
        None,
        "east",
    )


async def test_an_answer_slower_than_the_timeout_is_a_timeout() -> None:
    async with deployment(stall, read_timeout=0.3) as east:
        with pytest.raises(UpstreamUnavailable) as caught:
            await east.complete(REQUEST)
    assert (caught.value.kind, caught.value.status) == ("timeout", None)


async def test_a_dropped_stream_is_a_connection_failure() -> None:
    async with deployment(drop) as east:
        with pytest.raises(UpstreamUnavailable) as caught:
            async for _ in east.stream(REQUEST):
                pass
    assert caught.value.kind == "connection"


async def test_statuses_map_to_the_routers_errors_and_keep_their_code() -> None:
    throttled = answer("429 Too Many Requests", b"{}", "retry-after-ms: 1500")
    async with deployment(throttled) as east:
        with pytest.raises(UpstreamThrottled) as caught_429:
            await east.complete(REQUEST)
    assert (caught_429.value.status, caught_429.value.retry_after) == (429, 1.5)

    async with deployment(answer("503 Service Unavailable", b"{}")) as east:
        with pytest.raises(UpstreamUnavailable) as caught_503:
            await east.complete(REQUEST)
    assert (caught_503.value.kind, caught_503.value.status) == ("server", 503)

    filtered = b'{"error": {"code": "content_filter", "message": "filtered"}}'
    async with deployment(answer("400 Bad Request", filtered)) as east:
        with pytest.raises(UpstreamRejected) as caught_400:
            await east.complete(REQUEST)
    assert (caught_400.value.reason, caught_400.value.status) == ("content_filter", 400)


async def test_the_breaker_settings_reach_the_router() -> None:
    seen: list[int] = []

    async def counted_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(1)
        await drop(reader, writer)

    async with deployment(counted_drop) as east:
        deployments = [east.config.model_dump(mode="json")]
        settings = Settings(
            aoai_deployments=deployments,
            aoai_auth="none",
            aoai_breaker_failures=2,
            aoai_breaker_open_seconds=60,
        )
        router, close = build_chat(settings, DeploymentGroups.from_settings(settings))
        try:
            with pytest.raises(NoCapacity):  # the breaker is open: nothing left to try
                await router.complete(REQUEST)
        finally:
            await close()
    [health] = router.snapshot()
    assert (health.breaker, len(seen)) == ("open", 2)  # the default would have let 5 through
