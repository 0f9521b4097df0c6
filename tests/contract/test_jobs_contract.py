"""JobStore contract: JSON payloads round trip, create-once, etag concurrency, expiry."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from shared.domain.records import Job, JobError
from shared.ports import AlreadyExists, ConcurrencyConflict, JobStore

from . import ContractClock


def _job(bu: str, clock: ContractClock, ttl_seconds: float = 86400) -> Job:
    now = clock.now()
    return Job(
        id=f"job-{uuid.uuid4().hex}",
        business_unit=bu,
        user_id="bob",
        use_case="summarise",
        status="queued",
        payload={"input": {"text": "é ✓ long text", "lines": [1, 2.5, None, True]}, "v": "3"},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )


async def test_create_then_get_round_trips(jobs: JobStore, bu: str, clock: ContractClock) -> None:
    created = await jobs.create(_job(bu, clock))

    assert created.etag
    assert await jobs.get(bu, created.id) == created


async def test_create_twice_raises_already_exists(
    jobs: JobStore, bu: str, clock: ContractClock
) -> None:
    job = _job(bu, clock)
    await jobs.create(job)

    with pytest.raises(AlreadyExists):
        await jobs.create(job)


async def test_wrong_business_unit_reads_none(
    jobs: JobStore, bu: str, clock: ContractClock
) -> None:
    created = await jobs.create(_job(bu, clock))

    assert await jobs.get(f"{bu}-other", created.id) is None


async def test_replace_stores_result_and_error(
    jobs: JobStore, bu: str, clock: ContractClock
) -> None:
    created = await jobs.create(_job(bu, clock))
    done = dataclasses.replace(
        created,
        status="succeeded",
        attempts=2,
        updated_at=clock.now(),
        result={"content": "summary", "usage": {"prompt_tokens": 10}},
        error=JobError("retried", "took two tries", created.id, details=["429", "ok"]),
    )

    replaced = await jobs.replace(done)

    assert replaced.etag and replaced.etag != created.etag
    assert await jobs.get(bu, created.id) == replaced


async def test_stale_etag_conflicts(jobs: JobStore, bu: str, clock: ContractClock) -> None:
    created = await jobs.create(_job(bu, clock))
    running = await jobs.replace(dataclasses.replace(created, status="running", attempts=1))

    with pytest.raises(ConcurrencyConflict):
        await jobs.replace(dataclasses.replace(created, status="failed"))

    assert await jobs.get(bu, created.id) == running


async def test_expired_job_reads_as_none(jobs: JobStore, bu: str, clock: ContractClock) -> None:
    created = await jobs.create(_job(bu, clock, ttl_seconds=2))

    await clock.advance(1)
    assert await jobs.get(bu, created.id) == created
    await clock.advance(1)
    assert await jobs.get(bu, created.id) is None
