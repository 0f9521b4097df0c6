"""The "cosmos" backend of the contract suite: the Cosmos adapters against a local server.

Start the server with ``scripts/cosmos_server.sh start`` and export the
``COSMOS_TEST_ENDPOINT`` it prints. Each call opens a fresh, uniquely named database, so tests
never see each other's items; ``Stores.close`` drops it and closes the client.
"""

from __future__ import annotations

import os
import uuid

import pytest
from azure.cosmos.aio import ContainerProxy, CosmosClient
from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceNotFoundError
from azure.cosmos.partition_key import PartitionKeyType

from shared.adapters.cosmos_client import CosmosConnection, Doc, open_database, status_of
from shared.composition.cosmos import cosmos_stores
from shared.composition.stores import Stores
from shared.settings import Settings

ENDPOINT_ENV = "COSMOS_TEST_ENDPOINT"

# The public, documented key of the Cosmos DB emulator; local servers accept any key.
# https://learn.microsoft.com/azure/cosmos-db/emulator#authentication
EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)

# What @vercel/cosmosdb-server 1.0.1 answers (HTTP 500) when a point read misses: its read
# handler dereferences the absent document.
LOCAL_SERVER_MISSING = "Cannot read properties of undefined"

# Contract tests that @vercel/cosmosdb-server 1.0.1 cannot pass, by test function name. The
# adapters avoid every other gap they met (docs/cosmos.md lists the gaps).
KNOWN_GAPS: dict[str, str] = {
    # Azure purges an item after its TTL; until then (and always on the local server, which
    # never purges) a patch continues the old value. No gateway counter is written after its TTL.
    "test_an_expired_counter_starts_again": "TTL never purges items",
    # Vector search (VectorDistance over a vector policy and index) is Azure Cosmos DB for
    # NoSQL only; the local server accepts the container's vector policy but answers the query
    # "Unsupported ORDER BY clause". The query text is unit-tested in
    # tests/unit/semantic/test_cosmos_vector_query.py; writes (put) are checked here.
    **dict.fromkeys(
        (
            "test_an_empty_partition_has_no_neighbours",
            "test_nearest_ranks_by_cosine_within_the_partition_only",
            "test_nearest_returns_at_most_limit",
            "test_nearest_skips_expired_entries",
            "test_a_put_with_the_same_id_replaces",
        ),
        "no vector search (VectorDistance): 'Unsupported ORDER BY clause'",
    ),
}


def mark_known_gaps(items: list[pytest.Item]) -> None:
    """For ``pytest_collection_modifyitems``: xfail(strict=True) each known gap, cosmos only, so
    a server upgrade that closes a gap turns red until its entry is removed."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("backend") != "cosmos":
            continue
        reason = KNOWN_GAPS.get(getattr(item, "originalname", item.name))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"cosmosdb-server gap: {reason}"))


class LocalServerConnection(CosmosConnection):
    """The production connection, but a point read's 500-on-miss from the local server is read
    as a miss. Against Azure a miss is a 404 and a 500 is a fault that must surface."""

    async def _read(
        self, container: ContainerProxy, doc_id: str, partition_key: PartitionKeyType
    ) -> Doc | None:
        try:
            return await super()._read(container, doc_id, partition_key)
        except CosmosHttpResponseError as exc:
            if status_of(exc) == 500 and LOCAL_SERVER_MISSING in str(exc):
                return None
            raise


def cosmos_test_endpoint() -> str | None:
    return os.environ.get(ENDPOINT_ENV) or None


async def open_cosmos_test_stores() -> Stores:
    endpoint = cosmos_test_endpoint()
    if endpoint is None:
        raise RuntimeError(f"{ENDPOINT_ENV} is not set; run scripts/cosmos_server.sh start")
    settings = Settings(
        cosmos_endpoint=endpoint,
        cosmos_key=EMULATOR_KEY,
        cosmos_connection_string="",
        cosmos_database=f"contract-{uuid.uuid4().hex[:12]}",
        cosmos_create_containers=True,
    )
    # A local server advertises https:// endpoints it does not serve; discovery would follow them.
    client = CosmosClient(endpoint, EMULATOR_KEY, enable_endpoint_discovery=False)
    conn = LocalServerConnection(client, await open_database(client, settings))

    async def drop_and_close() -> None:
        try:
            await conn.client.delete_database(conn.database)
        except CosmosResourceNotFoundError:
            pass
        finally:
            await conn.close()

    return cosmos_stores(conn, close=drop_and_close)
