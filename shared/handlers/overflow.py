"""Overflow: queue work when capacity is gone (or the caller asked) and report on it.

A job's id is its request id and its Service Bus message id, so duplicate detection drops a
second send; the worker (job_worker.py) runs it, each attempt metered under its own request id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.caller import Caller
from shared.domain.errors import NotFound
from shared.domain.records import Job, QueueMessage
from shared.handlers.deps import UseCaseDeps
from shared.handlers.prepare import PreparedCall
from shared.handlers.results import ErrorDetail, JobAccepted, JobView, Queued
from shared.ports import JobStore


def job_location(job_id: str) -> str:
    return f"/api/v1/jobs/{job_id}"


async def enqueue(deps: UseCaseDeps, call: PreparedCall, retry_after: float) -> Queued:
    now = deps.calls.now()
    job = Job(
        id=call.request.request_id,
        business_unit=call.caller.business_unit,
        user_id=call.caller.user_id,
        use_case=call.usecase.id,
        status="queued",
        payload={"input": call.payload, "version": call.usecase.version},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=deps.jobs.ttl_seconds),
    )
    await deps.jobs.jobs.create(job)
    await deps.jobs.queue.send(job_message(job))
    accepted = JobAccepted(
        job_id=job.id, status="queued", request_id=job.id, location=job_location(job.id)
    )
    return Queued(accepted, retry_after_seconds=max(1, round(retry_after)))


def job_message(job: Job, tag: str = "") -> QueueMessage:
    # A rescheduled delivery needs a new message id, or duplicate detection would drop it.
    message_id = f"{job.id}.{tag}" if tag else job.id
    return QueueMessage(
        message_id=message_id,
        body={"job_id": job.id, "business_unit": job.business_unit},
        application_properties={"business_unit": job.business_unit, "use_case": job.use_case},
    )


def look_again(job_id: str, business_unit: str, tag: str) -> QueueMessage:
    """A message for a job that could not be read: the same body, a new message id."""
    return QueueMessage(
        message_id=f"{job_id}.{tag}",
        body={"job_id": job_id, "business_unit": business_unit},
        application_properties={"business_unit": business_unit},
    )


def job_view(job: Job) -> JobView:
    outcome: dict[str, Any] = {}
    if job.status == "succeeded":
        outcome["result"] = job.result
    if job.status == "failed":
        outcome["error"] = ErrorDetail(**job.error.to_doc()) if job.error else None
    return JobView(
        job_id=job.id,
        status="running" if job.status == "answered" else job.status,
        use_case=job.use_case,
        created_at=job.created_at,
        updated_at=job.updated_at,
        **outcome,
    )


async def read_job(jobs: JobStore, caller: Caller, job_id: str) -> JobView:
    job = await jobs.get(caller.business_unit, job_id)
    # Another user's job is "not found": never reveal that it exists.
    if job is None or job.user_id != caller.user_id:
        raise NotFound("no such job", code="job_not_found")
    return job_view(job)
