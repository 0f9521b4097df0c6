"""The embedded overflow queue: Service Bus semantics in a SQLite file (queue.sqlite3).

Both sides of the queue port live here (OverflowQueue to send, QueueReceiver for the local
worker). The behaviours mirror Service Bus so the worker runs unchanged in Azure:
https://learn.microsoft.com/azure/service-bus-messaging/message-transfers-locks-settlement
- peek-lock: a received message is invisible until its lock expires; every receive adds one to
  its delivery count; one that would pass ``max_delivery_count`` is dead-lettered instead
  (reason ``MaxDeliveryCountExceeded``, as Service Bus names it);
- scheduled messages stay invisible until due; FIFO by the time a message became visible;
- duplicate detection: a message_id already sent within the last 10 minutes is dropped
  (the Service Bus default window).
Claims run in BEGIN IMMEDIATE, so two processes never lock the same message. Each lock names its
holder (shared/domain/holder.py); a queue opened after a crash releases the locks of holders
known to be gone, so their messages are redelivered at once instead of after the lock duration.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.sqlite_db import Database, to_epoch
from shared.domain.holder import THIS_PROCESS, known_gone
from shared.domain.records import QueueMessage, ReceivedMessage
from shared.domain.timestamps import WallClock, utc_now

DUPLICATE_WINDOW_SECONDS = 600.0
MAX_DELIVERY_REASON = "MaxDeliveryCountExceeded"

SCHEMA = (
    # visible_at orders the queue and does not move on redelivery, as a sequence number would not.
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        properties TEXT NOT NULL,
        enqueued_at REAL NOT NULL,
        visible_at REAL NOT NULL,
        delivery_count INTEGER NOT NULL DEFAULT 0,
        lock_token TEXT UNIQUE,
        locked_until REAL
    )""",
    "CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, seq)",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        seq INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        properties TEXT NOT NULL,
        enqueued_at REAL NOT NULL,
        delivery_count INTEGER NOT NULL,
        reason TEXT NOT NULL,
        dead_lettered_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS sent_ids (
        message_id TEXT PRIMARY KEY,
        sent_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sent_ids_age ON sent_ids (sent_at)",
)

_AVAILABLE = (
    "SELECT seq, message_id, body, properties, enqueued_at, delivery_count FROM messages "
    "WHERE visible_at <= ? AND (locked_until IS NULL OR locked_until <= ?) "
    "ORDER BY visible_at, seq LIMIT ?"
)


