"""CompletionCache on Cosmos DB: one item per cache key, partition key = the key itself.

Every access is a point operation on its own logical partition (reads 1 RU/KB, upserts spread
evenly over physical partitions); Cosmos TTL purges old entries, ``expires_at`` hides the ones
TTL has not purged yet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.adapters.cosmos_client import (
    CosmosConnection,
    Doc,
    from_iso,
    iso,
    item_id,
)
from shared.adapters.cosmos_containers import CACHE
from shared.domain.chat import TokenUsage
from shared.domain.records import CachedCompletion


def _to_doc(entry: CachedCompletion) -> dict[str, Any]:
    return {
        "business_unit": entry.business_unit,
        "use_case": entry.use_case,
        "model": entry.model,
        "content": entry.content,
        "usage": entry.usage.as_dict(),
        "created_at": iso(entry.created_at),
    }


def _from_doc(doc: Doc) -> CachedCompletion:
    return CachedCompletion(
        key=doc["key"],
        business_unit=doc["business_unit"],
        use_case=doc["use_case"],
        model=doc["model"],
        content=doc["content"],
        usage=TokenUsage.from_dict(doc["usage"]),
        created_at=from_iso(doc["created_at"]),
    )


class CosmosCompletionCache:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(CACHE)

    async def get(self, key: str) -> CachedCompletion | None:
        doc = await self._conn.point_read(self._container, item_id(key), key)
        return None if doc is None else _from_doc(doc)

    async def put(self, entry: CachedCompletion, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        now = self._conn.now()
        doc = _to_doc(entry) | {
            "id": item_id(entry.key),
            "key": entry.key,
            "expires_at": iso(now + timedelta(seconds=ttl_seconds)),
            "ttl": ttl_seconds,
        }
        # Last writer wins: two instances caching the same prompt store equivalent answers.
        await self._container.upsert_item(doc)
