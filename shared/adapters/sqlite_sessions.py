"""SessionStore on SQLite: sessions as JSON documents with an etag (see sqlite_versioned)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from shared.adapters.sqlite_db import Database, from_iso, iso, to_epoch
from shared.adapters.sqlite_versioned import VersionedDocs
from shared.domain.chat import TokenUsage
from shared.domain.records import ChatSession, Turn


def _turn_to_dict(turn: Turn) -> dict[str, Any]:
    return {
        "request_id": turn.request_id,
        "user": turn.user,
        "assistant": turn.assistant,
        "usage": turn.usage.as_dict(),
        "at": iso(turn.at),
    }


def _turn_from_dict(data: dict[str, Any]) -> Turn:
    return Turn(
        request_id=data["request_id"],
        user=data["user"],
        assistant=data["assistant"],
        usage=TokenUsage.from_dict(data["usage"]),
        at=from_iso(data["at"]),
    )


def _to_doc(session: ChatSession) -> str:
    return json.dumps(
        {
            "id": session.id,
            "business_unit": session.business_unit,
            "user_id": session.user_id,
            "use_case": session.use_case,
            "created_at": iso(session.created_at),
            "updated_at": iso(session.updated_at),
            "expires_at": iso(session.expires_at),
            "turns": [_turn_to_dict(turn) for turn in session.turns],
        }
    )


def _from_doc(text: str, etag: str) -> ChatSession:
    doc: dict[str, Any] = json.loads(text)
    return ChatSession(
        id=doc["id"],
        business_unit=doc["business_unit"],
        user_id=doc["user_id"],
        use_case=doc["use_case"],
        created_at=from_iso(doc["created_at"]),
        updated_at=from_iso(doc["updated_at"]),
        expires_at=from_iso(doc["expires_at"]),
        turns=tuple(_turn_from_dict(turn) for turn in doc["turns"]),
        etag=etag,
    )


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