class LockLost(Exception):
    """The lock token is unknown or its lock expired: the message may go to another receiver."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: QueueMessage
    reason: str
    delivery_count: int
    enqueued_at: datetime
    dead_lettered_at: datetime


def _message(message_id: str, body: str, properties: str) -> QueueMessage:
    return QueueMessage(
        message_id=message_id, body=json.loads(body), application_properties=json.loads(properties)
    )


def _move_to_dead_letters(conn: sqlite3.Connection, seq: int, reason: str, now: float) -> None:
    conn.execute(
        "INSERT INTO dead_letters (seq, message_id, body, properties, enqueued_at, "
        "delivery_count, reason, dead_lettered_at) SELECT seq, message_id, body, properties, "
        "enqueued_at, delivery_count, ?, ? FROM messages WHERE seq = ?",
        (reason, now, seq),
    )
    conn.execute("DELETE FROM messages WHERE seq = ?", (seq,))


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class LocalQueue:
    def __init__(
        self, path: Path, *, max_delivery_count: int = 5, now: WallClock = utc_now
    ) -> None:
        if max_delivery_count < 1:
            raise ValueError(f"max_delivery_count must be at least 1, got {max_delivery_count}")
        self._db = Database(path, now=now)
        self._db.ensure_schema(SCHEMA)
        columns = {row["name"] for row in self._db.query("PRAGMA table_info(messages)")}
        if "lock_holder" not in columns:  # a queue file from before locks named their holder
            self._db.execute("ALTER TABLE messages ADD COLUMN lock_holder TEXT")
        self.max_delivery_count = max_delivery_count
        self._release_locks_of_the_gone()

    def _release_locks_of_the_gone(self) -> None:
        now = self._db.now_epoch()
        rows = self._db.query(
            "SELECT DISTINCT lock_holder FROM messages WHERE locked_until > ? "
            "AND lock_holder IS NOT NULL",
            (now,),
        )
        for holder in (str(row["lock_holder"]) for row in rows):
            if known_gone(holder):
                self._db.execute(
                    "UPDATE messages SET lock_token = NULL, locked_until = NULL, "
                    "lock_holder = NULL WHERE lock_holder = ?",
                    (holder,),
                )

    async def send(self, message: QueueMessage, *, scheduled_at: datetime | None = None) -> None:
        now = self._db.now_epoch()
        visible_at = now if scheduled_at is None else max(now, to_epoch(scheduled_at))
        with self._db.transaction() as conn:
            expired = now - DUPLICATE_WINDOW_SECONDS
            conn.execute("DELETE FROM sent_ids WHERE sent_at <= ?", (expired,))
            seen = conn.execute(
                "SELECT 1 FROM sent_ids WHERE message_id = ?", (message.message_id,)
            ).fetchone()
            if seen:
                return
            conn.execute("INSERT INTO sent_ids VALUES (?, ?)", (message.message_id, now))
            conn.execute(
                "INSERT INTO messages (message_id, body, properties, enqueued_at, visible_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    message.message_id,
                    json.dumps(message.body),
                    json.dumps(message.application_properties),
                    now,
                    visible_at,
                ),
            )

    async def depth(self) -> int | None:
        # Active = visible now, locked or not (Service Bus counts scheduled ones separately).
        rows = self._db.query(
            "SELECT count(*) AS n FROM messages WHERE visible_at <= ?", (self._db.now_epoch(),)
        )
        return int(rows[0]["n"])

    async def receive(self, max_messages: int, lock_seconds: float) -> list[ReceivedMessage]:
        if lock_seconds <= 0:
            raise ValueError(f"lock_seconds must be positive, got {lock_seconds}")
        now = self._db.now_epoch()
        received: list[ReceivedMessage] = []
        with self._db.transaction() as conn:
            # Loop because messages dead-lettered on the way leave room for more in this batch.
            while len(received) < max_messages:
                rows = conn.execute(_AVAILABLE, (now, now, max_messages - len(received))).fetchall()
                if not rows:
                    break
                for row in rows:
                    count = int(row["delivery_count"]) + 1
                    if count > self.max_delivery_count:
                        _move_to_dead_letters(conn, int(row["seq"]), MAX_DELIVERY_REASON, now)
                        continue
                    token = str(uuid.uuid4())
                    conn.execute(
                        "UPDATE messages SET delivery_count = ?, lock_token = ?, locked_until = ?, "
                        "lock_holder = ? WHERE seq = ?",
                        (count, token, now + lock_seconds, THIS_PROCESS, row["seq"]),
                    )
                    received.append(
                        ReceivedMessage(
                            message=_message(row["message_id"], row["body"], row["properties"]),
                            lock_token=token,
                            delivery_count=count,
                            enqueued_at=_at(float(row["enqueued_at"])),
                        )
                    )
        return received

    async def complete(self, lock_token: str) -> None:
        with self._db.transaction() as conn:
            seq, _ = self._locked(conn, lock_token)
            conn.execute("DELETE FROM messages WHERE seq = ?", (seq,))

    async def abandon(self, lock_token: str) -> None:
        with self._db.transaction() as conn:
            seq, count = self._locked(conn, lock_token)
            if count >= self.max_delivery_count:
                # No delivery left: dead-letter now, as Service Bus does on the last abandon.
                _move_to_dead_letters(conn, seq, MAX_DELIVERY_REASON, self._db.now_epoch())
                return
            conn.execute(
                "UPDATE messages SET lock_token = NULL, locked_until = NULL WHERE seq = ?", (seq,)
            )

    async def renew_lock(self, lock_token: str, lock_seconds: float) -> None:
        with self._db.transaction() as conn:
            seq, _ = self._locked(conn, lock_token)
            conn.execute(
                "UPDATE messages SET locked_until = ? WHERE seq = ?",
                (self._db.now_epoch() + lock_seconds, seq),
            )

    async def dead_letter(self, lock_token: str, reason: str) -> None:
        with self._db.transaction() as conn:
            seq, _ = self._locked(conn, lock_token)
            _move_to_dead_letters(conn, seq, reason, self._db.now_epoch())

    async def dead_letters(self) -> list[DeadLetter]:
        rows = self._db.query("SELECT * FROM dead_letters ORDER BY dead_lettered_at, seq")
        return [
            DeadLetter(
                message=_message(row["message_id"], row["body"], row["properties"]),
                reason=str(row["reason"]),
                delivery_count=int(row["delivery_count"]),
                enqueued_at=_at(float(row["enqueued_at"])),
                dead_lettered_at=_at(float(row["dead_lettered_at"])),
            )
            for row in rows
        ]

    async def close(self) -> None:
        self._db.close()

    def _locked(self, conn: sqlite3.Connection, lock_token: str) -> tuple[int, int]:
        """(seq, delivery_count) of the message this live lock holds; LockLost otherwise."""
        row = conn.execute(
            "SELECT seq, delivery_count FROM messages WHERE lock_token = ? AND locked_until > ?",
            (lock_token, self._db.now_epoch()),
        ).fetchone()
        if row is None:
            raise LockLost(f"lock {lock_token} expired or unknown; the message may be redelivered")
        return int(row["seq"]), int(row["delivery_count"])
