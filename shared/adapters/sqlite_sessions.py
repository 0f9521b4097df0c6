"""SessionStore on SQLite: sessions as JSON documents with an etag (see sqlite_versioned)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from shared.adapters.sqlite_db import Database, to_epoch
from shared.adapters.sqlite_versioned import VersionedDocs
from shared.domain.records import ChatSession


def _to_doc(session: ChatSession) -> str:
    return json.dumps(session.to_doc())


def _from_doc(text: str, etag: str) -> ChatSession:
    doc: dict[str, Any] = json.loads(text)
    return ChatSession.from_doc(doc, etag)


class SqliteSessionStore:
    def __init__(self, db: Database) -> None:
        self._docs = VersionedDocs(db, "session")

    async def create(self, session: ChatSession) -> ChatSession:
        etag = self._docs.create(
            session.business_unit, session.id, _to_doc(session), to_epoch(session.expires_at)
        )
        return dataclasses.replace(session, etag=etag)

    async def get(self, business_unit: str, session_id: str) -> ChatSession | None:
        found = self._docs.get(business_unit, session_id)
        return _from_doc(*found) if found else None

    async def replace(self, session: ChatSession) -> ChatSession:
        etag = self._docs.replace(
            session.business_unit,
            session.id,
            _to_doc(session),
            to_epoch(session.expires_at),
            session.etag,
        )
        return dataclasses.replace(session, etag=etag)

    async def delete(self, business_unit: str, session_id: str) -> bool:
        return self._docs.delete(business_unit, session_id)
