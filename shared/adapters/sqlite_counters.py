"""CounterStore on SQLite: one upsert statement per add, atomic across connections."""

from __future__ import annotations

from shared.adapters.sqlite_db import Database

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS counters (
        partition_key TEXT NOT NULL,
        key TEXT NOT NULL,
        value INTEGER NOT NULL,
        expires_at REAL,
        PRIMARY KEY (partition_key, key)
    )""",
)
# Expired counters deleted every PURGE_EVERY adds, at most PURGE_BATCH at a time: the table
# stays bounded without a sweeper, and an add seldom pays for it.
PURGE_EVERY = 100
PURGE_BATCH = 500


class SqliteCounterStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)
        columns = {row["name"] for row in db.query("PRAGMA table_info(counters)")}
        if "expires_at" not in columns:  # a store file from before counters could expire
            db.execute("ALTER TABLE counters ADD COLUMN expires_at REAL")
        self._adds = 0

    async def add(
        self, key: str, partition: str, delta: int, ttl_seconds: int | None = None
    ) -> int:
        # A single statement holds the write lock from read to write, so no increment is lost,
        # whichever process runs it. An expired counter starts again from delta, as Cosmos DB
        # does once TTL has dropped the item; each add moves the expiry, as each write does there.
        now = self._db.now_epoch()
        expires = None if ttl_seconds is None else now + ttl_seconds
        rows = self._db.query(
            "INSERT INTO counters (partition_key, key, value, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (partition_key, key) DO UPDATE SET "
            "value = CASE WHEN expires_at <= ? THEN excluded.value "
            "ELSE value + excluded.value END, expires_at = excluded.expires_at "
            "RETURNING value",
            (partition, key, delta, expires, now),
        )
        self._adds += 1
        if self._adds % PURGE_EVERY == 0:
            self._db.execute(
                "DELETE FROM counters WHERE rowid IN (SELECT rowid FROM counters "
                "WHERE expires_at <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            )
        return int(rows[0]["value"])

    async def get(self, key: str, partition: str) -> int:
        rows = self._db.query(
            "SELECT value FROM counters WHERE partition_key = ? AND key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (partition, key, self._db.now_epoch()),
        )
        return int(rows[0]["value"]) if rows else 0
