"""Reconciliation, end to end: what the simulated Azure OpenAI served, what the ledger metered
and what the chargeback report bills must agree exactly, per business unit.

Each unit gets a phase of mixed traffic over HTTP (sync summarize/classify/extract, streamed
summaries, cache hits, queued jobs drained by the local host's queue runner, duplicate
deliveries, 5xx faults injected into 30% of two regions' answers; classify opted in to the
semantic cache, so it embeds its input through the embeddings deployments, metered like any
call); the simulator's
per-deployment counters are read before and after the phase, so their difference is what that
unit was served. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.host import LocalHost, run_local_host
from shared.domain.records import QueueMessage
from shared.domain.usage import UsageRecord
from shared.handlers.job_worker import process_job
from shared.metering.budgets import counter_key
from shared.settings import ROOT, Settings
from tests.fakes import opt_in_semantic

pytestmark = pytest.mark.e2e

UNITS = ("marketing", "legal", "finance")
FINANCE = {"x-business-unit": "finance", "x-user-id": "controller", "x-user-roles": "finance"}
BUDGETS = [
    {"business_unit": "marketing", "limit_tokens": 20_000, "kind": "soft"},
    {"business_unit": "legal", "use_case": "extract", "limit_cost": "1000.00", "kind": "hard"},
]
# Two of the three regions answer 30% of calls with a 500/503; westus3 stays healthy, so the
# router's failover (and breakers, open 30 s) never leave the group without capacity.
FLAKY = ("gpt-4o-mini-eastus", "gpt-4o-mini-swedencentral")
Call = tuple[str, dict[str, Any], bool]  # use case, body, respond-async


def traffic(unit: str) -> list[Call]:
    """~95 calls per unit: every use case, sync and queued, unique inputs (cache misses)."""
    calls: list[Call] = []
    for i in range(30):
        calls.append(("summarize", {"text": f"{unit} quarterly note {i}: revenue up {i}%."}, False))
    for i in range(20):
        calls.append(("classify", {"text": f"{unit} customer {i}: my invoice is wrong"}, False))
    for i in range(15):
        calls.append(
            ("extract", {"text": f"Invoice {i} from Contoso to {unit}, 12.{i} EUR"}, False)
        )
    for i in range(10):
        calls.append(("summarize", {"text": f"{unit} stream {i} " * 10, "stream": True}, False))
    for i in range(12):
        use_case = ("summarize", "classify", "extract")[i % 3]
        calls.append((use_case, {"text": f"{unit} queued job {i} about Fabrikam"}, True))
    return calls


async def send(client: httpx.AsyncClient, unit: str, call: Call) -> tuple[int, dict[str, Any]]:
    use_case, body, queued = call
    headers = {"x-business-unit": unit, "x-user-id": f"{unit}-user"}
    if queued:
        headers["prefer"] = "respond-async"
    if body.get("stream"):
        async with client.stream("POST", f"/api/v1/{use_case}", json=body, headers=headers) as r:
            complete = "event: done" in (await r.aread()).decode()
        return r.status_code, {"streamed": complete}
    response = await client.post(f"/api/v1/{use_case}", json=body, headers=headers)
    return response.status_code, response.json()


async def faults(client: httpx.AsyncClient, local: LocalHost, rates: dict[str, float]) -> None:
    for name, rate in rates.items():
        await client.post(
            f"{local.simulator_url}/_sim/deployments/{name}", json={"fault_rate": rate}
        )


async def served(client: httpx.AsyncClient, local: LocalHost) -> Counter[str]:
    stats = (await client.get(f"{local.simulator_url}/_sim/stats")).json()
    total: Counter[str] = Counter()
    for name, deployment in stats.items():
        total.update(
            {k: deployment[k] for k in ("ok", "faults", "prompt_tokens", "completion_tokens")}
        )
        if name.startswith("text-embedding"):  # classify's semantic cache embeds its input
            total.update(
                {
                    "embedding_calls": deployment["ok"],
                    "embedding_tokens": deployment["prompt_tokens"],
                }
            )
    return total


async def wait_for_jobs(client: httpx.AsyncClient, unit: str, jobs: list[str]) -> Counter[str]:
    headers = {"x-business-unit": unit, "x-user-id": f"{unit}-user"}
    states: Counter[str] = Counter()
    for job in jobs:
        for _ in range(600):
            status = (await client.get(f"/api/v1/jobs/{job}", headers=headers)).json()["status"]
            if status in ("succeeded", "failed"):
                states[status] += 1
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"job {job} never finished")
    return states


async def duplicate_deliveries(local: LocalHost, unit: str, jobs: list[str]) -> None:
    gw = local.gateway
    for job in jobs[:3]:  # the same job again under a new message id: the runner must no-op
        body = {"job_id": job, "business_unit": unit}
        await gw.queue.send(QueueMessage(f"{job}.dup", body, {"business_unit": unit}))
    for job in jobs[3:5]:  # and the worker handler called twice directly
        body = {"job_id": job, "business_unit": unit}
        assert [
            await process_job(gw.usecases, body, 1),
            await process_job(gw.usecases, body, 1),
        ] == ["complete"] * 2
    for _ in range(200):  # until the runner took every duplicate
        if not await gw.queue.depth():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # let a just-received duplicate finish (it must change nothing)


async def run_phase(client: httpx.AsyncClient, local: LocalHost, unit: str) -> dict[str, Any]:
    await faults(client, local, dict.fromkeys(FLAKY, 0.3))
    gate = asyncio.Semaphore(12)
    calls = traffic(unit)

    async def one(call: Call) -> tuple[int, dict[str, Any]]:
        async with gate:
            return await send(client, unit, call)

    results = await asyncio.gather(*(one(c) for c in calls))
    answered = [c for c, (status, _) in zip(calls, results, strict=True) if status == 200]
    repeats = [c for c in answered if not c[2] and not c[1].get("stream")][::4]
    results += await asyncio.gather(*(one(c) for c in repeats))  # cache hits
    await faults(client, local, dict.fromkeys(FLAKY, 0.0))
    jobs = [body["job_id"] for status, body in results if status == 202]
    job_states = await wait_for_jobs(client, unit, jobs)
    await duplicate_deliveries(local, unit, jobs)
    statuses = Counter(s for s, _ in results)
    return {
        "requests": len(results),
        "cache_hits": sum(1 for _, b in results if b.get("cached") is True),
        "streamed": sum(1 for _, b in results if b.get("streamed") is True),
        "queued": len(jobs),
        "job_states": dict(job_states),
        "errors": {s: n for s, n in statuses.items() if s >= 400},
    }


def exact_cost(records: list[UsageRecord]) -> Decimal:
    """Tokens x prices, computed here from shared/prices.json, independently of the meter."""
    data = json.loads((ROOT / "shared" / "prices.json").read_text(), parse_float=Decimal)
    prices = data["versions"][-1]["models"]
    per_million = sum(
        (
            (r.prompt_tokens - r.cached_tokens) * Decimal(prices[r.model]["input"])
            + r.cached_tokens * Decimal(prices[r.model]["cached_input"])
            + r.completion_tokens * Decimal(prices[r.model]["output"])
            for r in records
        ),
        Decimal(0),
    )
    return per_million.scaleb(-6)


COLUMNS = (
    "unit",
    "requests",
    "upstream",
    "hits",
    "streamed",
    "jobs",
    "5xx",
    "prompt",
    "completion",
    "cost USD",
    "seconds",
)


def line(*cells: object) -> str:
    return " ".join(f"{c!s:>10}" for c in cells)


async def reconcile_inputs(
    local: LocalHost, client: httpx.AsyncClient, first: date
) -> tuple[dict[str, Any], dict[str, list[UsageRecord]], dict[str, int]]:
    """The report (rollups refreshed), every unit's ledger records and two budget counters."""
    last = datetime.now(UTC).date()
    query = {"from": str(first), "to": str(last), "group_by": "business_unit", "refresh": "true"}
    report = await client.get("/api/v1/reports/chargeback", params=query, headers=FINANCE)
    gw, months = local.gateway, sorted({first.strftime("%Y-%m"), last.strftime("%Y-%m")})
    ledger = {
        u: [r for m in months for r in await gw.stores.ledger.list_partition(u, m)] for u in UNITS
    }
    month, get = last.strftime("%Y-%m"), gw.stores.counters.get
    budgets = {
        "marketing": await get(counter_key("marketing", month, "*", "tokens"), "marketing"),
        "legal": await get(counter_key("legal", month, "extract", "tokens"), "legal"),
    }
    return report.json(), ledger, budgets


