"""CounterStore on Cosmos DB: partition key ``/partition``, id = counter key.

``add`` is one server-side partial update (``incr``), atomic without an etag round trip:
https://learn.microsoft.com/azure/cosmos-db/partial-document-update. The first add of a key
finds no item (404) and creates it holding ``delta``; if another instance created it in between
(409), the patch is simply retried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from azure.cosmos.exceptions import CosmosResourceExistsError, CosmosResourceNotFoundError

from shared.adapters.cosmos_client import CosmosConnection, item_id
from shared.adapters.cosmos_containers import COUNTERS
from shared.adapters.cosmos_faults import translated
from shared.domain.timestamps import iso

# patch -> 404 -> create -> 409 -> patch ends on the second patch unless the counter expired in
# between (then a second create); the bound only turns an impossible loop into an error.
_MAX_ROUNDS = 3


class CosmosCounterStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(COUNTERS)

    @translated
    async def add(
        self, key: str, partition: str, delta: int, ttl_seconds: int | None = None
    ) -> int:
        doc_id = item_id(key)
        operations: list[dict[str, Any]] = [{"op": "incr", "path": "/value", "value": delta}]
        fresh: dict[str, Any] = {"id": doc_id, "key": key, "partition": partition, "value": delta}
        if ttl_seconds is not None:
            # Cosmos counts `ttl` from the item's last write (each patch); `expires_at` hides it
            # between its expiry and the background purge (docs/cosmos.md). An add in that gap
            # would continue the old value; no counter of the gateway is written after its TTL.
            expiry = {
                "ttl": ttl_seconds,
                "expires_at": iso(self._conn.now() + timedelta(seconds=ttl_seconds)),
            }
            operations += [{"op": "set", "path": f"/{k}", "value": v} for k, v in expiry.items()]
            fresh |= expiry
        for _ in range(_MAX_ROUNDS):
            try:
                doc = await self._container.patch_item(
                    doc_id, partition_key=partition, patch_operations=operations
                )
                return int(doc["value"])
            except CosmosResourceNotFoundError:
                pass
            try:
                await self._container.create_item(fresh)
                return delta
            except CosmosResourceExistsError:
                continue
        raise RuntimeError(f"counter {key!r} in {partition!r}: could not create or update it")

    @translated
    async def get(self, key: str, partition: str) -> int:
        doc = await self._conn.point_read(self._container, item_id(key), partition)
        return 0 if doc is None else int(doc["value"])
