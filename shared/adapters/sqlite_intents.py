"""UsageIntents on SQLite: one row per (business unit, request id), with its deadline as a number
so the sweeper's "due before" is an index range."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite_db import Database, to_epoch
from shared.domain.intent import UsageIntent

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS usage_intents (
        business_unit TEXT NOT NULL,
        request_id TEXT NOT NULL,
        deadline REAL NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (business_unit, request_id)
    )""",
    "CREATE INDEX IF NOT EXISTS usage_intents_due ON usage_intents (business_unit, deadline)",
)


class SqliteUsageIntents:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    async def open(self, intent: UsageIntent) -> None:
        self._db.execute(
            "INSERT INTO usage_intents (business_unit, request_id, deadline, doc) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (business_unit, request_id) DO UPDATE SET "
            "deadline = excluded.deadline, doc = excluded.doc",
            (
                intent.business_unit,
                intent.request_id,
                to_epoch(intent.deadline),
                json.dumps(intent.to_doc()),
            ),
        )

    async def get(self, business_unit: str, request_id: str) -> UsageIntent | None:
        rows = self._db.query(
            "SELECT doc FROM usage_intents WHERE business_unit = ? AND request_id = ?",
            (business_unit, request_id),
        )
        return UsageIntent.from_doc(json.loads(rows[0]["doc"])) if rows else None

    async def close(self, business_unit: str, request_id: str) -> bool:
        # One statement: of two closers, only the one whose DELETE removed the row sees 1.
        return (
            self._db.execute(
                "DELETE FROM usage_intents WHERE business_unit = ? AND request_id = ?",
                (business_unit, request_id),
            )
            == 1
        )

    async def due(self, business_unit: str, before: datetime, limit: int) -> Sequence[UsageIntent]:
        rows = self._db.query(
            "SELECT doc FROM usage_intents WHERE business_unit = ? AND deadline < ? "
            "ORDER BY deadline, request_id LIMIT ?",
            (business_unit, to_epoch(before), limit),
        )
        return [UsageIntent.from_doc(json.loads(row["doc"])) for row in rows]
