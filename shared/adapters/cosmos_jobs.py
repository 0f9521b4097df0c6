"""JobStore on Cosmos DB: partition key = business unit, id = job id, ``ttl`` from ``expires_at``.

Jobs exist only for overflow (requests parked on the queue), so a unit's jobs stay far below a
logical partition's 20 GB and 10,000 RU/s; every access is a point read or an etag-conditional
replace by (business unit, job id).
"""

from __future__ import annotations

from azure.core import MatchConditions
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceNotFoundError,
)

from shared.adapters.cosmos_client import (
    CosmosConnection,
    Doc,
    from_iso,
    iso,
    item_id,
    ttl_until,
)
from shared.adapters.cosmos_containers import JOBS
from shared.domain.records import Job
from shared.ports import AlreadyExists, ConcurrencyConflict


def _from_doc(doc: Doc) -> Job:
    return Job(
        id=doc["job_id"],
        business_unit=doc["business_unit"],
        user_id=doc["user_id"],
        use_case=doc["use_case"],
        status=doc["status"],
        payload=doc["payload"],
        created_at=from_iso(doc["created_at"]),
        updated_at=from_iso(doc["updated_at"]),
        expires_at=from_iso(doc["expires_at"]),
        result=doc.get("result"),
        error=doc.get("error"),
        attempts=int(doc.get("attempts", 0)),
        etag=doc["_etag"],
    )


class CosmosJobStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(JOBS)

    def _to_doc(self, job: Job) -> Doc:
        return {
            "id": item_id(job.id),
            "job_id": job.id,
            "business_unit": job.business_unit,
            "user_id": job.user_id,
            "use_case": job.use_case,
            "status": job.status,
            "payload": job.payload,
            "created_at": iso(job.created_at),
            "updated_at": iso(job.updated_at),
            "expires_at": iso(job.expires_at),
            "result": job.result,
            "error": job.error,
            "attempts": job.attempts,
            "ttl": ttl_until(job.expires_at, self._conn.now()),
        }

    async def create(self, job: Job) -> Job:
        body = self._to_doc(job)
        doc = await self._conn.create_unless_live(self._container, body, job.business_unit)
        if doc is None:
            raise AlreadyExists(f"job {job.id!r} already exists")
        return _from_doc(doc)

    async def get(self, business_unit: str, job_id: str) -> Job | None:
        doc = await self._conn.point_read(self._container, item_id(job_id), business_unit)
        return None if doc is None else _from_doc(doc)

    async def replace(self, job: Job) -> Job:
        if job.etag is None:
            raise ValueError("replace needs the etag the job was read with")
        body = self._to_doc(job)
        try:
            doc = await self._container.replace_item(
                body["id"], body, etag=job.etag, match_condition=MatchConditions.IfNotModified
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            raise ConcurrencyConflict(f"job {job.id!r} changed since it was read") from None
        return _from_doc(dict(doc))
