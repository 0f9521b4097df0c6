"""RollupStore on SQLite: one row per rollup id (day|business unit|use case|model), and one per
business unit and month saying when those rollups were last computed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite_db import Database
from shared.domain.timestamps import from_iso, to_utc
from shared.domain.usage import DailyRollup

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS daily_rollups (
        id TEXT PRIMARY KEY,
        day TEXT NOT NULL,
        business_unit TEXT NOT NULL,
        doc TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS daily_rollups_day ON daily_rollups (day, business_unit)",
    """CREATE TABLE IF NOT EXISTS rollups_computed (
        business_unit TEXT NOT NULL,
        month TEXT NOT NULL,
        computed_at TEXT NOT NULL,
        PRIMARY KEY (business_unit, month)
    )""",
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

    async def mark_computed(self, business_unit: str, month: str, at: datetime) -> None:
        # max(): a slow recompute that started earlier never moves the mark back.
        self._db.execute(
            "INSERT INTO rollups_computed (business_unit, month, computed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (business_unit, month) DO UPDATE "
            "SET computed_at = max(computed_at, excluded.computed_at)",
            (business_unit, month, _stamp(at)),
        )

    async def computed(
        self, business_units: Sequence[str], months: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        rows = self._db.query(
            "SELECT business_unit, month, computed_at FROM rollups_computed "
            "WHERE business_unit IN (SELECT value FROM json_each(?)) "
            "AND month IN (SELECT value FROM json_each(?))",
            (json.dumps(list(business_units)), json.dumps(list(months))),
        )
        return {(row["business_unit"], row["month"]): from_iso(row["computed_at"]) for row in rows}


def _stamp(at: datetime) -> str:
    """Fixed-width UTC text, so max() on the text is max() on the time."""
    return to_utc(at).isoformat(timespec="microseconds")
