"""The embedded queue beyond the port contract: durability, batching past dead letters, and
refusing inputs whose meaning would be a guess."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.embedded import open_embedded_queue
from shared.adapters.local_queue import MAX_DELIVERY_REASON, LocalQueue
from shared.domain.records import QueueMessage

MAX_DELIVERY = 2
LOCK = 30.0


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def queue(tmp_path: Path, clock: Clock) -> AsyncIterator[LocalQueue]:
    opened = open_embedded_queue(tmp_path, max_delivery_count=MAX_DELIVERY, now=clock.now)
    try:
        yield opened
    finally:
        await opened.close()


def _msg(message_id: str) -> QueueMessage:
    return QueueMessage(message_id=message_id, body={"job_id": message_id})


async def _ids(queue: LocalQueue, n: int = 10) -> list[str]:
    return [m.message.message_id for m in await queue.receive(n, LOCK)]


async def test_messages_and_dead_letters_survive_a_restart(tmp_path: Path) -> None:
    first = open_embedded_queue(tmp_path)
    await first.send(_msg("a"))
    await first.send(_msg("b"))
    [b] = [m for m in await first.receive(2, LOCK) if m.message.message_id == "b"]
    await first.dead_letter(b.lock_token, "bad")
    await first.close()

    second = open_embedded_queue(tmp_path)
    try:
        assert [d.message.message_id for d in await second.dead_letters()] == ["b"]
        await second.send(_msg("a"))  # the duplicate window survives too
        assert await second.depth() == 1
    finally:
        await second.close()


async def test_a_batch_fills_past_dead_lettered_messages(queue: LocalQueue, clock: Clock) -> None:
    await queue.send(_msg("poison"))
    for _ in range(MAX_DELIVERY):
        await queue.receive(1, LOCK)
        clock.advance(LOCK)
    await queue.send(_msg("b"))
    await queue.send(_msg("c"))

    assert await _ids(queue, 2) == ["b", "c"]
    [dead] = await queue.dead_letters()
    assert (dead.message.message_id, dead.reason) == ("poison", MAX_DELIVERY_REASON)


async def test_schedule_in_the_past_is_visible_now(queue: LocalQueue, clock: Clock) -> None:
    await queue.send(_msg("a"), scheduled_at=clock.now() - timedelta(hours=1))

    assert await _ids(queue) == ["a"]


async def test_received_message_carries_its_enqueue_time(queue: LocalQueue, clock: Clock) -> None:
    sent_at = clock.now()
    await queue.send(_msg("a"))
    clock.advance(5)

    [m] = await queue.receive(1, LOCK)

    assert abs((m.enqueued_at - sent_at).total_seconds()) < 0.001
    assert m.enqueued_at.tzinfo is not None


async def test_naive_schedule_is_refused(queue: LocalQueue) -> None:
    with pytest.raises(ValueError, match="naive"):
        await queue.send(_msg("a"), scheduled_at=datetime(2030, 1, 1))


async def test_non_positive_lock_is_refused(queue: LocalQueue) -> None:
    with pytest.raises(ValueError, match="lock_seconds"):
        await queue.receive(1, 0)


def test_max_delivery_count_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_delivery_count"):
        open_embedded_queue(tmp_path, max_delivery_count=0)
