"""Expiring documents with an etag, keyed by (kind, partition, id): what sessions and jobs share.

The etag is a fresh uuid on every write, not a version counter, so a token read before a delete
can never match a record re-created later under the same id. An expired row behaves as absent
(Cosmos hides items past their TTL): get misses it, create may take its id, replace conflicts.
"""

from __future__ import annotations

import uuid

from shared.adapters.sqlite_db import Database
from shared.ports import AlreadyExists, ConcurrencyConflict

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS versioned_docs (
        kind TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        id TEXT NOT NULL,
        doc TEXT NOT NULL,
        etag TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (kind, partition_key, id)
    )""",
    "CREATE INDEX IF NOT EXISTS versioned_docs_expiry ON versioned_docs (expires_at)",
)

# Expired rows removed per create: keeps the table bounded without a background sweeper.
PURGE_BATCH = 100


class VersionedDocs:
    """Documents of one kind ("session", "job") in the shared table."""

    def __init__(self, db: Database, kind: str) -> None:
        self._db = db
        self._kind = kind
        db.ensure_schema(SCHEMA)

    def create(self, partition: str, doc_id: str, doc: str, expires_at: float) -> str:
        etag = uuid.uuid4().hex
        now = self._db.now_epoch()
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM versioned_docs WHERE rowid IN (SELECT rowid FROM versioned_docs "
                "WHERE expires_at <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            )
            # The conditional upsert overwrites only an expired row; a live one leaves 0 changes.
            changed = conn.execute(
                "INSERT INTO versioned_docs (kind, partition_key, id, doc, etag, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, partition_key, id) DO UPDATE SET "
                "doc = excluded.doc, etag = excluded.etag, expires_at = excluded.expires_at "
                "WHERE versioned_docs.expires_at <= ?",
                (self._kind, partition, doc_id, doc, etag, expires_at, now),
            ).rowcount
        if changed == 0:
            raise AlreadyExists(f"{self._kind} {doc_id!r} already exists in {partition!r}")
        return etag

    def get(self, partition: str, doc_id: str) -> tuple[str, str] | None:
        """(doc, etag) of a live document, or None."""
        rows = self._db.query(
            "SELECT doc, etag FROM versioned_docs "
            "WHERE kind = ? AND partition_key = ? AND id = ? AND expires_at > ?",
            (self._kind, partition, doc_id, self._db.now_epoch()),
        )
        return (str(rows[0]["doc"]), str(rows[0]["etag"])) if rows else None

    def replace(
        self, partition: str, doc_id: str, doc: str, expires_at: float, etag: str | None
    ) -> str:
        if etag is None:
            raise ValueError(f"{self._kind} {doc_id!r} has no etag: read it before replacing it")
        new_etag = uuid.uuid4().hex
        changed = self._db.execute(
            "UPDATE versioned_docs SET doc = ?, etag = ?, expires_at = ? "
            "WHERE kind = ? AND partition_key = ? AND id = ? AND etag = ? AND expires_at > ?",
            (doc, new_etag, expires_at, self._kind, partition, doc_id, etag, self._db.now_epoch()),
        )
        if changed == 0:
            raise ConcurrencyConflict(
                f"{self._kind} {doc_id!r} changed, expired or was deleted since it was read"
            )
        return new_etag

    def delete(self, partition: str, doc_id: str) -> bool:
        """True when a live document was deleted."""
        rows = self._db.query(
            "DELETE FROM versioned_docs WHERE kind = ? AND partition_key = ? AND id = ? "
            "RETURNING expires_at",
            (self._kind, partition, doc_id),
        )
        return bool(rows) and float(rows[0]["expires_at"]) > self._db.now_epoch()
