"""Overflow: queue work when capacity is gone (or the caller asked), run it later, report it.

A job's id is its request id, the Service Bus message id and the usage record id, so duplicate
detection, redelivery and metering all key on the same value: a job is metered exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from shared.domain.caller import Caller
from shared.domain.errors import GatewayError, NotFound
from shared.domain.records import Job, QueueMessage
from shared.domain.upstream import NoCapacity, UpstreamUnavailable
from shared.domain.usage import UsageRecord
from shared.handlers.prepare import PreparedCall, prepare_validated
from shared.handlers.usecase_call import Answer, execute
from shared.http.error_map import error_body
from shared.ports import ConcurrencyConflict

if TYPE_CHECKING:
    from shared.composition.root import Gateway

log = logging.getLogger("gateway.overflow")

WorkerOutcome = Literal["complete", "reschedule", "retry"]
# A running job's lease: its request deadline (the router never runs past it) plus the time to
# meter and save; past it, the owner is presumed dead and a redelivery may take over.
LEASE_MARGIN_SECONDS = 30.0
# The router says when quota frees; the floor only stops a zero retry-after from spinning.
RESCHEDULE_FLOOR_SECONDS = 0.2


def job_location(job_id: str) -> str:
    return f"/api/v1/jobs/{job_id}"


async def enqueue(gw: Gateway, call: PreparedCall, retry_after: float) -> Answer:
    now = gw.now()
    job = Job(
        id=call.request.request_id,
        business_unit=call.caller.business_unit,
        user_id=call.caller.user_id,
        use_case=call.usecase.id,
        status="queued",
        payload={"input": call.payload, "version": call.usecase.version},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=gw.settings.gateway_job_ttl_seconds),
    )
    await gw.stores.jobs.create(job)
    await gw.queue.send(job_message(job))
    wait = max(1, round(retry_after))
    return Answer(
        202,
        {
            "job_id": job.id,
            "status": job.status,
            "request_id": job.id,
            "location": job_location(job.id),
        },
        {"Location": job_location(job.id), "Retry-After": str(wait)},
    )


def job_message(job: Job, tag: str = "") -> QueueMessage:
    # A rescheduled delivery needs a new message id, or duplicate detection would drop it.
    message_id = f"{job.id}.{tag}" if tag else job.id
    return QueueMessage(
        message_id=message_id,
        body={"job_id": job.id, "business_unit": job.business_unit},
        application_properties={"business_unit": job.business_unit, "use_case": job.use_case},
    )


def job_view(job: Job) -> dict[str, Any]:
    view: dict[str, Any] = {
        "job_id": job.id,
        "status": "running" if job.status == "answered" else job.status,
        "use_case": job.use_case,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }
    if job.status == "succeeded":
        view["result"] = job.result
    if job.status == "failed":
        view["error"] = job.error
    return view


async def read_job(gw: Gateway, caller: Caller, job_id: str) -> dict[str, Any]:
    job = await gw.stores.jobs.get(caller.business_unit, job_id)
    # Another user's job is "not found": never reveal that it exists.
    if job is None or job.user_id != caller.user_id:
        raise NotFound("no such job", code="job_not_found")
    return job_view(job)


async def _save(gw: Gateway, job: Job, **changes: Any) -> Job:
    return await gw.stores.jobs.replace(replace(job, updated_at=gw.now(), **changes))


async def process_job(gw: Gateway, body: dict[str, Any], delivery_count: int) -> WorkerOutcome:
    """Run one queued job. "complete": done (or nothing to do); "reschedule": no capacity yet;
    "retry": a transient failure, let the queue redeliver (dead-letter after max deliveries)."""
    job = await gw.stores.jobs.get(str(body.get("business_unit", "")), str(body.get("job_id", "")))
    if job is None or job.status in ("succeeded", "failed"):
        return "complete"  # expired, unknown, or a duplicate delivery of a finished job
    if job.status == "answered" and job.result is not None:
        # The model answered before a worker died: meter (idempotently) and finish; no new call.
        await gw.meter.settle(None, UsageRecord.from_doc(job.result["_usage_record"]))
        await _save(gw, job, status="succeeded", result=_public(job.result))
        return "complete"
    now = gw.now()
    if job.status == "running" and job.lease_until is not None and job.lease_until > now:
        # Another delivery (a duplicate, or one whose lock expired) owns the job: look again
        # when its lease ends instead of calling the model a second time.
        tag = f"lease{int(job.lease_until.timestamp())}"
        await gw.queue.send(job_message(job, tag), scheduled_at=job.lease_until)
        return "reschedule"
    usecase = gw.catalog.get(job.use_case)
    caller = Caller(job.business_unit, job.user_id)
    lease = timedelta(seconds=gw.settings.gateway_request_deadline_seconds + LEASE_MARGIN_SECONDS)
    try:
        if usecase is None:
            raise NotFound(f"use case {job.use_case!r} no longer exists", code="unknown_use_case")
        job = await _save(
            gw, job, status="running", attempts=job.attempts + 1, lease_until=now + lease
        )
        call = prepare_validated(usecase, caller, job.payload["input"], job.id, gw.models)
        current = job

        async def on_answered(result: dict[str, Any], record: UsageRecord) -> None:
            nonlocal current
            saved = {**result, "_usage_record": record.to_doc()}
            current = await _save(gw, current, status="answered", result=saved)

        answer = await execute(gw, call, on_answered=on_answered)
    except ConcurrencyConflict:
        return "complete"  # another delivery of the same job owns it
    except NoCapacity as exc:
        await _save(gw, job, status="queued", lease_until=None)
        await gw.queue.send(
            job_message(job, f"retry{job.attempts}"),
            scheduled_at=gw.now()
            + timedelta(seconds=max(RESCHEDULE_FLOOR_SECONDS, exc.retry_after)),
        )
        return "reschedule"
    except UpstreamUnavailable:
        if delivery_count >= gw.settings.servicebus_max_delivery_count:
            await _fail(gw, job, GatewayError("the model service stayed unavailable"))
            return "complete"
        await _save(gw, job, status="queued", lease_until=None)  # the redelivery may take it
        return "retry"
    except GatewayError as exc:
        await _fail(gw, job, exc)
        return "complete"
    latest = await gw.stores.jobs.get(job.business_unit, job.id) or job
    await _save(gw, latest, status="succeeded", result=answer.body)
    return "complete"


def _public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}


async def _fail(gw: Gateway, job: Job, exc: GatewayError) -> None:
    latest = await gw.stores.jobs.get(job.business_unit, job.id) or job
    await _save(gw, latest, status="failed", error=error_body(exc, job.id)["error"])
