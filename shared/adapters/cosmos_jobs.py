"""JobStore on Cosmos DB: partition key = business unit, id = job id, ``ttl`` from ``expires_at``.

Jobs exist only for overflow (requests parked on the queue), so a unit's jobs stay far below a
logical partition's 20 GB and 10,000 RU/s; every access is a point read or an etag-conditional
replace by (business unit, job id) — see cosmos_versioned.
"""

from __future__ import annotations

from shared.adapters.cosmos_client import CosmosConnection
from shared.adapters.cosmos_containers import JOBS
from shared.adapters.cosmos_versioned import VersionedItems
from shared.domain.records import Job


class CosmosJobStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._items = VersionedItems(conn, JOBS, "job")

    async def create(self, job: Job) -> Job:
        doc = await self._items.create(job.to_doc(), job.business_unit, job.id, job.expires_at)
        return Job.from_doc(doc, doc["_etag"])

    async def get(self, business_unit: str, job_id: str) -> Job | None:
        doc = await self._items.get(business_unit, job_id)
        return None if doc is None else Job.from_doc(doc, doc["_etag"])

    async def replace(self, job: Job) -> Job:
        doc = await self._items.replace(job.to_doc(), job.id, job.expires_at, job.etag)
        return Job.from_doc(doc, doc["_etag"])
