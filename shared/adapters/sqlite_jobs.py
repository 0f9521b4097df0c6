"""JobStore on SQLite: jobs as JSON documents with an etag (see sqlite_versioned)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from shared.adapters.sqlite_db import Database, to_epoch
from shared.adapters.sqlite_versioned import VersionedDocs
from shared.domain.records import Job


def _to_doc(job: Job) -> str:
    return json.dumps(job.to_doc())


def _from_doc(text: str, etag: str) -> Job:
    doc: dict[str, Any] = json.loads(text)
    return Job.from_doc(doc, etag)


class SqliteJobStore:
    def __init__(self, db: Database) -> None:
        self._docs = VersionedDocs(db, "job")

    async def create(self, job: Job) -> Job:
        etag = self._docs.create(job.business_unit, job.id, _to_doc(job), to_epoch(job.expires_at))
        return dataclasses.replace(job, etag=etag)

    async def get(self, business_unit: str, job_id: str) -> Job | None:
        found = self._docs.get(business_unit, job_id)
        return _from_doc(*found) if found else None

    async def replace(self, job: Job) -> Job:
        etag = self._docs.replace(
            job.business_unit, job.id, _to_doc(job), to_epoch(job.expires_at), job.etag
        )
        return dataclasses.replace(job, etag=etag)
