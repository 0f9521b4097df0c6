"""The embedded queue beyond the port contract: durability, batching past dead letters, and
refusing inputs whose meaning would be a guess."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.local_queue import MAX_DELIVERY_REASON, LocalQueue
from shared.composition.embedded import open_embedded_queue
from shared.domain import holder
from tests.contract import FakeClock
from tests.embedded_queue import LOCK, message, queue_fixtures, received_ids
from tests.fakes import dead_holder

MAX_DELIVERY = 2
clock, queue = queue_fixtures(max_delivery_count=MAX_DELIVERY)


async def test_messages_and_dead_letters_survive_a_restart(tmp_path: Path) -> None:
    first = open_embedded_queue(tmp_path)
    await first.send(message("a"))
    await first.send(message("b"))
    [b] = [m for m in await first.receive(2, LOCK) if m.message.message_id == "b"]
    await first.dead_letter(b.lock_token, "bad")
    await first.close()

    second = open_embedded_queue(tmp_path)
    try:
        assert [d.message.message_id for d in await second.dead_letters()] == ["b"]
        await second.send(message("a"))  # the duplicate window survives too
        assert await second.depth() == 1
    finally:
        await second.close()


async def test_a_batch_fills_past_dead_lettered_messages(
    queue: LocalQueue, clock: FakeClock
) -> None:
    await queue.send(message("poison"))
    for _ in range(MAX_DELIVERY):
        await queue.receive(1, LOCK)
        await clock.advance(LOCK)
    await queue.send(message("b"))
    await queue.send(message("c"))

    assert await received_ids(queue, 2) == ["b", "c"]
    [dead] = await queue.dead_letters()
    assert (dead.message.message_id, dead.reason) == ("poison", MAX_DELIVERY_REASON)


async def test_schedule_in_the_past_is_visible_now(queue: LocalQueue, clock: FakeClock) -> None:
    await queue.send(message("a"), scheduled_at=clock.now() - timedelta(hours=1))

    assert await received_ids(queue) == ["a"]


async def test_received_message_carries_its_enqueue_time(
    queue: LocalQueue, clock: FakeClock
) -> None:
    sent_at = clock.now()
    await queue.send(message("a"))
    await clock.advance(5)

    [m] = await queue.receive(1, LOCK)

    assert abs((m.enqueued_at - sent_at).total_seconds()) < 0.001
    assert m.enqueued_at.tzinfo is not None


async def test_naive_schedule_is_refused(queue: LocalQueue) -> None:
    with pytest.raises(ValueError, match="naive"):
        await queue.send(message("a"), scheduled_at=datetime(2030, 1, 1))


async def test_non_positive_lock_is_refused(queue: LocalQueue) -> None:
    with pytest.raises(ValueError, match="lock_seconds"):
        await queue.receive(1, 0)


def test_max_delivery_count_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_delivery_count"):
        open_embedded_queue(tmp_path, max_delivery_count=0)


async def test_a_queue_opened_after_a_crash_redelivers_what_the_dead_held(tmp_path: Path) -> None:
    first = open_embedded_queue(tmp_path)
    await first.send(message("held-by-the-dead"))
    await first.send(message("held-by-the-living"))
    held = {m.message.message_id: m for m in await first.receive(2, 600)}
    await first.close()
    dead, alive = dead_holder(), f"{holder.INSTANCE}/{os.getppid()}/0123456789ab"
    with sqlite3.connect(tmp_path / "queue.sqlite3") as conn:  # the locks two workers took
        for message_id, who in (("held-by-the-dead", dead), ("held-by-the-living", alive)):
            conn.execute(
                "UPDATE messages SET lock_holder = ? WHERE message_id = ?", (who, message_id)
            )

    second = open_embedded_queue(tmp_path)
    try:
        again = await second.receive(2, LOCK)
        # Redelivered at once, not after the 600 s lock; the live holder's lock stands.
        assert [(m.message.message_id, m.delivery_count) for m in again] == [
            ("held-by-the-dead", 2)
        ]
        assert held["held-by-the-living"].delivery_count == 1
    finally:
        await second.close()
