"""The overflow worker's handler: one delivery of a queued job.

Attempts are counted on the job, and attempt n calls the model under its own request id (the
job id, then ``{job id}.{n}``): each call has its own intent and usage record, all carrying the
job id. A job is answered once: the answer is saved on the job before it is metered, so a
worker that dies after the model answered never calls again (the next delivery meters the saved
answer). A worker that dies *during* the call leaves the job running with an open intent: the
next delivery settles that attempt as interrupted (billed at its upper bound, see
metering/sweeper.py) and calls again. Azure OpenAI takes no idempotency key, so that second call
cannot be avoided; docs/jobs.md says what the ledger then shows.

Leases: a running job is owned until its lease ends (the router's deadline plus the time to
settle, the same as its intent's deadline) by the process named in ``lease_holder``; a holder
known to be gone (this instance's process that ended, or this process when it no longer runs
the job) is not waited for. Retries never abandon the message (Service Bus would redeliver it at
once and burn every delivery in milliseconds): the handler schedules a new message with a
backoff and the current one completes.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.domain.caller import Caller
from shared.domain.errors import GatewayError, NotFound, ServiceUnavailable
from shared.domain.holder import THIS_PROCESS, known_gone
from shared.domain.records import Job, JobError
from shared.domain.upstream import NoCapacity, UpstreamUnavailable
from shared.domain.usage import UsageRecord
from shared.handlers.deps import UseCaseDeps
from shared.handlers.overflow import job_message, look_again
from shared.handlers.prepare import prepare_validated
from shared.handlers.usecase_call import execute
from shared.ports import ConcurrencyConflict, StoreUnavailable

log = logging.getLogger("gateway.overflow")

WorkerOutcome = Literal["complete", "reschedule"]
# The router says when quota frees; the floor only stops a zero retry-after from spinning.
RESCHEDULE_FLOOR_SECONDS = 0.2
# Retries of a transient failure: full jitter up to base * 2^(attempt - 1), capped.
RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 60.0
# A store that failed outside an attempt: waited for as a third attempt would be (2-4 s).
STORE_RETRY_ATTEMPT = 3

# Jobs this process is running now: a lease it holds on any other job is stale.
_running: set[str] = set()


def attempt_request_id(job_id: str, attempt: int) -> str:
    return job_id if attempt <= 1 else f"{job_id}.{attempt}"


def holder_gone(job: Job) -> bool:
    if job.lease_holder == THIS_PROCESS:
        return job.id not in _running
    return bool(job.lease_holder) and known_gone(job.lease_holder)


async def process_job(
    deps: UseCaseDeps, body: dict[str, Any], delivery_count: int
) -> WorkerOutcome:
    """Run one delivery. "complete": done, or nothing to do; "reschedule": a new message will
    look again later (no capacity, a lease held elsewhere, a transient failure). Raises only
    when even that message cannot be sent."""
    job_id, unit = str(body.get("job_id", "")), str(body.get("business_unit", ""))
    try:
        return await _process(deps, job_id, unit)
    except StoreUnavailable as exc:
        # The job cannot be read or its state written now: look again later, in a new message.
        when = deps.calls.now() + timedelta(seconds=_backoff(STORE_RETRY_ATTEMPT))
        tag = f"later{int(when.timestamp() * 1000)}"
        await deps.jobs.queue.send(look_again(job_id, unit, tag), scheduled_at=when)
        log.warning("job %s: the store failed (%s); looking again at %s", job_id, exc, when)
        return "reschedule"


async def _process(deps: UseCaseDeps, job_id: str, unit: str) -> WorkerOutcome:
    job = await deps.jobs.jobs.get(unit, job_id)
    if job is None or job.status in ("succeeded", "failed"):
        return "complete"  # expired, unknown, or a duplicate delivery of a finished job
    if job.status == "answered" and job.result is not None:
        await _finish_answered(deps, job)
        return "complete"
    if job.status == "running" and job.lease_until and job.lease_until > deps.calls.now():
        if not holder_gone(job):
            # Another delivery owns the job: look again when its lease ends instead of calling
            # the model a second time.
            tag = f"lease{int(job.lease_until.timestamp())}"
            await deps.jobs.queue.send(job_message(job, tag), scheduled_at=job.lease_until)
            return "reschedule"
        log.info("job %s: its lease holder %s is gone; taking over", job.id, job.lease_holder)
    if job.attempts:
        await _settle_cut_off_attempt(deps, job)
    if job.attempts >= deps.jobs.max_attempts:
        await _give_up(deps, job, job.error.message if job.error else "its attempts were cut off")
        return "complete"
    return await _attempt(deps, job)


async def _attempt(deps: UseCaseDeps, job: Job) -> WorkerOutcome:
    usecase = deps.catalog.get(job.use_case)
    if usecase is None:
        await _fail(deps, job, NotFound(f"use case {job.use_case!r} no longer exists"))
        return "complete"
    attempt = job.attempts + 1
    lease = deps.calls.now() + timedelta(seconds=deps.jobs.lease_seconds)
    try:
        job = await _save(
            deps,
            job,
            status="running",
            attempts=attempt,
            lease_until=lease,
            lease_holder=THIS_PROCESS,
        )
    except ConcurrencyConflict:
        return "complete"  # another delivery took the job first
    except StoreUnavailable as exc:
        return await _retry(deps, job, attempt, exc)
    _running.add(job.id)
    current = job

    async def on_answered(result: dict[str, Any], record: UsageRecord) -> None:
        nonlocal current
        saved = {**result, "_usage_record": record.to_doc()}
        current = await _save(deps, current, status="answered", result=saved)

    try:
        caller = Caller(job.business_unit, job.user_id)
        call = prepare_validated(usecase, caller, job.payload["input"], job.id, deps.calls.groups)
        request = replace(call.request, request_id=attempt_request_id(job.id, attempt))
        answer = await execute(
            deps.calls, replace(call, request=request, job_id=job.id), on_answered=on_answered
        )
    except ConcurrencyConflict:
        return "complete"  # another delivery of the same job owns it
    except NoCapacity as exc:
        # No call was made: not an attempt. Look again when quota frees.
        when = deps.calls.now() + timedelta(seconds=max(RESCHEDULE_FLOOR_SECONDS, exc.retry_after))
        await _quietly(
            _save(deps, current, status="queued", attempts=attempt - 1, lease_until=None)
        )
        await deps.jobs.queue.send(
            job_message(job, f"at{int(when.timestamp() * 1000)}"), scheduled_at=when
        )
        return "reschedule"
    except (UpstreamUnavailable, StoreUnavailable) as exc:
        return await _retry(deps, current, attempt, exc)
    except GatewayError as exc:
        await _fail(deps, current, exc)
        return "complete"
    finally:
        _running.discard(job.id)
    latest = await deps.jobs.jobs.get(job.business_unit, job.id) or current
    await _save(deps, latest, status="succeeded", result=answer.body(), lease_until=None)
    return "complete"


async def _retry(deps: UseCaseDeps, job: Job, attempt: int, exc: Exception) -> WorkerOutcome:
    """A transient failure (the model service, or the store that must record the answer):
    try again after a backoff, in a new message; fail once the attempts are spent."""
    reason = JobError("transient_failure", _reason(exc), job.id)
    if attempt >= deps.jobs.max_attempts:
        last = replace(job, attempts=attempt)
        await _settle_cut_off_attempt(deps, last)  # an answer not saved: billed all the same
        await _give_up(deps, last, reason.message)
        return "complete"
    when = deps.calls.now() + timedelta(seconds=_backoff(attempt))
    # If the store cannot take this, the job stays running under a lease nobody holds any more
    # (this process no longer runs it): the next delivery takes over at once.
    await _quietly(_save(deps, job, status="queued", lease_until=None, error=reason))
    await deps.jobs.queue.send(job_message(job, f"retry{attempt}"), scheduled_at=when)
    log.info(
        "job %s: attempt %d failed (%s); retrying at %s", job.id, attempt, reason.message, when
    )
    return "reschedule"


def _backoff(attempt: int) -> float:
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _reason(exc: Exception) -> str:
    if isinstance(exc, StoreUnavailable):
        return "the gateway could not record the job's answer or usage"
    return "the model service was unavailable"


async def _settle_cut_off_attempt(deps: UseCaseDeps, job: Job) -> None:
    """An intent the previous attempt left open: its worker died mid-call, or the store could
    not take its answer. Bill that call as interrupted now, before calling again, so the job's
    cost is the truth (one point read when there is nothing to settle)."""
    request_id = attempt_request_id(job.id, job.attempts)
    intent = await deps.jobs.intents.get(job.business_unit, request_id)
    if intent is not None:
        record = await deps.calls.meter.settle_interrupted(intent)
        outcome = record.outcome if record else "settled elsewhere"
        log.warning("job %s: attempt %d was cut off mid-call (%s)", job.id, job.attempts, outcome)


async def _finish_answered(deps: UseCaseDeps, job: Job) -> None:
    """The model answered before a worker died: meter (idempotently) and finish; no new call."""
    assert job.result is not None
    await deps.calls.meter.settle(None, UsageRecord.from_doc(job.result["_usage_record"]))
    public = {k: v for k, v in job.result.items() if not k.startswith("_")}
    await _save(deps, job, status="succeeded", result=public, lease_until=None)


async def _save(deps: UseCaseDeps, job: Job, **changes: Any) -> Job:
    return await deps.jobs.jobs.replace(replace(job, updated_at=deps.calls.now(), **changes))


async def _quietly(saving: Any) -> None:
    try:
        await saving
    except (StoreUnavailable, ConcurrencyConflict) as exc:
        log.warning("job state not saved: %s", exc)


async def _give_up(deps: UseCaseDeps, job: Job, reason: str) -> None:
    message = f"the job gave up after {job.attempts} attempts: {reason}"
    await _fail(deps, job, ServiceUnavailable(message, code="job_attempts_exhausted"))


async def _fail(deps: UseCaseDeps, job: Job, exc: GatewayError) -> None:
    latest = await deps.jobs.jobs.get(job.business_unit, job.id) or job
    error = JobError(exc.code, exc.message, job.id, exc.details)
    await _save(deps, latest, status="failed", error=error, lease_until=None)


async def revive(deps: UseCaseDeps, records: list[UsageRecord], at: datetime) -> int:
    """After a sweep: jobs whose attempt was cut off get a new message now, so they finish
    even when their own message waits out its lock, or the queue has dead-lettered it."""
    sent = 0
    for job_id, unit in sorted({(r.job_id, r.business_unit) for r in records if r.job_id}):
        job = await deps.jobs.jobs.get(unit, job_id)
        if job is not None and job.status in ("queued", "running", "answered"):
            await deps.jobs.queue.send(job_message(job, f"swept{job.attempts}"), scheduled_at=at)
            sent += 1
    return sent
