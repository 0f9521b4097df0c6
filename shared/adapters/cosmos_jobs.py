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
    item_id,
    ttl_until,
)
from shared.adapters.cosmos_containers import JOBS
from shared.domain.records import Job
from shared.ports import AlreadyExists, ConcurrencyConflict


def _from_doc(doc: Doc) -> Job:
    return Job.from_doc(doc, doc["_etag"])


class CosmosJobStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(JOBS)

    def _to_doc(self, job: Job) -> Doc:
        return {
            **job.to_doc(),
            "id": item_id(job.id),
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
