"""SemanticCache on Cosmos DB for NoSQL vector search: partition key = the entry's partition.

A lookup is one single-partition query ordered by ``VectorDistance`` (cosine, a similarity:
higher is closer, and ORDER BY puts the closest first) over the container's flat vector index:
https://learn.microsoft.com/azure/cosmos-db/nosql/query/vectordistance
The vector itself is not read back (1 KB per candidate that nothing needs). Cosmos TTL purges
old entries; ``expires_at`` hides the ones it has not purged yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from shared.adapters.cosmos_client import CosmosConnection, item_id
from shared.adapters.cosmos_containers import SEMANTIC_CACHE
from shared.adapters.cosmos_faults import translated
from shared.domain.embeddings import SemanticEntry, SemanticMatch
from shared.domain.timestamps import iso

# Constant text: every value goes in as a parameter. The partition is also the request's
# partition key (a single-partition query); repeating it in WHERE is the adapters' convention.
NEAREST_QUERY = (
    "SELECT TOP @limit c.id, c.partition, c.text, c.content, c.usage, c.business_unit, "
    "c.use_case, c.model, c.created_at, c.finish_reason, "
    "VectorDistance(c.vector, @vector) AS similarity "
    "FROM c WHERE c.partition = @partition AND c.expires_at > @now "
    "ORDER BY VectorDistance(c.vector, @vector)"
)


def nearest_parameters(
    partition: str, vector: Sequence[float], limit: int, now: str
) -> list[dict[str, Any]]:
    return [
        {"name": "@limit", "value": limit},
        {"name": "@vector", "value": [float(x) for x in vector]},
        {"name": "@partition", "value": partition},
        {"name": "@now", "value": now},
    ]


class CosmosSemanticCache:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(SEMANTIC_CACHE)

    @translated
    async def nearest(
        self, partition: str, vector: Sequence[float], limit: int
    ) -> list[SemanticMatch]:
        items = self._container.query_items(
            NEAREST_QUERY,
            parameters=nearest_parameters(partition, vector, limit, iso(self._conn.now())),
            partition_key=partition,
        )
        return [
            SemanticMatch(
                SemanticEntry.from_doc({**doc, "vector": []}), min(1.0, float(doc["similarity"]))
            )
            async for doc in items
        ]

    @translated
    async def put(self, entry: SemanticEntry, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        now = self._conn.now()
        doc = entry.to_doc() | {
            "id": item_id(entry.id),
            "expires_at": iso(now + timedelta(seconds=ttl_seconds)),
            "ttl": ttl_seconds,
        }
        await self._container.upsert_item(doc)
