"""The store stops taking writes under traffic, then takes them again, with no restart.

The local host runs in its own process; its file-size limit is set to zero from outside
(``prlimit``), so no file of its data directory can grow or be written: the state of a full (or
failing) disk. While it lasts: no call reaches the simulated Azure OpenAI, callers get 503 with
``Retry-After``, readiness says not ready. Afterwards readiness comes back by itself, calls
succeed, and every job accepted before or during the fault ends (succeeded or failed), none
left running; every call the simulator served is on the books.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.composition.embedded import open_embedded_stores
from tests.e2e.host_process import (
    HostProcess,
    host_env,
    open_intents,
    simulated,
    tallied_simulator,
)

pytestmark = pytest.mark.e2e

UNIT = "legal"
HEADERS = {"x-business-unit": UNIT, "x-user-id": "lena"}
SETTINGS = {
    "GATEWAY_REQUEST_DEADLINE_SECONDS": "4",
    "GATEWAY_SETTLE_SECONDS": "2",
    "GATEWAY_SWEEP_SCHEDULE": "* * * * * *",
}


class Load:
    def __init__(self, client: httpx.AsyncClient, host: HostProcess) -> None:
        self.client, self.host = client, host
        self.stop = asyncio.Event()
        self.log: list[tuple[float, int, dict[str, str]]] = []  # (sent at, status, headers)
        self.jobs: list[str] = []
        self.n = 0

    async def one(self, queued: bool) -> None:
        self.n += 1
        sent = time.monotonic()
        response = await self.client.post(
            f"{self.host.url}/api/v1/summarize",
            json={"text": f"[unit={UNIT} call={self.n}] The merger closes in May."},
            headers={**HEADERS, **({"prefer": "respond-async"} if queued else {})},
        )
        self.log.append((sent, response.status_code, dict(response.headers)))
        if response.status_code == 202:
            self.jobs.append(response.json()["job_id"])

    async def caller(self, queued: bool) -> None:
        while not self.stop.is_set():
            await self.one(queued)
            await asyncio.sleep(0.15 if queued else 0.05)


async def upstream_requests(client: httpx.AsyncClient, sim_url: str) -> int:
    """Requests the simulator received (counted on arrival, before any latency)."""
    stats = (await client.get(f"{sim_url}/_sim/stats")).json()
    return sum(int(s["requests"]) for s in stats.values())


async def readiness(client: httpx.AsyncClient, host: HostProcess) -> int:
    return (await client.get(f"{host.url}/api/health/ready")).status_code


async def until(check: Any, limit: float) -> float:
    began = time.monotonic()
    while not await check():
        assert time.monotonic() - began < limit, "timed out"
        await asyncio.sleep(0.1)
    return time.monotonic() - began


async def test_a_store_that_cannot_write_stops_the_spending(tmp_path: Path) -> None:
    async with tallied_simulator(simulated(latency_ms=300, per_token_ms=2)) as (sim_url, tally):
        host = HostProcess(host_env(sim_url, tmp_path / "data", SETTINGS), tmp_path)
        await asyncio.to_thread(host.start)
        assert host.process is not None
        pid = host.process.pid
        limits = resource.getrlimit(resource.RLIMIT_FSIZE)
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                load = Load(client, host)
                workers = [asyncio.create_task(load.caller(q)) for q in (False, False, True)]
                await asyncio.sleep(2.0)
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, limits[1]))  # disk full
                fault = time.monotonic()
                await asyncio.sleep(0.5)  # calls admitted before the fault reach the model
                before = await upstream_requests(client, sim_url)
                await until(lambda: _is(readiness(client, host), 503), 5)
                not_ready = time.monotonic() - fault
                await asyncio.sleep(2.5)
                during = await upstream_requests(client, sim_url)
                resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)  # space again
                healed = time.monotonic()
                ready_again = await until(lambda: _is(readiness(client, host), 200), 10)
                await asyncio.sleep(1.5)
                load.stop.set()
                await asyncio.gather(*workers)
                ends = await _job_ends(client, host, load.jobs, limit=40)
                # A call answered while its usage could not be written is swept as an estimate
                # once its deadline passes (4 + 2 s here).
                left = await open_intents(tmp_path / "data", limit=10)
        finally:
            await asyncio.to_thread(host.stop)

    # While the store could not write, nothing reached the model (the simulator counts each
    # request on arrival), and callers were told to come back.
    assert during == before, f"{during - before} upstream calls while the store could not write"
    in_fault = [(s, h) for t, s, h in load.log if fault + 0.5 <= t <= healed]
    assert in_fault and all(s == 503 and int(h["retry-after"]) >= 1 for s, h in in_fault), Counter(
        s for s, _ in in_fault
    )
    assert not_ready < 5 and ready_again < 10
    assert [s for t, s, _ in load.log if t > healed + ready_again].count(200) > 0
    # No job is left running or queued; every served call is on the books.
    assert set(ends.values()) <= {"succeeded", "failed"} and len(ends) == len(load.jobs)
    stores = open_embedded_stores(tmp_path / "data")
    try:
        now = datetime.now(UTC)
        records = await stores.ledger.list_partition(UNIT, f"{now.year:04d}-{now.month:02d}")
    finally:
        await stores.close()
    served = tally.served[UNIT]
    assert len(records) >= served["ok"]
    assert sum(r.prompt_tokens + r.completion_tokens for r in records) >= (
        served["prompt_tokens"] + served["completion_tokens"]
    )
    assert left == []
    outcomes = Counter(r.outcome for r in records)
    retried = sum(1 for n in Counter(r.job_id for r in records if r.job_id).values() if n > 1)
    print(
        f"\nstore fault: {len(in_fault)} calls answered 503 in {healed - fault:.1f} s, "
        f"0 upstream calls; not ready {not_ready:.2f} s after the fault, ready again "
        f"{ready_again:.2f} s after the disk healed; jobs {dict(Counter(ends.values()))}, "
        f"{retried} called again; ledger {dict(outcomes)}"
    )


async def _is(status: Any, wanted: int) -> bool:
    return bool(await status == wanted)


async def _job_ends(
    client: httpx.AsyncClient, host: HostProcess, jobs: list[str], limit: float
) -> dict[str, str]:
    ends: dict[str, str] = {}
    began = time.monotonic()
    while len(ends) < len(jobs) and time.monotonic() - began < limit:
        for job in (j for j in jobs if j not in ends):
            view = (await client.get(f"{host.url}/api/v1/jobs/{job}", headers=HEADERS)).json()
            if view["status"] in ("succeeded", "failed"):
                ends[job] = view["status"]
        await asyncio.sleep(0.3)
    return ends