async def test_ledger_simulator_and_report_reconcile(tmp_path: Path) -> None:
    # Quota is another test's subject: give each region room for the whole run, so 429s and
    # breakers never push calls to the queue and stretch the run past a minute.
    roomy = [d.model_copy(update={"tpm": 2_000_000}) for d in Settings().aoai_deployments]
    settings = Settings(
        gateway_data_dir=tmp_path, gateway_budgets=json.dumps(BUDGETS), aoai_deployments=roomy
    )
    first = datetime.now(UTC).date()
    async with (
        run_local_host(settings, port=0, simulator_port=0) as local,
        httpx.AsyncClient(base_url=local.base_url, timeout=30) as client,
    ):
        # classify opts in to the semantic cache: its calls embed their input first.
        opt_in_semantic(local.gateway, "classify")
        phases, sim = {}, {}
        for unit in UNITS:
            before, clock = await served(client, local), time.perf_counter()
            phases[unit] = await run_phase(client, local, unit)
            sim[unit] = await served(client, local) - before
            phases[unit]["seconds"] = round(time.perf_counter() - clock, 1)
        report, ledger, budget_tokens = await reconcile_inputs(local, client, first)

    rows = {r["business_unit"]: r for r in report["rows"]}
    print("\n" + line(*COLUMNS))
    for unit in UNITS:
        records, phase, row, served_now = ledger[unit], phases[unit], rows[unit], sim[unit]
        upstream = [r for r in records if not r.cache_hit]
        # 1. What the simulator served is exactly what the ledger metered.
        assert len(upstream) == served_now["ok"]
        assert sum(r.prompt_tokens for r in records) == served_now["prompt_tokens"]
        assert sum(r.completion_tokens for r in records) == served_now["completion_tokens"]
        assert len({r.request_id for r in records}) == len(records)
        embedded = [r for r in records if r.model == "text-embedding-3-small"]
        assert len(embedded) == served_now["embedding_calls"] > 0
        assert sum(r.prompt_tokens for r in embedded) == served_now["embedding_tokens"]
        # 2. The report bills tokens x prices, to the cent (and to the micro-dollar).
        billed, exact = Decimal(row["cost"]), exact_cost(upstream)
        assert billed.quantize(Decimal("0.01")) == exact.quantize(Decimal("0.01"))
        assert billed == exact.quantize(Decimal("0.000001"))
        assert (row["calls"], row["cache_hits"]) == (len(upstream), phase["cache_hits"])
        assert (row["prompt_tokens"], row["completion_tokens"]) == (
            served_now["prompt_tokens"],
            served_now["completion_tokens"],
        )
        assert phase["cache_hits"] > 0 and phase["streamed"] > 0 and phase["queued"] > 0
        # 3. Budget counters settled to the real usage: no reservation left behind.
        if unit in budget_tokens:
            scope = [r for r in upstream if unit == "marketing" or r.use_case == "extract"]
            assert budget_tokens[unit] == sum(r.prompt_tokens + r.completion_tokens for r in scope)
        print(
            line(
                unit,
                phase["requests"],
                len(upstream),
                phase["cache_hits"],
                phase["streamed"],
                phase["queued"],
                served_now["faults"],
                served_now["prompt_tokens"],
                served_now["completion_tokens"],
                row["cost"],
                phase["seconds"],
            )
        )
        print(f"{'':>10} errors {phase['errors']}, jobs {phase['job_states']}")
    t = report["totals"]
    print(
        line(
            "total",
            "",
            t["calls"],
            t["cache_hits"],
            "",
            "",
            "",
            t["prompt_tokens"],
            t["completion_tokens"],
            t["cost"],
            "",
        ),
        f"savings {t['savings']} USD",
    )
    assert abs(sum(Decimal(r["cost"]) for r in rows.values()) - Decimal(t["cost"])) < Decimal(
        "0.00001"
    )
