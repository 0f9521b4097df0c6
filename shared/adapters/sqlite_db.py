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

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.domain.timestamps import WallClock, utc_now

# Re-exported (``as``) for the adapters that take them from here; the domain owns the format.
from shared.domain.timestamps import from_iso as from_iso
from shared.domain.timestamps import iso as iso
from shared.domain.timestamps import to_utc as to_utc
from shared.ports import StoreUnavailable

log = logging.getLogger("gateway.sqlite")

# Long enough to ride out another process's write burst; every transaction here is tiny.
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_INTERVAL_SECONDS = 1.0
WAL_RESTART_BYTES = 64 * 2**20
# After a disk fault, how long until the connection is reopened (and between tries).
REOPEN_SECONDS = 1.0


def to_epoch(value: datetime) -> float:
    """Seconds since the epoch: how expiry columns are stored, so comparisons are numeric."""
    return to_utc(value).timestamp()


class Database:
    """One connection in autocommit mode; writes that touch several rows use ``transaction()``,
    writes that must land together across stores use ``atomic()``.

    The lock only matters if a caller uses the object from a second thread: the event loop alone
    never interleaves two calls, because none of them awaits.

    A failing disk (full, read-only, I/O errors, the file gone) makes every statement raise
    ``StoreUnavailable``, and the connection is reopened ``REOPEN_SECONDS`` later: a connection
    opened while the file was read-only stays read-only for good, and one that met an I/O error
    may hold a broken state, so recovery (disk space or permissions back) needs a new one.
    """

    def __init__(
        self,
        path: Path,
        *,
        now: WallClock = utc_now,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> None:
        self.path = path
        self.now = now
        self._lock = threading.RLock()
        # The task running an atomic group; a statement from any other task is a bug (below).
        self._atomic_owner: object | None = None
        # Monotonic time of the next reopen after a failure; None while the connection is sound.
        self._reopen_at: float | None = None
        # Since when writes fail (None: they work), and the connection's change count then.
        self._failing_since: float | None = None
        self._changes_mark = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn: sqlite3.Connection | None = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"the embedded store {path} cannot be opened: {exc}") from exc
        self._checkpointer = Checkpointer(path, checkpoint_interval)
        self._checkpointer.start()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit BEGIN; we issue BEGIN IMMEDIATE ourselves.
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 0")
            # When the log rewinds, its file is cut back to this size instead of keeping its peak.
            conn.execute(f"PRAGMA journal_size_limit = {WAL_RESTART_BYTES:d}")
        except BaseException:
            conn.close()
            raise
        return conn

    def now_epoch(self) -> float:
        return to_epoch(self.now())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so a read-then-write inside is atomic
        across processes (a deferred BEGIN could fail to upgrade its lock midway). Inside
        ``atomic()`` it is part of that group's transaction."""
        with self._lock, self._faults():
            conn = self._connection()
            if self._atomic_owner is not None:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every statement run inside lands together or not at all: one transaction, for writes
        to several stores that a crash must not split (the meter's). Only for code that does
        not await between its statements (the embedded adapters never do): were the event loop
        to run another task's statement inside the group, it would raise rather than join it."""
        with self._lock:
            if self._atomic_owner is not None:
                self._connection()  # checks the owner: a nested group joins the outer one
                yield
                return
            with self._faults():
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                self._atomic_owner = _current_task()
                try:
                    yield
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
                finally:
                    self._atomic_owner = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """One statement in its own implicit transaction. Rows are always fetched to the end:
        an unfinished ``RETURNING`` statement would keep its write lock."""
        return self._statement(sql, params)[0]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement; returns the number of rows it changed."""
        return self._statement(sql, params)[1]

    def _statement(self, sql: str, params: Sequence[Any]) -> tuple[list[sqlite3.Row], int]:
        """One statement under the lock: its rows (fetched to the end) and the rows it changed,
        a store fault raised as StoreUnavailable.
        Plain try/except rather than _faults(): a generator context manager per statement
        costs more than some of the statements (the hot path runs several per request)."""
        with self._lock:
            try:
                cursor = self._connection().execute(sql, params)
                ran = cursor.fetchall(), cursor.rowcount
            except sqlite3.Error as exc:
                if not _is_fault(exc):
                    raise
                raise self._fault(exc) from exc
            if self._failing_since is not None:
                self._landed()
            return ran

    def ensure_schema(self, statements: Sequence[str]) -> None:
        """Idempotent DDL (``IF NOT EXISTS``), run atomically so concurrent openers agree."""
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)

    def close(self) -> None:
        self._checkpointer.stop()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        """The live connection (reopened when a failure asked for it); call under the lock."""
        owner = self._atomic_owner
        if owner is not None and owner is not _current_task():
            raise RuntimeError("a statement from another task ran inside an atomic() group")
        if self._reopen_at is not None and time.monotonic() >= self._reopen_at:
            self._reopen()
        if self._conn is None:
            raise StoreUnavailable(f"the embedded store {self.path} is not open; retrying")
        return self._conn

    def _reopen(self) -> None:
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            self._reopen_at = time.monotonic() + REOPEN_SECONDS
            log.debug("reopening the embedded store %s failed: %s", self.path, exc)
            return
        self._reopen_at = None
        self._changes_mark = 0

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """A disk fault becomes StoreUnavailable and a reopen later; the first write that lands
        after it ends the outage. Errors of a statement itself (constraints, SQL) pass as is."""
        try:
            yield
        except sqlite3.Error as exc:
            if not _is_fault(exc):
                raise
            raise self._fault(exc) from exc
        if self._failing_since is not None:
            self._landed()

    def _fault(self, exc: sqlite3.Error) -> StoreUnavailable:
        if exc.sqlite_errorcode & 0xFF not in _CONTENTION:
            self._failed(exc)
        return StoreUnavailable(f"the embedded store {self.path} failed: {exc}")

    def _landed(self) -> None:
        """After an outage: a write landed (the connection's change count moved), so the disk
        is back."""
        conn = self._conn
        if self._failing_since is not None and conn and conn.total_changes != self._changes_mark:
            down = time.monotonic() - self._failing_since
            log.warning("the embedded store %s writes again after %.1f s", self.path, down)
            self._failing_since = None

    def _failed(self, exc: sqlite3.Error) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            log.warning("the embedded store %s failed: %s; reopening it", self.path, exc)
            self._failing_since = now
        if self._reopen_at is None:
            self._reopen_at = now + REOPEN_SECONDS
        self._changes_mark = self._conn.total_changes if self._conn is not None else 0


_NO_TASK = object()
# SQLITE_BUSY and SQLITE_LOCKED: another writer held on past busy_timeout; no reopen needed.
_CONTENTION = frozenset({5, 6})


def _is_fault(exc: sqlite3.Error) -> bool:
    """Disk or file trouble (full, read-only, I/O, locked, corrupt), not a statement's own error
    (a constraint, bad SQL), which are IntegrityError, ProgrammingError and the like."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def _current_task() -> object:
    try:
        return asyncio.current_task() or _NO_TASK
    except RuntimeError:  # no running event loop: a synchronous caller
        return _NO_TASK


def _rollback(conn: sqlite3.Connection) -> None:
    """Also after a failed COMMIT: never hand the next caller an open transaction."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class Checkpointer(threading.Thread):
    """Moves the WAL into the database file off the event loop's thread (see the module doc)."""

    def __init__(self, path: Path, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        super().__init__(name=f"sqlite-checkpoint-{path.name}", daemon=True)
        self._path = path
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        wal = self._path.with_name(self._path.name + "-wal")
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopped.wait(self._interval):
                try:
                    if conn is None:
                        conn = sqlite3.connect(
                            self._path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
                        )
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    if wal.exists() and wal.stat().st_size > WAL_RESTART_BYTES:
                        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                except (sqlite3.Error, OSError) as exc:
                    # Busy with another process's checkpoint, or the disk failed: next time, on
                    # a new connection (one opened while the file was read-only stays so).
                    log.debug("checkpoint of %s skipped: %s", self._path, exc)
                    contention = isinstance(exc, sqlite3.Error) and (
                        exc.sqlite_errorcode & 0xFF in _CONTENTION
                    )
                    if conn is not None and not contention:
                        with suppress(sqlite3.Error):
                            conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)
