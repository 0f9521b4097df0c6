"""RollupStore on SQLite: one row per rollup id (day|business unit|use case|model)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from shared.adapters.sqlite_db import Database
from shared.domain.usage import DailyRollup

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS daily_rollups (
        id TEXT PRIMARY KEY,
        day TEXT NOT NULL,
        business_unit TEXT NOT NULL,
        doc TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS daily_rollups_day ON daily_rollups (day, business_unit)",
)


class SqliteRollupStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    async def upsert(self, rollup: DailyRollup) -> None:
        self._db.execute(
            "INSERT INTO daily_rollups (id, day, business_unit, doc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (rollup.id, rollup.day, rollup.business_unit, json.dumps(rollup.to_doc())),
        )

    async def query(
        self, business_units: Sequence[str] | None, first_day: str, last_day: str
    ) -> Sequence[DailyRollup]:
        # Days are YYYY-MM-DD, so text comparison is date order. The unit list is bound as one
        # JSON parameter (json_each) rather than by building an IN (?, ?, ...) string.
        if business_units is None:
            rows = self._db.query(
                "SELECT doc FROM daily_rollups WHERE day BETWEEN ? AND ? ORDER BY day, id",
                (first_day, last_day),
            )
        else:
            rows = self._db.query(
                "SELECT doc FROM daily_rollups WHERE day BETWEEN ? AND ? "
                "AND business_unit IN (SELECT value FROM json_each(?)) ORDER BY day, id",
                (first_day, last_day, json.dumps(list(business_units))),
            )
        return [DailyRollup.from_doc(json.loads(row["doc"])) for row in rows]
