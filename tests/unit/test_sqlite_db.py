"""The embedded store's connection: WAL checkpoints happen off the event loop's thread."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters import sqlite_cache, sqlite_db
from shared.adapters.sqlite_cache import SqliteCompletionCache
from shared.adapters.sqlite_counters import SqliteCounterStore
from shared.adapters.sqlite_db import Database
from shared.domain.chat import TokenUsage
from shared.domain.records import CachedCompletion

ROW = "x" * 4000  # about a page each


def fill(db: Database, rows: int) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    for _ in range(rows):
        db.execute("INSERT INTO t (body) VALUES (?)", (ROW,))


def test_the_serving_connection_never_checkpoints_on_its_own(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3", checkpoint_interval=3600)
    try:
        assert db.query("PRAGMA wal_autocheckpoint")[0][0] == 0
        fill(db, 1500)  # past the 1000 pages where SQLite would checkpoint inside a commit
        # Everything is still in the log: the database file holds only the first pages.
        assert (tmp_path / "g.sqlite3").stat().st_size < 100 * 4096
        assert (tmp_path / "g.sqlite3-wal").stat().st_size > 1500 * 4000
    finally:
        db.close()


def test_the_background_checkpointer_moves_the_log_into_the_database(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3", checkpoint_interval=0.05)
    try:
        fill(db, 300)
        deadline = time.monotonic() + 10
        while (tmp_path / "g.sqlite3").stat().st_size < 300 * 4000:
            assert time.monotonic() < deadline, "no checkpoint within 10 s"
            time.sleep(0.05)
        assert len(db.query("SELECT id FROM t")) == 300
    finally:
        db.close()
    assert not db._checkpointer.is_alive()


async def test_a_counters_table_from_before_expiry_is_upgraded_in_place(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    db.execute(
        "CREATE TABLE counters (partition_key TEXT NOT NULL, key TEXT NOT NULL, "
        "value INTEGER NOT NULL, PRIMARY KEY (partition_key, key))"
    )
    db.execute("INSERT INTO counters VALUES ('bu', 'k', 41)")
    try:
        counters = SqliteCounterStore(db)
        assert await counters.add("k", "bu", 1) == 42  # kept, and still never expires
        assert await counters.add("t", "bu", 5, ttl_seconds=60) == 5
    finally:
        db.close()


def test_under_steady_writes_the_log_still_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PASSIVE checkpoint never catches up with a log written to all the time, and SQLite only
    # rewinds a log that was caught up: without the RESTART pass it grows with every write.
    monkeypatch.setattr(sqlite_db, "WAL_RESTART_BYTES", 256 * 1024)
    db = Database(tmp_path / "g.sqlite3", checkpoint_interval=0.01)
    wal = tmp_path / "g.sqlite3-wal"
    try:
        for _ in range(60):
            fill(db, 50)  # ~200 KB per round, ~12 MB in all
            time.sleep(0.005)
        assert len(db.query("SELECT id FROM t")) == 3000
        size = wal.stat().st_size
    finally:
        db.close()
    assert size < 4 * 2**20, f"the log kept growing: {size} bytes"


async def test_expired_cache_entries_are_purged_every_few_puts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_cache, "PURGE_EVERY", 4)
    clock = [datetime(2026, 11, 23, tzinfo=UTC)]
    db = Database(tmp_path / "g.sqlite3", now=lambda: clock[0])
    cache = SqliteCompletionCache(db)

    def entry(key: str) -> CachedCompletion:
        usage = TokenUsage(prompt_tokens=1, completion_tokens=1)
        return CachedCompletion(key, "bu", "summarize", "gpt-4o-mini", "x", usage, clock[0])

    def rows() -> int:
        return int(db.query("SELECT COUNT(*) FROM completion_cache")[0][0])

    try:
        for i in range(3):
            await cache.put(entry(f"old-{i}"), ttl_seconds=1)
        clock[0] += timedelta(seconds=2)
        assert rows() == 3  # expired, not yet purged
        await cache.put(entry("new"), ttl_seconds=60)  # the 4th put purges
        assert rows() == 1
        assert await cache.get("new") is not None
    finally:
        db.close()
