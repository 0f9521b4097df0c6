"""Overflow end to end: saturate the simulator, get 202, poll the job, one usage record per job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from devhost.host import LocalHost, run_local_host
from shared.domain.records import Job
from shared.handlers.overflow import job_message
from shared.settings import Settings
from simulator.settings import SimulatorSettings

pytestmark = pytest.mark.e2e

HEADERS = {"x-business-unit": "marketing", "x-user-id": "alice@contoso.com"}


async def set_tpm(client: httpx.AsyncClient, local: LocalHost, tpm: int) -> None:
    for deployment in local.gateway.settings.aoai_deployments:
        response = await client.post(
            f"{local.simulator_url}/_sim/deployments/{deployment.name}", json={"tpm": tpm}
        )
        response.raise_for_status()


async def poll(client: httpx.AsyncClient, location: str, wait_s: float = 20.0) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        job: dict[str, object] = (await client.get(location, headers=HEADERS)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job still {job['status']} after {wait_s}s")
        await asyncio.sleep(0.1)


async def test_saturated_deployments_queue_then_complete_metered_once(tmp_path: Path) -> None:
    # A compressed clock: the simulator's one-minute quota window passes in two seconds.
    settings = Settings(gateway_data_dir=tmp_path)
    knobs = SimulatorSettings(time_scale=30)
    async with (
        run_local_host(settings, port=0, simulator_port=0, simulator=knobs) as local,
        httpx.AsyncClient(base_url=local.base_url, timeout=10) as client,
    ):
        await set_tpm(client, local, 50)  # every request costs more than the whole quota
        queued = await client.post(
            "/api/v1/summarize", json={"text": "Quarterly numbers, please."}, headers=HEADERS
        )
        assert queued.status_code == 202, queued.text
        assert int(queued.headers["retry-after"]) >= 1
        location = queued.headers["location"]
        job_id = queued.json()["job_id"]
        assert location == f"/api/v1/jobs/{job_id}"

        await set_tpm(client, local, 60_000)
        job = await poll(client, location)
        assert job["status"] == "succeeded", job
        result = job["result"]
        assert isinstance(result, dict) and result["summary"] and result["request_id"] == job_id

        # A duplicate delivery of the finished job changes nothing.
        await local.gateway.queue.send(job_message(await _job(local, job_id), tag="dup"))
        await asyncio.sleep(0.6)
        stats = (await client.get(f"{local.simulator_url}/_sim/stats")).json()
        records = await local.gateway.stores.ledger.list_partition(
            "marketing", local.gateway.now().strftime("%Y-%m")
        )
        other_user = await client.get(location, headers={**HEADERS, "x-user-id": "mallory"})

    assert [r.request_id for r in records] == [job_id]
    assert records[0].prompt_tokens == sum(d["prompt_tokens"] for d in stats.values())
    assert records[0].completion_tokens == sum(d["completion_tokens"] for d in stats.values())
    assert other_user.status_code == 404


async def test_prefer_respond_async_queues_even_with_capacity(tmp_path: Path) -> None:
    async with (
        run_local_host(Settings(gateway_data_dir=tmp_path), port=0, simulator_port=0) as local,
        httpx.AsyncClient(base_url=local.base_url, timeout=10) as client,
    ):
        queued = await client.post(
            "/api/v1/classify",
            json={"text": "I was charged twice this month."},
            headers={**HEADERS, "prefer": "respond-async"},
        )
        assert queued.status_code == 202, queued.text
        job = await poll(client, queued.headers["location"])

    assert job["status"] == "succeeded"
    result = job["result"]
    assert isinstance(result, dict)
    assert result["label"] in {"billing", "technical", "account", "complaint", "other"}


async def _job(local: LocalHost, job_id: str) -> Job:
    job = await local.gateway.stores.jobs.get("marketing", job_id)
    assert job is not None
    return job
