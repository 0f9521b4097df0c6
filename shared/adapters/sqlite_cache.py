"""CompletionCache on SQLite: one row per key, with an absolute expiry time."""

from __future__ import annotations

import json

from shared.adapters.sqlite_db import Database
from shared.domain.records import CachedCompletion

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS completion_cache (
        key TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS completion_cache_expiry ON completion_cache (expires_at)",
)

# Expired rows removed every PURGE_EVERY puts, at most PURGE_BATCH at a time: the table stays
# bounded without a sweeper, and a put seldom pays for it.
PURGE_EVERY = 50
PURGE_BATCH = 500


class SqliteCompletionCache:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)
        self._puts = 0

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
        return CachedCompletion.from_doc(json.loads(rows[0]["doc"]))

    async def put(self, entry: CachedCompletion, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        now = self._db.now_epoch()
        self._db.execute(
            "INSERT INTO completion_cache (key, doc, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, expires_at = excluded.expires_at",
            (entry.key, json.dumps(entry.to_doc()), now + ttl_seconds),
        )
        self._puts += 1
        if self._puts % PURGE_EVERY == 0:
            self._db.execute(
                "DELETE FROM completion_cache WHERE rowid IN (SELECT rowid FROM completion_cache "
                "WHERE expires_at <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            )
