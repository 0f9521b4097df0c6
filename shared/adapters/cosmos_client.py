"""The one Cosmos DB client of a worker process, its containers, and the helpers every adapter uses.

The composition root calls :func:`connect` once per process (lazily, never at import time) and
hands the :class:`CosmosConnection` to the adapters, as the SDK asks: "maintain a single
instance of CosmosClient per lifetime of the application"
(https://learn.microsoft.com/python/api/azure-cosmos/azure.cosmos.aio.cosmosclient).

Container shapes live in cosmos_containers.py; their RU reasoning is in docs/cosmos.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials_async import AsyncTokenCredential
from azure.cosmos.aio import ContainerProxy, CosmosClient, DatabaseProxy
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)
from azure.cosmos.partition_key import PartitionKeyType

from shared.adapters.cosmos_containers import COUNTERS, ContainerSpec, create_containers
from shared.domain.timestamps import WallClock, utc_now

# Re-exported (``as``) for the adapters that take them from here; the domain owns the format.
from shared.domain.timestamps import from_iso as from_iso
from shared.domain.timestamps import iso as iso
from shared.settings import Settings

Doc = dict[str, Any]


def ttl_until(expires_at: datetime, now: datetime) -> int:
    """Seconds left, as Cosmos wants an item ``ttl``: a positive integer, never 0 or null.
    https://learn.microsoft.com/azure/cosmos-db/time-to-live"""
    return max(1, math.ceil((expires_at - now).total_seconds()))


def is_expired(doc: Mapping[str, Any], now: datetime) -> bool:
    """TTL purges in the background; an item past ``expires_at`` but not yet purged is missing."""
    expires = doc.get("expires_at")
    return isinstance(expires, str) and from_iso(expires) <= now


PROBE_ID = "readiness-probe"

# create -> 409 -> read -> replace can lose to another creator; each round re-decides from scratch.
_TAKEOVER_ROUNDS = 3

_FORBIDDEN_IN_ID = {"%": "%25", "/": "%2F", "\\": "%5C", "?": "%3F", "#": "%23"}


def item_id(raw: str) -> str:
    """A Cosmos id for any key: '/', '\\', '?' and '#' are not allowed in ids
    (https://learn.microsoft.com/rest/api/cosmos-db/resources#resource-names). '%' is encoded
    too, so distinct keys never share an id."""
    return "".join(_FORBIDDEN_IN_ID.get(ch, ch) for ch in raw)


def status_of(exc: CosmosHttpResponseError) -> int | None:
    code = exc.status_code
    return int(code) if code is not None else None


@dataclass(slots=True)
class CosmosConnection:
    client: CosmosClient
    database: DatabaseProxy
    now: WallClock = utc_now

    def container(self, spec: ContainerSpec) -> ContainerProxy:
        return self.database.get_container_client(spec.name)

    async def point_read(
        self, container: ContainerProxy, doc_id: str, partition_key: PartitionKeyType
    ) -> Doc | None:
        """Read by id and partition key (1 RU per KB); None when missing or past its expiry."""
        doc = await self._read(container, doc_id, partition_key)
        return None if doc is None or is_expired(doc, self.now()) else doc

    async def create_unless_live(
        self, container: ContainerProxy, doc: Doc, partition_key: PartitionKeyType
    ) -> Doc | None:
        """Create ``doc``; None when a live item already holds its id.

        An item past ``expires_at`` that TTL has not purged yet counts as absent: it is taken over
        with an etag-conditional replace, so two creators racing for it cannot both win.
        """
        for _ in range(_TAKEOVER_ROUNDS):
            try:
                return dict(await container.create_item(doc))
            except CosmosResourceExistsError:
                pass
            existing = await self._read(container, doc["id"], partition_key)
            if existing is None:
                continue  # purged between our create and read: create again
            if not is_expired(existing, self.now()):
                return None
            try:
                return dict(
                    await container.replace_item(
                        doc["id"],
                        doc,
                        etag=existing["_etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                )
            except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
                continue  # another creator took it over first, or TTL purged it
        return None

    async def _read(
        self, container: ContainerProxy, doc_id: str, partition_key: PartitionKeyType
    ) -> Doc | None:
        try:
            return dict(await container.read_item(doc_id, partition_key=partition_key))
        except CosmosResourceNotFoundError:
            return None

    async def ping(self) -> None:
        """Readiness: one upsert of a tiny unindexed item (metering needs writes, and a read
        succeeds where a throttled or read-only account refuses every write)."""
        await self.container(COUNTERS).upsert_item(
            {"id": PROBE_ID, "partition": PROBE_ID, "key": PROBE_ID, "value": 0, "ttl": 3600}
        )

    async def close(self) -> None:
        # The credential, if any, is the process's (composition/credential.py): not closed here.
        await self.client.close()


CredentialSource = Callable[[], AsyncTokenCredential]


def build_client(settings: Settings, credential: CredentialSource | None = None) -> CosmosClient:
    """Connection string, else endpoint + key, else endpoint + Entra ID: the process's
    credential (``credential()``, a managed identity in Azure)."""
    # The SDK retries a 429 up to 9 times and 30 s by default: a whole request deadline. Its
    # own budget here is short; the meter retries a paid call's writes within its deadline.
    options: dict[str, Any] = {
        "retry_throttle_total": settings.cosmos_throttle_retries,
        "retry_throttle_backoff_max": settings.cosmos_throttle_wait_seconds,
    }
    connection_string = settings.cosmos_connection_string.get_secret_value()
    key = settings.cosmos_key.get_secret_value()
    if connection_string:
        return CosmosClient.from_connection_string(connection_string, **options)
    if not settings.cosmos_endpoint:
        raise ValueError("COSMOS_ENDPOINT or COSMOS_CONNECTION_STRING is required for Cosmos DB")
    if key:
        return CosmosClient(settings.cosmos_endpoint, key, **options)
    if credential is None:
        raise ValueError("COSMOS_ENDPOINT without COSMOS_KEY needs an Entra ID credential")
    return CosmosClient(settings.cosmos_endpoint, credential(), **options)


async def connect(
    settings: Settings, *, credential: CredentialSource | None = None, now: WallClock = utc_now
) -> CosmosConnection:
    client = build_client(settings, credential)
    database = await open_database(client, settings)
    return CosmosConnection(client, database, now=now)


async def open_database(client: CosmosClient, settings: Settings) -> DatabaseProxy:
    """The database (and its containers, when COSMOS_CREATE_CONTAINERS is on); on failure the
    client is closed."""
    try:
        if settings.cosmos_create_containers:
            database = await client.create_database_if_not_exists(settings.cosmos_database)
            await create_containers(database)
        else:
            database = client.get_database_client(settings.cosmos_database)
    except BaseException:
        await client.close()
        raise
    return database
