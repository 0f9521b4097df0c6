"""CounterStore on SQLite: one upsert statement per add, atomic across connections."""

from __future__ import annotations

from shared.adapters.sqlite_db import Database

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS counters (
        partition_key TEXT NOT NULL,
        key TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (partition_key, key)
    )""",
)


class SqliteCounterStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    async def add(self, key: str, partition: str, delta: int) -> int:
        # A single statement holds the write lock from read to write, so no increment is lost,
        # whichever process runs it.
        rows = self._db.query(
            "INSERT INTO counters (partition_key, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (partition_key, key) DO UPDATE SET value = value + excluded.value "
            "RETURNING value",
            (partition, key, delta),
        )
        return int(rows[0]["value"])

    async def get(self, key: str, partition: str) -> int:
        rows = self._db.query(
            "SELECT value FROM counters WHERE partition_key = ? AND key = ?", (partition, key)
        )
        return int(rows[0]["value"]) if rows else 0
