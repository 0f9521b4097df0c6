"""The containers: partition key, TTL, indexing and vector policy of each (docs/cosmos.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.cosmos import PartitionKey
from azure.cosmos.aio import DatabaseProxy

from shared.domain.embeddings import EMBEDDING_DIMENSIONS


def _index_only(*paths: str) -> dict[str, Any]:
    """Index just these paths. With none, point-read-only containers index nothing and a write
    pays only for the item: https://learn.microsoft.com/azure/cosmos-db/index-policy"""
    return {
        "indexingMode": "consistent",
        "includedPaths": [{"path": f"{p}/?"} for p in paths],
        "excludedPaths": [{"path": "/*"}],
    }


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    partition_key: tuple[str, ...]
    # None: TTL off. -1: TTL on, items live until their own ``ttl`` (seconds) says otherwise.
    # https://learn.microsoft.com/azure/cosmos-db/time-to-live
    default_ttl: int | None
    indexing_policy: dict[str, Any] = field(default_factory=_index_only)
    # Azure Cosmos DB for NoSQL vector search; None for every container but the semantic cache.
    vector_embedding_policy: dict[str, Any] | None = None

    def partition_key_definition(self) -> PartitionKey:
        if len(self.partition_key) == 1:
            return PartitionKey(path=self.partition_key[0])
        # Hierarchical key: https://learn.microsoft.com/azure/cosmos-db/hierarchical-partition-keys
        return PartitionKey(path=list(self.partition_key), kind="MultiHash")


CACHE = ContainerSpec("completion_cache", ("/key",), default_ttl=-1)
SESSIONS = ContainerSpec("sessions", ("/business_unit", "/id"), default_ttl=-1)
LEDGER = ContainerSpec("usage_ledger", ("/pk",), None, _index_only("/pk", "/created_at"))
JOBS = ContainerSpec("jobs", ("/business_unit",), default_ttl=-1)
COUNTERS = ContainerSpec("counters", ("/partition",), default_ttl=-1)
ROLLUPS = ContainerSpec(
    "usage_rollups", ("/business_unit",), None, _index_only("/business_unit", "/day")
)
# Calls in flight (write-ahead usage records): no TTL, an intent leaves only when settled.
INTENTS = ContainerSpec(
    "usage_intents", ("/business_unit",), None, _index_only("/business_unit", "/deadline")
)
# The semantic cache: one logical partition per business unit / use case / version / template /
# parameters (SemanticEntry.partition), searched with VectorDistance inside that partition only.
# A "flat" index is exact (100% recall) and takes up to 505 dimensions; the query is always
# scoped to one small partition, where an approximate index (diskANN) would buy nothing.
# The vector path is kept out of the regular index (it would only make writes dearer).
# https://learn.microsoft.com/azure/cosmos-db/nosql/vector-search#container-vector-policies
# https://learn.microsoft.com/azure/cosmos-db/index-policy#vector-indexes
SEMANTIC_CACHE = ContainerSpec(
    "semantic_cache",
    ("/partition",),
    default_ttl=-1,
    indexing_policy={
        **_index_only("/partition", "/expires_at"),
        "excludedPaths": [{"path": "/*"}, {"path": "/vector/*"}],
        "vectorIndexes": [{"path": "/vector", "type": "flat"}],
    },
    vector_embedding_policy={
        "vectorEmbeddings": [
            {
                "path": "/vector",
                "dataType": "float32",
                "distanceFunction": "cosine",
                "dimensions": EMBEDDING_DIMENSIONS,
            }
        ]
    },
)
CONTAINERS: tuple[ContainerSpec, ...] = (
    CACHE,
    SESSIONS,
    LEDGER,
    JOBS,
    COUNTERS,
    ROLLUPS,
    INTENTS,
    SEMANTIC_CACHE,
)


async def create_containers(database: DatabaseProxy) -> None:
    """Idempotent; needs control-plane rights, so Entra ID deployments usually create them in IaC
    (data-plane RBAC cannot create containers) and set COSMOS_CREATE_CONTAINERS=false."""
    for spec in CONTAINERS:
        # A vector policy can only be set when a container is created (the account needs the
        # EnableNoSQLVectorSearch capability); an existing container keeps what it has.
        await database.create_container_if_not_exists(
            id=spec.name,
            partition_key=spec.partition_key_definition(),
            default_ttl=spec.default_ttl,
            indexing_policy=spec.indexing_policy,
            vector_embedding_policy=spec.vector_embedding_policy,
        )
