"""The outside of the routing bench: a paced open-loop load, a light job poller, the simulator,
and what their readings mean.

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
Stats = dict[str, dict[str, int]]  # GET /_sim/stats: deployment -> counter -> value


@dataclass
class LoadResult:
    sent: int = 0
    sent_tokens: int = 0  # quota cost of everything sent
    sync_seconds: list[float] = field(default_factory=list)  # end to end, 200s only
    failures: Counter[str] = field(default_factory=Counter)  # what a client would see fail
    queued: int = 0
    queued_seconds: list[float] = field(default_factory=list)  # until the 202
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
        result.queued_seconds.append(time.perf_counter() - started)
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


def charged(stats: Stats, max_tokens: int) -> int:
    # The simulator charges prompt + max_tokens per admitted call; every call here is summarize.
    return sum(d["prompt_tokens"] + d["ok"] * max_tokens for d in stats.values())


def served(stats: Stats) -> int:
    return sum(d["prompt_tokens"] + d["completion_tokens"] for d in stats.values())


async def snapshot_at(client: httpx.AsyncClient, url: str, when: float) -> tuple[float, Stats]:
    """The simulator's counters at (about) ``when``, and when exactly they were read."""
    await asyncio.sleep(max(0.0, when - time.monotonic()))
    stats = await sim_stats(client, url)
    return time.monotonic(), stats


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
    quiet = asyncio.subprocess.DEVNULL  # uvicorn's start/stop lines; a failed start raises below
    process = await asyncio.create_subprocess_exec(*args, stdout=quiet, stderr=quiet)
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


@dataclass
class Measured:
    """Raw readings of one run; ``Row`` is what they mean."""

    load: LoadResult
    window: float  # one simulated minute in real seconds
    max_tokens: int
    first: tuple[float, Stats]  # (when, counters) one simulated minute into the overload
    last: tuple[float, Stats]  # ... and at its end
    final: Stats  # once every job ended
    wall_end: float  # epoch at the end of the overload


@dataclass(frozen=True)
class Row:
    name: str
    load: LoadResult
    charged_util: float  # (prompt + max_tokens) admitted per simulated minute / aggregate TPM
    served_util: float  # (prompt + completion) served per simulated minute / aggregate TPM
    throttled: int  # 429s the simulator answered, over the whole run
    drain_seconds: float  # end of the overload -> the last job succeeded (real seconds)
    ideal_drain_seconds: float  # the jobs still open then, in quota, / aggregate TPM
    drain_util: float  # charged utilisation while draining


def results(name: str, tpm: int, m: Measured) -> Row:
    """What the readings of one run mean (docs/routing.md defines each number)."""
    (t0, s0), (t1, s1) = m.first, m.last
    quota = tpm * (t1 - t0) / m.window  # aggregate TPM x simulated minutes measured
    done = m.load.done_at
    drain = max([t - m.wall_end for t in done.values()], default=0.0)
    open_then = [c for j, c in m.load.queued_cost.items() if done.get(j, 1e18) > m.wall_end]
    drained = charged(m.final, m.max_tokens) - charged(s1, m.max_tokens)
    return Row(
        name=name,
        load=m.load,
        charged_util=(charged(s1, m.max_tokens) - charged(s0, m.max_tokens)) / quota,
        served_util=(served(s1) - served(s0)) / quota,
        throttled=sum(d["throttled"] for d in m.final.values()),
        drain_seconds=drain,
        ideal_drain_seconds=sum(open_then) / tpm * m.window,
        drain_util=drained / (tpm * drain / m.window) if drain else float("nan"),
    )
