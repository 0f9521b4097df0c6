"""CounterStore on Cosmos DB: partition key ``/partition``, id = counter key.

``add`` is one server-side partial update (``incr``), atomic without an etag round trip:
https://learn.microsoft.com/azure/cosmos-db/partial-document-update. The first add of a key
finds no item (404) and creates it holding ``delta``; if another instance created it in between
(409), the patch is simply retried.
"""

from __future__ import annotations

from azure.cosmos.exceptions import CosmosResourceExistsError, CosmosResourceNotFoundError

from shared.adapters.cosmos_client import CosmosConnection, item_id
from shared.adapters.cosmos_containers import COUNTERS

# patch -> 404 -> create -> 409 -> patch always ends on the second patch (counters are never
# deleted); the bound only turns an impossible loop into an error.
_MAX_ROUNDS = 3


class CosmosCounterStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(COUNTERS)

    async def add(self, key: str, partition: str, delta: int) -> int:
        doc_id = item_id(key)
        for _ in range(_MAX_ROUNDS):
            try:
                doc = await self._container.patch_item(
                    doc_id,
                    partition_key=partition,
                    patch_operations=[{"op": "incr", "path": "/value", "value": delta}],
                )
                return int(doc["value"])
            except CosmosResourceNotFoundError:
                pass
            try:
                await self._container.create_item(
                    {"id": doc_id, "key": key, "partition": partition, "value": delta}
                )
                return delta
            except CosmosResourceExistsError:
                continue
        raise RuntimeError(f"counter {key!r} in {partition!r}: could not create or update it")

    async def get(self, key: str, partition: str) -> int:
        doc = await self._conn.point_read(self._container, item_id(key), partition)
        return 0 if doc is None else int(doc["value"])
