"""The outside of the routing bench: a paced open-loop load, a light job poller, the simulator.

Requests are sent at a fixed rate of quota tokens (prompt + max_tokens, what Azure charges), not
a fixed number of clients, so a slow gateway cannot quietly lower the load it is measured under.
A 202 hands its job to the poller, which reads the job's ``updated_at`` as its completion time:
the polling period (kept long, for CPU) then does not blur the drain time.

The simulator runs in its own process, on the second core: on a compressed clock every stall of
a shared event loop is magnified (0.1 s at x20 is two simulated seconds of quota).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

HEADERS = {"x-business-unit": "marketing", "x-user-id": "bench@contoso.com"}
POLL_SECONDS = 2.0
POLLERS = 2  # concurrent job reads: the poller must not compete with the gateway for the CPU

# One request: (JSON body, quota cost in tokens).
MakeRequest = Callable[[int], tuple[dict[str, Any], int]]


@dataclass
class LoadResult:
    sent: int = 0
    sent_tokens: int = 0  # quota cost of everything sent
    sync_seconds: list[float] = field(default_factory=list)  # end to end, 200s only
    failures: Counter[str] = field(default_factory=Counter)  # what a client would see fail
    queued: int = 0
    queued_cost: dict[str, int] = field(default_factory=dict)  # job id -> quota cost
    done_at: dict[str, float] = field(default_factory=dict)  # job id -> epoch of its success
    unfinished: int = 0


class JobPoller:
    """Polls every queued job until it ends; a failed job or read counts as a client failure."""

    def __init__(self, client: httpx.AsyncClient, result: LoadResult) -> None:
        self._client = client
        self._result = result
        self._due: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self._open = 0
        self._all_ended = asyncio.Event()
        self._all_ended.set()

    def add(self, location: str, retry_after: float) -> None:
        self._open += 1
        self._all_ended.clear()
        self._due.put_nowait((time.monotonic() + retry_after, location))

    async def _poll(self) -> None:
        while True:
            due, location = await self._due.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            try:
                response = await self._client.get(location, headers=HEADERS)
            except httpx.HTTPError as exc:
                self._end(f"poll {type(exc).__name__}")
                continue
            job = response.json() if response.status_code == 200 else {}
            if response.status_code != 200 or job.get("status") == "failed":
                self._end(f"job {response.status_code} {job.get('status', '')}".strip())
            elif job.get("status") == "succeeded":
                updated = datetime.fromisoformat(job["updated_at"]).timestamp()
                self._result.done_at[job["job_id"]] = updated
                self._ended()
            else:
                self._due.put_nowait((time.monotonic() + POLL_SECONDS, location))

    def _end(self, failure: str) -> None:
        self._result.failures[failure] += 1
        self._ended()

    def _ended(self) -> None:
        self._open -= 1
        if self._open == 0:
            self._all_ended.set()

    async def wait_all(self, limit_seconds: float) -> None:
        """Until every job ended or ``limit_seconds`` passed (the rest count as unfinished)."""
        tasks = [asyncio.create_task(self._poll()) for _ in range(POLLERS)]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_seconds):
                await self._all_ended.wait()
        self._result.unfinished = self._open
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _send(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    cost: int,
    result: LoadResult,
    poller: JobPoller,
) -> None:
    started = time.perf_counter()
    try:
        response = await client.post("/api/v1/summarize", json=body, headers=HEADERS)
    except httpx.HTTPError as exc:
        result.failures[type(exc).__name__] += 1
        return
    if response.status_code == 200:
        result.sync_seconds.append(time.perf_counter() - started)
    elif response.status_code == 202:
        result.queued += 1
        result.queued_cost[response.json()["job_id"]] = cost
        poller.add(response.headers["location"], float(response.headers.get("retry-after", 1)))
    else:
        result.failures[f"HTTP {response.status_code}"] += 1


async def drive(
    client: httpx.AsyncClient,
    make_request: MakeRequest,
    tokens_per_second: float,
    seconds: float,
    result: LoadResult,
    poller: JobPoller,
) -> None:
    """Send for ``seconds`` at ``tokens_per_second`` of quota cost (open loop), then wait for
    the answers (not the jobs)."""
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    next_at = start
    while next_at < start + seconds:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        body, cost = make_request(result.sent)
        task = asyncio.create_task(_send(client, body, cost, result, poller))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.sent += 1
        result.sent_tokens += cost
        next_at += cost / tokens_per_second
    await asyncio.gather(*tasks)


async def sim_stats(client: httpx.AsyncClient, simulator_url: str) -> dict[str, dict[str, int]]:
    response = await client.get(f"{simulator_url}/_sim/stats")
    response.raise_for_status()
    stats: dict[str, dict[str, int]] = response.json()
    return stats


@contextlib.asynccontextmanager
async def simulator_process(
    deployments: list[tuple[str, str, int]],
    time_scale: float,
    latency_ms: float,
    per_token_ms: float,
) -> AsyncIterator[str]:
    """``python -m simulator`` on a free loopback port; yields its base URL."""
    with socket.socket() as probe:  # a free port; the simulator binds it a moment later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, "-m", "simulator", "--port", str(port), "--time-scale", str(time_scale)]
    args += ["--latency-ms", str(latency_ms), "--latency-per-token-ms", str(per_token_ms)]
    for name, model, tpm in deployments:
        args += ["--deployment", f"{name}:{model}:{tpm}"]
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    await sim_stats(client, url)
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"the simulator on port {port} did not start")
        yield url
    finally:
        process.terminate()
        await process.wait()
