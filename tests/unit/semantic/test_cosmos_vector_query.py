"""The Cosmos DB side of the semantic cache, where no local server can run it: the vector
policy and index the app creates the container with, and the text of the vector query."""

from __future__ import annotations

import re
from typing import Any

from shared.adapters.cosmos_containers import CONTAINERS, SEMANTIC_CACHE, create_containers
from shared.adapters.cosmos_semantic_cache import NEAREST_QUERY, nearest_parameters
from shared.domain.embeddings import EMBEDDING_DIMENSIONS, SemanticEntry

FLAT_INDEX_MAX_DIMENSIONS = 505  # https://learn.microsoft.com/azure/cosmos-db/index-policy


def test_the_vector_policy_matches_what_the_gateway_stores() -> None:
    policy = SEMANTIC_CACHE.vector_embedding_policy
    assert policy is not None
    (embedding,) = policy["vectorEmbeddings"]
    assert embedding == {
        "path": "/vector",
        "dataType": "float32",
        "distanceFunction": "cosine",
        "dimensions": EMBEDDING_DIMENSIONS,
    }
    # The path holds what SemanticEntry.to_doc writes.
    assert embedding["path"].lstrip("/") in SemanticEntry.__dataclass_fields__


def test_the_vector_index_is_exact_and_the_vector_stays_out_of_the_range_index() -> None:
    indexing = SEMANTIC_CACHE.indexing_policy
    assert indexing["vectorIndexes"] == [{"path": "/vector", "type": "flat"}]
    assert EMBEDDING_DIMENSIONS <= FLAT_INDEX_MAX_DIMENSIONS
    assert {"path": "/vector/*"} in indexing["excludedPaths"]
    included = {p["path"] for p in indexing["includedPaths"]}
    assert included == {"/partition/?", "/expires_at/?"}  # the query's filter and scope
    assert SEMANTIC_CACHE.partition_key == ("/partition",)
    assert SEMANTIC_CACHE.default_ttl == -1
    # Only the semantic cache carries a vector policy.
    assert [c.name for c in CONTAINERS if c.vector_embedding_policy] == ["semantic_cache"]


def test_the_query_ranks_by_vector_distance_with_every_value_a_parameter() -> None:
    assert NEAREST_QUERY.startswith("SELECT TOP @limit ")
    assert "VectorDistance(c.vector, @vector) AS similarity" in NEAREST_QUERY
    assert NEAREST_QUERY.endswith("ORDER BY VectorDistance(c.vector, @vector)")
    assert "WHERE c.partition = @partition AND c.expires_at > @now " in NEAREST_QUERY
    # The vector is not read back.
    selected = NEAREST_QUERY.split(" FROM ")[0].removeprefix("SELECT TOP @limit ").split(", ")
    assert "c.vector" not in selected and "c.partition" in selected
    placeholders = set(re.findall(r"@\w+", NEAREST_QUERY))
    parameters = nearest_parameters("p1", (0.6, 0.8), 5, "2026-11-01T00:00:00+00:00")
    assert {p["name"] for p in parameters} == placeholders
    assert parameters == [
        {"name": "@limit", "value": 5},
        {"name": "@vector", "value": [0.6, 0.8]},
        {"name": "@partition", "value": "p1"},
        {"name": "@now", "value": "2026-11-01T00:00:00+00:00"},
    ]


class RecordingDatabase:
    def __init__(self) -> None:
        self.created: dict[str, dict[str, Any]] = {}

    async def create_container_if_not_exists(self, id: str, **kwargs: Any) -> None:
        self.created[id] = kwargs


async def test_the_app_creates_the_container_with_its_vector_policy() -> None:
    database = RecordingDatabase()
    await create_containers(database)  # type: ignore[arg-type]
    semantic = database.created["semantic_cache"]
    assert semantic["vector_embedding_policy"] == SEMANTIC_CACHE.vector_embedding_policy
    assert semantic["indexing_policy"]["vectorIndexes"] == [{"path": "/vector", "type": "flat"}]
    assert database.created["completion_cache"]["vector_embedding_policy"] is None
