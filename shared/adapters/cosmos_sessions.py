"""SessionStore on Cosmos DB: hierarchical partition key (business unit, session id).

Each chat turn is a point read plus an etag-conditional replace of one session. Keying the
partition by session as well as business unit spreads one large business unit's sessions over
every physical partition (no 20 GB / 10,000 RU/s logical-partition ceiling per unit) while
"sessions of a unit" stays a prefix query if it is ever needed. Idle expiry is the item ``ttl``,
renewed by every replace from ``expires_at``.
"""

from __future__ import annotations

from azure.core import MatchConditions
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceNotFoundError,
)

from shared.adapters.cosmos_client import (
    CosmosConnection,
    Doc,
    item_id,
    ttl_until,
)
from shared.adapters.cosmos_containers import SESSIONS
from shared.domain.records import ChatSession
from shared.ports import AlreadyExists, ConcurrencyConflict


def _from_doc(doc: Doc) -> ChatSession:
    return ChatSession.from_doc(doc, doc["_etag"])


class CosmosSessionStore:
    def __init__(self, conn: CosmosConnection) -> None:
        self._conn = conn
        self._container = conn.container(SESSIONS)

    def _to_doc(self, session: ChatSession) -> Doc:
        return {
            **session.to_doc(),
            "id": item_id(session.id),
            "ttl": ttl_until(session.expires_at, self._conn.now()),
        }

    async def create(self, session: ChatSession) -> ChatSession:
        body = self._to_doc(session)
        doc = await self._conn.create_unless_live(
            self._container, body, [session.business_unit, body["id"]]
        )
        if doc is None:
            raise AlreadyExists(f"session {session.id!r} already exists")
        return _from_doc(doc)

    async def get(self, business_unit: str, session_id: str) -> ChatSession | None:
        doc_id = item_id(session_id)
        doc = await self._conn.point_read(self._container, doc_id, [business_unit, doc_id])
        return None if doc is None else _from_doc(doc)

    async def replace(self, session: ChatSession) -> ChatSession:
        if session.etag is None:
            raise ValueError("replace needs the etag the session was read with")
        body = self._to_doc(session)
        try:
            doc = await self._container.replace_item(
                body["id"], body, etag=session.etag, match_condition=MatchConditions.IfNotModified
            )
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            # 412: someone wrote since our read. 404: it was deleted or expired meanwhile.
            raise ConcurrencyConflict(f"session {session.id!r} changed since it was read") from None
        return _from_doc(dict(doc))

    async def delete(self, business_unit: str, session_id: str) -> bool:
        doc_id = item_id(session_id)
        try:
            await self._container.delete_item(doc_id, partition_key=[business_unit, doc_id])
        except CosmosResourceNotFoundError:
            return False
        return True
