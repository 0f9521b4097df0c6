"""Jobs cut off mid-call, leases whose holder is gone, answers the store cannot take: the first
call is billed, the job finishes once, and it never stays running."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from typing import Any

from shared.composition.root import Gateway
from shared.domain import holder
from shared.domain.caller import Caller
from shared.domain.intent import CallPlan
from shared.domain.records import Job
from shared.handlers.job_worker import attempt_request_id, process_job
from shared.ports import JobStore, StoreUnavailable
from tests.fakes import FakeChatModel, dead_holder
from tests.unit.test_overflow_worker import queue_job


async def job_of(gateway: Gateway, body: dict[str, str]) -> Job:
    job = await gateway.stores.jobs.get("marketing", body["job_id"])
    assert job is not None
    return job


async def cut_off(gateway: Gateway, body: dict[str, str], lease_holder: str) -> None:
    """What a worker that died mid-call leaves: the job running under its lease, its intent."""
    job = await job_of(gateway, body)
    lease = gateway.now() + timedelta(seconds=45)
    await gateway.stores.jobs.replace(
        dataclasses.replace(
            job, status="running", attempts=1, lease_until=lease, lease_holder=lease_holder
        )
    )
    plan = CallPlan(Caller("marketing", job.user_id), job.id, "summarize", "1", "gpt-4o-mini",
                    "gpt-4o-mini", 300, 200, job_id=job.id)  # fmt: skip
    await gateway.meter.admit(plan)


async def ledger(gateway: Gateway) -> list[tuple[str, str, bool, int, str]]:
    month = gateway.now().strftime("%Y-%m")
    return sorted(
        (r.request_id, r.outcome, r.estimated, r.prompt_tokens + r.completion_tokens, r.job_id)
        for r in await gateway.stores.ledger.list_partition("marketing", month)
    )


async def test_a_job_cut_off_mid_call_bills_that_call_then_calls_again(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    await cut_off(gateway, body, dead_holder())

    assert await process_job(gateway.usecases, body, 2) == "complete"  # no wait for the dead lease

    job_id = body["job_id"]
    rows = await ledger(gateway)
    assert rows[0] == (job_id, "interrupted", True, 500, job_id)  # prompt + max_tokens
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [
        (attempt_request_id(job_id, 2), "ok", False, job_id)
    ]
    job = await job_of(gateway, body)
    assert (job.status, job.attempts, len(chat.calls)) == ("succeeded", 2, 1)
    assert await gateway.stores.intents.due("marketing", gateway.now() + timedelta(1), 9) == []


async def test_a_lease_this_process_holds_for_a_job_it_no_longer_runs_is_taken_over(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    await cut_off(gateway, body, holder.THIS_PROCESS)

    assert await process_job(gateway.usecases, body, 2) == "complete"
    assert (await job_of(gateway, body)).status == "succeeded"


async def test_a_lease_a_live_process_holds_is_waited_for(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    alive = f"{holder.INSTANCE}/{os.getppid()}/0123456789ab"
    await cut_off(gateway, body, alive)

    assert await process_job(gateway.usecases, body, 2) == "reschedule"
    assert chat.calls == [] and (await job_of(gateway, body)).status == "running"
    assert not holder.known_gone(alive) and not holder.known_gone("elsewhere/1/ab")
    assert holder.known_gone(dead_holder()) and not holder.known_gone(holder.THIS_PROCESS)


class AnswersNotSaved:
    """A job store whose disk fails exactly when a job's answer is written."""

    def __init__(self, inner: JobStore) -> None:
        self.inner = inner

    async def replace(self, job: Job) -> Job:
        if job.status == "answered":
            raise StoreUnavailable("disk I/O error")
        return await self.inner.replace(job)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_job_whose_answer_cannot_be_saved_ends_failed_never_running(
    gateway: Gateway, chat: FakeChatModel
) -> None:
    body = await queue_job(gateway)
    jobs = gateway.usecases.jobs
    failing = dataclasses.replace(jobs, jobs=AnswersNotSaved(jobs.jobs))
    usecases = dataclasses.replace(gateway.usecases, jobs=failing)
    attempts = gateway.settings.servicebus_max_delivery_count

    outcomes = []
    for _ in range(attempts):
        outcomes.append(await process_job(usecases, body, 1))
        assert (await job_of(gateway, body)).status in ("queued", "failed")

    assert outcomes == ["reschedule"] * (attempts - 1) + ["complete"]
    job = await job_of(gateway, body)
    assert job.status == "failed" and job.error is not None
    assert "could not record the job's answer" in job.error.message
    # Every call was paid; each one a later attempt found unsettled is billed as interrupted.
    rows = await ledger(gateway)
    assert len(chat.calls) == attempts
    assert [r[1] for r in rows] == ["interrupted"] * attempts
    assert await gateway.stores.intents.due("marketing", gateway.now() + timedelta(1), 9) == []
