"""SemanticCache on SQLite: brute-force cosine over the newest entries of one partition.

No vector index: a lookup reads at most MAX_SCAN of the partition's newest unexpired rows (each
vector a 1 KB float32 blob at 256 dimensions) and scores them in Python, ~3 µs per row. A
partition is one business unit's use case, version, templates and parameters, so it stays
small; past MAX_SCAN the oldest entries are simply not searched (a miss, never a wrong hit), and
expired rows are purged every PURGE_EVERY puts, as in the exact cache.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from collections.abc import Sequence
from heapq import nlargest
from operator import mul

from shared.adapters.sqlite_db import Database, to_epoch
from shared.domain.embeddings import SemanticEntry, SemanticMatch

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS semantic_cache (
        id TEXT PRIMARY KEY,
        partition TEXT NOT NULL,
        doc TEXT NOT NULL,
        vector BLOB NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS semantic_cache_partition "
    "ON semantic_cache (partition, created_at DESC)",
    "CREATE INDEX IF NOT EXISTS semantic_cache_expiry ON semantic_cache (expires_at)",
)

MAX_SCAN = 512
PURGE_EVERY = 50
PURGE_BATCH = 500


def pack(vector: Sequence[float]) -> bytes:
    """Unit length, float32, little-endian."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    packed = array("f", (x / norm for x in vector))
    if sys.byteorder == "big":  # pragma: no cover - little-endian everywhere we run
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> array[float]:
    vector = array("f")
    vector.frombytes(blob)
    if sys.byteorder == "big":  # pragma: no cover
        vector.byteswap()
    return vector


class SqliteSemanticCache:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)
        self._puts = 0

    async def nearest(
        self, partition: str, vector: Sequence[float], limit: int
    ) -> list[SemanticMatch]:
        query = unpack(pack(vector))
        rows = self._db.query(
            "SELECT doc, vector FROM semantic_cache WHERE partition = ? AND expires_at > ? "
            "ORDER BY created_at DESC LIMIT ?",
            (partition, self._db.now_epoch(), MAX_SCAN),
        )
        scored = ((sum(map(mul, query, unpack(row["vector"]))), row) for row in rows)
        best = nlargest(limit, scored, key=lambda pair: pair[0])
        return [self._match(row["doc"], row["vector"], score) for score, row in best]

    @staticmethod
    def _match(doc: str, blob: bytes, score: float) -> SemanticMatch:
        fields = json.loads(doc)
        fields["vector"] = list(unpack(blob))
        return SemanticMatch(SemanticEntry.from_doc(fields), min(1.0, score))

    async def put(self, entry: SemanticEntry, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        doc = entry.to_doc()
        del doc["vector"]
        now = self._db.now_epoch()
        self._db.execute(
            "INSERT INTO semantic_cache (id, partition, doc, vector, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET partition = "
            "excluded.partition, doc = excluded.doc, vector = excluded.vector, "
            "created_at = excluded.created_at, expires_at = excluded.expires_at",
            (
                entry.id,
                entry.partition,
                json.dumps(doc),
                pack(entry.vector),
                to_epoch(entry.created_at),
                now + ttl_seconds,
            ),
        )
        self._puts += 1
        if self._puts % PURGE_EVERY == 0:
            self._db.execute(
                "DELETE FROM semantic_cache WHERE rowid IN (SELECT rowid FROM semantic_cache "
                "WHERE expires_at <= ? LIMIT ?)",
                (now, PURGE_BATCH),
            )
