"""CompletionCache on SQLite: one row per key, with an absolute expiry time."""

from __future__ import annotations

import json
from typing import Any

from shared.adapters.sqlite_db import Database, from_iso, iso
from shared.domain.chat import TokenUsage
from shared.domain.records import CachedCompletion

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS completion_cache (
        key TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS completion_cache_expiry ON completion_cache (expires_at)",
)

# Expired rows removed per put: bounds the table without a sweeper, and bounds the put's cost.
PURGE_BATCH = 100


def _to_doc(entry: CachedCompletion) -> str:
    return json.dumps(
        {
            "key": entry.key,
            "business_unit": entry.business_unit,
            "use_case": entry.use_case,
            "model": entry.model,
            "content": entry.content,
            "usage": entry.usage.as_dict(),
            "created_at": iso(entry.created_at),
        }
    )


def _from_doc(text: str) -> CachedCompletion:
    doc: dict[str, Any] = json.loads(text)
    return CachedCompletion(
        key=doc["key"],
        business_unit=doc["business_unit"],
        use_case=doc["use_case"],
        model=doc["model"],
        content=doc["content"],
        usage=TokenUsage.from_dict(doc["usage"]),
        created_at=from_iso(doc["created_at"]),
    )


class SqliteCompletionCache:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    async def get(self, key: str) -> CachedCompletion | None:
        now = self._db.now_epoch()
        rows = self._db.query("SELECT doc, expires_at FROM completion_cache WHERE key = ?", (key,))
        if not rows:
            return None
        if float(rows[0]["expires_at"]) <= now:
            # Lazy purge; the expiry condition keeps a concurrent fresh put safe.
            self._db.execute(
                "DELETE FROM completion_cache WHERE key = ? AND expires_at <= ?", (key, now)
            )
            return None
        return _from_doc(str(rows[0]["doc"]))

    async def put(self, entry: CachedCompletion, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        now = self._db.now_epoch()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO completion_cache (key, doc, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, "
                "expires_at = excluded.expires_at",
                (entry.key, _to_doc(entry), now + ttl_seconds),
            )
            conn.execute(
                "DELETE FROM completion_cache WHERE rowid IN (SELECT rowid FROM completion_cache "
                "WHERE expires_at <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            )
