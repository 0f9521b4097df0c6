"""SessionStore on Cosmos DB: hierarchical partition key (business unit, session id).

Each chat turn is a point read plus an etag-conditional replace of one session. Keying the
partition by session as well as business unit spreads one large business unit's sessions over
every physical partition (no 20 GB / 10,000 RU/s logical-partition ceiling per unit) while
"sessions of a unit" stays a prefix query if it is ever needed. Idle expiry is the item ``ttl``,
renewed by every replace from ``expires_at``.
"""

from __future__ import annotations

from shared.adapters.cosmos_client import CosmosConnection
from shared.adapters.cosmos_containers import SESSIONS
from shared.adapters.cosmos_versioned import VersionedItems
from shared.domain.records import ChatSession


class CosmosSessionStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._items = VersionedItems(conn, SESSIONS, "session")

    async def create(self, session: ChatSession) -> ChatSession:
        doc = await self._items.create(
            session.to_doc(), session.business_unit, session.id, session.expires_at
        )
        return ChatSession.from_doc(doc, doc["_etag"])

    async def get(self, business_unit: str, session_id: str) -> ChatSession | None:
        doc = await self._items.get(business_unit, session_id)
        return None if doc is None else ChatSession.from_doc(doc, doc["_etag"])

    async def replace(self, session: ChatSession) -> ChatSession:
        doc = await self._items.replace(
            session.to_doc(), session.id, session.expires_at, session.etag
        )
        return ChatSession.from_doc(doc, doc["_etag"])

    async def delete(self, business_unit: str, session_id: str) -> bool:
        return await self._items.delete(business_unit, session_id)
