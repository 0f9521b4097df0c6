"""The embedded store's atomic groups: several stores' writes land together or not at all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.adapters.sqlite_db import Database
from shared.composition.embedded import open_embedded_stores


def table(db: Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")


def rows(db: Database) -> list[str]:
    return [str(r["body"]) for r in db.query("SELECT body FROM t ORDER BY id")]


def test_a_group_commits_every_statement_or_none(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    try:
        table(db)
        with db.atomic():
            db.execute("INSERT INTO t (body) VALUES ('a')")
            with db.transaction() as conn:  # joins the group instead of committing alone
                conn.execute("INSERT INTO t (body) VALUES ('b')")
        with pytest.raises(KeyError), db.atomic():
            db.execute("INSERT INTO t (body) VALUES ('c')")
            with db.atomic():  # a nested group is part of the outer one
                db.execute("INSERT INTO t (body) VALUES ('d')")
            raise KeyError("the caller changed its mind")
        assert rows(db) == ["a", "b"]
    finally:
        db.close()


async def test_another_task_cannot_slip_a_statement_into_a_group(tmp_path: Path) -> None:
    db = Database(tmp_path / "g.sqlite3")
    try:
        table(db)

        async def intruder() -> None:
            db.execute("INSERT INTO t (body) VALUES ('intruder')")

        with pytest.raises(RuntimeError, match="another task"), db.atomic():
            db.execute("INSERT INTO t (body) VALUES ('owner')")
            await asyncio.create_task(intruder())  # the group must never await like this
        assert rows(db) == []
    finally:
        db.close()


async def test_stores_share_one_group(tmp_path: Path) -> None:
    stores = open_embedded_stores(tmp_path)
    try:
        with pytest.raises(ValueError):
            async with stores.atomic():
                await stores.counters.add("spend", "marketing", 5)
                assert await stores.intents.close("marketing", "r1") is False
                raise ValueError("a crash between the writes")
        assert await stores.counters.get("spend", "marketing") == 0
        async with stores.atomic():
            await stores.counters.add("spend", "marketing", 7)
        assert await stores.counters.get("spend", "marketing") == 7
    finally:
        await stores.close()
