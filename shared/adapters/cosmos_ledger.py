"""UsageLedger on Cosmos DB: partition ``pk = "{business_unit}|{month}"``, id = request id.

``record`` creates the item and falls back to an upsert only when the create answers 409:
a new record (the normal case) costs one write, a replay costs the failed create plus the upsert.
A point read first would add ~1 RU to every new record to save a little on rare replays, and
still race with a concurrent replay. Details in docs/cosmos.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from azure.cosmos.exceptions import CosmosResourceExistsError

from shared.adapters.cosmos_client import CosmosConnection, Doc, item_id
from shared.adapters.cosmos_containers import LEDGER
from shared.adapters.cosmos_faults import translated
from shared.domain.timestamps import iso
from shared.domain.usage import UsageRecord

PAGE_SIZE = 500  # records per page (one continuation each)


def ledger_partition(business_unit: str, month: str) -> str:
    return f"{business_unit}|{month}"


def _to_doc(record: UsageRecord) -> Doc:
    return record.to_doc() | {
        "id": item_id(record.request_id),
        "pk": ledger_partition(record.business_unit, record.month),
        "month": record.month,
    }


class CosmosUsageLedger:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(LEDGER)

    @translated
    async def record(self, record: UsageRecord) -> bool:
        doc = _to_doc(record)
        try:
            await self._container.create_item(doc)
        except CosmosResourceExistsError:
            # A replay (worker retry, duplicate delivery): same id, latest values win.
            await self._container.upsert_item(doc)
            return False
        return True

    @translated
    async def record_new(self, record: UsageRecord) -> bool:
        try:
            await self._container.create_item(_to_doc(record))
        except CosmosResourceExistsError:
            return False
        return True

    @translated
    async def get(self, business_unit: str, month: str, request_id: str) -> UsageRecord | None:
        doc = await self._conn.point_read(
            self._container, item_id(request_id), ledger_partition(business_unit, month)
        )
        return None if doc is None else UsageRecord.from_doc(doc)

    async def list_partition(
        self, business_unit: str, month: str, since: datetime | None = None
    ) -> Sequence[UsageRecord]:
        records = [r async for page in self.pages(business_unit, month, since) for r in page]
        return sorted(records, key=lambda r: (r.created_at, r.request_id))

    async def pages(
        self, business_unit: str, month: str, since: datetime | None = None
    ) -> AsyncIterator[Sequence[UsageRecord]]:
        # Single-partition query. The WHERE repeats the partition key so the answer is right even
        # where the partition_key option is ignored (the local server) and stays parameterised.
        # created_at is ISO text in UTC, so the range compares as timestamps.
        pk = ledger_partition(business_unit, month)
        items = self._container.query_items(
            "SELECT * FROM c WHERE c.pk = @pk AND c.created_at >= @since",
            parameters=[
                {"name": "@pk", "value": pk},
                {"name": "@since", "value": "" if since is None else iso(since)},
            ],
            partition_key=pk,
            max_item_count=PAGE_SIZE,
        )
        async for page in items.by_page():
            yield [UsageRecord.from_doc(doc) async for doc in page]
