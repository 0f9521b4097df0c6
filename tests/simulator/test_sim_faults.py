"""Fault injection: per-request header overrides and per-deployment rates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulator.testing import chat_path

BODY = {"messages": [{"role": "user", "content": "Hello?"}], "max_tokens": 50}


async def _chat(client: httpx.AsyncClient, fault: str | None = None) -> httpx.Response:
    headers = {"x-sim-fault": fault} if fault else {}
    return await client.post(chat_path("sim"), json=BODY, headers=headers)


@pytest.mark.parametrize(
    ("fault", "code"), [("500", "InternalServerError"), ("503", "ServiceUnavailable")]
)
async def test_fault_header_answers_5xx_without_charging_quota(
    client: httpx.AsyncClient, fault: str, code: str
) -> None:
    failed = await _chat(client, fault)
    served = await _chat(client)

    assert failed.status_code == int(fault)
    assert failed.json()["error"]["code"] == code
    # The 5xx was decided before admission: the first charge is this 200's own.
    assert served.headers["x-ratelimit-remaining-requests"] == str(600 - 1)


async def test_forced_429_carries_retry_headers(client: httpx.AsyncClient) -> None:
    throttled = await _chat(client, "429")

    assert throttled.status_code == 429
    assert throttled.headers["retry-after-ms"] == "1000"
    assert throttled.headers["retry-after"] == "1"
    assert throttled.headers["x-ratelimit-remaining-tokens"] == "100000"
    assert throttled.headers["x-ratelimit-remaining-requests"] == "600"


async def test_forced_timeout_hangs_then_times_out(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(hang_seconds=0.05)
    started = asyncio.get_running_loop().time()

    response = await _chat(client, "timeout")

    assert response.status_code == 408
    assert asyncio.get_running_loop().time() - started >= 0.05


async def test_unknown_fault_header_is_a_400(client: httpx.AsyncClient) -> None:
    assert (await _chat(client, "boom")).status_code == 400


async def test_fault_rate_fails_that_share_deterministically(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    async def statuses(client: httpx.AsyncClient) -> list[int]:
        return [(await _chat(client)).status_code for _ in range(200)]

    first = await statuses(make_client(fault_rate=0.3))
    again = await statuses(make_client(fault_rate=0.3))

    assert first == again  # same seed, same draws
    failures = sum(s in (500, 503) for s in first)
    assert 40 <= failures <= 80
    assert {500, 503} <= set(first)


async def test_faults_can_be_switched_live(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/deployments/sim", json={"fault_rate": 1.0})
    assert (await _chat(client)).status_code in (500, 503)

    await client.post("/_sim/deployments/sim", json={"fault_rate": 0.0})
    assert (await _chat(client)).status_code == 200


async def test_no_usage_fault_drops_usage(client: httpx.AsyncClient) -> None:
    streamed = await client.post(
        chat_path("sim"),
        json={**BODY, "stream": True, "stream_options": {"include_usage": True}},
        headers={"x-sim-fault": "no-usage"},
    )
    plain = await _chat(client, "no-usage")

    assert streamed.status_code == 200
    assert '"usage"' not in streamed.text
    assert streamed.text.endswith("data: [DONE]\n\n")
    assert "usage" not in plain.json()


async def test_zero_latency_never_sleeps(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, *args: Any) -> Any:
        slept.append(delay)
        return await real_sleep(delay, *args)

    monkeypatch.setattr(asyncio, "sleep", spy)
    await _chat(client)
    await client.post(chat_path("sim"), json={**BODY, "stream": True})

    assert slept == []


async def test_latency_is_fixed_plus_per_token(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(latency_ms=30, latency_per_token_ms=2)
    loop = asyncio.get_running_loop()
    started = loop.time()

    response = await _chat(client)

    tokens = response.json()["usage"]["completion_tokens"]
    assert loop.time() - started >= (30 + 2 * tokens) / 1000
