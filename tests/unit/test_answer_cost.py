"""Every use-case answer says what it cost: the same exact figure the ledger (and so the
chargeback report) holds; a cache hit costs nothing; a stream's done event carries it too."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx

from shared.composition.root import Gateway
from shared.domain.caller import Caller
from shared.handlers.job_worker import process_job
from shared.handlers.results import Queued
from shared.handlers.usecases import run_usecase
from shared.metering.money import plain
from tests.conftest import HEADERS

ALICE = Caller("marketing", "alice@contoso.com")
TEXT = "The quarterly report shows revenue up 12% while costs stayed flat."


async def ledger_cost(gateway: Gateway, request_id: str) -> tuple[str, str]:
    month = gateway.now().strftime("%Y-%m")
    record = await gateway.stores.ledger.get("marketing", month, request_id)
    assert record is not None
    return plain(record.cost), record.currency


async def test_an_answer_carries_its_ledger_cost(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    miss = (await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)).json()
    hit = (await client.post("/api/v1/summarize", json={"text": TEXT}, headers=HEADERS)).json()

    assert (miss["cost"], miss["currency"]) == await ledger_cost(gateway, miss["request_id"])
    assert Decimal(miss["cost"]) > 0 and miss["currency"] == "USD"
    assert hit["cached"] is True and Decimal(hit["cost"]) == 0
    assert (hit["cost"], hit["currency"]) == await ledger_cost(gateway, hit["request_id"])


async def test_a_job_result_carries_its_cost(gateway: Gateway) -> None:
    answer = await run_usecase(
        gateway.usecases,
        ALICE,
        "summarize",
        {"text": TEXT},
        "job0000000000000002",
        prefer_async=True,
    )
    assert isinstance(answer, Queued)
    job_id = answer.accepted.job_id
    body = {"job_id": job_id, "business_unit": "marketing"}
    assert await process_job(gateway.usecases, body, 1) == "complete"
    job = await gateway.stores.jobs.get("marketing", job_id)
    assert job is not None and job.result is not None
    assert (job.result["cost"], job.result["currency"]) == await ledger_cost(gateway, job_id)


async def test_a_streamed_answer_ends_with_its_cost(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    body = {"text": TEXT + " Streamed.", "stream": True}
    answer = await client.post("/api/v1/summarize", json=body, headers=HEADERS)
    frames = [f for f in answer.text.split("\n\n") if f.startswith("event: done")]
    done = json.loads(frames[0].split("data: ", 1)[1])
    assert (done["cost"], done["currency"]) == await ledger_cost(gateway, done["request_id"])
    assert Decimal(done["cost"]) > 0
