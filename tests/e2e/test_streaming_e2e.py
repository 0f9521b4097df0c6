"""Streaming end to end: the local host and the simulator on loopback, called as a frontend does.

The simulator spreads a small per-token latency over its chunks, so tokens really arrive over
time; the usage the gateway meters must equal what the simulator says it served (/_sim/stats).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.host import LocalHost, run_local_host
from shared.domain.usage import UsageRecord
from shared.settings import Settings
from simulator.settings import SimulatorSettings

pytestmark = pytest.mark.e2e

HEADERS = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}
SSE = {**HEADERS, "accept": "text/event-stream"}


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[LocalHost]:
    settings = Settings(gateway_data_dir=tmp_path)
    knobs = SimulatorSettings(latency_per_token_ms=2.0)
    async with run_local_host(settings, port=0, simulator_port=0, simulator=knobs) as running:
        yield running


@pytest.fixture
async def http(host: LocalHost) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=host.base_url, timeout=30) as client:
        yield client


def parse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def stream(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, list[float], str]:
    """POST and read the SSE body as it arrives: (response, arrival times, whole body)."""
    arrivals: list[float] = []
    parts: list[str] = []
    async with http.stream("POST", path, json=body, headers=headers) as response:
        async for chunk in response.aiter_text():
            arrivals.append(time.perf_counter())
            parts.append(chunk)
    return response, arrivals, "".join(parts)


async def served(host: LocalHost) -> tuple[int, int]:
    assert host.simulator_url is not None
    async with httpx.AsyncClient() as client:
        stats = (await client.get(f"{host.simulator_url}/_sim/stats")).json()
    return (
        sum(s["prompt_tokens"] for s in stats.values()),
        sum(s["completion_tokens"] for s in stats.values()),
    )


async def served_matches(host: LocalHost, expected: tuple[int, int]) -> bool:
    return await served(host) == expected


async def wait_for(probe: Any, *, seconds: float = 5.0) -> Any:
    """Poll ``probe`` until it returns something truthy (the writes it waits for are async)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


async def record_of(host: LocalHost, request_id: str) -> UsageRecord | None:
    month = host.gateway.now().strftime("%Y-%m")
    return await host.gateway.stores.ledger.get("marketing", month, request_id)


async def test_chat_reply_streams_in_chunks_and_metered_usage_matches_the_simulator(
    host: LocalHost, http: httpx.AsyncClient
) -> None:
    session = (await http.post("/api/v1/chat/sessions", headers=HEADERS)).json()
    path = f"/api/v1/chat/sessions/{session['session_id']}"

    response, arrivals, body = await stream(
        http, f"{path}/messages", {"content": "Explain our travel policy briefly."}, SSE
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_events(body)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 1 and len(arrivals) > 1  # several frames, arriving over time
    assert arrivals[-1] > arrivals[0]
    name, done = events[-1]
    assert name == "done" and done["usage"]["estimated"] is False
    record = await record_of(host, done["request_id"])
    assert record is not None and record.outcome == "ok" and record.use_case == "chat"
    expected = (record.prompt_tokens, record.completion_tokens)
    assert await wait_for(lambda: served_matches(host, expected))
    assert done["usage"]["completion_tokens"] == record.completion_tokens
    history = (await http.get(path, headers=HEADERS)).json()
    assert history["turns"][0]["assistant"] == "".join(deltas).strip()


async def test_summarize_stream_true_is_metered_as_the_simulator_served_it(
    host: LocalHost, http: httpx.AsyncClient
) -> None:
    body = {"text": "Sales rose in the north and fell in the south. " * 20, "stream": True}

    response, _, text = await stream(http, "/api/v1/summarize", body, HEADERS)

    events = parse_events(text)
    assert response.status_code == 200 and events[-1][0] == "done"
    done = events[-1][1]
    assert done["cached"] is False and sum(1 for e, _ in events if e == "delta") > 1
    record = await record_of(host, done["request_id"])
    assert record is not None
    expected = (record.prompt_tokens, record.completion_tokens)
    assert await wait_for(lambda: served_matches(host, expected))


async def test_a_client_that_disconnects_mid_stream_is_still_metered(
    host: LocalHost, http: httpx.AsyncClient
) -> None:
    assert host.simulator_url is not None
    async with httpx.AsyncClient() as sim:  # slow the tokens down so the stream is long
        for name in (await sim.get(f"{host.simulator_url}/_sim/stats")).json():
            await sim.post(
                f"{host.simulator_url}/_sim/deployments/{name}", json={"latency_per_token_ms": 40}
            )
    body = {"text": "A long report about regional sales. " * 30, "stream": True}

    async with http.stream("POST", "/api/v1/summarize", json=body, headers=HEADERS) as response:
        request_id = response.headers["x-request-id"]
        first = await anext(response.aiter_text())
    # Leaving the block closed the connection after the first frame.

    assert first.startswith("event: delta")
    record = await wait_for(lambda: record_of(host, request_id))
    assert record is not None
    assert (record.outcome, record.estimated) == ("cancelled", True)
    assert record.completion_tokens > 0
    assert record.prompt_tokens > 0
