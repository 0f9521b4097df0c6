"""CompletionCache on Cosmos DB: one item per cache key, partition key = the key itself.

Every access is a point operation on its own logical partition (reads 1 RU/KB, upserts spread
evenly over physical partitions); Cosmos TTL purges old entries, ``expires_at`` hides the ones
TTL has not purged yet.
"""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.cosmos_client import CosmosConnection, item_id
from shared.adapters.cosmos_containers import CACHE
from shared.adapters.cosmos_faults import translated
from shared.domain.records import CachedCompletion
from shared.domain.timestamps import iso


class CosmosCompletionCache:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(CACHE)

    @translated
    async def get(self, key: str) -> CachedCompletion | None:
        doc = await self._conn.point_read(self._container, item_id(key), key)
        return None if doc is None else CachedCompletion.from_doc(doc)

    @translated
    async def put(self, entry: CachedCompletion, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        now = self._conn.now()
        doc = entry.to_doc() | {
            "id": item_id(entry.key),
            "expires_at": iso(now + timedelta(seconds=ttl_seconds)),
            "ttl": ttl_seconds,
        }
        # Last writer wins: two instances caching the same prompt store equivalent answers.
        await self._container.upsert_item(doc)
