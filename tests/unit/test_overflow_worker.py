"""The overflow worker: redeliveries and overlapping deliveries never call the model twice."""

from __future__ import annotations

import asyncio

from shared.composition.root import Gateway
from shared.domain.caller import Caller
from shared.domain.upstream import NoCapacity, UpstreamUnavailable
from shared.handlers.job_worker import process_job
from shared.handlers.results import Queued
from shared.handlers.usecases import run_usecase
from tests.fakes import FakeChatModel

ALICE = Caller("marketing", "alice@contoso.com")


async def queue_job(gateway: Gateway, text: str = "Summarize me.") -> dict[str, str]:
    answer = await run_usecase(
        gateway.usecases,
        ALICE,
        "summarize",
        {"text": text},
        "job0000000000000001",
        prefer_async=True,
    )
    assert isinstance(answer, Queued)
    return {"job_id": answer.accepted.job_id, "business_unit": "marketing"}


async def records(gateway: Gateway) -> list[str]:
    month = gateway.now().strftime("%Y-%m")
    return [r.request_id for r in await gateway.stores.ledger.list_partition("marketing", month)]


async def test_overlapping_deliveries_call_the_model_once(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    release = chat.gate = asyncio.Event()
    first = asyncio.create_task(process_job(gateway.usecases, body, 1))
    await asyncio.sleep(0.05)  # the first delivery now holds the lease, mid-call
    second = await process_job(gateway.usecases, body, 1)
    release.set()

    assert second == "reschedule"
    assert await first == "complete"
    assert await records(gateway) == [body["job_id"]]
    job = await gateway.stores.jobs.get("marketing", body["job_id"])
    assert job is not None and job.status == "succeeded" and job.attempts == 1
    # The duplicate's look-again message is scheduled at the lease's end, not delivered now.
    assert await gateway.queue.depth() == 1  # only the original message


async def test_no_capacity_reschedules_and_a_finished_job_is_not_rerun(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    chat.replies = [NoCapacity("busy", retry_after=3.0), "Now there is room."]

    assert await process_job(gateway.usecases, body, 1) == "reschedule"
    job = await gateway.stores.jobs.get("marketing", body["job_id"])
    assert job is not None and job.status == "queued" and job.lease_until is None
    assert await process_job(gateway.usecases, body, 2) == "complete"
    assert await process_job(gateway.usecases, body, 3) == "complete"  # a duplicate delivery
    assert len(chat.calls) == 2
    assert await records(gateway) == [body["job_id"]]


async def test_transient_failures_are_retried_later_then_fail_the_job_with_its_reason(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    chat.replies = [UpstreamUnavailable("down")]
    attempts = gateway.settings.servicebus_max_delivery_count

    outcomes = [await process_job(gateway.usecases, body, 1) for _ in range(attempts)]

    assert outcomes == ["reschedule"] * (attempts - 1) + ["complete"]
    assert len(chat.calls) == attempts
    job = await gateway.stores.jobs.get("marketing", body["job_id"])
    assert job is not None and job.status == "failed" and job.error is not None
    assert job.error.code == "job_attempts_exhausted"
    assert "model service was unavailable" in job.error.message
    assert await records(gateway) == []  # failed upstream: nothing billed, nothing metered
    # Each retry was a new message scheduled later, never the same one redelivered at once.
    assert await gateway.queue.depth() == 1  # only the original message is visible now
