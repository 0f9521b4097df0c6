"""The Cosmos DB ``Stores`` bundle: one connection, an adapter per port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.adapters.cosmos_cache import CosmosCompletionCache
from shared.adapters.cosmos_client import CosmosConnection, CredentialSource, connect
from shared.adapters.cosmos_counters import CosmosCounterStore
from shared.adapters.cosmos_intents import CosmosUsageIntents
from shared.adapters.cosmos_jobs import CosmosJobStore
from shared.adapters.cosmos_ledger import CosmosUsageLedger
from shared.adapters.cosmos_rollups import CosmosRollupStore
from shared.adapters.cosmos_semantic_cache import CosmosSemanticCache
from shared.adapters.cosmos_sessions import CosmosSessionStore
from shared.composition.stores import Stores
from shared.domain.timestamps import WallClock, utc_now
from shared.settings import Settings


def cosmos_stores(
    conn: CosmosConnection, *, close: Callable[[], Awaitable[None]] | None = None
) -> Stores:
    """Adapters over an open connection; ``close`` defaults to closing the connection."""
    return Stores(
        cache=CosmosCompletionCache(conn),
        ledger=CosmosUsageLedger(conn),
        rollups=CosmosRollupStore(conn),
        sessions=CosmosSessionStore(conn),
        jobs=CosmosJobStore(conn),
        counters=CosmosCounterStore(conn),
        intents=CosmosUsageIntents(conn),
        semantic=CosmosSemanticCache(conn),
        close=close or conn.close,
        ping=conn.ping,
        kind="cosmos",
    )


async def open_cosmos_stores(
    settings: Settings, *, credential: CredentialSource | None = None, now: WallClock = utc_now
) -> Stores:
    """Connect once (creating database and containers when COSMOS_CREATE_CONTAINERS is on)."""
    return cosmos_stores(await connect(settings, credential=credential, now=now))
