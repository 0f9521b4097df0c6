"""The embedded backend: what the gateway uses when no Azure settings are given.

Every store lives in one SQLite file (gateway.sqlite3) and the overflow queue in another
(queue.sqlite3), both under data_dir, so a restart keeps sessions, jobs, usage and queued work.
The queue has its own file because its claim transactions are frequent and should not wait on
store writes. Nothing connects at import time; the composition root calls these once per process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from shared.adapters.local_queue import LocalQueue
from shared.adapters.sqlite_cache import SqliteCompletionCache
from shared.adapters.sqlite_counters import SqliteCounterStore
from shared.adapters.sqlite_db import Database
from shared.adapters.sqlite_intents import SqliteUsageIntents
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.adapters.sqlite_ledger import SqliteUsageLedger
from shared.adapters.sqlite_rollups import SqliteRollupStore
from shared.adapters.sqlite_semantic_cache import SqliteSemanticCache
from shared.adapters.sqlite_sessions import SqliteSessionStore
from shared.composition.stores import Stores
from shared.domain.timestamps import WallClock, utc_now

STORE_FILE = "gateway.sqlite3"
QUEUE_FILE = "queue.sqlite3"
# One row the readiness probe rewrites: the cheapest write that still proves the disk takes one.
PROBE_SCHEMA = ("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)",)


def open_embedded_stores(data_dir: Path, *, now: WallClock = utc_now) -> Stores:
    """Every store on one connection to data_dir/gateway.sqlite3 (created if missing).

    ``now`` is the clock used for expiry; tests pass a fake one to expire records instantly.
    Raises StoreUnavailable when the file cannot be opened (a read-only or full disk).
    """
    db = Database(data_dir / STORE_FILE, now=now)

    async def close() -> None:
        db.close()

    async def ping() -> None:
        db.execute(
            "INSERT INTO probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = ?",
            (db.now_epoch(), db.now_epoch()),
        )

    @contextlib.asynccontextmanager
    async def atomic() -> AsyncIterator[None]:
        with db.atomic():
            yield

    try:
        db.ensure_schema(PROBE_SCHEMA)
        return Stores(
            cache=SqliteCompletionCache(db),
            ledger=SqliteUsageLedger(db),
            rollups=SqliteRollupStore(db),
            sessions=SqliteSessionStore(db),
            jobs=SqliteJobStore(db),
            counters=SqliteCounterStore(db),
            intents=SqliteUsageIntents(db),
            semantic=SqliteSemanticCache(db),
            atomic=atomic,
            close=close,
            ping=ping,
            kind="embedded",
        )
    except BaseException:
        db.close()
        raise


def open_embedded_queue(
    data_dir: Path, max_delivery_count: int = 5, *, now: WallClock = utc_now
) -> LocalQueue:
    """The overflow queue in data_dir/queue.sqlite3; both its sender and its receiver."""
    return LocalQueue(data_dir / QUEUE_FILE, max_delivery_count=max_delivery_count, now=now)
