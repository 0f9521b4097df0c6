"""One SQLite connection, set up the way every embedded adapter needs it.

WAL lets readers run while one writer writes, and lets several processes (the local host, its
worker, tests) share the file; ``synchronous=NORMAL`` is the setting SQLite recommends with WAL
(durable across application crashes, only the last transactions can be lost on power loss):
https://www.sqlite.org/pragma.html#pragma_synchronous. ``busy_timeout`` makes a writer wait for
another process's lock instead of failing at once with SQLITE_BUSY.

Adapters call the database synchronously inside their async methods: each call is a local
sub-millisecond query, and a thread hop (``asyncio.to_thread``) costs more than the query itself.
Nothing awaits while a transaction is open, so a transaction never spans two coroutines.

The one slow thing SQLite does is the WAL checkpoint: it copies the log into the database and
fsyncs both, 10-120 ms on this kind of disk. Left automatic it runs inside whichever commit
crosses 1000 pages, which would stall the event loop (the p99 of every request behind it).
So the serving connection never checkpoints (``wal_autocheckpoint = 0``); a daemon thread with
its own connection runs a PASSIVE checkpoint every second, which never blocks writers and
releases the GIL while it waits on the disk. Under steady writes a PASSIVE checkpoint never
catches up with the log's end, and SQLite only rewinds the log once it has: so when the log
passes WAL_RESTART_BYTES the thread runs a RESTART checkpoint, which holds writers only for
the frames written since the last pass and one fsync, and lets the log start over. (Without
it the log grew by ~1.6 GB per 100k ledger writes.)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.domain.timestamps import WallClock, utc_now

# Re-exported (``as``) for the adapters that take them from here; the domain owns the format.
from shared.domain.timestamps import from_iso as from_iso
from shared.domain.timestamps import iso as iso
from shared.domain.timestamps import to_utc as to_utc

log = logging.getLogger("gateway.sqlite")

# Long enough to ride out another process's write burst; every transaction here is tiny.
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_INTERVAL_SECONDS = 1.0
WAL_RESTART_BYTES = 64 * 2**20


def to_epoch(value: datetime) -> float:
    """Seconds since the epoch: how expiry columns are stored, so comparisons are numeric."""
    return to_utc(value).timestamp()


class Database:
    """One connection in autocommit mode; writes that touch several rows use ``transaction()``.

    The lock only matters if a caller uses the object from a second thread: the event loop alone
    never interleaves two calls, because none of them awaits.
    """

    def __init__(
        self,
        path: Path,
        *,
        now: WallClock = utc_now,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> None:
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
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        # When the log rewinds, its file is cut back to this size instead of keeping its peak.
        self._conn.execute(f"PRAGMA journal_size_limit = {WAL_RESTART_BYTES:d}")
        self._checkpointer = Checkpointer(path, checkpoint_interval)
        self._checkpointer.start()

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
        self._checkpointer.stop()
        with self._lock:
            self._conn.close()


class Checkpointer(threading.Thread):
    """Moves the WAL into the database file off the event loop's thread (see the module doc)."""

    def __init__(self, path: Path, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        super().__init__(name=f"sqlite-checkpoint-{path.name}", daemon=True)
        self._path = path
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        wal = self._path.with_name(self._path.name + "-wal")
        try:
            while not self._stopped.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    if wal.exists() and wal.stat().st_size > WAL_RESTART_BYTES:
                        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                except (sqlite3.Error, OSError) as exc:
                    # Busy with another process's checkpoint, or the file went away: next time.
                    log.debug("checkpoint of %s skipped: %s", self._path, exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)
