"""UsageIntents on Cosmos DB: partition key = business unit, id = request id.

Open is one upsert, close one delete (a 404 means another closer won), and the sweeper's "due
before" one single-partition query per unit on the range-indexed ``/deadline`` (ISO text in UTC,
so it compares as time). Nothing else is indexed, so an intent write pays for one index path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from azure.cosmos.exceptions import CosmosResourceNotFoundError

from shared.adapters.cosmos_client import CosmosConnection, item_id
from shared.adapters.cosmos_containers import INTENTS
from shared.adapters.cosmos_faults import translated
from shared.domain.intent import UsageIntent
from shared.domain.timestamps import iso

# No OFFSET/LIMIT (the local test server lacks it): the first page holds ``limit`` items.
_DUE = "SELECT * FROM c WHERE c.business_unit = @bu AND c.deadline < @before ORDER BY c.deadline"


class CosmosUsageIntents:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(INTENTS)

    @translated
    async def open(self, intent: UsageIntent) -> None:
        await self._container.upsert_item(intent.to_doc() | {"id": item_id(intent.request_id)})

    @translated
    async def get(self, business_unit: str, request_id: str) -> UsageIntent | None:
        doc = await self._conn.point_read(self._container, item_id(request_id), business_unit)
        return None if doc is None else UsageIntent.from_doc(doc)

    @translated
    async def close(self, business_unit: str, request_id: str) -> bool:
        try:
            await self._container.delete_item(item_id(request_id), partition_key=business_unit)
        except CosmosResourceNotFoundError:
            return False
        return True

    @translated
    async def due(self, business_unit: str, before: datetime, limit: int) -> Sequence[UsageIntent]:
        items = self._container.query_items(
            _DUE,
            parameters=[
                {"name": "@bu", "value": business_unit},
                {"name": "@before", "value": iso(before)},
            ],
            partition_key=business_unit,
            max_item_count=limit,
        )
        found: list[UsageIntent] = []
        async for doc in items:
            found.append(UsageIntent.from_doc(doc))
            if len(found) >= limit:
                break
        return found
