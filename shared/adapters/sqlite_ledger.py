"""UsageLedger on SQLite: one row per (business unit, month, request id), replays replace."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from shared.adapters.sqlite_db import Database, iso
from shared.domain.usage import UsageRecord

PAGE_SIZE = 500  # records per page: ~10 ms of decoding, the longest the event loop waits

# `writes` counts how often a request id was recorded; it tells a first write from a replay in
# the same statement that stores it, so "new or not" needs no separate read.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS usage_ledger (
        business_unit TEXT NOT NULL,
        month TEXT NOT NULL,
        request_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        doc TEXT NOT NULL,
        writes INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (business_unit, month, request_id)
    )""",
    # The rollup timer reads the last two days of a partition.
    "CREATE INDEX IF NOT EXISTS usage_ledger_created ON usage_ledger "
    "(business_unit, month, created_at)",
)


class SqliteUsageLedger:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    async def record(self, record: UsageRecord) -> bool:
        # to_doc keeps money as decimal strings, so cost and savings round-trip exactly.
        doc = record.to_doc()
        rows = self._db.query(
            "INSERT INTO usage_ledger (business_unit, month, request_id, created_at, doc) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (business_unit, month, request_id) DO UPDATE SET "
            "created_at = excluded.created_at, doc = excluded.doc, writes = writes + 1 "
            "RETURNING writes",
            (
                record.business_unit,
                record.month,
                record.request_id,
                doc["created_at"],
                json.dumps(doc),
            ),
        )
        return int(rows[0]["writes"]) == 1

    async def record_new(self, record: UsageRecord) -> bool:
        doc = record.to_doc()
        return (
            self._db.execute(
                "INSERT INTO usage_ledger (business_unit, month, request_id, created_at, doc) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (business_unit, month, request_id) DO NOTHING",
                (
                    record.business_unit,
                    record.month,
                    record.request_id,
                    doc["created_at"],
                    json.dumps(doc),
                ),
            )
            == 1
        )

    async def get(self, business_unit: str, month: str, request_id: str) -> UsageRecord | None:
        rows = self._db.query(
            "SELECT doc FROM usage_ledger WHERE business_unit = ? AND month = ? AND request_id = ?",
            (business_unit, month, request_id),
        )
        return UsageRecord.from_doc(json.loads(rows[0]["doc"])) if rows else None

    async def list_partition(
        self, business_unit: str, month: str, since: datetime | None = None
    ) -> Sequence[UsageRecord]:
        return [r async for page in self.pages(business_unit, month, since) for r in page]

    async def pages(
        self, business_unit: str, month: str, since: datetime | None = None
    ) -> AsyncIterator[Sequence[UsageRecord]]:
        # Keyset pages in (created_at, request_id) order: each page is one short query.
        # created_at is ISO text in UTC: it compares as a timestamp (shared/domain/timestamps).
        # The first page starts at `since` itself: every request id sorts after "".
        after = ("" if since is None else iso(since), "")
        while True:
            rows = self._db.query(
                "SELECT created_at, request_id, doc FROM usage_ledger "
                "WHERE business_unit = ? AND month = ? "
                "AND (created_at > ? OR (created_at = ? AND request_id > ?)) "
                "ORDER BY created_at, request_id LIMIT ?",
                (business_unit, month, after[0], after[0], after[1], PAGE_SIZE),
            )
            if rows:
                yield [UsageRecord.from_doc(json.loads(row["doc"])) for row in rows]
            if len(rows) < PAGE_SIZE:
                return
            after = (rows[-1]["created_at"], rows[-1]["request_id"])
