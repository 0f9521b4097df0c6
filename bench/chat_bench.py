"""What the gateway adds to streaming and to a chat turn, measured against the simulator itself.

    python -m bench.chat_bench [--runs 40]

Serves the app and the simulator on loopback (run_local_host) and sends each request twice: once
through the gateway and once straight to the simulator with the very messages the gateway sent.
The simulator's replies are a pure function of the request, so both legs wait for the same reply
and the difference is the gateway's own time (auth, validation, rendering, token counting,
routing, the SDK, metering, the session read and write). Both legs use raw httpx on the client
side, so the client's own SSE parsing is the same on both.

1. Time to first token: summarize with ``"stream": true``, simulator at 5 ms per token.
2. Chat turn: a non-streamed message to a session that already holds 20 turns, simulator at
   0 ms per token (latency would only add the same noise to both legs).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from devhost.host import LocalHost, run_local_host
from shared.domain.chat import TokenUsage
from shared.domain.records import ChatSession, Turn
from shared.handlers.chat_prompt import fit_prompt, prompt_budget
from shared.settings import Settings
from simulator.settings import SimulatorSettings

HEADERS = {"x-business-unit": "marketing", "x-user-id": "bench@contoso.com"}
PER_TOKEN_MS = 5.0
HISTORY_TURNS = 20
# The first frame that carries text: the gateway's first delta, upstream's first non-empty
# content (its first chunk only names the role, with content "").
GATEWAY_TOKEN = re.compile(r"^event: delta")
UPSTREAM_TOKEN = re.compile(r'"content":"[^"]')


def settings(data_dir: Path) -> Settings:
    # Quota far above what the bench sends: a 429 would measure the router, not the overhead.
    base = Settings(gateway_data_dir=data_dir)
    deployments = [d.model_copy(update={"tpm": 50_000_000}) for d in base.aoai_deployments]
    return base.model_copy(update={"aoai_deployments": deployments})


async def set_latency(sim: httpx.AsyncClient, host: LocalHost, per_token_ms: float) -> None:
    for name in (await sim.get(f"{host.simulator_url}/_sim/stats")).json():
        await sim.post(
            f"{host.simulator_url}/_sim/deployments/{name}",
            json={"latency_per_token_ms": per_token_ms},
        )


def direct_url(host: LocalHost) -> str:
    deployment = host.gateway.settings.aoai_deployments[0].name
    version = host.gateway.settings.aoai_api_version
    path = f"/openai/deployments/{deployment}/chat/completions"
    return f"{host.simulator_url}{path}?api-version={version}"


async def first_arrival(response: httpx.Response, marker: re.Pattern[str]) -> float:
    """Reads the whole stream; returns when (perf counter) a line matching ``marker`` arrived."""
    arrived = None
    async for line in response.aiter_lines():
        if arrived is None and marker.search(line):
            arrived = time.perf_counter()
    if arrived is None:
        raise RuntimeError(f"no {marker.pattern!r} in the stream")
    return arrived


async def ttft_pair(
    gw: httpx.AsyncClient, sim: httpx.AsyncClient, host: LocalHost
) -> tuple[float, float]:
    text = f"Report {uuid.uuid4().hex}: sales rose in the north and fell in the south. " * 8
    body = {"text": text, "max_words": 60, "stream": True}
    started = time.perf_counter()
    async with gw.stream("POST", "/api/v1/summarize", json=body, headers=HEADERS) as response:
        via_gateway = await first_arrival(response, GATEWAY_TOKEN) - started
    usecase = host.gateway.catalog.get("summarize")
    assert usecase is not None
    payload = usecase.input_model.model_validate({"text": text, "max_words": 60}).model_dump()
    request: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in usecase.render(payload)],
        "max_tokens": usecase.max_output_tokens,
        "temperature": usecase.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    async with sim.stream("POST", direct_url(host), json=request, headers={"api-key": "x"}) as raw:
        direct = await first_arrival(raw, UPSTREAM_TOKEN) - started
    return via_gateway, direct


async def seeded_session(host: LocalHost) -> ChatSession:
    """A session of the bench user that already holds HISTORY_TURNS turns (written directly)."""
    gw = host.gateway
    now = gw.now()
    turns = tuple(
        Turn(
            request_id=f"seed-{i}",
            user=f"Question {i} about the quarterly plan and what it means for my team? " * 3,
            assistant=f"Answer {i}: the plan covers budget, staffing, risks and dates. " * 6,
            usage=TokenUsage(100, 60),
            at=now,
        )
        for i in range(HISTORY_TURNS)
    )
    session = ChatSession(
        id=uuid.uuid4().hex,
        business_unit=HEADERS["x-business-unit"],
        user_id=HEADERS["x-user-id"],
        use_case="chat",
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
        turns=turns,
    )
    return await gw.stores.sessions.create(session)


async def chat_pair(
    gw: httpx.AsyncClient, sim: httpx.AsyncClient, host: LocalHost
) -> tuple[float, float]:
    session = await seeded_session(host)
    content = f"So what should I plan for next quarter? ({uuid.uuid4().hex})"
    path = f"/api/v1/chat/sessions/{session.id}/messages"
    started = time.perf_counter()
    response = await gw.post(path, json={"content": content}, headers=HEADERS)
    via_gateway = time.perf_counter() - started
    response.raise_for_status()
    assert response.json()["turns_dropped"] == 0
    usecase = host.gateway.catalog.get("chat")
    assert usecase is not None
    group = host.gateway.chat.calls.groups.group(usecase.deployment_group)
    prompt = fit_prompt(
        usecase.system_template,
        session.turns,
        content,
        group.tokenizer,
        prompt_budget(usecase, group.context_window),
    )
    request = {
        "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
        "max_tokens": usecase.max_output_tokens,
        "temperature": usecase.temperature,
    }
    started = time.perf_counter()
    raw = await sim.post(direct_url(host), json=request, headers={"api-key": "x"})
    direct = time.perf_counter() - started
    raw.raise_for_status()
    return via_gateway, direct


def row(name: str, pairs: list[tuple[float, float]]) -> str:
    gateway = [g * 1000 for g, _ in pairs]
    direct = [d * 1000 for _, d in pairs]
    added = [g - d for g, d in zip(gateway, direct, strict=True)]
    p95 = statistics.quantiles(added, n=20)[-1]
    return (
        f"{name:<34}{statistics.median(gateway):>10.1f}{statistics.median(direct):>10.1f}"
        f"{statistics.median(added):>12.1f}{p95:>10.1f}"
    )


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        async with (
            run_local_host(
                settings(Path(data_dir)),
                port=0,
                simulator_port=0,
                simulator=SimulatorSettings(latency_per_token_ms=PER_TOKEN_MS),
            ) as host,
            httpx.AsyncClient(base_url=host.base_url, timeout=60) as gw,
            httpx.AsyncClient(timeout=60) as sim,
        ):
            for _ in range(5):  # warm up: tokenizer, SDK clients, SQLite pages
                await ttft_pair(gw, sim, host)
            ttft = [await ttft_pair(gw, sim, host) for _ in range(runs)]
            await set_latency(sim, host, 0.0)
            for _ in range(5):
                await chat_pair(gw, sim, host)
            turns = [await chat_pair(gw, sim, host) for _ in range(runs)]
    print(f"runs={runs}; milliseconds; added = gateway - direct, per pair")
    print(f"{'':<34}{'gateway':>10}{'direct':>10}{'added p50':>12}{'p95':>10}")
    print(row(f"TTFT, stream ({PER_TOKEN_MS:g} ms/token)", ttft))
    print(row(f"chat turn, {HISTORY_TURNS}-turn history", turns))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=40)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs))
