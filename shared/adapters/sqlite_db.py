"""One SQLite connection, set up the way every embedded adapter needs it.

WAL lets readers run while one writer writes, and lets several processes (the local host, its
worker, tests) share the file; ``synchronous=NORMAL`` is the setting SQLite recommends with WAL
(durable across application crashes, only the last transactions can be lost on power loss):
https://www.sqlite.org/pragma.html#pragma_synchronous. ``busy_timeout`` makes a writer wait for
another process's lock instead of failing at once with SQLITE_BUSY.

Adapters call the database synchronously inside their async methods: each call is a local
sub-millisecond query, and a thread hop (``asyncio.to_thread``) costs more than the query itself.
Nothing awaits while a transaction is open, so a transaction never spans two coroutines.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Re-exported (``as``) for the adapters that take them from here; the domain owns the format.
from shared.domain.timestamps import from_iso as from_iso
from shared.domain.timestamps import iso as iso
from shared.domain.timestamps import to_utc as to_utc

Clock = Callable[[], datetime]

# Long enough to ride out another process's write burst; every transaction here is tiny.
BUSY_TIMEOUT_MS = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_epoch(value: datetime) -> float:
    """Seconds since the epoch: how expiry columns are stored, so comparisons are numeric."""
    return to_utc(value).timestamp()


class Database:
    """One connection in autocommit mode; writes that touch several rows use ``transaction()``.

    The lock only matters if a caller uses the object from a second thread: the event loop alone
    never interleaves two calls, because none of them awaits.
    """

    def __init__(self, path: Path, *, now: Clock = utc_now) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.now = now
        self._lock = threading.Lock()
        # isolation_level=None: no implicit BEGIN; we issue BEGIN IMMEDIATE ourselves.
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def now_epoch(self) -> float:
        return to_epoch(self.now())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so a read-then-write inside is atomic
        across processes (a deferred BEGIN could fail to upgrade its lock midway)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT: never hand the next caller an open transaction.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """One statement in its own implicit transaction. Rows are always fetched to the end:
        an unfinished ``RETURNING`` statement would keep its write lock."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement; returns the number of rows it changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def ensure_schema(self, statements: Sequence[str]) -> None:
        """Idempotent DDL (``IF NOT EXISTS``), run atomically so concurrent openers agree."""
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
