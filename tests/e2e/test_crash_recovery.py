"""Crashes: the local host SIGKILLed at random moments under traffic, restarted, drained.

Afterwards, per business unit: the ledger meters at least what the simulator served; the excess
is only on records flagged estimated and within their ``max_tokens`` bound; every accepted job
finished exactly once; no intent is left unsettled; the budget counters equal the ledger. The
simulator runs in this process (it outlives every kill) with a latency that keeps calls in
flight; the host runs in its own. ``CRASH_SEED`` replays a run. Run with ``-s`` for the table.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.composition.embedded import open_embedded_stores
from shared.domain.usage import UsageRecord
from shared.metering.budgets import counter_key
from shared.metering.money import to_nano
from tests.e2e.host_process import (
    HostProcess,
    check_tally,
    host_env,
    open_intents,
    simulated,
    tallied_simulator,
)

pytestmark = pytest.mark.e2e

UNITS = ("marketing", "legal", "finance")
KILLS = 3
DEADLINE_SECONDS, SETTLE_SECONDS = 4.0, 2.0  # an intent is due 6 s after its call left
SETTINGS = {
    "GATEWAY_REQUEST_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
    "GATEWAY_SETTLE_SECONDS": str(SETTLE_SECONDS),
    "GATEWAY_SWEEP_SCHEDULE": "* * * * * *",  # every second
    "GATEWAY_BUDGETS": (
        "["
        + ",".join(f'{{"business_unit": "{u}", "limit_tokens": 1000000000000}}' for u in UNITS)
        + "]"
    ),
}
FILLER = "Revenue rose 12% in Q3 while costs stayed flat; the board approved the plan."


def headers(unit: str) -> dict[str, str]:
    return {"x-business-unit": unit, "x-user-id": f"{unit}-user"}


@dataclass
class Traffic:
    """Sync calls and queued jobs from every unit while the host comes and goes."""

    host: HostProcess
    client: httpx.AsyncClient
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answered: dict[str, list[str]] = field(default_factory=lambda: {u: [] for u in UNITS})
    jobs: dict[str, list[str]] = field(default_factory=lambda: {u: [] for u in UNITS})
    failures: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    an_answer: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, unit: str, queued: bool) -> httpx.Response | None:
        self.sent += 1
        text = f"[unit={unit} call={self.sent}] {FILLER}"
        extra = {"prefer": "respond-async"} if queued else {}
        try:
            return await self.client.post(
                f"{self.host.url}/api/v1/summarize",
                json={"text": text},
                headers={**headers(unit), **extra},
            )
        except httpx.HTTPError as exc:  # the host died under the call, or is restarting
            self.failures[type(exc).__name__] += 1
            await asyncio.sleep(0.2)
            return None

    async def sync_caller(self, unit: str) -> None:
        while not self.stop.is_set():
            response = await self.call(unit, queued=False)
            if response is not None and response.status_code == 200:
                self.answered[unit].append(response.headers["x-request-id"])
                self.an_answer.set()
            elif response is not None:
                self.failures[str(response.status_code)] += 1

    async def job_submitter(self, unit: str) -> None:
        while not self.stop.is_set():
            response = await self.call(unit, queued=True)
            if response is not None and response.status_code == 202:
                self.jobs[unit].append(response.json()["job_id"])
            await asyncio.sleep(0.4)

    async def warm(self) -> None:
        """Wait for the current process to answer a sync call."""
        self.an_answer.clear()
        await self.an_answer.wait()

    def run(self) -> list[asyncio.Task[None]]:
        callers = [self.sync_caller(u) for u in UNITS for _ in range(2)]
        submitters = [self.job_submitter(u) for u in UNITS]
        return [asyncio.create_task(c) for c in (*callers, *submitters)]


async def finished_jobs(traffic: Traffic, limit: float) -> dict[str, dict[str, Any]]:
    """Poll every accepted job until it succeeded or failed (or ``limit`` seconds passed)."""
    ends: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + limit
    pending = [(u, j) for u in UNITS for j in traffic.jobs[u]]
    while pending and time.monotonic() < deadline:
        still = []
        for unit, job in pending:
            url = f"{traffic.host.url}/api/v1/jobs/{job}"
            view = (await traffic.client.get(url, headers=headers(unit))).json()
            if view["status"] in ("succeeded", "failed"):
                ends[job] = view
            else:
                still.append((unit, job))
        pending = still
        await asyncio.sleep(0.3)
    assert not pending, f"jobs never finished: {pending[:5]}"
    return ends


@dataclass
class Books:
    records: dict[str, list[UsageRecord]]
    budget: dict[str, tuple[int, int]]  # unit -> (tokens, cost in nano-units) on the counters


async def read_books(data_dir: Path) -> Books:
    stores = open_embedded_stores(data_dir)
    try:
        now = datetime.now(UTC)
        months = sorted({f"{d.year:04d}-{d.month:02d}" for d in (now - timedelta(hours=1), now)})
        records = {
            u: [r for m in months for r in await stores.ledger.list_partition(u, m)] for u in UNITS
        }
        budget = {}
        for unit in UNITS:
            tokens = cost = 0
            for month in months:
                tokens += await stores.counters.get(counter_key(unit, month, "*", "tokens"), unit)
                cost += await stores.counters.get(counter_key(unit, month, "*", "cost_nano"), unit)
            budget[unit] = (tokens, cost)
        return Books(records, budget)
    finally:
        await stores.close()


def tokens(records: list[UsageRecord]) -> int:
    return sum(r.prompt_tokens + r.completion_tokens for r in records)


def excess_bound(estimated: list[UsageRecord], unserved: int) -> int:
    """The most the estimates can exceed what was served: each served call's estimate by at most
    its max_tokens (its prompt is counted as served), and a call that never reached the model
    (killed between its intent and its request) by all of it."""
    biggest_prompts = sorted((r.prompt_tokens for r in estimated), reverse=True)[:unserved]
    return sum(r.completion_tokens for r in estimated) + sum(biggest_prompts)


def check_unit(unit: str, books: Books, served: Counter[str], traffic: Traffic,
               ends: dict[str, dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    records = books.records[unit]
    exact = [r for r in records if not r.estimated]
    estimated = [r for r in records if r.estimated]
    served_tokens = served["prompt_tokens"] + served["completion_tokens"]
    # Every estimate is one the sweeper (or a job's next attempt) wrote: prompt + max_tokens.
    assert all(r.outcome == "interrupted" and r.completion_tokens > 0 for r in estimated)
    assert all(r.outcome == "ok" for r in exact)
    # Every call the simulator served is on the books, exactly or as an estimate.
    unserved = len(records) - served["ok"]
    assert unserved >= 0, f"{unit}: {served['ok']} calls served, {len(records)} on the ledger"
    # Metered >= served; the excess only on estimated records, within their bound.
    excess = tokens(records) - served_tokens
    assert excess >= 0, f"{unit}: metered {tokens(records)} < served {served_tokens}"
    assert tokens(exact) <= served_tokens
    assert excess <= excess_bound(estimated, unserved), (unit, excess, unserved)
    # Every sync answer the client got is on the ledger, exactly.
    by_id = {r.request_id: r for r in records}
    assert all(not by_id[rid].estimated for rid in traffic.answered[unit])
    # Every accepted job finished once: one answer on the ledger, whatever it took.
    per_job = Counter(r.job_id for r in records if r.job_id)
    ok_per_job = Counter(r.job_id for r in exact if r.job_id)
    for job in traffic.jobs[unit]:
        assert ends[job]["status"] == "succeeded", ends[job]
        assert ok_per_job[job] == 1, (job, [(r.request_id, r.outcome) for r in records
                                            if r.job_id == job])  # fmt: skip
    # The budget counters equal the ledger.
    assert books.budget[unit] == (tokens(records), sum(to_nano(r.cost) for r in records))
    return {
        "served calls": served["ok"],
        "served tokens": served_tokens,
        "exact calls": len(exact),
        "exact tokens": tokens(exact),
        "est. calls": len(estimated),
        "never sent": unserved,  # estimated calls the model never saw (killed before sending)
        "est. tokens": tokens(estimated),
        "excess": excess,
        "excess %": f"{100 * excess / served_tokens:.1f}" if served_tokens else "-",
        "jobs": len(traffic.jobs[unit]),
        "2nd call": sum(1 for j in traffic.jobs[unit] if per_job[j] > 1),
    }


def recovery_seconds(books: Books, restarts: list[datetime], ends: dict[str, Any]) -> list[float]:
    """Per job cut off mid-call: from the restart that redelivered it (the first after its last
    cut-off call) to its completion."""
    last_cut: dict[str, datetime] = {}
    for records in books.records.values():
        for cut in (r for r in records if r.outcome == "interrupted" and r.job_id in ends):
            last_cut[cut.job_id] = max(cut.created_at, last_cut.get(cut.job_id, cut.created_at))
    waits = []
    for job_id, cut_at in last_cut.items():
        after = [t for t in restarts if t > cut_at]
        if after:
            done = datetime.fromisoformat(ends[job_id]["updated_at"])
            waits.append((done - after[0]).total_seconds())
    return waits


def print_table(rows: dict[str, dict[str, Any]], waits: list[float], seed: int) -> None:
    columns = list(next(iter(rows.values())))
    print(f"\ncrash run: seed {seed}, {KILLS} SIGKILLs")
    print(" ".join(f"{c:>13}" for c in ["unit", *columns]))
    for unit, row in rows.items():
        print(" ".join(f"{v!s:>13}" for v in [unit, *row.values()]))
    if waits:
        waits.sort()
        print(f"restart -> completion of jobs cut off mid-call: n={len(waits)}, "
              f"median {waits[len(waits) // 2]:.2f} s, max {waits[-1]:.2f} s")  # fmt: skip


async def test_sigkill_under_traffic_keeps_cost_truth(tmp_path: Path) -> None:
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    async with tallied_simulator(simulated(latency_ms=800, per_token_ms=4)) as (sim_url, tally):
        host = HostProcess(host_env(sim_url, tmp_path / "data", SETTINGS), tmp_path)
        await asyncio.to_thread(host.start)
        restarts: list[datetime] = []
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                traffic = Traffic(host, client)
                workers = traffic.run()
                for _ in range(KILLS):
                    await traffic.warm()  # a new process's first call loads its clients
                    await asyncio.sleep(rng.uniform(1.5, 3.0))
                    host.kill()
                    await asyncio.to_thread(host.start)
                    restarts.append(datetime.now(UTC))
                await asyncio.sleep(1.5)
                traffic.stop.set()
                await asyncio.gather(*workers)
                ends = await finished_jobs(traffic, limit=30)
                left = await open_intents(tmp_path / "data", limit=DEADLINE_SECONDS + 6)
                served = await check_tally(client, sim_url, tally)
        finally:
            await asyncio.to_thread(host.stop)
    assert left == [], f"intents never settled: {[i.request_id for i in left][:5]}"
    assert host.starts == KILLS + 1 and served["ok"] > 0
    books = await read_books(tmp_path / "data")
    rows = {u: check_unit(u, books, tally.served[u], traffic, ends) for u in UNITS}
    print_table(rows, recovery_seconds(books, restarts, ends), seed)
    print(f"client-side failures while the host was down: {dict(traffic.failures)}")
    assert sum(r["est. calls"] for r in rows.values()) > 0  # the kills did cut calls off
