"""Whole-document records with an etag and an expiry on Cosmos DB: sessions and jobs.

Both are keyed by (business unit, id), written whole, replaced only if unchanged since read
(If-Match on ``_etag``), and expire through the item ``ttl`` renewed from ``expires_at`` on every
write. Only the partition key differs: jobs use the business unit, sessions the hierarchical
(business unit, id). The Cosmos twin of ``sqlite_versioned.VersionedDocs``.
"""

from __future__ import annotations

from datetime import datetime

from azure.core import MatchConditions
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceNotFoundError,
)

from shared.adapters.cosmos_client import CosmosConnection, Doc, item_id, ttl_until
from shared.adapters.cosmos_containers import ContainerSpec
from shared.adapters.cosmos_faults import translated
from shared.ports import AlreadyExists, ConcurrencyConflict

PartitionKey = str | list[str]


class VersionedItems:
    def __init__(self, conn: CosmosConnection, spec: ContainerSpec, kind: str) -> None:
        self._conn = conn
        self._container = conn.container(spec)
        self._kind = kind
        self._hierarchical = len(spec.partition_key) > 1

    def _pk(self, business_unit: str, doc_id: str) -> PartitionKey:
        return [business_unit, doc_id] if self._hierarchical else business_unit

    def _body(self, doc: Doc, record_id: str, expires_at: datetime) -> Doc:
        return {**doc, "id": item_id(record_id), "ttl": ttl_until(expires_at, self._conn.now())}

    @translated
    async def create(
        self, doc: Doc, business_unit: str, record_id: str, expires_at: datetime
    ) -> Doc:
        body = self._body(doc, record_id, expires_at)
        created = await self._conn.create_unless_live(
            self._container, body, self._pk(business_unit, body["id"])
        )
        if created is None:
            raise AlreadyExists(f"{self._kind} {record_id!r} already exists")
        return created

    @translated
    async def get(self, business_unit: str, record_id: str) -> Doc | None:
        doc_id = item_id(record_id)
        return await self._conn.point_read(self._container, doc_id, self._pk(business_unit, doc_id))

    @translated
    async def replace(
        self, doc: Doc, record_id: str, expires_at: datetime, etag: str | None
    ) -> Doc:
        if etag is None:
            raise ValueError(f"replace needs the etag the {self._kind} was read with")
        body = self._body(doc, record_id, expires_at)
        try:
            replaced = await self._container.replace_item(
                body["id"], body, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            # 412: someone wrote since our read. 404: it was deleted or expired meanwhile.
            raise ConcurrencyConflict(
                f"{self._kind} {record_id!r} changed since it was read"
            ) from None
        return dict(replaced)

    @translated
    async def delete(self, business_unit: str, record_id: str) -> bool:
        doc_id = item_id(record_id)
        try:
            await self._container.delete_item(doc_id, partition_key=self._pk(business_unit, doc_id))
        except CosmosResourceNotFoundError:
            return False
        return True
